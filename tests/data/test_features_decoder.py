"""Batches for an encoder-decoder: decoder inputs and labels per unpacked row, generation
examples, and the errors that keep an encoder from reading them."""

import numpy as np
import pytest

from mrc_jax.data import features, synthetic
from mrc_jax.data.schema import FieldError, example_kind, validate_example
from mrc_jax.data.vocab import load_tokenizer

START = 7  # any id: the decoder start token is the layout's, not the tokenizer's


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
  directory = str(tmp_path_factory.mktemp("tok"))
  synthetic.save_tokenizer(directory)
  return load_tokenizer(directory)


def _examples():
  return [
    synthetic.make_example("summary", "en", "validation", 0),
    synthetic.make_example("pair", "en", "validation", 1),
    synthetic.make_example("mc", "en", "validation", 2),
  ]


def _batch(tokenizer, examples, length=64, decoder=features.DecoderLayout(START)):
  tasks = [e["task"] for e in examples]
  ((batch, meta),) = list(
    features.make_batches(
      examples,
      tokenizer,
      task_index={t: i for i, t in enumerate(tasks)},
      head_index={t: i for i, t in enumerate(tasks)},
      num_classes={"synthetic_pair.en": 3},
      examples_per_batch=4,
      rows_per_batch=8,
      lengths=(length,),
      max_choices=4,
      pack=False,
      decoder=decoder,
    )
  )
  return batch, meta


def test_generation_examples_are_their_own_kind_and_need_a_target():
  summary = synthetic.make_example("summary", "de", "train", 5)
  assert example_kind(summary) == "generation"
  assert summary["context"].startswith(summary["target_text"])  # the lead sentence
  validate_example(summary)
  with pytest.raises(FieldError, match="target_text"):
    validate_example({**summary, "target_text": " "})


def test_rows_carry_what_the_decoder_reads_and_predicts(tokenizer):
  examples = _examples()
  batch, meta = _batch(tokenizer, examples)
  assert [m["kind"] for m in meta] == ["generation", "classification", "choice"]
  ids, dec, labels = batch["input_ids"], batch["decoder_input_ids"], batch["decoder_labels"]
  assert dec.shape == labels.shape == ids.shape

  summary_row = batch["pool_row"][0, 0]
  target, _ = tokenizer.build_pair(tokenizer.encode(examples[0]["target_text"]))
  source, _ = tokenizer.build_pair(tokenizer.encode(examples[0]["context"]))
  n = len(target)
  assert ids[summary_row, : len(source)].tolist() == source
  assert labels[summary_row, :n].tolist() == target
  assert (labels[summary_row, n:] == features.IGNORE).all()
  assert dec[summary_row, :n].tolist() == [START, *target[:-1]]
  assert (dec[summary_row, n:] == tokenizer.pad_id).all()
  assert meta[0]["target_text"] == examples[0]["target_text"]
  assert batch["num_classes"][0] == tokenizer.vocab_size  # 1/log(n) over the vocabulary

  # Every other row: itself shifted right, nothing to predict.
  for slot, choices in ((1, 1), (2, 4)):
    for choice in range(choices):
      row = batch["pool_row"][slot, choice]
      real = int((batch["segment_ids"][row] > 0).sum())
      assert dec[row, :real].tolist() == [START, *ids[row, : real - 1].tolist()]
      assert (labels[row] == features.IGNORE).all()
  # Each sequence starts its own row: nothing packed.
  assert (batch["segment_ids"] <= 1).all()
  assert len({int(r) for r in batch["pool_row"][:3][batch["choice_mask"][:3] > 0]}) == 6


def test_a_target_longer_than_its_source_sets_the_bucket(tokenizer):
  summary = {**_examples()[0], "context": "Anna.", "target_text": " ".join(["Anna"] * 40)}
  ((batch, _),) = list(
    features.make_batches(
      [summary],
      tokenizer,
      task_index={summary["task"]: 0},
      head_index={summary["task"]: 0},
      examples_per_batch=1,
      rows_per_batch=1,
      lengths=(16, 64),
      max_choices=1,
      pack=False,
      decoder=features.DecoderLayout(START),
    )
  )
  assert batch["input_ids"].shape == (1, 64)
  assert (batch["decoder_labels"][0] != features.IGNORE).sum() == 42


def test_shapes_are_known_before_any_batch(tokenizer):
  batch, _ = _batch(tokenizer, _examples())
  shapes = features.batch_shapes(8, 64, 4, 4, decoder=True)
  assert {k: (v.shape, v.dtype) for k, v in batch.items()} == {
    k: (shape, np.dtype(dtype)) for k, (shape, dtype) in shapes.items()
  }
  padding = features.padding_batch(8, 64, 4, 4, tokenizer.pad_id, features.DecoderLayout(START))
  assert (padding["decoder_labels"] == features.IGNORE).all()
  assert set(padding) == set(shapes)


def test_an_encoder_refuses_generation_and_a_decoder_refuses_packing(tokenizer):
  with pytest.raises(ValueError, match="needs an encoder-decoder"):
    _batch(tokenizer, _examples()[:1], decoder=None)
  with pytest.raises(ValueError, match="not packed"):
    features.BatchBuilder(
      tokenizer,
      task_index={},
      head_index={},
      examples_per_batch=1,
      rows_per_batch=4,
      decoder=features.DecoderLayout(START),
    )
