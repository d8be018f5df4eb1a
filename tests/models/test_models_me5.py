"""The real multilingual-e5-small checkpoint: its preset, the encoder and task heads against
transformers' Bert classes on real multilingual text, and the pooler it does not have."""

import json
import logging
import os

import numpy as np
import pytest
import torch
import transformers

from configs import common
from mrc_jax.data import load_examples
from mrc_jax.data.features import make_batches
from mrc_jax.data.vocab import load_tokenizer
from mrc_jax.models import hf, init_from
from mrc_jax.models.encoder import EncoderConfig

# Preset field -> config.json key where the names differ.
HF_KEYS = dict(num_layers="num_hidden_layers", num_heads="num_attention_heads")
XQUAD_LANGS = ("ar", "de", "ru", "zh")
XCOPA_LANGS = ("sw", "ht", "it")


def test_preset_is_the_checkpoint_config(me5_dir):
  with open(os.path.join(me5_dir, "config.json")) as f:
    hf_config = json.load(f)
  preset = common.MODELS["me5-small"]
  assert preset["hf_id"] == os.path.basename(me5_dir) and preset["multilingual"]
  arch = preset["arch"]
  assert set(arch) == {
    "model_type",
    "vocab_size",
    "hidden_size",
    "num_layers",
    "num_heads",
    "intermediate_size",
    "max_position_embeddings",
    "type_vocab_size",
    "pad_token_id",
    "position_offset",
    "layer_norm_eps",
  }
  for field, value in arch.items():
    if field != "position_offset":  # not a config.json field: BERT counts positions from 0
      assert hf_config[HF_KEYS.get(field, field)] == value, field
  assert arch["position_offset"] == 0 and hf_config["position_embedding_type"] == "absolute"
  assert EncoderConfig(**common.model_arch("me5-small").to_dict()) == EncoderConfig.from_hf_config(
    hf_config, with_pooler=True
  )


def test_checkpoint_dir_is_under_the_checkpoint_root(monkeypatch, tmp_path):
  monkeypatch.setenv(common.CKPT_DIR_ENV, str(tmp_path))
  assert common.checkpoint_dir("me5-small") == str(tmp_path / "multilingual-e5-small")
  assert common.checkpoint_dir("me5-small", "/ckpt") == "/ckpt/multilingual-e5-small"


@pytest.fixture(scope="module")
def data_dir():
  path = os.environ.get(common.DATA_DIR_ENV)
  if not path:
    pytest.skip(f"{common.DATA_DIR_ENV} is not set")
  return path


@pytest.fixture(scope="module")
def tokenizer(me5_dir):
  return load_tokenizer(me5_dir)


@pytest.fixture(scope="module")
def ours(me5_dir):
  """(encoder, config, heads) of the directory as it is (no pooler weights)."""
  return hf.load_hf_model(me5_dir)


@pytest.fixture(scope="module")
def batch(tokenizer, data_dir):
  """Real question/passage pairs and single sentences in six languages, padded with the
  tokenizer's <pad> (1, not config.json's pad_token_id 0): ids, mask, token types."""
  sequences = []
  for lang in XQUAD_LANGS:
    example = next(iter(load_examples(f"xquad.{lang}", "test", data_dir)))
    sequences.append(
      tokenizer.build_pair(
        tokenizer.encode(example["question"]), tokenizer.encode(example["context"])[:90]
      )
    )
  for lang in XCOPA_LANGS:
    example = next(iter(load_examples(f"xcopa.{lang}", "validation", data_dir)))
    sequences.append(tokenizer.build_pair(tokenizer.encode(example["context"])))
    sequences.append(
      tokenizer.build_pair(
        tokenizer.encode(example["context"]), tokenizer.encode(example["options"][0])
      )
    )
  return pad_rows(sequences, tokenizer.pad_id)


