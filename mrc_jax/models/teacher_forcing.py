"""Teacher-forced targets and loss of the encoder-decoder, as transformers computes them
from `labels=` (positions labelled -100 have no target)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from mrc_jax.models.seq2seq import Seq2SeqConfig, shift_right

IGNORE = -100  # transformers' label of a position without a target


def decoder_inputs(config: Seq2SeqConfig, labels: jax.Array) -> jax.Array:
  """`[batch, target]` decoder inputs for `labels` (the labels shifted right)."""
  return shift_right(config, jnp.where(labels == IGNORE, config.pad_token_id, labels))


def token_losses(logits: jax.Array, labels: jax.Array) -> tuple[jax.Array, jax.Array]:
  """(cross-entropy, target mask), both float32 `[batch, target]`; 0 where unlabelled."""
  mask = labels != IGNORE
  losses = optax.softmax_cross_entropy_with_integer_labels(
    logits.astype(jnp.float32), jnp.where(mask, labels, 0)
  )
  mask = mask.astype(jnp.float32)
  return losses * mask, mask


def mean_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """The mean over every labelled target token of the batch (transformers' loss)."""
  losses, mask = token_losses(logits, labels)
  return losses.sum() / jnp.maximum(mask.sum(), 1.0)
