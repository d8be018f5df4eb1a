"""load_examples on the real files under MRC_JAX_DATA_DIR."""
import collections
import glob
import json
import os
import tarfile

import pytest

from mrc_jax.data import SkipReport, catalog, load_examples

pytestmark = pytest.mark.integration
SHARED_XQUAD = ("ar", "de", "en", "es", "ru", "tr", "vi", "zh")


def raw_jsonl_tar_gz(path):
    with tarfile.open(path) as archive:
        (member,) = archive.getmembers()
        return [json.loads(line) for line in archive.extractfile(member).read().decode().splitlines()]


def test_xquad_de_answers_at_offsets(real_data_dir):
    examples = list(load_examples("xquad.de", "test", real_data_dir))
    assert len(examples) == 1190 and len({e["id"] for e in examples}) == 1190
    for e in examples:
        assert e["answers"]
        for a in e["answers"]:
            assert e["context"][a["start"]:a["start"] + len(a["text"])] == a["text"]


def test_xquad_is_parallel_across_languages(real_data_dir):
    ids = {lang: [e["id"] for e in load_examples(f"xquad.{lang}", None, real_data_dir)]
           for lang in SHARED_XQUAD}
    for lang in SHARED_XQUAD:
        assert ids[lang] == ids["en"], lang
    german = {e["id"]: e for e in load_examples("xquad.de", None, real_data_dir)}
    english = {e["id"]: e for e in load_examples("xquad.en", None, real_data_dir)}
    assert sum(german[i]["question"] != english[i]["question"] for i in german) > 1100


def test_exams_it_with_paragraphs(real_data_dir):
    path = os.path.join(real_data_dir, "exams/cross-lingual/with_paragraphs/dev_it_with_para.jsonl.tar.gz")
    raw = raw_jsonl_tar_gz(path)
    examples = list(load_examples("exams.it", None, real_data_dir))
    assert len(examples) == len(raw) == 246
    expected = collections.Counter(
        [c["label"] for c in r["question"]["choices"]].index(r["answerKey"]) for r in raw)
    assert collections.Counter(e["label"] for e in examples) == expected
    for e, r in zip(examples, raw):
        assert e["id"] == r["id"] and e["context"]
        assert e["meta"]["option_contexts"] == [c["para"] for c in r["question"]["choices"]]
        assert all(p in e["context"] for p in e["meta"]["option_contexts"])


def test_xcopa_it_label_distribution(real_data_dir):
    for split, upstream in (("validation", "val"), ("test", "test")):
        raw = [json.loads(line) for line in open(os.path.join(real_data_dir, f"xcopa/it/{upstream}.it.jsonl"))]
        examples = list(load_examples("xcopa.it", split, real_data_dir))
        assert len(examples) == len(raw) == {"validation": 100, "test": 500}[split]
        assert collections.Counter(e["label"] for e in examples) == collections.Counter(r["label"] for r in raw)
        assert [e["options"] for e in examples] == [[r["choice1"], r["choice2"]] for r in raw]


def count_raw_records(path):
    if path.endswith(".jsonl"):
        return sum(1 for line in open(path) if line.strip())
    if path.endswith(".jsonl.tar.gz"):
        return len(raw_jsonl_tar_gz(path))
    document = json.load(open(path))
    return sum(len(p["qas"]) for a in document["data"] for p in a["paragraphs"])


def test_every_shared_file_loads_with_nothing_skipped(real_data_dir):
    report = SkipReport()
    loaded = collections.Counter()
    for name, task in catalog.file_tasks().items():
        for split in task.present_splits(real_data_dir):
            for example in load_examples(name, split, real_data_dir, strict=False, report=report):
                (path,) = task.files[split]
                loaded[path] += 1
    assert report.skipped == 0, report.summary("shared data")
    shared = sorted(os.path.relpath(p, real_data_dir) for p in
                    glob.glob(os.path.join(real_data_dir, "**", "*.json*"), recursive=True))
    assert len(shared) >= 31
    for relative in shared:
        assert loaded[relative] == count_raw_records(os.path.join(real_data_dir, relative)), relative
