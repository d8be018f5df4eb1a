"""Initialising a run from a Hugging Face directory without a pooler (``*ForMaskedLM``,
``*Model``): the pooler starts fresh and is logged; real shape mismatches stay errors."""

import logging
import os

import numpy as np
import pytest
from flax import nnx

from mrc_jax.models import init_from
from mrc_jax.models.multitask import MultiTaskModel
from mrc_jax.train import trainer
from tests.train import helpers
from configs import common

E5_DIR = common.checkpoint_dir("me5-small")  # BertModel, no pooler weights


def _init(path, tasks=("synthetic.en", "synthetic_span.en")):
  config = helpers.tiny_config()
  config.init_from = path
  enc_cfg = trainer._model_config(config)
  specs, _ = trainer.resolve_heads(tasks)
  model = MultiTaskModel(enc_cfg, specs, rngs=nnx.Rngs(params=0))
  fresh = nnx.state(model, nnx.Param).to_pure_dict()
  return enc_cfg, fresh, init_from.initial_params(init_from.from_hf(path), fresh, {})


def _pooler_logged(caplog):
  return any(
    "pooler_bias" in r.getMessage()
    and "pooler_kernel" in r.getMessage()
    and "freshly initialised" in r.getMessage()
    for r in caplog.records
  )


def test_roberta_for_masked_lm_without_pooler_initialises(make_hf_checkpoint, caplog):
  path, torch_model = make_hf_checkpoint("roberta", "ForMaskedLM")
  assert not any("pooler" in k for k in torch_model.state_dict())
  with caplog.at_level(logging.WARNING):
    enc_cfg, fresh, init = _init(path)
  assert enc_cfg.with_pooler and enc_cfg.model_type == "roberta"
  np.testing.assert_array_equal(
    init["encoder"]["embeddings"]["word"],
    torch_model.roberta.embeddings.word_embeddings.weight.detach().numpy(),
  )
  np.testing.assert_array_equal(
    init["encoder"]["layers"]["mlp_in_bias"][1],
    torch_model.roberta.encoder.layer[1].intermediate.dense.bias.detach().numpy(),
  )
  for name in ("pooler_kernel", "pooler_bias"):
    np.testing.assert_array_equal(init["encoder"][name], fresh["encoder"][name])
  assert _pooler_logged(caplog)
  assert set(init["heads"]) == {"multiple_choice", "span"}


def test_encoder_shape_mismatch_names_the_parameter(make_hf_checkpoint):
  path, _ = make_hf_checkpoint("roberta", "ForMaskedLM")
  config = helpers.tiny_config()
  config.init_from = path
  enc_cfg = trainer._model_config(config)
  source = init_from.from_hf(path)
  wider = MultiTaskModel(
    enc_cfg.__class__(**{**enc_cfg.__dict__, "intermediate_size": 40}),
    trainer.resolve_heads(("synthetic.en",))[0],
    rngs=nnx.Rngs(0),
  )
  fresh = nnx.state(wider, nnx.Param).to_pure_dict()
  with pytest.raises(ValueError, match=r"layers/mlp_in_kernel: \(2, 32, 37\) vs \(2, 32, 40\)"):
    init_from.initial_params(source, fresh, {})


@pytest.mark.slow
@pytest.mark.skipif(
  not os.path.isfile(os.path.join(E5_DIR, "config.json")), reason=f"{E5_DIR} is not there"
)
def test_multilingual_e5_small_without_pooler_initialises(caplog):
  from safetensors.numpy import load_file

  weights = load_file(os.path.join(E5_DIR, "model.safetensors"))
  assert not any("pooler" in k for k in weights)
  with caplog.at_level(logging.WARNING):
    enc_cfg, fresh, init = _init(E5_DIR)
  assert (enc_cfg.vocab_size, enc_cfg.hidden_size, enc_cfg.num_layers) == (250037, 384, 12)
  np.testing.assert_array_equal(
    init["encoder"]["embeddings"]["word"][:1000],
    weights["embeddings.word_embeddings.weight"][:1000],
  )
  np.testing.assert_array_equal(init["encoder"]["pooler_kernel"], fresh["encoder"]["pooler_kernel"])
  assert _pooler_logged(caplog)


@pytest.mark.slow
def test_training_starts_from_roberta_for_masked_lm(make_hf_checkpoint, tmp_path, caplog):
  path, _ = make_hf_checkpoint("roberta", "ForMaskedLM", vocab_size=260, max_position_embeddings=80)
  config = helpers.tiny_config(total_steps=1, checkpoint_every_steps=1, log_every_steps=1)
  config.evals.validation.tasks = ("synthetic.en", "synthetic_span.en")
  config.data.mixture = helpers.mixture_of(*config.evals.validation.tasks)
  config.data.max_length = 64
  config.export.enabled = False
  config.init_from = path
  with caplog.at_level(logging.WARNING):
    state = trainer.train_and_evaluate(config, str(tmp_path / "run"))
  assert int(state.step) == 1 and _pooler_logged(caplog)
  assert np.isfinite(np.asarray(state.params["encoder"]["pooler_kernel"])).all()
