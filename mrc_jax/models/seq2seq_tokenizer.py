"""The tokenizer of a BART / mBART / T5 / mT5 directory: text -> padded id batches with the
model's own special tokens, generated ids -> text.

It reads the directory's `tokenizer.json` with the `tokenizers` library, whose
post-processor adds what the model was trained with (BART `<s> ... </s>`, T5 `... </s>`),
so ids equal transformers' fast tokenizer's. Directories released with only a
SentencePiece model (google/mt5-*) get their `tokenizer.json` from
`AutoTokenizer.from_pretrained(path).save_pretrained(path)`.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np


class Seq2SeqTokenizer:
  def __init__(self, checkpoint_dir: str):
    import tokenizers

    path = os.path.join(checkpoint_dir, "tokenizer.json")
    if not os.path.isfile(path):
      raise FileNotFoundError(
        f"{checkpoint_dir}: no tokenizer.json; write one with transformers' "
        "AutoTokenizer.from_pretrained(DIR).save_pretrained(DIR)"
      )
    self.path = path
    self._tokenizer = tokenizers.Tokenizer.from_file(path)
    # Saved files can carry a training run's truncation / padding; batches set their own.
    self._tokenizer.no_padding()
    self._tokenizer.no_truncation()

  def encode(self, text: str) -> list[int]:
    """Ids with the model's special tokens, as the transformers tokenizer's `input_ids`."""
    return self._tokenizer.encode(text).ids

  def batch(
    self, texts: Sequence[str], max_length: int, pad_id: int, pad_to: int | None = None
  ) -> tuple[np.ndarray, np.ndarray]:
    """(ids, attention mask), both `[len(texts), pad_to or max_length]` int32; a longer text
    is cut to `max_length` tokens keeping its closing special token (transformers'
    `truncation=True`)."""
    width = pad_to or max_length
    if width < max_length:
      raise ValueError(f"pad_to {width} is shorter than max_length {max_length}")
    self._tokenizer.enable_truncation(max_length)
    try:
      encodings = self._tokenizer.encode_batch(list(texts))
    finally:
      self._tokenizer.no_truncation()
    ids = np.full((len(texts), width), pad_id, np.int32)
    mask = np.zeros((len(texts), width), np.int32)
    for row, encoding in enumerate(encodings):
      ids[row, : len(encoding.ids)] = encoding.ids
      mask[row, : len(encoding.ids)] = 1
    return ids, mask

  def decode(self, ids: Sequence[int]) -> str:
    """Text of generated ids, special tokens (start, end, padding) dropped."""
    return self._tokenizer.decode([int(i) for i in ids], skip_special_tokens=True).strip()
