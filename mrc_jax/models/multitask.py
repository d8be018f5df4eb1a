"""One shared encoder and task heads keyed by head name, for heterogeneous batches.

A head table (ordered list of :class:`HeadSpec`) names the heads; a batch's ``head_id``
indexes into it. Every head runs on every example slot of the batch (heads are small
next to the encoder) and the loss selects each example's own head with a mask, so a batch
mixing any tasks is one compiled shape and one step.

The model holds parameters only: dropout masks come from the ``dropout_key`` argument of
a training call, so ``nnx.split(model, nnx.Param)`` is the whole model and a pure step
derives the key from (seed, step, micro-batch).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from mrc_jax.models import head_kinds
from mrc_jax.models import heads as heads_lib
from mrc_jax.models.encoder import Encoder, EncoderConfig, dropout_keys

HEAD_KINDS = tuple(head_kinds.KINDS)


@dataclasses.dataclass(frozen=True)
class HeadSpec:
  """One head of the table: its name, kind, (for classification) number of labels and
  pooling (``heads.POOLINGS``; span heads read every token and take only 'first')."""

  name: str
  kind: str
  num_labels: int = 0
  pooling: str = "first"

  def __post_init__(self):
    if self.kind not in HEAD_KINDS:
      raise ValueError(f"head {self.name!r}: kind {self.kind!r} is not one of {HEAD_KINDS}")
    if self.pooling not in heads_lib.POOLINGS or (self.kind == "span" and self.pooling != "first"):
      raise ValueError(
        f"head {self.name!r} ({self.kind}): pooling {self.pooling!r} is not "
        f"one of {('first',) if self.kind == 'span' else heads_lib.POOLINGS}"
      )
    if self.kind == "classification" and self.num_labels < 2:
      raise ValueError(
        f"head {self.name!r}: classification needs num_labels >= 2, got {self.num_labels}"
      )


def make_head(config: EncoderConfig, spec: HeadSpec, *, rngs: nnx.Rngs) -> nnx.Module:
  return head_kinds.get(spec.kind).make(config, spec, rngs=rngs)


def head_kind(head: nnx.Module) -> str:
  """The ``HeadSpec.kind`` of a head module."""
  return head_kinds.of_module(head).name


class MultiTaskModel(nnx.Module):
  """Shared encoder + ``heads[name]``; ``head_names[i]`` is the head of ``head_id == i``."""

  def __init__(
    self,
    config: EncoderConfig,
    head_specs: Sequence[HeadSpec],
    *,
    rngs: nnx.Rngs,
    encoder: Encoder | None = None,
  ):
    names = [s.name for s in head_specs]
    if len(set(names)) != len(names):
      raise ValueError(f"head names repeat: {names}")
    self.config = config
    self.head_specs = tuple(head_specs)
    self.head_names = tuple(names)
    self.encoder = encoder if encoder is not None else Encoder(config, rngs=rngs)
    self.heads = nnx.Dict({s.name: make_head(config, s, rngs=rngs) for s in head_specs})

  def encode(
    self, batch: dict, deterministic: bool = True, *, dropout_key: jax.Array | None = None
  ) -> jax.Array:
    """Token rows -> hidden states ``[rows, length, hidden]``."""
    segment_ids = batch["segment_ids"]
    return self.encoder(
      batch["input_ids"],
      (segment_ids > 0).astype(jnp.int32),
      batch["token_type_ids"],
      deterministic,
      dropout_key=dropout_key,
      segment_ids=segment_ids,
      positions=batch["positions"],
      embedding_noise=batch.get("embedding_noise"),
    )

  def __call__(
    self, batch: dict, deterministic: bool = True, *, dropout_key: jax.Array | None = None
  ) -> dict:
    """Outputs of every head on every example slot, keyed by head name.

    classification ``[E, num_labels]`` logits; multiple_choice ``[E, C]`` scores;
    span ``(start, end)`` each ``[E, L]`` over the row of choice slot 0 (positions
    outside that example's segment set to a large negative); regression ``[E]``.
    ``deterministic=False`` applies dropout with masks drawn from ``dropout_key`` only:
    the same key gives the same masks (R3F's two passes, a resumed step).
    """
    encoder_key, *head_keys = dropout_keys(deterministic, dropout_key, 1 + len(self.head_names))
    hidden = self.encode(batch, deterministic, dropout_key=encoder_key)  # [R, L, H]
    first = hidden[batch["pool_row"], batch["pool_pos"]]  # [E, C, H]
    kinds = {head_kind(h) for h in self.heads.values()}
    input_kinds = {h.input_kind for h in self.heads.values()}
    features = {"first_token": first}
    if "pooled" in input_kinds:
      features["pooled"] = self.encoder.pool(first)  # [E, C, H]
    if "mean" in input_kinds:
      features["mean"] = mean_of_segments(hidden, batch)  # [E, C, H]
    if "span" in kinds:
      row = batch["pool_row"][:, 0]  # [E]
      tokens = hidden[row]  # [E, L, H]
      segment = batch["segment_ids"][row]  # [E, L]
      own = segment == segment[jnp.arange(row.shape[0]), batch["pool_pos"][:, 0]][:, None]

    outputs = {}
    for name, key in zip(self.head_names, head_keys):
      head = self.heads[name]
      if head.input_kind == "tokens":
        start, end = head(tokens, deterministic, dropout_key=key)
        neg = jnp.finfo(start.dtype).min
        outputs[name] = (jnp.where(own, start, neg), jnp.where(own, end, neg))
        continue
      pooled = features[head.input_kind]  # [E, C, H]
      if head_kind(head) == "multiple_choice":
        outputs[name] = head(pooled, deterministic, dropout_key=key)  # [E, C]
      else:
        outputs[name] = head(pooled[:, 0], deterministic, dropout_key=key)  # [E, K] or [E]
    return outputs


def mean_of_segments(hidden: jax.Array, batch: dict) -> jax.Array:
  """Mean hidden state of each choice slot's own packed segment: `[E, C, H]`.

  A slot's segment is the one holding its first token (``pool_row``, ``pool_pos``); its
  mean covers every token of that segment, special tokens included, as the attention-mask
  mean of sentence-transformers does on an unpacked row.
  """
  row, pos = batch["pool_row"], batch["pool_pos"]  # [E, C]
  segments = batch["segment_ids"][row]  # [E, C, L]
  own = jnp.take_along_axis(segments, pos[..., None], axis=-1)  # [E, C, 1]
  mask = ((segments == own) & (own > 0)).astype(hidden.dtype)  # [E, C, L]
  total = jnp.einsum("ecl,ecld->ecd", mask, hidden[row])  # [E, C, H]
  return total / jnp.maximum(mask.sum(-1, keepdims=True), 1.0)
