"""Unified examples -> "rows + examples" model batches (docs/ARCHITECTURE.md).

Every example becomes one or more *slots* (a span example becomes one slot per context
window), and every slot one or more token *sequences* (one per option for multiple choice):

* multiple choice: ``[CLS] context [SEP] question+option [SEP]`` per option (a cloze blank
  ``_`` in the question is filled with the option, as in RACE practice); with
  ``options_first``, ``[CLS] option+question [SEP] context [SEP]``, which puts the option
  at a fixed position right after ``[CLS]`` (an encoder trained from scratch then finds it
  by position; the context-first layout leaves it wherever the passage ends);
* classification / regression / sentence pairs: ``[CLS] context [SEP] question [SEP]``
  (``[CLS] context [SEP]`` when the question is empty);
* extractive QA: ``[CLS] question [SEP] context-window [SEP]``; a context longer than the
  largest length bucket is split into windows starting every ``window_stride`` tokens (the
  ``doc_stride`` of the original SQuAD recipe), so neighbouring windows overlap.

RoBERTa / XLM-R use ``<s> A </s></s> B </s>`` instead. Truncation only ever cuts the
passage (``context``); a question or option that alone does not fit is an error.

With a ``decoder`` layout (an encoder-decoder model) every row also carries what its
decoder reads and predicts: a generation example's row holds its source
(``[CLS] context [SEP]``, the question appended as a pair's second piece when there is one)
and its target (the target text under the same single-sequence template, cut to the row
length) as labels, the decoder reading those labels shifted right; every other row's
decoder reads the row itself shifted right, as transformers' BART task classes do, and
predicts nothing. Rows are never packed then (the decoder attends across a whole row).

A slot goes to the smallest length bucket that holds its longest sequence (packable slots
to ``pack_length`` when that is set and larger). With ``pack=True``
sequences of choice and classification slots share rows (first fit), told apart by
``segment_ids`` with ``positions`` restarting per sequence; span windows always start a row
of their own, so position 0 of the row is the "no answer" target. A batch is emitted when
its example slots are used up or the next slot's sequences fit in no row, and padding slots
have ``example_mask == 0``. Shapes are static per bucket: ``[R, L]`` rows and ``E`` slots.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np

from mrc_jax.data.schema import MISSING_LABEL, example_kind, is_labelled
from mrc_jax.data.vocab import CheckpointTokenizer


IGNORE = -100  # a decoder position without a target (transformers' label convention)


@dataclasses.dataclass(frozen=True)
class DecoderLayout:
  """How an encoder-decoder's decoder reads a sequence one position late: after its start
  token (``decoder_start_token_id``; BART, T5), or with ``wrap_last`` after the sequence's
  own last token (mBART's language id or </s>), as ``seq2seq.shift_right`` does."""

  start_id: int
  wrap_last: bool = False

  def shifted(self, ids: list[int]) -> list[int]:
    return [ids[-1] if self.wrap_last else self.start_id, *ids[:-1]]


class OverlongError(ValueError):
  """A question or option that alone does not fit the largest length (never truncated)."""


# num_classes of a padding slot: 2 keeps log(num_classes) finite in loss scaling.
PADDING_NUM_CLASSES = 2


@dataclasses.dataclass
class _Slot:
  """One example slot before placement: its sequences and targets."""

  sequences: list[tuple[list[int], list[int]]]  # (ids, token type ids) per choice
  task_id: int
  head_id: int
  num_classes: int
  label: int = 0
  target: float = 0.0
  span: tuple[int, int] = (0, 0)  # token positions within sequence 0
  target_ids: list[int] | None = None  # generation: the decoder's target
  packable: bool = True
  meta: dict = dataclasses.field(default_factory=dict)

  @property
  def length(self) -> int:
    return max(len(self.target_ids or ()), *(len(ids) for ids, _ in self.sequences))


# Every array of a model batch (docs/ARCHITECTURE.md): its axes (R rows, L row length,
# E example slots, C choice slots) and dtype.
BATCH_ARRAYS = {
  "input_ids": ("RL", np.int32),
  "token_type_ids": ("RL", np.int32),
  "segment_ids": ("RL", np.int32),
  "positions": ("RL", np.int32),
  "example_mask": ("E", np.float32),
  "task_id": ("E", np.int32),
  "head_id": ("E", np.int32),
  "num_classes": ("E", np.int32),
  "pool_row": ("EC", np.int32),
  "pool_pos": ("EC", np.int32),
  "choice_mask": ("EC", np.float32),
  "label": ("E", np.int32),
  "span_start": ("E", np.int32),
  "span_end": ("E", np.int32),
  "target": ("E", np.float32),
}


# The decoder's arrays of a batch with a DecoderLayout: what each row's decoder reads and
# predicts (IGNORE where nothing).
DECODER_ARRAYS = {
  "decoder_input_ids": ("RL", np.int32),
  "decoder_labels": ("RL", np.int32),
}


# The arrays whose values index the batch's rows. A host builds its rows alone, so these
# count from its own first row until the global batch maps them (input_pipeline.global_batch);
# every other index (positions, choices, classes, task and head ids) is the same everywhere.
ROW_INDEX_ARRAYS = ("pool_row",)


def to_global_rows(batch: Mapping[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
  """``batch`` with its row indices replaced by ``rows[index]``: ``rows`` ``[R]`` gives the
  global row of each of the batch's own rows."""
  return {k: rows[v].astype(v.dtype) if k in ROW_INDEX_ARRAYS else v for k, v in batch.items()}


def batch_shapes(
  rows: int, length: int, examples: int, choices: int, decoder: bool = False
) -> dict[str, tuple[tuple[int, ...], type]]:
  """``{key: (shape, dtype)}`` of every batch of this layout, known before any example;
  ``decoder``: with the :data:`DECODER_ARRAYS`."""
  sizes = {"R": rows, "L": length, "E": examples, "C": choices}
  arrays = BATCH_ARRAYS | (DECODER_ARRAYS if decoder else {})
  return {
    key: (tuple(sizes[axis] for axis in axes), dtype) for key, (axes, dtype) in arrays.items()
  }


def padding_batch(
  rows: int,
  length: int,
  examples: int,
  choices: int,
  pad_id: int,
  decoder: DecoderLayout | None = None,
) -> dict[str, np.ndarray]:
  """A batch of this layout with no example in it (every slot padding)."""
  return _OpenBatch(rows, length, examples, choices, pad_id, decoder).arrays


class _OpenBatch:
  """Arrays of one batch being filled (one per bucket)."""

  def __init__(
    self,
    rows: int,
    length: int,
    examples: int,
    choices: int,
    pad_id: int,
    decoder: DecoderLayout | None = None,
  ):
    self.rows, self.length, self.examples = rows, length, examples
    self.decoder = decoder
    self.arrays = {
      key: np.zeros(shape, dtype)
      for key, (shape, dtype) in batch_shapes(
        rows, length, examples, choices, decoder is not None
      ).items()
    }
    self.arrays["input_ids"][:] = pad_id
    self.arrays["num_classes"][:] = PADDING_NUM_CLASSES
    if decoder is not None:
      self.arrays["decoder_input_ids"][:] = pad_id
      self.arrays["decoder_labels"][:] = IGNORE
    self.fill = [0] * rows  # tokens used per row
    self.segments = [0] * rows  # sequences packed per row
    self.meta: list[dict] = []

  def place(self, slot: _Slot, pack: bool) -> bool:
    """Write ``slot`` into the batch if it fits (all sequences or nothing)."""
    if len(self.meta) == self.examples:
      return False
    share_rows = pack and slot.packable
    fill = list(self.fill)
    where = []
    for ids, _ in slot.sequences:
      for row in range(self.rows):
        if (fill[row] == 0 or share_rows) and fill[row] + len(ids) <= self.length:
          where.append((row, fill[row]))
          # A row holding an unpackable sequence takes nothing else.
          fill[row] = fill[row] + len(ids) if share_rows else self.length
          break
      else:
        return False
    e = len(self.meta)
    a = self.arrays
    for choice, ((ids, types), (row, start)) in enumerate(zip(slot.sequences, where)):
      end = start + len(ids)
      self.segments[row] += 1
      a["input_ids"][row, start:end] = ids
      a["token_type_ids"][row, start:end] = types
      a["segment_ids"][row, start:end] = self.segments[row]
      a["positions"][row, start:end] = np.arange(len(ids))
      a["pool_row"][e, choice] = row
      a["pool_pos"][e, choice] = start
      a["choice_mask"][e, choice] = 1.0
      if self.decoder is not None:  # unpacked rows: the sequence starts the row
        read = ids if slot.target_ids is None else slot.target_ids
        a["decoder_input_ids"][row, : len(read)] = self.decoder.shifted(read)
        if slot.target_ids is not None:
          a["decoder_labels"][row, : len(read)] = read
    self.fill = fill
    a["example_mask"][e] = 1.0
    a["task_id"][e] = slot.task_id
    a["head_id"][e] = slot.head_id
    a["num_classes"][e] = slot.num_classes
    a["label"][e] = slot.label
    a["target"][e] = slot.target
    a["span_start"][e], a["span_end"][e] = slot.span
    self.meta.append(slot.meta)
    return True

  @property
  def empty(self) -> bool:
    return not self.meta


class BatchBuilder:
  """Builds rows + examples batches from unified examples; see :func:`make_batches`."""

  def __init__(
    self,
    tokenizer: CheckpointTokenizer,
    *,
    task_index: Mapping[str, int],
    head_index: Mapping[str, int],
    num_classes: Mapping[str, int] | None = None,
    examples_per_batch: int,
    rows_per_batch: int | Mapping[int, int],
    lengths: Sequence[int] = (128, 256, 512),
    max_choices: int = 4,
    pack: bool = True,
    window_stride: int = 128,
    allow_unlabelled: bool = False,
    pack_length: int | None = None,
    skip_overlong: bool = False,
    options_first: bool = False,
    decoder: DecoderLayout | None = None,
  ):
    if decoder is not None and pack:
      raise ValueError("an encoder-decoder's rows are not packed: pass pack=False with decoder")
    self.tokenizer = tokenizer
    self.options_first = options_first
    self.decoder = decoder
    self.task_index, self.head_index = task_index, head_index
    self.num_classes = dict(num_classes or {})
    self.examples_per_batch = examples_per_batch
    self.lengths = tuple(sorted(lengths))
    self.rows = (
      {length: rows_per_batch for length in self.lengths}
      if isinstance(rows_per_batch, int)
      else dict(rows_per_batch)
    )
    if set(self.rows) != set(self.lengths):
      raise ValueError(f"rows_per_batch keys {sorted(self.rows)} != lengths {self.lengths}")
    if min(self.rows.values()) < max_choices:
      raise ValueError(f"every bucket needs at least max_choices={max_choices} rows")
    self.max_choices, self.pack = max_choices, pack
    self.window_stride, self.allow_unlabelled = window_stride, allow_unlabelled
    self.max_length = self.lengths[-1]
    if pack_length is not None and pack_length not in self.lengths:
      raise ValueError(f"pack_length {pack_length} is not one of the lengths {self.lengths}")
    self.pack_length = pack_length
    self.skip_overlong = skip_overlong
    self.overlong: list[str] = []  # ids skipped because a question/option alone is too long
    self.specials = tokenizer.num_special_tokens_pair
    self._open: dict[int, _OpenBatch] = {}
    # SQuAD-style files ask several questions about one context in a row: tokenise it once.
    self._encode_context = functools.lru_cache(maxsize=64)(tokenizer.encode_with_offsets)

  # --- examples -> slots -------------------------------------------------------------
  def slots(self, example: dict) -> list[_Slot]:
    task = example["task"]
    if task not in self.task_index or task not in self.head_index:
      raise KeyError(f"example {example['id']!r}: task {task!r} is not in task_index/head_index")
    if not is_labelled(example) and not self.allow_unlabelled:
      raise ValueError(
        f"example {example['id']!r} of {task} has no gold label; "
        "pass allow_unlabelled=True only to predict"
      )
    kind = example_kind(example)
    if kind == "span":
      return self._span_slots(example)
    base = dict(task_id=self.task_index[task], head_id=self.head_index[task])
    if kind == "generation":
      return [self._generation_slot(example, base)]
    meta = {
      "id": example["id"],
      "task": task,
      "lang": example["lang"],
      "kind": kind,
      "labelled": is_labelled(example),
    }
    if kind == "choice":
      options = example["options"]
      if len(options) > self.max_choices:
        raise ValueError(
          f"example {example['id']!r}: {len(options)} options > max_choices={self.max_choices}"
        )
      question = example["question"]
      seconds = [
        question.replace("_", option)
        if "_" in question
        else (f"{option} {question}" if self.options_first else f"{question} {option}").strip()
        for option in options
      ]
      context_ids, _ = self.tokenizer.encode_with_offsets(example["context"])
      sequences = [
        self._passage_pair(
          context_ids, self.tokenizer.encode(s), example, "options", second_first=self.options_first
        )
        for s in seconds
      ]
      return [
        _Slot(
          sequences,
          num_classes=self.num_classes.get(task, len(options)),
          label=example["label"],
          meta={**meta, "num_choices": len(options)},
          **base,
        )
      ]
    if task not in self.num_classes:
      raise KeyError(f"task {task!r}: num_classes is required for {kind} tasks")
    context_ids = self.tokenizer.encode(example["context"])
    question_ids = self.tokenizer.encode(example["question"]) if example["question"] else None
    sequence = self._passage_pair(context_ids, question_ids, example, "question")
    if kind == "regression":
      return [
        _Slot(
          [sequence],
          num_classes=self.num_classes[task],
          target=float(example["target"]),
          meta=meta,
          **base,
        )
      ]
    label = example["label"]
    if label != MISSING_LABEL and not 0 <= label < self.num_classes[task]:
      raise ValueError(
        f"example {example['id']!r}: label {label} out of range for "
        f"{self.num_classes[task]} classes"
      )
    return [_Slot([sequence], num_classes=self.num_classes[task], label=label, meta=meta, **base)]

  def _generation_slot(self, example: dict, base: dict) -> _Slot:
    if self.decoder is None:
      raise ValueError(
        f"example {example['id']!r} of {example['task']} is a generation example; "
        "it needs an encoder-decoder (a decoder layout)"
      )
    question = example["question"]
    source = self._passage_pair(
      self.tokenizer.encode(example["context"]),
      self.tokenizer.encode(question) if question else None,
      example,
      "question",
    )
    target_ids, _ = self.tokenizer.build_pair(
      self.tokenizer.encode(example["target_text"])[: self.max_length - 2]
    )
    meta = {
      "id": example["id"],
      "task": example["task"],
      "lang": example["lang"],
      "kind": "generation",
      "labelled": True,
      "target_text": example["target_text"],
    }
    # 1/log(n) over the vocabulary: the decoder's output space at every target position.
    return _Slot(
      [source], num_classes=self.tokenizer.vocab_size, target_ids=target_ids, meta=meta, **base
    )

  def _passage_pair(self, context_ids, second_ids, example, what, second_first=False):
    """Special tokens around context + second piece (in either order), cutting only
    the context."""
    if second_ids is None:
      return self.tokenizer.build_pair(context_ids[: self.max_length - 2])
    room = self.max_length - self.specials - len(second_ids)
    if room < 0:
      raise OverlongError(
        f"example {example['id']!r} of {example['task']}: the {what} alone "
        f"({len(second_ids)} tokens) exceeds the largest length {self.max_length}"
      )
    if second_first:
      return self.tokenizer.build_pair(second_ids, context_ids[:room])
    return self.tokenizer.build_pair(context_ids[:room], second_ids)

  def _span_slots(self, example: dict) -> list[_Slot]:
    tok = self.tokenizer
    question_ids = tok.encode(example["question"])
    context_ids, offsets = self._encode_context(example["context"])
    room = self.max_length - self.specials - len(question_ids)
    if room < 1:
      raise OverlongError(
        f"example {example['id']!r} of {example['task']}: the question alone "
        f"({len(question_ids)} tokens) leaves no room for the context"
      )
    # Consecutive windows start `window_stride` tokens apart, or closer when a window
    # holds fewer tokens than that, so every context token lands in some window.
    step = min(self.window_stride, room)
    starts = [0]
    while starts[-1] + room < len(context_ids):
      starts.append(starts[-1] + step)
    first_context = len(question_ids) + self.specials - 1  # [CLS] q [SEP] (+</s>) before context
    answers = example["answers"]
    answer = answers[0] if answers else None
    slots = []
    for window, begin in enumerate(starts):
      end = min(begin + room, len(context_ids))
      ids, types = tok.build_pair(question_ids, context_ids[begin:end])
      token_offsets = np.full((len(ids), 2), -1, np.int32)  # [sequence, 2] chars
      token_offsets[first_context : first_context + end - begin] = offsets[begin:end]
      span = (0, 0)
      if answer is not None:
        span = _answer_tokens(offsets, begin, end, answer)
        span = (span[0] + first_context, span[1] + first_context) if span else (0, 0)
      slots.append(
        _Slot(
          [(ids, types)],
          task_id=self.task_index[example["task"]],
          head_id=self.head_index[example["task"]],
          num_classes=self.num_classes.get(example["task"], len(ids)),
          span=span,
          packable=False,
          meta={
            "id": example["id"],
            "task": example["task"],
            "lang": example["lang"],
            "kind": "span",
            "window": window,
            "num_windows": len(starts),
            "token_offsets": token_offsets,
            "context": example["context"],
            "answers": [a["text"] for a in answers],
            "labelled": is_labelled(example),
          },
        )
      )
    return slots

  # --- slots -> batches --------------------------------------------------------------
  def bucket(self, length: int) -> int:
    for bucket in self.lengths:
      if length <= bucket:
        return bucket
    raise AssertionError(f"sequence of {length} tokens exceeds the largest bucket")

  def add(self, example: dict) -> Iterator[tuple[dict[str, np.ndarray], list[dict]]]:
    """Add one example; yield every batch it completes."""
    try:
      slots = self.slots(example)
    except OverlongError:
      if not self.skip_overlong:
        raise
      self.overlong.append(example["id"])
      return
    for slot in slots:
      length = self.bucket(slot.length)
      if self.pack and slot.packable and self.pack_length and slot.length <= self.pack_length:
        length = max(length, self.pack_length)  # long rows pack short sequences tighter
      batch = self._open.get(length)
      if batch is None or not batch.place(slot, self.pack):
        if batch is not None:
          yield batch.arrays, batch.meta
        batch = self._open[length] = _OpenBatch(
          self.rows[length],
          length,
          self.examples_per_batch,
          self.max_choices,
          self.tokenizer.pad_id,
          self.decoder,
        )
        if not batch.place(slot, self.pack):
          raise AssertionError("a slot must fit an empty batch")

  def flush(self) -> Iterator[tuple[dict[str, np.ndarray], list[dict]]]:
    """Yield the partly filled batches (shortest bucket first) and reset."""
    if self.overlong:
      logging.warning(
        "skipped %d example(s) whose question or option alone exceeds %d tokens: %s",
        len(self.overlong),
        self.max_length,
        ", ".join(self.overlong[:20]),
      )
    for length in sorted(self._open):
      batch = self._open[length]
      if not batch.empty:
        yield batch.arrays, batch.meta
    self._open = {}


def _answer_tokens(offsets, begin: int, end: int, answer: dict) -> tuple[int, int] | None:
  """Context-token indices (relative to ``begin``) of an answer lying wholly inside tokens
  ``[begin, end)``; None when the window does not hold all of it."""
  char_start = answer["start"]
  char_end = char_start + len(answer["text"])
  real = [i for i in range(begin, end) if offsets[i][0] < offsets[i][1]]
  if not real or offsets[real[0]][0] > char_start or offsets[real[-1]][1] < char_end:
    return None
  first = next(i for i in real if offsets[i][1] > char_start)
  last = max(i for i in real if offsets[i][0] < char_end)
  return first - begin, last - begin


def make_batches(
  examples: Iterable[dict],
  tokenizer: CheckpointTokenizer,
  *,
  task_index: Mapping[str, int],
  head_index: Mapping[str, int],
  num_classes: Mapping[str, int] | None = None,
  examples_per_batch: int,
  rows_per_batch: int | Mapping[int, int],
  lengths: Sequence[int] = (128, 256, 512),
  max_choices: int = 4,
  pack: bool = True,
  window_stride: int = 128,
  allow_unlabelled: bool = False,
  pack_length: int | None = None,
  skip_overlong: bool = False,
  options_first: bool = False,
  decoder: DecoderLayout | None = None,
) -> Iterator[tuple[dict[str, np.ndarray], list[dict]]]:
  """Yield ``(batch, meta)``: batch arrays as in docs/ARCHITECTURE.md, one meta dict per
  real example slot (slot order; padding slots have none).

  ``task_index`` / ``head_index`` map task names to ids; ``num_classes`` gives the number
  of classes of classification tasks (choices default to the number of options, spans to
  the sequence length). ``rows_per_batch`` may differ per length bucket (a dict keyed by
  length) to keep tokens per batch constant. ``pack_length`` (one of ``lengths``) sends
  every packable sequence up to that length into rows of that length, where packing wastes
  less than in short rows. An example whose question or option alone exceeds the largest
  length is an error, or with ``skip_overlong`` skipped, counted and logged at the end.
  ``options_first`` selects the option-first multiple-choice layout (module docstring);
  ``decoder`` adds an encoder-decoder's decoder arrays (unpacked rows only).
  """
  builder = BatchBuilder(
    tokenizer,
    task_index=task_index,
    head_index=head_index,
    num_classes=num_classes,
    examples_per_batch=examples_per_batch,
    rows_per_batch=rows_per_batch,
    lengths=lengths,
    max_choices=max_choices,
    pack=pack,
    window_stride=window_stride,
    allow_unlabelled=allow_unlabelled,
    pack_length=pack_length,
    skip_overlong=skip_overlong,
    options_first=options_first,
    decoder=decoder,
  )
  for example in examples:
    yield from builder.add(example)
  yield from builder.flush()
