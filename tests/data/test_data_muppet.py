"""The Muppet blend table, its mixtures, mixing modes and the TFDS/HF record converters."""

import collections

import numpy as np
import pytest

from mrc_jax.data import DataError, SkipReport, muppet, schema
from mrc_jax.data.mixing import MixingConfig, mixing_rate
from mrc_jax.data.sources.records import decode_record


def test_table_has_at_least_46_complete_entries():
  assert len(muppet.DATASETS) >= 46
  families = collections.Counter(d.family for d in muppet.DATASETS)
  assert set(families) == set(muppet.FAMILIES) and min(families.values()) >= 4
  for d in muppet.DATASETS + muppet.MULTILINGUAL:
    assert (
      d.name and d.builder and d.splits.get("train") and d.train_size > 0 and callable(d.convert)
    )
    assert d.source in ("tfds", "hf") and d.kind and d.lang
    if d.kind == "span":
      assert d.num_classes is None and d.head == "span"
    elif d.kind == "generation":  # 1/log(n) over the run's vocabulary
      assert d.num_classes is None and d.head == "generation" and d.needs_decoder
    else:
      assert d.num_classes >= 1
  heads = {d.name: d.head for d in muppet.DATASETS}
  classification = [d for d in muppet.DATASETS if d.family == "classification"]
  assert len({heads[d.name] for d in classification}) == len(classification)
  assert {heads[d.name] for d in muppet.DATASETS if d.family == "commonsense"} == {"choice"}
  assert all(d.needs_decoder == (d.family == "summarization") for d in muppet.DATASETS)
  assert {d.lang for d in muppet.MULTILINGUAL} >= {"de", "zh", "ar", "sw", "ja"}


def test_subsets_are_nested_stratified_and_seeded():
  encoder = muppet.encoder_datasets()
  shares = collections.Counter(d.family for d in encoder)
  previous = []
  for n in muppet.TASK_COUNTS:
    chosen = muppet.subset(n)
    assert len(chosen) == n == len({d.name for d in chosen})
    assert chosen[: len(previous)] == previous
    assert not any(d.needs_decoder for d in chosen)
    counts = collections.Counter(d.family for d in chosen)
    for family, total in shares.items():
      assert abs(counts[family] - n * total / len(encoder)) <= 1, (n, family)
    previous = chosen
  assert muppet.subset(10) == muppet.subset(10)
  assert muppet.subset(10, seed=1) != muppet.subset(10)
  # muppet_all lists the summarization sets too (an encoder's run leaves them out).
  assert [d.name for d in muppet.mixture_datasets("muppet_all")] == [
    d.name for d in muppet.DATASETS
  ]
  assert muppet.encoder_datasets(muppet.mixture_datasets("muppet_all")) == encoder


def test_encoder_only_blend_logs_the_summarization_sets(caplog):
  with caplog.at_level("INFO"):
    muppet.encoder_datasets()
  assert "cnn_dailymail" in caplog.text and "need a decoder" in caplog.text


def test_mixing_modes():
  import types

  task = types.SimpleNamespace(name="t", num_input_examples=lambda split: 400_000)
  assert mixing_rate(task, size=None, mixing=MixingConfig()) == 400_000.0
  assert mixing_rate(task, size=10, mixing=MixingConfig("epoch")) == 10.0
  capped = MixingConfig("temperature", temperature=2.0, maximum=65536)
  assert mixing_rate(task, size=None, mixing=capped) == pytest.approx(65536**0.5)
  assert mixing_rate(task, size=1000, mixing=capped) == pytest.approx(1000**0.5)
  endless = types.SimpleNamespace(name="e", num_input_examples=lambda split: None)
  with pytest.raises(ValueError, match="give its mixture entry a size"):
    mixing_rate(endless, size=None, mixing=MixingConfig())
  with pytest.raises(ValueError, match="not one of"):
    MixingConfig("uniform")


def test_temperature_rates_equal_seqio_mixing_rate_num_examples():
  import seqio

  from mrc_jax.data import tasks

  config = MixingConfig("temperature", temperature=3.0, maximum=100_000, scale=2.0)
  name = tasks.register_mixture("test_mnli_temperature", ["muppet.mnli"], config)
  task = seqio.get_mixture_or_task("muppet.mnli")
  ours = seqio.get_mixture_or_task(name).get_rate(task)
  assert ours == pytest.approx(
    seqio.mixing_rate_num_examples(task, maximum=100_000, scale=2.0, temperature=3.0)
  )


def convert(name, records, strict=True):
  dataset = muppet.get_dataset(name)
  report = SkipReport()
  raw = iter(records)
  out = list(
    muppet.convert_dataset_records(
      dataset, "train", raw, strict=strict, report=report, origin=f"tfds:{dataset.builder} [train]"
    )
  )
  return out, report


