"""load_examples on the real files under MRC_JAX_DATA_DIR."""

import collections
import glob
import io
import json
import os
import tarfile

import pytest

from mrc_jax.data import SkipReport, catalog, load_examples
from mrc_jax.data.sources import exams, xcopa
from mrc_jax.data.sources.common import DUPLICATE_OPTIONS

pytestmark = pytest.mark.integration
SHARED_XQUAD = ("ar", "de", "en", "es", "ru", "tr", "vi", "zh")
SHARED_XCOPA = ("et", "ht", "id", "it", "qu", "sw", "tr", "vi", "zh")
# Items whose upstream `question` disagrees with the majority of the 9 shared XCOPA files
# (measured; the other languages agree on every item).
XCOPA_DISAGREEMENTS = {
  "validation": {"tr": 52, "sw": 6, "id": 5, "it": 5},
  "test": {"tr": 51, "sw": 37, "id": 4, "it": 4},
}


def raw_jsonl(text):
  return [json.loads(line) for line in text.split("\n") if line.strip()]


def raw_jsonl_tar_gz(path):
  with tarfile.open(path) as archive:
    (member,) = archive.getmembers()
    return raw_jsonl(archive.extractfile(member).read().decode())


def test_xquad_de_answers_at_offsets(real_data_dir):
  examples = list(load_examples("xquad.de", "test", real_data_dir))
  assert len(examples) == 1190 and len({e["id"] for e in examples}) == 1190
  for e in examples:
    assert e["answers"]
    for a in e["answers"]:
      assert e["context"][a["start"] : a["start"] + len(a["text"])] == a["text"]


def test_xquad_is_parallel_across_languages(real_data_dir):
  ids = {
    lang: [e["id"] for e in load_examples(f"xquad.{lang}", None, real_data_dir)]
    for lang in SHARED_XQUAD
  }
  for lang in SHARED_XQUAD:
    assert ids[lang] == ids["en"], lang
  german = {e["id"]: e for e in load_examples("xquad.de", None, real_data_dir)}
  english = {e["id"]: e for e in load_examples("xquad.en", None, real_data_dir)}
  assert sum(german[i]["question"] != english[i]["question"] for i in german) > 1100


def test_exams_it_with_paragraphs(real_data_dir):
  path = os.path.join(
    real_data_dir, "exams/cross-lingual/with_paragraphs/dev_it_with_para.jsonl.tar.gz"
  )
  raw = raw_jsonl_tar_gz(path)
  examples = list(load_examples("exams.it", "validation", real_data_dir))
  assert len(examples) == len(raw) == 246
  expected = collections.Counter(
    [c["label"] for c in r["question"]["choices"]].index(r["answerKey"]) for r in raw
  )
  assert collections.Counter(e["label"] for e in examples) == expected
  for e, r in zip(examples, raw):
    assert e["id"] == r["id"] and e["context"]
    assert e["meta"]["option_contexts"] == [c["para"] for c in r["question"]["choices"]]
    assert all(p in e["context"] for p in e["meta"]["option_contexts"])


def test_exams_lines_with_u2028_are_one_record(real_data_dir, tmp_path):
  """The shared files hold no U+2028; one is put into every record of a real file."""
  relative = "exams/cross-lingual/with_paragraphs/dev_bg_with_para.jsonl.tar.gz"
  raw = raw_jsonl_tar_gz(os.path.join(real_data_dir, relative))
  for record in raw:
    record["question"]["stem"] += "\u2028" + record["question"]["choices"][0]["text"]
  data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in raw).encode()
  path = tmp_path / relative
  path.parent.mkdir(parents=True)
  with tarfile.open(path, "w:gz") as archive:
    info = tarfile.TarInfo("dev_bg_with_para.jsonl")
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))
  for strict in (True, False):
    report = SkipReport()
    examples = list(
      load_examples("exams.bg", "validation", str(tmp_path), strict=strict, report=report)
    )
    assert len(examples) == len(raw) == 593 and report.skipped == 0
    assert [e["question"] for e in examples] == [r["question"]["stem"] for r in raw]