@pytest.fixture(scope="module")
def packed_xcopa(tokenizer, data_dir):
  """Two options each of six XCOPA questions in three languages, packed into 4 rows."""
  examples = [
    e
    for lang in XCOPA_LANGS
    for e in list(load_examples(f"xcopa.{lang}", "validation", data_dir))[:2]
  ]
  batch, _ = next(
    make_batches(
      examples,
      tokenizer,
      task_index={e["task"]: 0 for e in examples},
      head_index={e["task"]: 0 for e in examples},
      examples_per_batch=6,
      rows_per_batch=4,
      lengths=(96,),
      max_choices=2,
      pack=True,
    )
  )
  return batch


def pad_rows(sequences, pad_id):
  length = max(len(ids) for ids, _ in sequences)
  ids = np.full((len(sequences), length), pad_id, np.int32)  # [B, L]
  types = np.zeros((len(sequences), length), np.int32)  # [B, L]
  mask = np.zeros((len(sequences), length), np.int32)  # [B, L]
  for row, (seq_ids, seq_types) in enumerate(sequences):
    ids[row, : len(seq_ids)], types[row, : len(seq_ids)], mask[row, : len(seq_ids)] = (
      seq_ids,
      seq_types,
      1,
    )
  return ids, mask, types


def torch_outputs(model, ids, mask, types):
  with torch.no_grad():
    return model(
      input_ids=torch.as_tensor(ids, dtype=torch.long),
      attention_mask=torch.as_tensor(mask, dtype=torch.long),
      token_type_ids=torch.as_tensor(types, dtype=torch.long),
    )


def max_diff(a, b):
  return float(np.max(np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32))))


@pytest.mark.slow
@pytest.mark.integration
def test_encoder_matches_bert_model(ours, me5_dir, batch, tokenizer):
  encoder, config, _ = ours
  ids, mask, types = batch
  assert mask.sum(1).min() < ids.shape[1] and (types == 0).all()
  assert tokenizer.pad_id == 1 and config.pad_token_id == 0 and config.position_offset == 0
  reference = transformers.BertModel.from_pretrained(me5_dir, dtype=torch.float32).eval()
  expected = torch_outputs(reference, ids, mask, types).last_hidden_state.numpy()
  hidden = np.asarray(encoder(ids, mask, types))  # [B, L, H]
  assert max_diff(hidden, expected) <= 1e-4
  # BERT positions are 0..L-1 whatever the padding token: padding with config.json's pad id
  # leaves the real tokens' states as they are.
  repadded = np.asarray(encoder(np.where(mask == 1, ids, config.pad_token_id), mask, types))
  assert max_diff(repadded[mask == 1], hidden[mask == 1]) <= 1e-5


@pytest.mark.slow
@pytest.mark.integration
def test_packed_batches_match_bert_model_per_sequence(ours, me5_dir, tokenizer, packed_xcopa):
  """The batch builder's rows (XLM-R template, <pad> fill, positions restarting per packed
  sequence) encode each sequence as BertModel encodes it alone."""
  encoder, _, _ = ours
  batch = packed_xcopa
  segments = batch["segment_ids"]  # [R, L]
  assert segments.max() > 1  # sequences share rows
  np.testing.assert_array_equal(batch["input_ids"][segments == 0], tokenizer.pad_id)
  assert (batch["token_type_ids"] == 0).all()
  hidden = np.asarray(
    encoder(
      batch["input_ids"],
      (segments > 0).astype(np.int32),
      batch["token_type_ids"],
      segment_ids=segments,
      positions=batch["positions"],
    )
  )  # [R, L, H]
  sequences, states = [], []
  for row in range(segments.shape[0]):
    for segment in range(1, segments[row].max() + 1):
      where = segments[row] == segment
      seq_ids = batch["input_ids"][row, where].tolist()
      assert seq_ids[0] == tokenizer.cls_id and seq_ids[-1] == tokenizer.sep_id
      assert seq_ids.count(tokenizer.sep_id) == 3  # <s> A </s></s> B </s>
      sequences.append((seq_ids, [0] * len(seq_ids)))
      states.append(hidden[row, where])
  assert len(sequences) == 2 * int(batch["example_mask"].sum()) >= 4  # two options each
  ids, mask, types = pad_rows(sequences, tokenizer.pad_id)
  reference = transformers.BertModel.from_pretrained(me5_dir, dtype=torch.float32).eval()
  expected = torch_outputs(reference, ids, mask, types).last_hidden_state.numpy()
  for i, state in enumerate(states):
    assert max_diff(state, expected[i, : len(state)]) <= 1e-4


