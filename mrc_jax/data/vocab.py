"""A checkpoint's own tokenizer, with ids equal to the Hugging Face tokenizer's, character
offsets for span features, and a seqio Vocabulary wrapper for the data pipeline.

Backends:
* ``tokenizer.json`` (BERT, RoBERTa, XLM-R, BART, T5 saved by a fast tokenizer) through
  ``tokenizers``;
* XLM-R's ``sentencepiece.bpe.model`` through ``sentencepiece`` with fairseq's id layout
  (``<s>``=0, ``<pad>``=1, ``</s>``=2, ``<unk>``=3, every other piece shifted by one,
  ``<mask>`` last), the layout Hugging Face's XLMRobertaTokenizer uses.

Special-token templates follow the Hugging Face classes: BERT ``[CLS] A [SEP] B [SEP]`` with
token types 0/1; RoBERTa and XLM-R ``<s> A </s></s> B </s>`` with token types all 0 (BART's
template too; mBART's tokenizer adds a language code instead of ``<s>``, which this layout
leaves out); T5 and mT5 ``A </s> B </s>``.
"""

from __future__ import annotations

import json
import os
from typing import Sequence

import numpy as np
import seqio
import tensorflow as tf

Offsets = list[tuple[int, int]]


class CheckpointTokenizer:
  """Ids and character offsets of text pieces, plus the checkpoint's special tokens.

  Subclasses implement ``encode_with_offsets``; ``style`` is "bert", "roberta" or "t5"
  (no start token: ``cls_id`` is None).
  """

  style: str
  cls_id: int | None
  sep_id: int
  pad_id: int
  unk_id: int
  vocab_size: int
  path: str

  def encode_with_offsets(self, text: str) -> tuple[list[int], Offsets]:
    """Ids of ``text`` without special tokens and each token's ``(start, end)`` chars."""
    raise NotImplementedError

  def encode_batch_with_offsets(self, texts: Sequence[str]) -> list[tuple[list[int], Offsets]]:
    return [self.encode_with_offsets(t) for t in texts]

  def encode(self, text: str) -> list[int]:
    return self.encode_with_offsets(text)[0]

  def decode(self, ids: Sequence[int]) -> str:
    raise NotImplementedError

  @property
  def num_special_tokens_pair(self) -> int:
    """Special tokens that a pair of sequences adds (3 for BERT, 4 for RoBERTa, 2 for T5)."""
    return {"bert": 3, "roberta": 4, "t5": 2}[self.style]

  def build_pair(
    self, first: Sequence[int], second: Sequence[int] | None = None
  ) -> tuple[list[int], list[int]]:
    """(ids, token type ids) with the checkpoint's special tokens around one or two pieces."""
    if self.style == "t5":
      ids = [*first, self.sep_id, *([] if second is None else [*second, self.sep_id])]
      return ids, [0] * len(ids)
    ids = [self.cls_id, *first, self.sep_id]
    if second is None:
      return ids, [0] * len(ids)
    if self.style == "bert":
      return ids + [*second, self.sep_id], [0] * len(ids) + [1] * (len(second) + 1)
    ids = ids + [self.sep_id, *second, self.sep_id]
    return ids, [0] * len(ids)

  def __call__(self, text: str, text_pair: str | None = None) -> list[int]:
    """Ids with special tokens, as ``AutoTokenizer(...)(text, text_pair)["input_ids"]``."""
    second = None if text_pair is None else self.encode(text_pair)
    return self.build_pair(self.encode(text), second)[0]