def test_exams_answer_key_at_questions_are_left_out_and_counted(real_data_dir):
  report, expected = SkipReport(), collections.Counter()
  for name, task in catalog.file_tasks().items():
    if task.dataset not in ("exams", "exams_multilingual"):
      continue
    multilingual = task.dataset == "exams_multilingual"
    for split in task.present_splits(real_data_dir):
      (relative,) = task.files[split]
      path = os.path.join(real_data_dir, relative)
      raw = [
        r
        for r in raw_jsonl_tar_gz(path)
        if not multilingual or exams.LANGUAGE_CODES[r["info"]["language"]] == task.lang
      ]
      at = sum(r["answerKey"] == "@" for r in raw)
      examples = list(load_examples(name, split, real_data_dir, report=report))  # strict
      assert len(examples) == len(raw) - at, relative
      assert all(e["label"] >= 0 for e in examples)
      expected[(path, "left out", exams.NO_VALID_ANSWER_REASON)] += at
  assert report.quirk_counts("left out") == +expected
  # Measured on the shared files (12 archives): one question, in the Turkish dev file.
  assert {os.path.relpath(path, real_data_dir): n for (path, _, _), n in (+expected).items()} == {
    "exams/cross-lingual/with_paragraphs/dev_tr_with_para.jsonl.tar.gz": 1
  }


def test_xcopa_relations_follow_the_majority_of_the_shared_files(real_data_dir):
  for split, upstream in (("validation", "val"), ("test", "test")):
    raw = {
      lang: raw_jsonl(
        open(
          os.path.join(real_data_dir, f"xcopa/{lang}/{upstream}.{lang}.jsonl"), encoding="utf-8"
        ).read()
      )
      for lang in SHARED_XCOPA
    }
    votes = collections.defaultdict(collections.Counter)
    for records in raw.values():
      for r in records:
        votes[r["idx"]][r["question"]] += 1
    assert all(c.most_common(1)[0][1] > len(SHARED_XCOPA) / 2 for c in votes.values())
    majority = {idx: c.most_common(1)[0][0] for idx, c in votes.items()}
    for lang, records in raw.items():
      report = SkipReport()
      examples = list(load_examples(f"xcopa.{lang}", split, real_data_dir, report=report))
      assert [e["meta"]["relation"] for e in examples] == [majority[r["idx"]] for r in records]
      assert [e["question"] for e in examples] == [
        xcopa.QUESTION_TEXT[majority[r["idx"]]] for r in records
      ]
      disagree = sum(r["question"] != majority[r["idx"]] for r in records)
      assert disagree == XCOPA_DISAGREEMENTS[split].get(lang, 0), (split, lang)
      assert report.left_out == 0 and report.skipped == 0
      assert sum(report.quirk_counts("corrected").values()) == disagree
      assert sum("relation_upstream" in e["meta"] for e in examples) == disagree


def test_xcopa_it_label_distribution(real_data_dir):
  for split, upstream in (("validation", "val"), ("test", "test")):
    raw = [
      json.loads(line)
      for line in open(os.path.join(real_data_dir, f"xcopa/it/{upstream}.it.jsonl"))
    ]
    examples = list(load_examples("xcopa.it", split, real_data_dir))
    assert len(examples) == len(raw) == {"validation": 100, "test": 500}[split]
    assert collections.Counter(e["label"] for e in examples) == collections.Counter(
      r["label"] for r in raw
    )
    assert [e["options"] for e in examples] == [[r["choice1"], r["choice2"]] for r in raw]


def count_raw_records(path):
  if path.endswith(".jsonl"):
    return len(raw_jsonl(open(path, encoding="utf-8").read()))
  if path.endswith(".jsonl.tar.gz"):
    return len(raw_jsonl_tar_gz(path))
  document = json.load(open(path))
  if isinstance(document, list):  # DREAM: [[turns], [questions], id] items
    return sum(len(item[1]) for item in document)
  return sum(len(p["qas"]) for a in document["data"] for p in a["paragraphs"])


def test_every_shared_file_loads_with_nothing_skipped(real_data_dir):
  """Nothing is skipped as bad; only the counted upstream quirks are left out."""
  report = SkipReport()
  loaded = collections.Counter()
  for name, task in catalog.file_tasks().items():
    for split in task.present_splits(real_data_dir):
      for example in load_examples(name, split, real_data_dir, strict=False, report=report):
        # MCTest (several files per split) and xquad_mc (derived) have their own tests.
        if task.dataset not in ("mctest", "xquad_mc"):
          (path,) = task.files[split]
          loaded[path] += 1
  assert report.skipped == 0, report.summary("shared data")
  left_out = collections.Counter()
  for (path, _, _), count in report.quirk_counts("left out").items():
    left_out[os.path.relpath(path, real_data_dir)] += count
  assert left_out == {"exams/cross-lingual/with_paragraphs/dev_tr_with_para.jsonl.tar.gz": 1}
  assert sum(report.quirk_counts("corrected").values()) == sum(
    n for counts in XCOPA_DISAGREEMENTS.values() for n in counts.values()
  )
  # Questions with two options of the same text, kept: EXAMS with paragraphs train hu 2,
  # it 3, pl 1, tr 5, dev tr 1; multilingual dev vi 3; DREAM train 1.
  assert sum(report.quirk_counts("kept").values()) == 16
  # Every JSON file under the folders the catalog reads.
  folders = {
    p.split("/")[0] for t in catalog.file_tasks().values() for ps in t.files.values() for p in ps
  }
  shared = sorted(
    os.path.relpath(p, real_data_dir)
    for p in glob.glob(os.path.join(real_data_dir, "**", "*.json*"), recursive=True)
    if os.path.relpath(p, real_data_dir).split(os.sep)[0] in folders
  )
  assert len(shared) == 41  # xquad 8, xcopa 18, exams 12, dream 3
  for relative in shared:
    expected = count_raw_records(os.path.join(real_data_dir, relative)) - left_out[relative]
    assert loaded[relative] == expected, relative