def saved_head_model(me5_dir, tmp_path, cls, **kwargs):
  """transformers' `cls` on the checkpoint (pooler and classifier freshly initialised),
  saved with save_pretrained: (directory, torch model)."""
  torch.manual_seed(0)
  model = getattr(transformers, cls).from_pretrained(me5_dir, dtype=torch.float32, **kwargs).eval()
  model.save_pretrained(tmp_path / cls)
  return str(tmp_path / cls), model


@pytest.mark.slow
@pytest.mark.integration
def test_multiple_choice_head_matches(me5_dir, tmp_path, batch):
  path, reference = saved_head_model(me5_dir, tmp_path, "BertForMultipleChoice")
  encoder, config, heads = hf.load_hf_model(path)
  assert config.with_pooler and list(heads) == ["multiple_choice"]
  ids, mask, types = (x[:8] for x in batch)
  choices = lambda x: x.reshape(2, 4, -1)  # [batch, choices, length]
  expected = torch_outputs(reference, choices(ids), choices(mask), choices(types)).logits
  pooled = encoder.pool(encoder(ids, mask, types)[:, 0]).reshape(2, 4, -1)
  scores = heads["multiple_choice"](pooled)  # [2, 4]
  assert scores.shape == (2, 4) and max_diff(scores, expected.numpy()) <= 1e-4


@pytest.mark.slow
@pytest.mark.integration
def test_sequence_classification_head_matches(me5_dir, tmp_path, batch):
  path, reference = saved_head_model(
    me5_dir, tmp_path, "BertForSequenceClassification", num_labels=3
  )
  encoder, config, heads = hf.load_hf_model(path)
  assert config.with_pooler and list(heads) == ["sequence_classification"]
  expected = torch_outputs(reference, *batch).logits.numpy()
  logits = heads["sequence_classification"](encoder.pool(encoder(*batch)[:, 0]))  # [B, 3]
  assert logits.shape == expected.shape and max_diff(logits, expected) <= 1e-4


@pytest.mark.slow
@pytest.mark.integration
def test_question_answering_head_matches(me5_dir, tmp_path, batch):
  path, reference = saved_head_model(me5_dir, tmp_path, "BertForQuestionAnswering")
  encoder, config, heads = hf.load_hf_model(path)
  assert not config.with_pooler and list(heads) == ["question_answering"]
  expected = torch_outputs(reference, *batch)
  start, end = heads["question_answering"](encoder(*batch))  # each [B, L]
  assert max_diff(start, expected.start_logits.numpy()) <= 1e-4
  assert max_diff(end, expected.end_logits.numpy()) <= 1e-4


@pytest.mark.slow
def test_checkpoint_without_pooler_loads_encoder_only(ours, me5_dir):
  from safetensors import safe_open

  with safe_open(os.path.join(me5_dir, "model.safetensors"), "np") as f:
    assert not any("pooler" in k for k in f.keys())
  encoder, config, heads = ours
  assert not config.with_pooler and heads == {}
  with pytest.raises(ValueError, match="no pooler"):
    encoder.pool(np.zeros((1, config.hidden_size), np.float32))


