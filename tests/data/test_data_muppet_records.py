"""Every converter of the Muppet blend on a record of exactly the structure its source
declares: TFDS records are built from the builder's own feature spec (encoded and decoded by
TFDS, as ``as_numpy`` yields them) and its split names; Hugging Face records from the
``dataset_info`` features of the dataset card (fixtures/muppet/hf_dataset_cards.json)."""

import inspect
import json
import re

import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from mrc_jax.data import DataError, SkipReport, muppet
from mrc_jax.data.sources.records import decode_record
from tests.data.muppet_records import (
  CARDS,
  HF_CASES,
  ROPES,
  TFDS_CASES,
  card_of,
  hf_record,
  tfds_example,
)


class _OfflineDownloads:
  """Stands in for TFDS's download manager: every resource becomes a path that is never read."""

  manual_dir = download_dir = tfds.core.Path("/nonexistent")

  def download_and_extract(self, resources):
    if isinstance(resources, dict):
      return {k: self.download_and_extract(v) for k, v in resources.items()}
    if isinstance(resources, (list, tuple)):
      return type(resources)(self.download_and_extract(v) for v in resources)
    return self.manual_dir / re.sub(r"\W", "_", str(resources))

  download = extract = download_and_extract

  def iter_archive(self, path):
    return iter(())


def declared_splits(builder) -> set[str]:
  """The split names of ``_split_generators``; builders that read a file to list their
  splits (cnn_dailymail, xsum) are read from the source of that method instead."""
  try:
    generators = builder._split_generators(_OfflineDownloads())
  except (OSError, tf.errors.NotFoundError):
    source = inspect.getsource(type(builder)._split_generators)
    return {name.lower() for name in re.findall(r"name=tfds\.Split\.(\w+)", source)}
  return {
    str(name)
    for name in (generators if isinstance(generators, dict) else (g.name for g in generators))
  }


def convert(dataset, record, split="train"):
  report = SkipReport()
  out = list(
    muppet.convert_dataset_records(
      dataset,
      split,
      iter([record]),
      strict=True,
      report=report,
      origin=f"{dataset.source}:{dataset.builder} [{split}]",
    )
  )
  assert report.skipped == 0
  return out


def check(dataset, record, expected):
  (example,) = convert(dataset, record)
  assert {k: example[k] for k in expected} == expected, dataset.name
  assert example["task"] == dataset.task and example["meta"]["split"] == "train"
  return example


TFDS_DATASETS = [d for d in muppet.DATASETS + muppet.MULTILINGUAL if d.source == "tfds"]
HF_DATASETS = [d for d in muppet.DATASETS + muppet.MULTILINGUAL if d.source == "hf"]


def test_every_dataset_of_the_blend_has_a_case():
  assert sorted(TFDS_CASES) == sorted(d.name for d in TFDS_DATASETS)
  assert sorted(HF_CASES) == sorted(d.name for d in HF_DATASETS)


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
  return str(tmp_path_factory.mktemp("tfds"))


@pytest.mark.parametrize("dataset", TFDS_DATASETS, ids=lambda d: d.name)
def test_tfds_converter_on_the_builders_declared_record(dataset, tfds_dir):
  builder = tfds.builder(dataset.builder, data_dir=tfds_dir, try_gcs=False)
  assert set(dataset.splits.values()) <= declared_splits(builder)
  values, expected = TFDS_CASES[dataset.name]
  features = builder.info.features
  record = decode_record(
    features.decode_example_np(features.encode_example(tfds_example(features, values)))
  )
  check(dataset, record, expected)


@pytest.fixture(scope="module")
def cards():
  with open(CARDS, encoding="utf-8") as f:
    return json.load(f)


@pytest.mark.parametrize("dataset", HF_DATASETS, ids=lambda d: d.name)
def test_hf_converter_on_the_cards_declared_record(dataset, cards):
  values, expected = HF_CASES[dataset.name]
  check(dataset, hf_record(card_of(cards, dataset)["features"], values), expected)


def test_winogrande_reads_the_largest_training_split_with_0_based_labels(tfds_dir):
  dataset = muppet.get_dataset("winogrande")
  builder = tfds.builder(dataset.builder, data_dir=tfds_dir, try_gcs=False)
  assert dataset.splits["train"] == "train_xl" and builder.info.features["label"].names == [
    "1",
    "2",
  ]
  features = builder.info.features
  first = features.encode_example(tfds_example(features, {"label": "1"}))
  assert convert(dataset, decode_record(features.decode_example_np(first)))[0]["label"] == 0
  # The test split has no answer: TFDS writes -1, which is left out like other unlabelled records.
  assert (
    convert(dataset, {"sentence": "s", "option1": "a", "option2": "b", "label": -1}, "validation")
    == []
  )


def test_ropes_answers_come_from_the_situation_or_the_question(cards):
  dataset = muppet.get_dataset("ropes")
  features = card_of(cards, dataset)["features"]
  question = "Will Ann's town get warmer or colder?"
  record = hf_record(
    features,
    {
      "background": "Warm air rises.",
      "situation": "Ann lives by the sea.",
      "question": question,
      "answers": {"text": ["warmer"]},
    },
  )
  (example,) = convert(dataset, record)
  start = example["answers"][0]["start"]
  assert example["context"][start : start + 6] == "warmer" and start > len(
    "Warm air rises. Ann lives by the sea."
  )
  bad = hf_record(features, {**ROPES, "id": "r9", "answers": {"text": ["Town C"]}})
  with pytest.raises(DataError) as info:
    convert(dataset, bad)
  assert (info.value.path, info.value.record_id, info.value.field) == (
    "hf:allenai/ropes [train]",
    "r9",
    "answers[0]",
  )


def test_openbookqa_errors_name_the_nested_field():
  dataset = muppet.get_dataset("openbookqa")
  with pytest.raises(DataError) as info:
    convert(
      dataset,
      {
        "fact1": "f",
        "question": {"stem": "s", "choice_A": "a", "choice_B": "b", "choice_C": "c"},
        "answerKey": 0,
      },
    )
  assert info.value.field == "question.choice_D"


def test_social_iqa_labels_with_a_trailing_newline(cards):
  # Older copies of the dataset script kept the newline of its label file ("1\n").
  dataset = muppet.get_dataset("social_iqa")
  record = hf_record(card_of(cards, dataset)["features"], {"label": "2\n"})
  assert convert(dataset, record)[0]["label"] == 1