class TokenizersTokenizer(CheckpointTokenizer):
  """A ``tokenizer.json`` loaded with the ``tokenizers`` library."""

  def __init__(self, path: str):
    import tokenizers

    self.path = path
    self._tokenizer = tokenizers.Tokenizer.from_file(path)
    # Saved files often carry the training run's truncation/padding; ids must not.
    self._tokenizer.no_truncation()
    self._tokenizer.no_padding()
    _split_on_whitespace_first(self._tokenizer)
    vocab = self._tokenizer.get_vocab(with_added_tokens=True)
    if "[CLS]" in vocab:
      self.style, cls, sep, pad, unk = "bert", "[CLS]", "[SEP]", "[PAD]", "[UNK]"
    elif "<s>" in vocab:
      self.style, cls, sep, pad, unk = "roberta", "<s>", "</s>", "<pad>", "<unk>"
    elif "</s>" in vocab:  # T5 and mT5: `A </s>`, no start token
      self.style, cls, sep, pad, unk = "t5", None, "</s>", "<pad>", "<unk>"
    else:
      raise ValueError(f"{path}: none of [CLS], <s>, </s> in the vocabulary; unknown template")
    self.cls_id = None if cls is None else vocab[cls]
    self.sep_id, self.pad_id, self.unk_id = (vocab[t] for t in (sep, pad, unk))
    self.vocab_size = self._tokenizer.get_vocab_size(with_added_tokens=True)

  def encode_with_offsets(self, text: str) -> tuple[list[int], Offsets]:
    encoding = self._tokenizer.encode(text, add_special_tokens=False)
    return encoding.ids, encoding.offsets

  def encode_batch_with_offsets(self, texts: Sequence[str]) -> list[tuple[list[int], Offsets]]:
    return [
      (e.ids, e.offsets)
      for e in self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
    ]

  def decode(self, ids: Sequence[int]) -> str:
    return self._tokenizer.decode(list(ids), skip_special_tokens=True)


def _split_on_whitespace_first(tokenizer) -> None:
  """Puts a whitespace split before a bare ``Metaspace`` pre-tokenizer (SentencePiece models
  saved as ``tokenizer.json``, e.g. XLM-R).

  A bare Metaspace turns trailing whitespace into a lone ``▁`` token and counts the space
  before a word into its offsets; SentencePiece itself drops outer whitespace, and
  transformers' XLMRobertaTokenizer builds ``WhitespaceSplit`` + ``Metaspace`` for the same
  file, so its ids and offsets are those of this pipeline.
  """
  from tokenizers import pre_tokenizers

  if tokenizer.pre_tokenizer is None:
    return
  spec = json.loads(tokenizer.pre_tokenizer.__getstate__())
  if spec.get("type") != "Metaspace":
    return
  # Files saved by tokenizers < 0.14 have add_prefix_space instead of prepend_scheme.
  scheme = spec.get("prepend_scheme") or (
    "always" if spec.get("add_prefix_space", True) else "never"
  )
  tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
    [
      pre_tokenizers.WhitespaceSplit(),
      pre_tokenizers.Metaspace(replacement=spec.get("replacement", "▁"), prepend_scheme=scheme),
    ]
  )


class XlmrSentencePieceTokenizer(CheckpointTokenizer):
  """XLM-R's ``sentencepiece.bpe.model`` with fairseq's id layout."""

  FAIRSEQ_SPECIALS = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
  FAIRSEQ_OFFSET = 1

  def __init__(self, path: str):
    import sentencepiece

    self.path = path
    self._sp = sentencepiece.SentencePieceProcessor(model_file=path)
    self.style = "roberta"
    self.cls_id, self.pad_id, self.sep_id, self.unk_id = 0, 1, 2, 3
    self.mask_id = len(self._sp) + self.FAIRSEQ_OFFSET
    self.vocab_size = self.mask_id + 1
    # spm's own <unk> (piece 0) becomes fairseq's <unk>; every other piece shifts by one.
    self._to_fairseq = np.arange(len(self._sp), dtype=np.int64) + self.FAIRSEQ_OFFSET
    self._to_fairseq[self._sp.unk_id()] = self.unk_id

  def encode_with_offsets(self, text: str) -> tuple[list[int], Offsets]:
    proto = self._sp.encode(text, return_type="proto")
    ids = self._to_fairseq[[p.id for p in proto.pieces]].tolist() if len(proto.pieces) else []
    # sentencepiece reports byte offsets into the UTF-8 input; spans need characters.
    # A piece's leading "▁" covers the preceding space: leave it out of the span, as
    # Hugging Face's offset mapping does.
    char_of_byte = _char_index_of_bytes(text)
    offsets = []
    for piece in proto.pieces:
      start, end = int(char_of_byte[piece.begin]), int(char_of_byte[piece.end])
      while start < end and text[start].isspace():
        start += 1
      offsets.append((start, end))
    return ids, offsets

  def decode(self, ids: Sequence[int]) -> str:
    pieces = [
      i - self.FAIRSEQ_OFFSET
      for i in ids
      if i not in (self.cls_id, self.pad_id, self.sep_id, self.mask_id)
    ]
    return self._sp.decode([p if p > 0 else self._sp.unk_id() for p in pieces])


