"""Task heads with the pooling each architecture's Hugging Face task classes use.

Every head says which encoder output it reads through `input_kind`:
  'pooled'      encoder.pool(first-token hidden state)   `[..., hidden]`
  'first_token' the raw first-token (`[CLS]` / `<s>`) hidden state   `[..., hidden]`
  'mean'        the mean of the example's own hidden states, special tokens included
                (sentence-transformers' and E5's pooling)   `[..., hidden]`
  'tokens'      all hidden states   `[batch, length, hidden]`
so one multi-task model can feed any mix of heads from one encoder pass.

Classification, regression and multiple-choice heads take `pooling`: 'first' (the Hugging
Face task classes' own input, above) or 'mean'. Mean pooling suits checkpoints trained as
sentence encoders (E5, sentence-transformers), whose first-token state no objective trained.

  BERT sequence classification / multiple choice: pooled -> dropout -> linear.
  RoBERTa / XLM-R sequence classification: first token -> dropout -> dense -> tanh ->
    dropout -> linear (no encoder pooler).
  RoBERTa / XLM-R multiple choice: pooled -> dropout -> linear(1).
  Question answering (all): tokens -> linear(hidden, 2), no dropout.
Regression is sequence classification with one output, as in Hugging Face.

Heads hold no rng state: with `deterministic=False` their dropout masks come from the
`dropout_key` argument.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from mrc_jax.models.encoder import (
  DTYPES,
  EncoderConfig,
  _param,
  _zeros,
  check_dropout_key,
  dropout_keys,
  normal_init,
)


class Dense(nnx.Module):
  """`x @ kernel + bias` with logical axis names, in the config's computation dtype."""

  def __init__(
    self,
    config: EncoderConfig,
    in_features: int,
    out_features: int,
    names: tuple,
    *,
    rngs: nnx.Rngs,
  ):
    pdt = DTYPES[config.param_dtype]
    self.dtype = DTYPES[config.dtype]
    self.kernel = _param(rngs, normal_init(config), (in_features, out_features), names, pdt)
    self.bias = _param(rngs, _zeros, (out_features,), names[1:], pdt)

  def __call__(self, x: jax.Array) -> jax.Array:
    return x.astype(self.dtype) @ self.kernel[...].astype(self.dtype) + self.bias[...].astype(
      self.dtype
    )


POOLINGS = ("first", "mean")


def _classifier_dropout(config: EncoderConfig, rate: float | None) -> float:
  return config.hidden_dropout if rate is None else rate


def _check_pooling(pooling: str) -> str:
  if pooling not in POOLINGS:
    raise ValueError(f"head pooling {pooling!r} is not one of {POOLINGS}")
  return pooling


class SequenceClassificationHead(nnx.Module):
  """Class logits `[..., num_labels]` for one sequence (or sequence pair)."""

  def __init__(
    self,
    config: EncoderConfig,
    num_labels: int,
    *,
    dropout_rate: float | None = None,
    pooling: str = "first",
    rngs: nnx.Rngs,
  ):
    self.num_labels = num_labels
    self.pooling = _check_pooling(pooling)
    self.dropout = nnx.Dropout(_classifier_dropout(config, dropout_rate))
    e = config.hidden_size
    if config.model_type == "bert":
      self.input_kind = "pooled"
      self.dense = None
    else:
      self.input_kind = "first_token"
      self.dense = Dense(config, e, e, ("embed", "mlp"), rngs=rngs)
    if pooling == "mean":
      self.input_kind = "mean"
    self.out = Dense(config, e, num_labels, ("embed", None), rngs=rngs)

  def __call__(
    self, features: jax.Array, deterministic: bool = True, *, dropout_key: jax.Array | None = None
  ) -> jax.Array:
    first, second = dropout_keys(deterministic, dropout_key, 2)
    x = self.dropout(features, deterministic=deterministic, rngs=first)
    if self.dense is not None:
      x = self.dropout(jnp.tanh(self.dense(x)), deterministic=deterministic, rngs=second)
    return self.out(x)


class RegressionHead(SequenceClassificationHead):
  """One real-valued prediction `[...]` per sequence."""

  def __init__(
    self,
    config: EncoderConfig,
    *,
    dropout_rate: float | None = None,
    pooling: str = "first",
    rngs: nnx.Rngs,
  ):
    super().__init__(config, 1, dropout_rate=dropout_rate, pooling=pooling, rngs=rngs)

  def __call__(
    self, features: jax.Array, deterministic: bool = True, *, dropout_key: jax.Array | None = None
  ) -> jax.Array:
    return super().__call__(features, deterministic, dropout_key=dropout_key)[..., 0]


class MultipleChoiceHead(nnx.Module):
  """One score per option: pooled `[batch, choices, hidden]` -> `[batch, choices]`."""

  def __init__(
    self,
    config: EncoderConfig,
    *,
    dropout_rate: float | None = None,
    pooling: str = "first",
    rngs: nnx.Rngs,
  ):
    self.pooling = _check_pooling(pooling)
    self.input_kind = "pooled" if pooling == "first" else "mean"
    self.dropout = nnx.Dropout(_classifier_dropout(config, dropout_rate))
    self.out = Dense(config, config.hidden_size, 1, ("embed", None), rngs=rngs)

  def __call__(
    self, features: jax.Array, deterministic: bool = True, *, dropout_key: jax.Array | None = None
  ) -> jax.Array:
    check_dropout_key(deterministic, dropout_key)
    x = self.dropout(features, deterministic=deterministic, rngs=dropout_key)
    return self.out(x)[..., 0]


class SpanHead(nnx.Module):
  """Start and end logits, each `[batch, length]`, from all hidden states."""

  input_kind = "tokens"

  def __init__(self, config: EncoderConfig, *, rngs: nnx.Rngs):
    self.out = Dense(config, config.hidden_size, 2, ("embed", None), rngs=rngs)

  def __call__(
    self, features: jax.Array, deterministic: bool = True, *, dropout_key: jax.Array | None = None
  ) -> tuple[jax.Array, jax.Array]:
    del deterministic, dropout_key  # Hugging Face's span head has no dropout.
    logits = self.out(features)  # [batch, length, 2]
    return logits[..., 0], logits[..., 1]
