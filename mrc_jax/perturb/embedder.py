"""Contextual token states and sentence vectors of a Hugging Face encoder, for attacks and
their validity checks: word alignment (codeswitch) and clean-vs-attacked similarity.

    embedder = TextEmbedder(default_checkpoint(), layer=8)
    states, offsets = embedder.token_states(["Wer war der Kapitän?"])[0]  # [tokens, hidden]
    vectors = embedder.sentence_vectors(texts)  # [texts, hidden], unit length

The default checkpoint is multilingual-e5-small (~100 languages) under ``$MRC_JAX_CKPT_DIR``.
Batches are padded to a few bucket lengths so that a corpus compiles a handful of programs.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from mrc_jax.data.vocab import load_tokenizer
from mrc_jax.models.hf import load_hf_encoder

CKPT_DIR_ENV = "MRC_JAX_CKPT_DIR"
DEFAULT_CHECKPOINT = "multilingual-e5-small"
_BUCKETS = (32, 64, 128, 256, 512)


def default_checkpoint() -> str:
  """``$MRC_JAX_CKPT_DIR/multilingual-e5-small`` (``checkpoints/...`` without the variable)."""
  return os.path.join(os.environ.get(CKPT_DIR_ENV, "checkpoints"), DEFAULT_CHECKPOINT)


def checkpoint_missing(path: str | None) -> list[str]:
  """What is missing to embed with ``path`` (None: the default checkpoint), as a requirement."""
  path = os.fspath(path or default_checkpoint())
  if os.path.isfile(os.path.join(path, "config.json")):
    return []
  return [
    f"a multilingual encoder checkpoint: {path!r} has no config.json (build "
    f"multilingual-e5-small there, set ${CKPT_DIR_ENV}, or pass encoder=PATH)"
  ]


def _bucket(length: int, max_length: int) -> int:
  return next((b for b in _BUCKETS if b >= length and b <= max_length), max_length)


class TextEmbedder:
  """Token states of one layer (``layer=None``: the last) of an encoder checkpoint.

  Texts longer than ``max_length - 2`` tokens are cut (states cover the first tokens only).
  """

  def __init__(
    self,
    checkpoint_dir: str | None = None,
    *,
    layer: int | None = None,
    max_length: int = 256,
    batch_size: int = 32,
  ):
    self.path = os.fspath(checkpoint_dir or default_checkpoint())
    lacking = checkpoint_missing(self.path)
    if lacking:
      raise FileNotFoundError(lacking[0])
    self.tokenizer = load_tokenizer(self.path)
    encoder, config = load_hf_encoder(self.path, with_pooler=False)
    if layer is not None:
      if not 1 <= layer <= config.num_layers:
        raise ValueError(f"layer must be in 1..{config.num_layers}, got {layer}")
      # The stacked layer parameters keep their first `layer` entries: the scan runs those.
      for name, value in encoder.layers.arrays().items():
        getattr(encoder.layers, name).value = value[:layer]
      encoder.config = dataclasses.replace(config, num_layers=layer)
    self.layer = layer or config.num_layers
    self.max_length = max_length
    self.batch_size = batch_size
    graphdef, state = nnx.split(encoder)
    self._state = state
    self._forward = jax.jit(
      lambda state, ids, mask: nnx.merge(graphdef, state)(ids, mask, deterministic=True)
    )

  def _encode(self, texts: Sequence[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
    keep = self.max_length - 2
    return [
      (ids[:keep], offsets[:keep])
      for ids, offsets in self.tokenizer.encode_batch_with_offsets(texts)
    ]

  def _states(self, texts: Sequence[str]) -> list[tuple[np.ndarray, list[tuple[int, int]]]]:
    """For each text: ``[tokens + 2, hidden]`` float32 states with the special tokens around
    its own, and its own tokens' ``(start, end)`` character offsets."""
    encoded = self._encode(texts)
    results: list = [None] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i][0]))
    for first in range(0, len(order), self.batch_size):
      chunk = order[first : first + self.batch_size]
      length = _bucket(max(len(encoded[i][0]) for i in chunk) + 2, self.max_length)
      ids = np.full((self.batch_size, length), self.tokenizer.pad_id, np.int32)
      mask = np.zeros((self.batch_size, length), np.int32)
      for row, i in enumerate(chunk):
        tokens = self.tokenizer.build_pair(encoded[i][0])[0]
        ids[row, : len(tokens)] = tokens
        mask[row, : len(tokens)] = 1
      states = np.asarray(self._forward(self._state, jnp.asarray(ids), jnp.asarray(mask)))
      for row, i in enumerate(chunk):  # states: [batch, length, hidden]
        count = len(encoded[i][0]) + 2
        results[i] = (states[row, :count].astype(np.float32), list(encoded[i][1]))
    return results

  def token_states(self, texts: Sequence[str]) -> list[tuple[np.ndarray, list[tuple[int, int]]]]:
    """For each text: ``[tokens, hidden]`` states of its own tokens (special tokens dropped)
    and each token's ``(start, end)`` character offsets."""
    return [(states[1:-1], offsets) for states, offsets in self._states(texts)]

  def sentence_vectors(self, texts: Sequence[str], prefix: str = "query: ") -> np.ndarray:
    """``[texts, hidden]`` unit-length vectors: E5's pooling (the mean of every token state,
    special tokens included) of ``prefix + text``; E5 models expect the "query: " prefix."""
    vectors = [states.mean(axis=0) for states, _ in self._states([prefix + t for t in texts])]
    if not vectors:
      return np.zeros((0, 0), np.float32)
    stacked = np.stack(vectors)  # [texts, hidden]
    return stacked / np.maximum(np.linalg.norm(stacked, axis=-1, keepdims=True), 1e-12)


@functools.lru_cache(maxsize=4)
def shared_embedder(checkpoint_dir: str | None = None, layer: int | None = None) -> TextEmbedder:
  """One embedder per (checkpoint, layer) for the whole process (loading costs seconds)."""
  return TextEmbedder(checkpoint_dir, layer=layer)
