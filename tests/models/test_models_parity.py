"""Encoder and heads against transformers + torch on tiny random checkpoints (float32)."""

import numpy as np
import pytest

from mrc_jax.models import hf
from mrc_jax.models.encoder import EncoderConfig

MODEL_TYPES = ["bert", "roberta", "xlm-roberta"]


def max_diff(a, b):
  return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_encoder_matches_transformers(model_type, make_hf_checkpoint, ragged_batch, torch_forward):
  path, reference = make_hf_checkpoint(model_type)
  encoder, config = hf.load_hf_encoder(path)
  assert config.model_type == model_type
  assert config.position_offset == (0 if model_type == "bert" else 2)
  ids, mask, types = ragged_batch(model_type)
  expected = torch_forward(reference, ids, mask, types)
  hidden = encoder(ids, mask, types)
  assert hidden.shape == (3, 12, 32)
  # Every position, padding included: positions of padding follow the reference too.
  assert max_diff(hidden, expected.last_hidden_state) <= 1e-5
  pooled = encoder.pool(hidden[:, 0])
  assert max_diff(pooled, expected.pooler_output) <= 1e-5


@pytest.mark.parametrize("model_type", MODEL_TYPES)
@pytest.mark.parametrize("num_labels", [3, 1])
def test_sequence_classification_head(
  model_type, num_labels, make_hf_checkpoint, ragged_batch, torch_forward
):
  path, reference = make_hf_checkpoint(
    model_type, "ForSequenceClassification", num_labels=num_labels
  )
  encoder, config, heads = hf.load_hf_model(path)
  name = "regression" if num_labels == 1 else "sequence_classification"
  assert list(heads) == [name]
  head = heads[name]
  assert head.input_kind == ("pooled" if model_type == "bert" else "first_token")
  assert config.with_pooler == (model_type == "bert")
  ids, mask, types = ragged_batch(model_type)
  expected = torch_forward(reference, ids, mask, types).logits.numpy()
  first = encoder(ids, mask, types)[:, 0]
  features = encoder.pool(first) if head.input_kind == "pooled" else first
  logits = head(features)
  if num_labels == 1:
    assert logits.shape == (3,)
    expected = expected[:, 0]
  assert max_diff(logits, expected) <= 1e-5


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_multiple_choice_head(model_type, make_hf_checkpoint, ragged_batch, torch_forward):
  path, reference = make_hf_checkpoint(model_type, "ForMultipleChoice")
  encoder, _, heads = hf.load_hf_model(path)
  head = heads["multiple_choice"]
  assert head.input_kind == "pooled"
  ids, mask, types = ragged_batch(model_type, batch=6, lengths=(12, 7, 3, 9, 12, 5))
  choices = lambda x: None if x is None else x.reshape(2, 3, 12)  # [batch, choices, length]
  expected = torch_forward(reference, choices(ids), choices(mask), choices(types)).logits
  pooled = encoder.pool(encoder(ids, mask, types)[:, 0]).reshape(2, 3, -1)
  scores = head(pooled)
  assert scores.shape == (2, 3)
  assert max_diff(scores, expected) <= 1e-5


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_span_head(model_type, make_hf_checkpoint, ragged_batch, torch_forward):
  path, reference = make_hf_checkpoint(model_type, "ForQuestionAnswering")
  encoder, config, heads = hf.load_hf_model(path)
  head = heads["question_answering"]
  assert head.input_kind == "tokens" and not config.with_pooler
  ids, mask, types = ragged_batch(model_type)
  expected = torch_forward(reference, ids, mask, types)
  start, end = head(encoder(ids, mask, types))
  assert max_diff(start, expected.start_logits) <= 1e-5
  assert max_diff(end, expected.end_logits) <= 1e-5


def test_unknown_architecture_is_named(make_hf_checkpoint):
  path, _ = make_hf_checkpoint("bert", "ForTokenClassification")
  with pytest.raises(ValueError, match="BertForTokenClassification"):
    hf.load_hf_encoder(path)


def test_masked_lm_checkpoint_loads_encoder(make_hf_checkpoint, ragged_batch, torch_forward):
  path, reference = make_hf_checkpoint("xlm-roberta", "ForMaskedLM")
  encoder, config, heads = hf.load_hf_model(path)
  assert heads == {} and not config.with_pooler
  ids, mask, _ = ragged_batch("xlm-roberta")
  expected = torch_forward(reference.roberta, ids, mask).last_hidden_state
  assert max_diff(encoder(ids, mask), expected) <= 1e-5


def test_pytorch_bin_checkpoint(make_hf_checkpoint, ragged_batch, torch_forward, tmp_path):
  import torch

  path, reference = make_hf_checkpoint("roberta")
  bin_dir = tmp_path / "bin"
  bin_dir.mkdir()
  (bin_dir / "config.json").write_text(open(f"{path}/config.json").read())
  torch.save(reference.state_dict(), bin_dir / "pytorch_model.bin")
  encoder, _ = hf.load_hf_encoder(str(bin_dir))
  ids, mask, _ = ragged_batch("roberta")
  expected = torch_forward(reference, ids, mask).last_hidden_state
  assert max_diff(encoder(ids, mask), expected) <= 1e-5


def test_config_json_round_trip():
  import dataclasses
  import json

  config = EncoderConfig(
    model_type="xlm-roberta",
    vocab_size=11,
    hidden_size=8,
    num_layers=1,
    num_heads=2,
    intermediate_size=16,
    pad_token_id=1,
    position_offset=2,
  )
  assert EncoderConfig(**json.loads(json.dumps(dataclasses.asdict(config)))) == config
  assert EncoderConfig.from_hf_config(config.to_hf_config(), with_pooler=True) == config
  with pytest.raises(ValueError, match="num_heads"):
    EncoderConfig(hidden_size=10, num_heads=3)
