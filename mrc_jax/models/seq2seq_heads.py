"""Classification and span heads on the encoder-decoder, as transformers' BART classes attach
them: the input goes through the encoder and, shifted right, through the decoder.

- `*ForSequenceClassification`: the decoder state at the last end-of-sequence token of the
  input, then dense + tanh + projection (`classification_head.{dense,out_proj}`).
- `*ForQuestionAnswering`: start and end logits from every decoder state (`qa_outputs`).

The decoder reads the input shifted right (`seq2seq.shift_right`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from mrc_jax.models.encoder import DTYPES, dropout
from mrc_jax.models.seq2seq import Seq2Seq, Seq2SeqConfig, param, shift_right

_zeros = jax.nn.initializers.zeros


def decoder_states(
  model: Seq2Seq, input_ids, attention_mask, deterministic=True, *, dropout_key=None
):
  """`[batch, length, d_model]` decoder states of the input read by both halves."""
  keys = (None, None) if deterministic else tuple(jax.random.split(dropout_key))
  encoded = model.encode(input_ids, attention_mask, deterministic, dropout_key=keys[0])
  return model.decode(
    shift_right(model.config, input_ids),
    encoded,
    attention_mask,
    None,
    deterministic,
    dropout_key=keys[1],
  )


def last_eos_states(states: jax.Array, input_ids: jax.Array, eos_token_id: int) -> jax.Array:
  """`[batch, d_model]`: each row's state at its last end-of-sequence token."""
  length = input_ids.shape[-1]
  positions = jnp.where(input_ids == eos_token_id, jnp.arange(length), -1)
  last = jnp.max(positions, axis=-1)  # [batch]
  return jnp.take_along_axis(states, last[:, None, None], axis=1)[:, 0]


class Seq2SeqClassificationHead(nnx.Module):
  """transformers' BartClassificationHead: dropout, dense, tanh, dropout, projection."""

  def __init__(self, config: Seq2SeqConfig, num_labels: int, *, dropout_rate=0.0, rngs: nnx.Rngs):
    pdt = DTYPES[config.param_dtype]
    e = config.d_model
    normal = jax.nn.initializers.normal(config.init_std)
    self.num_labels = num_labels
    self.dropout_rate = float(dropout_rate or 0.0)
    self.dense_kernel = param(rngs, normal, (e, e), ("embed", "mlp"), pdt)
    self.dense_bias = param(rngs, _zeros, (e,), ("mlp",), pdt)
    self.out_kernel = param(rngs, normal, (e, num_labels), ("mlp", None), pdt)
    self.out_bias = param(rngs, _zeros, (num_labels,), (None,), pdt)

  def __call__(self, features: jax.Array, seeds: jax.Array | None = None) -> jax.Array:
    """`[..., d_model]` -> float32 `[..., num_labels]`; `seeds` `uint32[2, 2]` or None."""
    dt = features.dtype
    x = features if seeds is None else dropout(features, self.dropout_rate, seeds[0])
    x = jnp.tanh(x @ self.dense_kernel[...].astype(dt) + self.dense_bias[...].astype(dt))
    if seeds is not None:
      x = dropout(x, self.dropout_rate, seeds[1])
    return (x @ self.out_kernel[...].astype(dt) + self.out_bias[...].astype(dt)).astype(jnp.float32)


class Seq2SeqSpanHead(nnx.Module):
  """transformers' `qa_outputs`: start and end logits per decoder state."""

  def __init__(self, config: Seq2SeqConfig, *, rngs: nnx.Rngs):
    pdt = DTYPES[config.param_dtype]
    normal = jax.nn.initializers.normal(config.init_std)
    self.kernel = param(rngs, normal, (config.d_model, 2), ("embed", None), pdt)
    self.bias = param(rngs, _zeros, (2,), (None,), pdt)

  def __call__(self, states: jax.Array) -> tuple[jax.Array, jax.Array]:
    """`[batch, length, d_model]` -> float32 start and end logits, each `[batch, length]`."""
    dt = states.dtype
    logits = (states @ self.kernel[...].astype(dt) + self.bias[...].astype(dt)).astype(jnp.float32)
    return logits[..., 0], logits[..., 1]


HEAD_CLASSES = {
  "ForSequenceClassification": "sequence_classification",
  "ForQuestionAnswering": "question_answering",
}
