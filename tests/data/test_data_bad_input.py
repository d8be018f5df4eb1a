"""Bad input: an error naming file, record and field; lenient mode skips, counts, reports."""
import io
import json
import os
import shutil
import tarfile

import pytest

from mrc_jax.data import DataError, SkipReport, load_examples


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
    record = {"id": "u1", "question": {"stem": "Riga uno\u2029riga due?", "choices": [
        {"text": "a\u2028b", "label": "A"}, {"text": "c", "label": "B"}]},
        "answerKey": "B", "info": {"language": "Italian"}}
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


@pytest.mark.parametrize("task,relative,edit,field", [
    ("belebele.deu_Latn", "belebele/deu_Latn.jsonl",
     lambda rs: rs[0].update(correct_answer_num="5"), "correct_answer_num"),
    ("xcopa.it", "xcopa/it/val.it.jsonl", lambda rs: rs[0].update(label=2), "label"),
])
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
        path, "RACE/test/high/2.txt-0", "options[2]")


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
    record = {"id": "bad1", "question": {"stem": "?", "choices": [{"text": "a", "label": "A"}]},
              "answerKey": "Z", "info": {"language": "Italian"}}
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