@pytest.mark.slow
def test_asking_for_a_pooler_starts_it_fresh_and_says_so(me5_dir, caplog):
  with caplog.at_level(logging.WARNING):
    encoder, config, _ = hf.load_hf_model(me5_dir, with_pooler=True)
  assert config.with_pooler
  assert any(
    "no pooler.dense weights" in r.getMessage() and "freshly initialised" in r.getMessage()
    for r in caplog.records
  )
  kernel = np.asarray(encoder.pooler_kernel[...])  # [H, H]
  assert kernel.shape == (384, 384) and 0.015 < kernel.std() < 0.025  # initializer_range 0.02
  pooled = encoder.pool(np.ones((2, config.hidden_size), np.float32))
  assert pooled.shape == (2, 384) and np.isfinite(np.asarray(pooled)).all()


@pytest.mark.slow
def test_run_from_the_checkpoint_keeps_its_fresh_pooler(ours, caplog):
  """The trainer's merge of the run's fresh encoder with this checkpoint's weights."""
  from flax import nnx

  encoder, _, _ = ours
  source = nnx.state(encoder, nnx.Param).to_pure_dict()
  rng = np.random.default_rng(0)
  fresh = {
    **source,
    "pooler_kernel": rng.normal(0, 0.02, (384, 384)).astype(np.float32),
    "pooler_bias": np.zeros((384,), np.float32),
  }
  with caplog.at_level(logging.WARNING):
    merged = init_from.merge_encoder("me5-small", fresh, source)
  np.testing.assert_array_equal(merged["pooler_kernel"], fresh["pooler_kernel"])
  np.testing.assert_array_equal(
    merged["embeddings"]["word"][:100], np.asarray(source["embeddings"]["word"])[:100]
  )
  assert any(
    "pooler_bias" in r.getMessage()
    and "pooler_kernel" in r.getMessage()
    and "freshly initialised" in r.getMessage()
    for r in caplog.records
  )


@pytest.mark.slow
@pytest.mark.integration
def test_mean_pooled_heads_read_each_packed_sequence_as_sentence_transformers(
  ours, me5_dir, tokenizer, packed_xcopa
):
  """A mean-pooled multiple-choice head on packed rows scores each option from the
  attention-mask mean of BertModel's states for that sequence alone (E5's pooling)."""
  from flax import nnx
  from mrc_jax.models.multitask import HeadSpec, MultiTaskModel

  encoder, config, _ = ours
  batch = packed_xcopa
  assert batch["segment_ids"].max() > 1  # sequences share rows
  specs = [
    HeadSpec("multiple_choice", "multiple_choice", pooling="mean"),
    HeadSpec("cls", "classification", 3, pooling="mean"),
  ]
  model = MultiTaskModel(config, specs, rngs=nnx.Rngs(0), encoder=encoder)
  outputs = model(batch)
  scores, logits = np.asarray(outputs["multiple_choice"]), np.asarray(outputs["cls"])
  kernel = np.asarray(model.heads["multiple_choice"].out.kernel[...])  # [H, 1]
  bias = np.asarray(model.heads["multiple_choice"].out.bias[...])  # [1]
  cls_out = model.heads["cls"].out
  reference = transformers.BertModel.from_pretrained(me5_dir, dtype=torch.float32).eval()
  checked = 0
  for e in range(int(batch["example_mask"].sum())):
    sequences = []
    for c in range(2):
      row, pos = batch["pool_row"][e, c], batch["pool_pos"][e, c]
      where = batch["segment_ids"][row] == batch["segment_ids"][row, pos]
      sequences.append((batch["input_ids"][row, where].tolist(), [0] * int(where.sum())))
    ids, mask, types = pad_rows(sequences, tokenizer.pad_id)
    states = torch_outputs(reference, ids, mask, types).last_hidden_state.numpy()
    mean = (states * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)  # [2, H]
    assert max_diff(scores[e], (mean @ kernel + bias)[:, 0]) <= 1e-4
    expected_logits = mean[0] @ np.asarray(cls_out.kernel[...]) + np.asarray(cls_out.bias[...])
    assert max_diff(logits[e], expected_logits) <= 1e-4
    checked += 1
  assert checked >= 4
