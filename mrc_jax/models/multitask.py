"""One shared encoder and task heads keyed by head name, for heterogeneous batches.

A head table (ordered list of :class:`HeadSpec`) names the heads; a batch's ``head_id``
indexes into it. Every head runs on every example slot of the batch (heads are small
next to the encoder) and the loss selects each example's own head with a mask, so a batch
mixing any tasks is one compiled shape and one step.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from mrc_jax.models import heads as heads_lib
from mrc_jax.models.encoder import Encoder, EncoderConfig

HEAD_KINDS = ("classification", "multiple_choice", "span", "regression")


@dataclasses.dataclass(frozen=True)
class HeadSpec:
  """One head of the table: its name, kind and (for classification) number of labels."""

  name: str
  kind: str
  num_labels: int = 0

  def __post_init__(self):
    if self.kind not in HEAD_KINDS:
      raise ValueError(f"head {self.name!r}: kind {self.kind!r} is not one of {HEAD_KINDS}")
    if self.kind == "classification" and self.num_labels < 2:
      raise ValueError(f"head {self.name!r}: classification needs num_labels >= 2, "
                       f"got {self.num_labels}")


def make_head(config: EncoderConfig, spec: HeadSpec, *, rngs: nnx.Rngs) -> nnx.Module:
  if spec.kind == "classification":
    return heads_lib.SequenceClassificationHead(config, spec.num_labels, rngs=rngs)
  if spec.kind == "multiple_choice":
    return heads_lib.MultipleChoiceHead(config, rngs=rngs)
  if spec.kind == "span":
    return heads_lib.SpanHead(config, rngs=rngs)
  return heads_lib.RegressionHead(config, rngs=rngs)


def head_kind(head: nnx.Module) -> str:
  """The HEAD_KINDS entry of a head module (RegressionHead before its parent class)."""
  for cls, kind in ((heads_lib.RegressionHead, "regression"),
                    (heads_lib.SequenceClassificationHead, "classification"),
                    (heads_lib.MultipleChoiceHead, "multiple_choice"),
                    (heads_lib.SpanHead, "span")):
    if isinstance(head, cls):
      return kind
  raise TypeError(f"unknown head type {type(head).__name__}")


class MultiTaskModel(nnx.Module):
  """Shared encoder + ``heads[name]``; ``head_names[i]`` is the head of ``head_id == i``."""

  def __init__(self, config: EncoderConfig, head_specs: Sequence[HeadSpec], *,
               rngs: nnx.Rngs, encoder: Encoder | None = None):
    names = [s.name for s in head_specs]
    if len(set(names)) != len(names):
      raise ValueError(f"head names repeat: {names}")
    self.config = config
    self.head_specs = tuple(head_specs)
    self.head_names = tuple(names)
    self.encoder = encoder if encoder is not None else Encoder(config, rngs=rngs)
    self.heads = nnx.Dict({s.name: make_head(config, s, rngs=rngs) for s in head_specs})

  def encode(self, batch: dict, deterministic: bool) -> jax.Array:
    """Token rows -> hidden states ``[rows, length, hidden]``."""
    segment_ids = batch["segment_ids"]
    return self.encoder(batch["input_ids"], (segment_ids > 0).astype(jnp.int32),
                        batch["token_type_ids"], deterministic,
                        segment_ids=segment_ids, positions=batch["positions"],
                        embedding_noise=batch.get("embedding_noise"))

  def __call__(self, batch: dict, deterministic: bool = True) -> dict:
    """Outputs of every head on every example slot, keyed by head name.

    classification ``[E, num_labels]`` logits; multiple_choice ``[E, C]`` scores;
    span ``(start, end)`` each ``[E, L]`` over the row of choice slot 0 (positions
    outside that example's segment set to a large negative); regression ``[E]``.
    """
    hidden = self.encode(batch, deterministic)  # [R, L, H]
    first = hidden[batch["pool_row"], batch["pool_pos"]]  # [E, C, H]
    kinds = {head_kind(h) for h in self.heads.values()}
    needs_pool = any(getattr(h, "input_kind", "") == "pooled" for h in self.heads.values())
    pooled = self.encoder.pool(first) if needs_pool else None  # [E, C, H]
    if "span" in kinds:
      row = batch["pool_row"][:, 0]  # [E]
      tokens = hidden[row]  # [E, L, H]
      segment = batch["segment_ids"][row]  # [E, L]
      own = segment == segment[jnp.arange(row.shape[0]), batch["pool_pos"][:, 0]][:, None]

    outputs = {}
    for name in self.head_names:
      head = self.heads[name]
      if head.input_kind == "tokens":
        start, end = head(tokens, deterministic)
        neg = jnp.finfo(start.dtype).min
        outputs[name] = (jnp.where(own, start, neg), jnp.where(own, end, neg))
        continue
      features = pooled if head.input_kind == "pooled" else first
      if head_kind(head) == "multiple_choice":
        outputs[name] = head(features, deterministic)  # [E, C]
      else:
        outputs[name] = head(features[:, 0], deterministic)  # [E, K] or [E]
    return outputs