def test_record_converters_per_kind():
  assert decode_record({"x": np.array([b"a", b"b"])}) == {"x": ["a", "b"]}
  (mnli,), _ = convert(
    "mnli",
    [
      decode_record(
        {
          "premise": b"A man sleeps.",
          "hypothesis": b"Nobody sleeps.",
          "label": np.int64(2),
          "idx": np.int32(7),
        }
      )
    ],
  )
  assert mnli == {
    "id": "muppet.mnli.train.7",
    "task": "muppet.mnli",
    "lang": "en",
    "context": "A man sleeps.",
    "question": "Nobody sleeps.",
    "options": [],
    "label": 2,
    "meta": {"split": "train"},
  }
  (csqa,), _ = convert(
    "commonsense_qa",
    [
      {
        "id": "q1",
        "question": "Where is a fish?",
        "answerKey": "C",
        "choices": {"label": ["A", "B", "C"], "text": ["sky", "tree", "sea"]},
      }
    ],
  )
  assert csqa["options"] == ["sky", "tree", "sea"] and csqa["label"] == 2
  # TFDS winogrande's label is a ClassLabel over "1"/"2": already 0-based.
  (wino,), _ = convert(
    "winogrande",
    [
      {
        "sentence": "The cup fell because _ was slippery.",
        "option1": "the cup",
        "option2": "the table",
        "label": 1,
      }
    ],
  )
  assert wino["label"] == 1 and wino["question"].endswith("slippery.")
  (squad,), _ = convert(
    "squad",
    [
      {
        "id": "s9",
        "context": "Paris is in France.",
        "question": "Where is Paris?",
        "answers": {"text": ["France"], "answer_start": [12]},
      }
    ],
  )
  assert squad["answers"] == [{"text": "France", "start": 12}]
  (mrqa,), _ = convert(
    "mrqa_newsqa",
    [
      {
        "qid": "n1",
        "context": "Rain fell in Oslo.",
        "question": "Where?",
        "answers": ["Oslo"],
        "subset": "NewsQA",
      }
    ],
  )
  assert (
    mrqa["answers"] == [{"text": "Oslo", "start": 13}]
    and mrqa["id"] == "muppet.mrqa_newsqa.train.n1"
  )
  (stsb,), _ = convert("stsb", [{"sentence1": "a", "sentence2": "b", "label": 3.5, "idx": 0}])
  assert stsb["target"] == 3.5
  (summary,), _ = convert("xsum", [{"document": "Long text.", "summary": "Short.", "id": "x"}])
  assert summary["target_text"] == "Short." and "options" not in summary
  assert schema.example_kind(summary) == "generation"


def test_record_converter_errors_and_withheld_labels():
  records = [{"premise": "p", "hypothesis": "h", "label": 5, "idx": 3}]
  with pytest.raises(DataError) as info:
    convert("mnli", records)
  assert (info.value.path, info.value.record_id, info.value.field) == (
    "tfds:glue/mnli [train]",
    "train[0]",
    "label",
  )
  examples, report = convert(
    "mnli", records + [{"premise": "p", "hypothesis": "h", "label": 1, "idx": 4}], strict=False
  )
  assert [e["id"] for e in examples] == ["muppet.mnli.train.4"] and report.skipped == 1
  # TFDS marks records without a gold label (SNLI no-consensus, GLUE test) with -1.
  examples, report = convert("snli", [{"premise": "p", "hypothesis": "h", "label": -1}])
  assert examples == [] and report.skipped == 0
  with pytest.raises(DataError, match="does not occur in the context"):
    convert(
      "mrqa_newsqa", [{"context": "abc", "question": "q", "answers": ["zzz"], "subset": "NewsQA"}]
    )


def test_unprepared_tfds_dataset_is_a_clear_error(tmp_path):
  with pytest.raises(
    FileNotFoundError, match=r"glue/cola is not prepared under .*tfds.*prepare_data.py"
  ):
    next(muppet.load_muppet_examples("muppet.cola", "train", str(tmp_path)))


def test_load_examples_reads_muppet_tasks_through_the_table(tmp_path):
  from mrc_jax.data import load_examples

  with pytest.raises(FileNotFoundError, match="muppet.rte: TFDS dataset glue/rte is not prepared"):
    list(load_examples("muppet.rte", None, str(tmp_path)))


def test_repeated_upstream_ids_are_kept_as_they_come():
  record = {"sentence1": "a", "sentence2": "b", "label": 3.5, "idx": 7}
  examples, report = convert("stsb", [record, dict(record, label=1.0)])
  assert [e["id"] for e in examples] == ["muppet.stsb.train.7"] * 2
  assert [e["target"] for e in examples] == [3.5, 1.0] and not report.errors
