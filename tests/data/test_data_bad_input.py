"""Bad input: an error naming file, record and field; lenient mode skips, counts, reports."""

import io
import json
import os
import shutil
import tarfile

import pytest

from mrc_jax.data import DataError, SkipReport, load_examples
from mrc_jax.data.schema import Quirk
from mrc_jax.data.sources.common import DUPLICATE_OPTIONS


@pytest.fixture
def data_dir(tmp_path, fixture_data_dir):
  target = tmp_path / "data"
  shutil.copytree(fixture_data_dir, target)
  return str(target)


def rewrite_jsonl(path, edit):
  records = [json.loads(line) for line in open(path, encoding="utf-8")]
  edit(records)
  with open(path, "w", encoding="utf-8") as f:
    f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def exams_record(record_id, stem, options, answer):
  """An EXAMS record (Italian) in the release's layout, options labelled A, B, ..."""
  choices = [{"text": text, "label": "ABCDE"[i]} for i, text in enumerate(options)]
  return {
    "id": record_id,
    "question": {"stem": stem, "choices": choices},
    "answerKey": answer,
    "info": {"language": "Italian"},
  }


def test_truncated_json_file_is_an_error_even_when_lenient(data_dir):
  path = os.path.join(data_dir, "xquad", "xquad.de.json")
  text = open(path, encoding="utf-8").read()
  open(path, "w", encoding="utf-8").write(text[: len(text) // 2])
  for strict in (True, False):
    with pytest.raises(DataError, match="xquad.de.json.*not valid JSON") as info:
      list(load_examples("xquad.de", None, data_dir, strict=strict))
    assert info.value.path == path and info.value.field == "<file>"


def write_tar_gz(path, member, data: bytes):
  with tarfile.open(path, "w:gz") as archive:
    info = tarfile.TarInfo(member)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def test_jsonl_lines_end_at_newline_only(data_dir):
  """U+2028 in a string, CRLF line ends and a lone "\\r" of JSON whitespace split no record."""
  path = os.path.join(data_dir, "xcopa", "it", "val.it.jsonl")
  records = [json.loads(line) for line in open(path, encoding="utf-8")]
  records[1]["premise"] = "Avevo svuotato\u2028le tasche."
  lines = [json.dumps(r, ensure_ascii=False) for r in records]
  lines[2] = lines[2].replace(", ", ",\r ", 1)
  with open(path, "w", encoding="utf-8", newline="") as f:
    f.write("".join(line + "\r\n" for line in lines))
  archive = os.path.join(data_dir, "exams", "cross-lingual", "dev_it.jsonl.tar.gz")
  record = exams_record("u1", "Riga uno\u2029riga due?", ("a\u2028b", "c"), "B")
  write_tar_gz(archive, "dev_it.jsonl", (json.dumps(record, ensure_ascii=False) + "\r\n").encode())
  for strict in (True, False):
    report = SkipReport()
    examples = list(load_examples("xcopa.it", None, data_dir, strict=strict, report=report))
    assert [e["meta"]["idx"] for e in examples] == [0, 1, 2] and report.skipped == 0
    assert examples[1]["context"] == "Avevo svuotato\u2028le tasche."
    (exam,) = load_examples("exams_nopara.it", None, data_dir, strict=strict, report=report)
    assert exam["question"] == "Riga uno\u2029riga due?" and exam["options"] == ["a\u2028b", "c"]
    assert report.skipped == 0


def test_truncated_jsonl_line_is_a_bad_record(data_dir, capsys):
  path = os.path.join(data_dir, "xcopa", "it", "val.it.jsonl")
  text = open(path, encoding="utf-8").read()
  open(path, "w", encoding="utf-8").write(text[:-20])
  with pytest.raises(DataError, match="line 3.*<json>"):
    list(load_examples("xcopa.it", None, data_dir))
  report = SkipReport()
  examples = list(load_examples("xcopa.it", None, data_dir, strict=False, report=report))
  assert len(examples) == 2 and report.skipped == 1
  assert "skipped 1 bad record" in capsys.readouterr().err


def test_missing_field(data_dir, capsys):
  path = os.path.join(data_dir, "xcopa", "it", "val.it.jsonl")
  rewrite_jsonl(path, lambda rs: rs[1].pop("choice2"))
  with pytest.raises(DataError) as info:
    list(load_examples("xcopa.it", None, data_dir))
  error = info.value
  assert (error.path, error.record_id, error.field) == (path, "line 2", "choice2")
  assert "is missing" in str(error)
  report = SkipReport()
  examples = list(load_examples("xcopa.it", None, data_dir, strict=False, report=report))
  assert [e["meta"]["idx"] for e in examples] == [0, 2]
  assert report.skipped == 1 and report.errors[0].field == "choice2"
  assert "xcopa.it (validation): skipped 1 bad record" in capsys.readouterr().err


@pytest.mark.parametrize(
  "task,relative,edit,field",
  [
    (
      "belebele.deu_Latn",
      "belebele/deu_Latn.jsonl",
      lambda rs: rs[0].update(correct_answer_num="5"),
      "correct_answer_num",
    ),
    ("xcopa.it", "xcopa/it/val.it.jsonl", lambda rs: rs[0].update(label=2), "label"),
  ],
)
def test_label_out_of_range(data_dir, task, relative, edit, field):
  rewrite_jsonl(os.path.join(data_dir, relative), edit)
  with pytest.raises(DataError, match="out of range|is not 1..4") as info:
    list(load_examples(task, None, data_dir))
  assert info.value.field == field


def test_advrace_label_out_of_range_names_the_record(data_dir):
  path = os.path.join(data_dir, "advrace", "final_distractor_datasets", "DE", "test_dis.json")
  document = json.load(open(path))
  document["RACE/test/high/2.txt-0"]["label"] = 7
  json.dump(document, open(path, "w"))
  with pytest.raises(DataError) as info:
    list(load_examples("advrace.de", None, data_dir))
  assert (info.value.record_id, info.value.field) == ("RACE/test/high/2.txt-0", "label")


def test_empty_option(data_dir):
  path = os.path.join(data_dir, "race", "RACE", "test", "high", "2.txt")
  passage = json.load(open(path))
  passage["options"][0][2] = "  "
  json.dump(passage, open(path, "w"))
  with pytest.raises(DataError) as info:
    list(load_examples("race.high", "test", data_dir))
  assert (info.value.path, info.value.record_id, info.value.field) == (
    path,
    "RACE/test/high/2.txt-0",
    "options[2]",
  )


def test_answer_span_not_matching_context(data_dir):
  path = os.path.join(data_dir, "xquad", "xquad.de.json")
  document = json.load(open(path, encoding="utf-8"))
  document["data"][1]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] += 1
  json.dump(document, open(path, "w", encoding="utf-8"), ensure_ascii=False)
  with pytest.raises(DataError, match="does not match the context") as info:
    list(load_examples("xquad.de", None, data_dir))
  assert (info.value.record_id, info.value.field) == ("q3", "answers[0].start")
  report = SkipReport()
  kept = list(load_examples("xquad.de", None, data_dir, strict=False, report=report))
  assert [e["id"] for e in kept] == ["q1", "q2"] and report.skipped == 1


def test_exams_answer_key_not_a_choice(data_dir):
  path = os.path.join(data_dir, "exams", "cross-lingual", "dev_it.jsonl.tar.gz")
  record = {
    "id": "bad1",
    "question": {"stem": "?", "choices": [{"text": "a", "label": "A"}]},
    "answerKey": "Z",
    "info": {"language": "Italian"},
  }
  write_tar_gz(path, "dev_it.jsonl", (json.dumps(record) + "\n").encode())
  with pytest.raises(DataError) as error:
    list(load_examples("exams_nopara.it", None, data_dir))
  assert (error.value.record_id, error.value.field) == ("bad1", "answerKey")


def test_missing_file_names_the_path_and_where_to_get_it(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"xquad/xquad\.el\.json.*github.com/deepmind/xquad"):
    list(load_examples("xquad.el", None, str(tmp_path)))
  with pytest.raises(FileNotFoundError, match=r"xcopa/it/test\.it\.jsonl"):
    list(load_examples("xcopa.it", "test", str(tmp_path)))


def test_unknown_task_and_missing_data_dir(monkeypatch, fixture_data_dir):
  with pytest.raises(KeyError, match="unknown task 'nosuch.de'"):
    list(load_examples("nosuch.de", None, fixture_data_dir))
  monkeypatch.delenv("MRC_JAX_DATA_DIR", raising=False)
  with pytest.raises(ValueError, match="MRC_JAX_DATA_DIR"):
    list(load_examples("xquad.de"))
  monkeypatch.setenv("MRC_JAX_DATA_DIR", fixture_data_dir)
  assert len(list(load_examples("xquad.de"))) == 3


def rewrite_json(path, edit):
  document = json.load(open(path, encoding="utf-8"))
  edit(document)
  json.dump(document, open(path, "w", encoding="utf-8"), ensure_ascii=False)


@pytest.mark.parametrize(
  "answer,problem",
  [("To retire.", "is not among the choices"), ("Ten years.", "is 2 times in the choices")],
)
def test_dream_answer_not_once_among_the_choices(data_dir, capsys, answer, problem):
  path = os.path.join(data_dir, "dream", "data", "dev.json")

  def edit(items):
    items[0][1][0]["answer"] = answer
    if answer == "Ten years.":
      items[0][1][0]["choice"] = ["Ten years.", "Two years.", "Ten years."]

  rewrite_json(path, edit)
  with pytest.raises(DataError, match=problem) as info:
    list(load_examples("dream.en", "validation", data_dir))
  assert (info.value.path, info.value.record_id, info.value.field) == (
    path,
    "14-349#0",
    "[1][0].answer",
  )
  report = SkipReport()
  kept = list(load_examples("dream.en", "validation", data_dir, strict=False, report=report))
  assert [e["id"] for e in kept] == ["14-349#1", "12-497#0"] and report.skipped == 1
  assert "dream.en (validation): skipped 1 bad record" in capsys.readouterr().err


def test_dream_and_c3_malformed_items_name_the_item(data_dir):
  path = os.path.join(data_dir, "c3", "data", "c3-d-dev.json")
  rewrite_json(path, lambda items: items.append({"id": "x"}))
  with pytest.raises(DataError) as info:
    list(load_examples("c3.zh", "validation", data_dir))
  assert (info.value.path, info.value.record_id, info.value.field) == (path, "d/item 1", "<item>")
  path = os.path.join(data_dir, "dream", "data", "test.json")
  rewrite_json(path, lambda items: items[0][1][0].pop("choice"))
  with pytest.raises(DataError) as info:
    list(load_examples("dream.en", "test", data_dir))
  assert (info.value.record_id, info.value.field) == ("3-101#0", "[1][0].choice")
  assert "is missing" in str(info.value)
  open(path, "w").write('{"not": "a list"}')
  with pytest.raises(DataError, match="expected a JSON list of items"):
    list(load_examples("dream.en", "test", data_dir, strict=False))


def rewrite_lines(path, edit):
  lines = open(path, encoding="utf-8", newline="").read().splitlines()
  edit(lines)
  open(path, "w", encoding="utf-8").write("".join(line + "\n" for line in lines))


def test_mctest_story_without_its_answer_line(data_dir, capsys):
  tsv = os.path.join(data_dir, "mctest", "mc160.dev.tsv")
  rewrite_lines(tsv, lambda lines: lines.append(lines[0].replace("mc160.dev.0", "mc160.dev.1", 1)))
  with pytest.raises(DataError, match="is missing") as info:
    list(load_examples("mctest.en", "validation", data_dir))
  assert (info.value.path, info.value.record_id, info.value.field) == (
    tsv,
    "mc160.dev.1#0",
    "mc160.dev.ans line 2",
  )
  report = SkipReport()
  kept = list(load_examples("mctest.en", "validation", data_dir, strict=False, report=report))
  assert report.skipped == 4 and len(kept) == 8  # the story's 4 questions
  assert {e.record_id for e in report.errors} == {f"mc160.dev.1#{q}" for q in range(4)}
  assert "skipped 4 bad record" in capsys.readouterr().err


@pytest.mark.parametrize(
  "line,field,problem",
  [
    ("A\tB\tA", "mc500.dev.ans line 1", "expected 4 tab-separated letters"),
    ("C\tA\tE\tD", "mc500.dev.ans line 1 column 3", "'E' is not one of A, B, C, D"),
  ],
)
def test_mctest_bad_answer_line(data_dir, line, field, problem):
  open(os.path.join(data_dir, "mctest", "mc500.dev.ans"), "w").write(line + "\r\n")
  with pytest.raises(DataError, match=problem) as info:
    list(load_examples("mctest.en", "validation", data_dir))
  assert info.value.field == field and info.value.record_id.startswith("mc500.dev.7#")
  report = SkipReport()
  kept = list(load_examples("mctest.en", "validation", data_dir, strict=False, report=report))
  assert len(kept) == 8 - report.skipped and report.skipped == (4 if "letters" in problem else 1)


def test_mctest_more_answer_lines_than_stories_is_a_file_error(data_dir):
  ans = os.path.join(data_dir, "mctest", "mc160.dev.ans")
  rewrite_lines(ans, lambda lines: lines.append("A\tA\tA\tA"))
  for strict in (True, False):
    with pytest.raises(DataError, match="2 answer lines for 1 stories") as info:
      list(load_examples("mctest.en", "validation", data_dir, strict=strict))
    assert info.value.path == ans


def test_mctest_question_type_and_columns(data_dir):
  tsv = os.path.join(data_dir, "mctest", "mc160.dev.tsv")
  rewrite_lines(
    tsv, lambda lines: lines.__setitem__(0, lines[0].replace("multiple: Who came", "Who came"))
  )
  with pytest.raises(DataError, match="does not start with 'one:' or 'multiple:'") as info:
    list(load_examples("mctest.en", "validation", data_dir))
  assert (info.value.record_id, info.value.field) == ("mc160.dev.0#1", "q2")
  rewrite_lines(tsv, lambda lines: lines.__setitem__(0, lines[0].rsplit("\t", 1)[0]))
  with pytest.raises(DataError, match="expected 23 tab-separated columns, got 22") as info:
    list(load_examples("mctest.en", "validation", data_dir))
  assert (info.value.record_id, info.value.field) == ("mc160.dev.0#0", "<columns>")


def test_utf8_byte_order_mark_is_dropped(data_dir):
  """A BOM before JSON, JSON Lines (plain and in .tar.gz) or MCTest TSV loses no record."""
  for relative in ("xquad/xquad.de.json", "xcopa/it/val.it.jsonl", "mctest/mc160.dev.tsv"):
    path = os.path.join(data_dir, relative)
    data = open(path, "rb").read()
    open(path, "wb").write(b"\xef\xbb\xbf" + data)
  archive = os.path.join(data_dir, "exams", "cross-lingual", "dev_it.jsonl.tar.gz")
  record = exams_record("b1", "?", ("a", "b"), "A")
  write_tar_gz(archive, "dev_it.jsonl", b"\xef\xbb\xbf" + json.dumps(record).encode() + b"\n")
  report = SkipReport()
  assert [e["id"] for e in load_examples("xquad.de", None, data_dir)] == ["q1", "q2", "q3"]
  assert len(list(load_examples("xcopa.it", None, data_dir, strict=False, report=report))) == 3
  assert [e["id"] for e in load_examples("exams_nopara.it", None, data_dir)] == ["b1"]
  assert len(list(load_examples("mctest.en", "validation", data_dir))) == 8
  assert report.skipped == 0


def test_mistyped_field(data_dir):
  path = os.path.join(data_dir, "belebele", "deu_Latn.jsonl")
  rewrite_jsonl(path, lambda rs: rs[1].update(question=["not", "a", "string"]))
  with pytest.raises(DataError, match="expected str") as info:
    list(load_examples("belebele.deu_Latn", None, data_dir))
  assert (info.value.path, info.value.field) == (path, "question")
  report = SkipReport()
  kept = list(load_examples("belebele.deu_Latn", None, data_dir, strict=False, report=report))
  assert len(kept) == 1 and report.skipped == 1


def test_duplicate_ids_in_a_file(data_dir, capsys):
  path = os.path.join(data_dir, "xquad", "xquad.de.json")
  rewrite_json(path, lambda d: d["data"][1]["paragraphs"][0]["qas"][0].update(id="q1"))
  with pytest.raises(DataError, match="'q1' repeats record 'q1'") as info:
    list(load_examples("xquad.de", None, data_dir))
  assert (info.value.path, info.value.record_id, info.value.field) == (path, "q1", "id")
  report = SkipReport()
  kept = list(load_examples("xquad.de", None, data_dir, strict=False, report=report))
  assert [e["id"] for e in kept] == ["q1", "q2"] and report.skipped == 1
  assert "xquad.de (test): skipped 1 bad record" in capsys.readouterr().err


def test_duplicate_options_are_kept_and_counted(data_dir, capsys):
  path = os.path.join(data_dir, "xcopa", "it", "val.it.jsonl")
  rewrite_jsonl(path, lambda rs: rs[0].update(choice2=rs[0]["choice1"] + " "))
  report = SkipReport()
  examples = list(load_examples("xcopa.it", None, data_dir, report=report))
  assert len(examples) == 3 and report.skipped == 0
  assert report.quirks == [Quirk(path, "line 1", "kept", DUPLICATE_OPTIONS)]
  assert report.counts()["kept"] == {DUPLICATE_OPTIONS: 1}
  assert f"kept 1 record(s) ({DUPLICATE_OPTIONS}): {path}" in capsys.readouterr().err


@pytest.mark.parametrize(
  "task,relative,edit,field",
  [
    ("xcopa.it", "xcopa/it/val.it.jsonl", lambda rs: rs[0].update(premise=" "), "premise"),
    (
      "belebele.deu_Latn",
      "belebele/deu_Latn.jsonl",
      lambda rs: rs[0].update(flores_passage=""),
      "flores_passage",
    ),
  ],
)
def test_empty_passage_jsonl(data_dir, task, relative, edit, field):
  rewrite_jsonl(os.path.join(data_dir, relative), edit)
  with pytest.raises(DataError, match="is empty") as info:
    list(load_examples(task, None, data_dir))
  assert info.value.field == field and info.value.record_id == "line 1"


def test_empty_passage_race_and_squad(data_dir):
  path = os.path.join(data_dir, "race", "RACE", "test", "high", "2.txt")
  rewrite_json(path, lambda passage: passage.update(article="\n"))
  with pytest.raises(DataError, match="is empty") as info:
    list(load_examples("race.high", "test", data_dir))
  assert (info.value.path, info.value.field) == (path, "article")
  path = os.path.join(data_dir, "xquad", "xquad.de.json")
  rewrite_json(path, lambda d: d["data"][0]["paragraphs"][0].update(context=""))
  with pytest.raises(DataError) as info:
    list(load_examples("xquad.de", None, data_dir))
  assert (info.value.path, info.value.record_id) == (path, "q1")
  assert info.value.field in ("context", "answers[0].start")


def test_empty_passage_dream_and_mctest(data_dir):
  path = os.path.join(data_dir, "dream", "data", "dev.json")
  rewrite_json(path, lambda items: items[0].__setitem__(0, ["", "  "]))
  with pytest.raises(DataError, match="is empty") as info:
    list(load_examples("dream.en", "validation", data_dir))
  assert (info.value.path, info.value.field) == (path, "[0]")
  path = os.path.join(data_dir, "mctest", "mc160.dev.tsv")
  lines = open(path, encoding="utf-8").read().split("\n")
  columns = lines[0].split("\t")
  columns[2] = " "
  lines[0] = "\t".join(columns)
  open(path, "w", encoding="utf-8").write("\n".join(lines))
  with pytest.raises(DataError, match="is empty") as info:
    list(load_examples("mctest.en", "validation", data_dir))
  assert (info.value.path, info.value.record_id, info.value.field) == (
    path,
    "mc160.dev.0#0",
    "story",
  )


def test_corrupt_exams_archive_names_the_file(data_dir):
  path = os.path.join(data_dir, "exams", "cross-lingual", "dev_it.jsonl.tar.gz")
  data = open(path, "rb").read()
  open(path, "wb").write(data[: len(data) // 2])
  for strict in (True, False):
    with pytest.raises(DataError, match="not a readable .tar.gz archive") as info:
      list(load_examples("exams_nopara.it", None, data_dir, strict=strict))
    assert (info.value.path, info.value.field) == (path, "<file>")
