"""R3F noise: one draw per token position, added to the embedded inputs in the computation dtype."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from mrc_jax.models.encoder import Encoder
from mrc_jax.train import partitioning, trainer
from mrc_jax.train.step import embedding_noise
from tests.train import helpers

ROWS, LENGTH = 4, 8


def _bf16_encoder():
  config = helpers.encoder_config(helpers.tiny_config(**{"model.dtype": "bfloat16"}))
  return config, Encoder(config, rngs=nnx.Rngs(params=0))


def test_repeated_tokens_get_their_own_noise_in_bfloat16():
  config, encoder = _bf16_encoder()
  ids = jnp.full((ROWS, LENGTH), 7, jnp.int32)  # one token, repeated in and across rows
  mask = jnp.ones_like(ids)
  noise = embedding_noise(
    jax.random.key(1), (ROWS, LENGTH, config.hidden_size), jnp.bfloat16, "uniform", 1e-5
  )
  assert noise.dtype == jnp.bfloat16
  assert float(jnp.abs(noise).max()) <= float(jnp.bfloat16(1e-5))  # eps, rounded to bf16
  assert len(np.unique(np.asarray(noise[:, 0, 0], np.float32))) == ROWS
  clean = np.asarray(encoder(ids, mask), np.float32)
  noisy = np.asarray(encoder(ids, mask, embedding_noise=noise), np.float32)
  np.testing.assert_array_equal(clean[1:], np.broadcast_to(clean[0], clean[1:].shape))
  # Identical rows come out different under per-position noise, none equal to clean.
  for a in range(ROWS):
    assert (noisy[a] != clean[a]).any()
    for b in range(a + 1, ROWS):
      assert (noisy[a] != noisy[b]).any(), (a, b)
  # The embedded inputs themselves change in bfloat16 (word + position + type, as the
  # encoder sums them), differently per row.
  emb = encoder.embeddings
  pos = jnp.arange(LENGTH) + config.position_offset
  embedded = (emb.word[...][ids] + emb.position[...][pos] + emb.token_type[...][0]).astype(
    jnp.bfloat16
  )
  changed = np.asarray(embedded + noise != embedded)
  assert changed.any(axis=(1, 2)).all()
  assert (changed[0] != changed[1]).any()


@pytest.mark.slow
def test_bfloat16_step_with_r3f_runs_with_a_positive_finite_divergence():
  config = helpers.tiny_config(**{"model.dtype": "bfloat16", "r3f.weight": 1.0, "r3f.eps": 1e-5})
  mesh = partitioning.make_mesh(config.mesh)
  setup = trainer.make_setup(
    config, mesh, helpers.HEADS, helpers.encoder_config(config), helpers.TASKS
  )
  batch = helpers.stack([helpers.mixed_batch(3)])
  with jax.set_mesh(setup.mesh):
    _, metrics = setup.jit_step({k: v.ndim for k, v in batch.items()})(setup.fresh_state(), batch)
  r3f = float(metrics["r3f_sum"])
  assert np.isfinite(r3f) and r3f > 0.0, r3f
  assert bool(metrics["finite"])


def test_noised_pass_sends_no_gradient_into_the_word_table():
  config = helpers.encoder_config(helpers.tiny_config())
  encoder = Encoder(config, rngs=nnx.Rngs(params=0))
  ids = jnp.asarray(np.random.default_rng(0).integers(5, helpers.VOCAB, (2, LENGTH)), jnp.int32)
  noise = embedding_noise(
    jax.random.key(0), (2, LENGTH, config.hidden_size), jnp.float32, "uniform", 1e-2
  )

  def loss(model, noise):
    return jnp.sum(model(ids, jnp.ones_like(ids), embedding_noise=noise) ** 3)

  noised = nnx.grad(loss)(encoder, noise)
  clean = nnx.grad(lambda m: jnp.sum(m(ids, jnp.ones_like(ids)) ** 3))(encoder)
  assert float(jnp.abs(clean.embeddings.word[...]).max()) > 0
  assert float(jnp.abs(noised.embeddings.word[...]).max()) == 0.0
  assert float(jnp.abs(noised.embeddings.position[...]).max()) > 0