def _char_index_of_bytes(text: str) -> np.ndarray:
  """``[num_bytes + 1]`` character index of every UTF-8 byte offset of ``text``."""
  lengths = np.fromiter((len(c.encode("utf-8")) for c in text), dtype=np.int64, count=len(text))
  index = np.repeat(np.arange(len(text), dtype=np.int64), lengths)
  return np.append(index, len(text))


def load_tokenizer(checkpoint_dir: str) -> CheckpointTokenizer:
  """The tokenizer saved with a Hugging Face checkpoint directory."""
  tokenizer_json = os.path.join(checkpoint_dir, "tokenizer.json")
  sentencepiece_model = os.path.join(checkpoint_dir, "sentencepiece.bpe.model")
  if os.path.isfile(tokenizer_json):
    return TokenizersTokenizer(tokenizer_json)
  if os.path.isfile(sentencepiece_model):
    return XlmrSentencePieceTokenizer(sentencepiece_model)
  raise FileNotFoundError(
    f"{checkpoint_dir}: no tokenizer.json or sentencepiece.bpe.model; save the checkpoint's "
    "tokenizer with the Hugging Face tokenizer's save_pretrained"
  )


class CheckpointVocabulary(seqio.Vocabulary):
  """seqio view of a CheckpointTokenizer (no extra ids: encoders do not use sentinels)."""

  def __init__(self, tokenizer: CheckpointTokenizer):
    super().__init__(extra_ids=0)
    self.tokenizer = tokenizer

  @property
  def eos_id(self) -> int:
    return self.tokenizer.sep_id

  @property
  def pad_id(self) -> int:
    return self.tokenizer.pad_id

  @property
  def unk_id(self) -> int:
    return self.tokenizer.unk_id

  @property
  def _base_vocab_size(self) -> int:
    return self.tokenizer.vocab_size

  def _encode(self, s: str) -> list[int]:
    return self.tokenizer.encode(s)

  def _decode(self, ids) -> str:
    return self.tokenizer.decode([int(i) for i in ids])

  def _encode_tf(self, s: tf.Tensor) -> tf.Tensor:
    def encode(text) -> np.ndarray:  # bytes in graph mode, a 0-d bytes array eagerly
      text = text.item() if isinstance(text, np.ndarray) else text
      return np.asarray(self.tokenizer.encode(text.decode("utf-8")), dtype=np.int32)

    ids = tf.numpy_function(encode, [s], tf.int32, stateful=False)
    return tf.ensure_shape(ids, [None])

  def _decode_tf(self, ids: tf.Tensor) -> tf.Tensor:
    def decode(values: np.ndarray) -> bytes:
      return np.asarray(self._decode(values.tolist()).encode("utf-8"), dtype=object)

    text = tf.numpy_function(decode, [ids], tf.string, stateful=False)
    return tf.ensure_shape(text, [])

  def __eq__(self, other) -> bool:
    return isinstance(other, CheckpointVocabulary) and other.tokenizer.path == self.tokenizer.path

  def __hash__(self) -> int:
    return hash(self.tokenizer.path)