def test_dream_counts_labels_and_passages(real_data_dir):
  for split, upstream, count in (
    ("train", "train", 6116),
    ("validation", "dev", 2040),
    ("test", "test", 2041),
  ):
    raw = json.load(
      open(os.path.join(real_data_dir, "dream", "data", f"{upstream}.json"), encoding="utf-8")
    )
    report = SkipReport()
    examples = list(load_examples("dream.en", split, real_data_dir, report=report))
    assert len(examples) == count and report.skipped == 0
    # Kept and counted: train 21-261#2 has two options of the same text.
    assert report.quirk_counts() == (
      {(report.quirks[0].path, "kept", DUPLICATE_OPTIONS): 1} if split == "train" else {}
    )
    assert len({e["id"] for e in examples}) == count
    questions = [
      (turns, item_id, q, question) for turns, qs, item_id in raw for q, question in enumerate(qs)
    ]
    for e, (turns, item_id, q, question) in zip(examples, questions):
      assert e["id"] == f"{item_id}#{q}" and e["context"].split("\n") == turns
      assert len(e["options"]) == 3 and e["options"][e["label"]] == question["answer"]


MCTEST_STORIES = {
  "train": {"mc160": 70, "mc500": 300},
  "validation": {"mc160": 30, "mc500": 50},
  "test": {"mc160": 60, "mc500": 150},
}


def test_mctest_counts_per_split_and_unescaped_stories(real_data_dir):
  for split, upstream in (("train", "train"), ("validation", "dev"), ("test", "test")):
    report = SkipReport()
    examples = list(load_examples("mctest.en", split, real_data_dir, report=report))
    assert report.skipped == 0 and not report.quirks
    per_subset = collections.Counter(e["meta"]["subset"] for e in examples)
    assert per_subset == {s: 4 * n for s, n in MCTEST_STORIES[split].items()}, split
    assert len({e["id"] for e in examples}) == len(examples)
    letters = []
    for subset in ("mc160", "mc500"):
      with open(
        os.path.join(real_data_dir, "mctest", f"{subset}.{upstream}.ans"), encoding="utf-8"
      ) as f:
        letters += [letter for line in f for letter in line.split()]
    assert [e["label"] for e in examples] == ["ABCD".index(letter) for letter in letters]
    assert all("\\newline" not in e["context"] and "\\tab" not in e["context"] for e in examples)
    assert all(not e["question"].startswith(("one:", "multiple:")) for e in examples)
    types = collections.Counter(e["meta"]["question_type"] for e in examples)
    assert set(types) == {"one", "multiple"} and sum(types.values()) == len(examples)
  tabs = [e for e in load_examples("mctest.en", "train", real_data_dir) if "\t" in e["context"]]
  assert tabs  # MC500 train stories use \tab as paragraph indentation


# Measured on the upstream nlpdata/c3 files (pinned in download.PINNED): train has 11,869
# questions, two of whose answers appear twice among their choices.
C3_QUESTIONS = {"train": 11869, "validation": 3816, "test": 3892}
C3_TWICE = {("c3/data/c3-m-train.json", "m/m7-65#1"), ("c3/data/c3-d-train.json", "d/51-157#0")}


def test_c3_counts_and_the_answers_given_twice(real_data_dir):
  if not os.path.isdir(os.path.join(real_data_dir, "c3")):
    pytest.skip("C3 is not under MRC_JAX_DATA_DIR")
  for split, count in C3_QUESTIONS.items():
    report = SkipReport()
    examples = list(load_examples("c3.zh", split, real_data_dir, strict=False, report=report))
    bad = {(os.path.relpath(e.path, real_data_dir), e.record_id) for e in report.errors}
    assert bad == (C3_TWICE if split == "train" else set()), split
    assert len(examples) == count - len(bad) and len({e["id"] for e in examples}) == len(examples)
    assert {len(e["options"]) for e in examples} == {2, 3, 4}
    assert {e["meta"]["subset"] for e in examples} == {"m", "d"}
