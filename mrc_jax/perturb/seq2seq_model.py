"""A Hugging Face seq2seq directory as a batched text generator for the `dg` and
`paraphrase` attacks.

    generate = seq2seq_generator("ckpt/mt5-dg", num_beams=10, max_new_tokens=20)
    generate(["answer: ... question: ... context: ..."])  # [[best, second, ...]]

Every batch is padded to `batch_size` rows of `max_source_length` tokens (at most the
model's positions; longer sources lose their end), so the jitted decoder compiles once
per setting whatever the texts.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Sequence

import numpy as np

from mrc_jax.models.seq2seq import MODEL_TYPES


def checkpoint_missing(path, what: str) -> list[str]:
  """What is missing to generate with the directory `path`, as a requirement."""
  if not path:
    return [f"a seq2seq checkpoint ({what}): pass checkpoint=DIR (docs/ATTACKS.md)"]
  path = os.fspath(path)
  config = os.path.join(path, "config.json")
  if not os.path.isfile(config):
    return [f"a seq2seq checkpoint ({what}): {path!r} has no config.json"]
  with open(config) as f:
    model_type = json.load(f).get("model_type")
  if model_type not in MODEL_TYPES:
    return [
      f"a seq2seq checkpoint ({what}): {path!r} is a {model_type!r} model, not one of {MODEL_TYPES}"
    ]
  if not os.path.isfile(os.path.join(path, "tokenizer.json")):
    return [
      f"a seq2seq checkpoint ({what}): {path!r} has no tokenizer.json (write one with "
      "AutoTokenizer.from_pretrained(DIR).save_pretrained(DIR))"
    ]
  return []


class Seq2SeqGenerator:
  """`generator(sources) -> [[text, ...] per source]`: the best `num_return_sequences` beams."""

  def __init__(
    self,
    checkpoint: str,
    *,
    num_beams: int,
    num_return_sequences: int,
    max_new_tokens: int,
    max_source_length: int,
    batch_size: int,
  ):
    from mrc_jax.models import hf
    from mrc_jax.models.seq2seq_tokenizer import Seq2SeqTokenizer

    self.checkpoint = os.fspath(checkpoint)
    self.model, self.config = hf.load_hf_seq2seq(self.checkpoint)
    self.tokenizer = Seq2SeqTokenizer(self.checkpoint)
    self.num_beams = num_beams
    self.num_return_sequences = num_return_sequences
    self.max_new_tokens = max_new_tokens
    # Learned position tables (BART) bound the source; T5's relative positions do not.
    limit = None if self.config.is_t5 else self.config.max_position_embeddings
    self.max_source_length = min(max_source_length, limit or max_source_length)
    self.batch_size = batch_size

  def __call__(self, sources: Sequence[str]) -> list[list[str]]:
    from mrc_jax.models import generation

    out: list[list[str]] = []
    for start in range(0, len(sources), self.batch_size):
      chunk = list(sources[start : start + self.batch_size])
      # Padding rows (dropped below) encode "": the model's special tokens alone.
      rows = chunk + [""] * (self.batch_size - len(chunk))
      ids, mask = self.tokenizer.batch(rows, self.max_source_length, self.config.pad_token_id)
      tokens = generation.generate(
        self.model,
        ids,
        mask,
        max_new_tokens=self.max_new_tokens,
        num_beams=self.num_beams,
        num_return_sequences=self.num_return_sequences,
      )
      tokens = np.asarray(tokens).reshape(self.batch_size, self.num_return_sequences, -1)
      for row in range(len(chunk)):
        out.append([self.tokenizer.decode(t) for t in tokens[row]])
    return out


@functools.lru_cache(maxsize=4)
def seq2seq_generator(checkpoint: str, **settings) -> Seq2SeqGenerator:
  """One generator per checkpoint and setting for the process (loading costs seconds)."""
  return Seq2SeqGenerator(checkpoint, **settings)
