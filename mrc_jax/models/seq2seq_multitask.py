"""One shared encoder-decoder (BART, mBART, T5, mT5) and task heads, for heterogeneous
batches: :class:`~mrc_jax.models.multitask.MultiTaskModel`'s contract on
:class:`~mrc_jax.models.seq2seq.Seq2Seq`.

Every row goes through the encoder, and through the decoder reading the batch's
``decoder_input_ids`` (``data.features``: a generation row's target shifted right, every
other row itself shifted right). As transformers' BART classes attach them, classification,
regression and multiple-choice heads read the decoder state at the last end-of-sequence
token of each choice's row, span heads every decoder state of the row, and 'generation'
heads are the model's language-model head over the row, trained on ``decoder_labels``.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from mrc_jax.models import head_kinds
from mrc_jax.models.encoder import dropout_keys
from mrc_jax.models.multitask import HeadSpec
from mrc_jax.models.seq2seq import Seq2Seq, Seq2SeqConfig
from mrc_jax.models.seq2seq_heads import last_eos_states


class Seq2SeqMultiTaskModel(nnx.Module):
  """Shared ``seq2seq`` + ``heads[name]`` (every head kind but 'generation', which is the
  model's own LM head); ``head_names[i]`` is the head of ``head_id == i``."""

  def __init__(
    self,
    config: Seq2SeqConfig,
    head_specs: Sequence[HeadSpec],
    *,
    rngs: nnx.Rngs,
    seq2seq: Seq2Seq | None = None,
  ):
    names = [s.name for s in head_specs]
    if len(set(names)) != len(names):
      raise ValueError(f"head names repeat: {names}")
    for spec in head_specs:
      if spec.pooling != "first":
        raise ValueError(
          f"head {spec.name!r}: pooling {spec.pooling!r}; an encoder-decoder's heads read the "
          "decoder state at the last end-of-sequence token (head_pooling='first')"
        )
    self.config = config
    self.head_specs = tuple(head_specs)
    self.head_names = tuple(names)
    self.seq2seq = seq2seq if seq2seq is not None else Seq2Seq(config, rngs=rngs)
    self.heads = nnx.Dict(
      {
        s.name: head_kinds.get(s.kind).seq2seq_make(config, s, rngs)
        for s in head_specs
        if head_kinds.get(s.kind).seq2seq_make is not None
      }
    )

  def __call__(
    self, batch: dict, deterministic: bool = True, *, dropout_key: jax.Array | None = None
  ) -> dict:
    """Outputs of every head on every example slot, keyed by head name.

    classification ``[E, num_labels]`` logits; multiple_choice ``[E, C]`` scores; span
    ``(start, end)`` each ``[E, L]`` over the row of choice slot 0 (padding positions set to
    a large negative); regression ``[E]``; generation ``(logits [E, L, vocab], labels
    [E, L])`` of that row. Dropout masks come from ``dropout_key`` alone.
    """
    encoder_key, decoder_key, *head_keys = dropout_keys(
      deterministic, dropout_key, 2 + len(self.head_names)
    )
    input_ids = batch["input_ids"]  # [R, L]
    mask = (batch["segment_ids"] > 0).astype(jnp.int32)  # [R, L]
    encoded = self.seq2seq.encode(
      input_ids,
      mask,
      deterministic,
      dropout_key=encoder_key,
      embedding_noise=batch.get("embedding_noise"),  # R3F's noised pass
    )
    states = self.seq2seq.decode(
      batch["decoder_input_ids"], encoded, mask, None, deterministic, dropout_key=decoder_key
    )  # [R, L, D]
    rows = batch["pool_row"]  # [E, C]
    first = rows[:, 0]  # [E]
    eos = last_eos_states(states, input_ids, self.config.eos_token_id)[rows]  # [E, C, D]
    outputs = {}
    for spec, key in zip(self.head_specs, head_keys):
      if spec.kind == "generation":
        outputs[spec.name] = (self.seq2seq.logits(states[first]), batch["decoder_labels"][first])
        continue
      head = self.heads[spec.name]
      if spec.kind == "span":
        start, end = head(states[first])  # [E, L] each
        own = mask[first] > 0
        neg = jnp.finfo(start.dtype).min
        outputs[spec.name] = (jnp.where(own, start, neg), jnp.where(own, end, neg))
        continue
      seeds = None if key is None else jax.random.bits(key, (2, 2), jnp.uint32)
      if spec.kind == "multiple_choice":
        outputs[spec.name] = head(eos, seeds)[..., 0]  # [E, C]
      elif spec.kind == "regression":
        outputs[spec.name] = head(eos[:, 0], seeds)[..., 0]  # [E]
      else:
        outputs[spec.name] = head(eos[:, 0], seeds)  # [E, K]
    return outputs
