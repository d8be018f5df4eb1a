"""A fine-tuned span head as distractor_extraction's scorer: AdvRACE's DE takes the spans a
reading-comprehension model ranks highest for the question as the new wrong options.

    scorer = span_model_scorer("runs/pft")  # any workdir of this project with a span head
    perturb(example, "distractor_extraction", "de", 0, span_model="runs/pft")

A span's score is the head's start logit at its first token plus its end logit at its last
(the score the span evaluation ranks answers by), the best over the context's windows;
spans no window covers score -inf.
"""

from __future__ import annotations

import functools
import os
from typing import Sequence

import jax
import numpy as np

from mrc_jax.data import features
from mrc_jax.data.vocab import load_tokenizer
from mrc_jax.eval.restore import load_evaluable
from mrc_jax.train import run_spec

_TASK = "distractor_extraction.span_model"


def span_model_missing(path) -> list[str]:
  """What is missing to score spans with the workdir `path`, as a requirement."""
  if not path:
    return []
  path = os.fspath(path)
  if not os.path.isfile(os.path.join(path, run_spec.CONFIG_FILE)):
    return [
      f"a span model: {path!r} is not a training workdir (no {run_spec.CONFIG_FILE}); pass "
      "span_model=WORKDIR of a run with a span head"
    ]
  return []


class SpanModelScorer:
  """`scorer(example, spans, lang) -> scores` from the span head of a training workdir."""

  def __init__(
    self,
    workdir: str,
    *,
    step: int | None = None,
    head: str | None = None,
    max_length: int = 384,
    window_stride: int = 128,
    windows_per_batch: int = 4,
  ):
    lacking = span_model_missing(workdir)
    if lacking:
      raise FileNotFoundError(lacking[0])
    model_of, self._params, spec, self.step = load_evaluable(workdir, step)
    span_heads = [i for i, h in enumerate(spec.heads) if h.kind == "span"]
    if head is not None:
      span_heads = [i for i in span_heads if spec.heads[i].name == head]
    if not span_heads:
      names = [f"{h.name} ({h.kind})" for h in spec.heads]
      raise ValueError(
        f"{workdir}: no span head{f' named {head!r}' if head else ''}; heads: {names}"
      )
    self.head_index = span_heads[0]
    self.head = spec.heads[self.head_index].name
    self.workdir = os.fspath(workdir)
    self._tokenizer = load_tokenizer(spec.tokenizer_dir)
    self._layout = dict(
      lengths=(min(max_length, spec.encoder.max_position_embeddings),),
      window_stride=window_stride,
      examples_per_batch=windows_per_batch,
      rows_per_batch=windows_per_batch,
    )
    head_name = self.head
    self._predict = jax.jit(
      lambda params, batch: model_of(params)(batch, deterministic=True)[head_name]
    )

  def __call__(self, example: dict, spans: Sequence[tuple[int, int]], lang: str) -> list[float]:
    if not spans:
      return []
    query = {
      "id": str(example.get("id", "")),
      "task": _TASK,
      "lang": lang,
      "context": example["context"],
      "question": example["question"],
      "answers": [],
    }
    starts = np.array([a for a, _ in spans])  # [spans]
    ends = np.array([b for _, b in spans])  # [spans]
    best = np.full(len(spans), -np.inf)
    batches = features.make_batches(
      [query],
      self._tokenizer,
      task_index={_TASK: 0},
      head_index={_TASK: self.head_index},
      pack=False,
      allow_unlabelled=True,
      **self._layout,
    )
    for batch, meta in batches:
      start_logits, end_logits = (
        np.asarray(x, np.float32) for x in self._predict(self._params, batch)
      )
      for slot, slot_meta in enumerate(meta):  # one slot per window of the context
        offsets = np.asarray(slot_meta["token_offsets"])  # [sequence, 2] chars, -1 elsewhere
        first_row = int(batch["pool_pos"][slot, 0])
        context = np.flatnonzero(offsets[:, 0] >= 0)  # sequence positions of context tokens
        token_starts, token_ends = offsets[context, 0], offsets[context, 1]
        # The first token ending after the span's start, the last one starting before its end.
        first = np.searchsorted(token_ends, starts, side="right")  # [spans]
        last = np.searchsorted(token_starts, ends, side="left") - 1  # [spans]
        # Only spans wholly inside this window's context: a cut span is not this span.
        covered = (first <= last) & (starts >= token_starts[0]) & (ends <= token_ends[-1])
        rows_first = first_row + context[np.clip(first, 0, len(context) - 1)]
        rows_last = first_row + context[np.clip(last, 0, len(context) - 1)]
        score = start_logits[slot, rows_first] + end_logits[slot, rows_last]
        best = np.where(covered, np.maximum(best, score), best)
    return best.tolist()


@functools.lru_cache(maxsize=4)
def span_model_scorer(workdir: str) -> SpanModelScorer:
  """One scorer per workdir for the process (loading a model costs seconds)."""
  return SpanModelScorer(workdir)
