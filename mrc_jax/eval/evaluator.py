"""The evaluation loop: pure jitted predict functions over cells of (task, language, attack).

A cell is an iterable of `(batch, meta)` pairs as `mrc_jax.data.features.make_batches`
yields them: `batch` is the "rows + examples" model batch (numpy, docs/ARCHITECTURE.md) and
`meta` one dict per real example slot, in slot order. The loop reads `meta[i]["id"]`, and
for span slots `token_offsets` ([sequence length, 2] character offsets into `context` of
each token of the window's sequence, -1 outside the context), `context` and `answers`.

The device work is one jitted step per head kind,
`step(state, batch, totals) -> (decoded, totals)`: it merges the model from its graph
definition and state, runs `predict(model, batch) -> scores`, decodes scores (argmax over
choices/classes, best valid span of at most `max_answer_length` tokens) and adds the
correct/example counts to running totals, all on the device. Steps are compiled ahead of
time into a cache keyed on the batch's shapes, so the number of compilations is exactly the
number of distinct padded shapes and is reported. The host fetches each batch's small
decoded arrays one batch late (overlapping the next batch's compute) and the totals once
per cell.

Data parallel over a mesh (every device of every process): a batch's rows and example
slots are sharded on the mesh axes of the `'batch'` logical-axis rule, as in training,
after padding both to a multiple of those axes' size with empty rows and slots (whose
example mask is 0). Every process builds every batch (cells are deterministic), places its
own devices' shards and reads the decoded arrays and totals, which the step returns
replicated, so per-example results and their host-side scoring are the same everywhere.

Span cells are scored by their dataset's official script (`metrics`; the headline
`exact_match`/`f1`), with the other normalisation kept as `exact_match_STYLE`/`f1_STYLE`
columns. Cells of datasets with unanswerable questions (SQuAD v2.0) may predict no answer,
as BERT's SQuAD v2.0 recipe does: per example, the null score is the smallest over its
windows of start + end logit at the window's first token ([CLS]); the answer is "" when
null score - best span score (kept per example as the official script's na_prob) exceeds
`null_score_threshold`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from mrc_jax.eval import metrics
from mrc_jax.eval.results import CellResult
from mrc_jax.models import head_kinds
from mrc_jax.train import partitioning

# Batch arrays the multi-task model and the decoding read; the rest of a training batch
# (targets of other heads, loss scaling) is not sent to the device.
DEVICE_KEYS = (
  "input_ids",
  "token_type_ids",
  "segment_ids",
  "positions",
  "example_mask",
  "pool_row",
  "pool_pos",
  "choice_mask",
  "label",
  # An encoder-decoder's (features.DECODER_ARRAYS); an encoder's batches have none.
  "decoder_input_ids",
  "decoder_labels",
)
DEFAULT_MAX_ANSWER_LENGTH = 30
DEFAULT_NULL_SCORE_THRESHOLD = 0.0


def _shape_key(batch: Mapping) -> tuple:
  return tuple((name, value.shape, value.dtype.str) for name, value in sorted(batch.items()))


class CompileCache:
  """A jitted `f(state, batch, totals)` compiled ahead of time once per batch shape.

  `jax.jit` caches too, but it does not say how often it compiled; keying the cache on
  the batch's shapes (the state and totals never change shape) makes the count exact and
  visible (`num_compilations`), and a compiled executable refuses inputs of any other
  shape instead of silently recompiling.
  """

  def __init__(self, function: Callable, out_shardings=None):
    self._jitted = jax.jit(function, out_shardings=out_shardings)
    self._compiled = {}

  def __call__(self, state, batch: Mapping[str, jax.Array], totals):
    key = _shape_key(batch)
    compiled = self._compiled.get(key)
    if compiled is None:
      compiled = self._jitted.lower(state, batch, totals).compile()
      self._compiled[key] = compiled
    return compiled(state, batch, totals)

  @property
  def num_compilations(self) -> int:
    return len(self._compiled)


def best_spans(
  start_logits: jax.Array, end_logits: jax.Array, valid: jax.Array, max_answer_length: int
) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Highest-scoring span with start <= end < start + max_answer_length, both valid.

  Args:
    start_logits, end_logits: [E, L] token scores.
    valid: [E, L] bool, tokens a span may start or end on (the context).
  Returns:
    start [E], end [E] token indices and score [E] (-inf where no token is valid).
  """
  length = start_logits.shape[-1]
  start = jnp.where(valid, start_logits.astype(jnp.float32), -jnp.inf)  # [E, L]
  end = jnp.where(valid, end_logits.astype(jnp.float32), -jnp.inf)  # [E, L]
  position = jnp.arange(length)
  offset = position[None, :] - position[:, None]  # [L, L] end - start
  allowed = (offset >= 0) & (offset < max_answer_length)  # [L, L]
  pair = jnp.where(allowed[None], start[:, :, None] + end[:, None, :], -jnp.inf)  # [E, L, L]
  flat = pair.reshape(pair.shape[0], -1)  # [E, L*L]
  best = jnp.argmax(flat, axis=-1)  # [E]
  return best // length, best % length, jnp.max(flat, axis=-1)


def make_eval_step(
  graphdef, predict: Callable, kind: str, max_answer_length: int = DEFAULT_MAX_ANSWER_LENGTH
) -> Callable:
  """The pure step `(state, batch, totals) -> (decoded, totals)` of one head kind.

  `predict(model, batch)` returns the head's scores: [E, C] (choices/classes) or a
  (start, end) pair of [E, L] for spans. Choice totals are (correct, examples); span
  totals count examples (their scores need the host's text normalisation). Span slots
  also return `null`, the start + end score of their sequence's first token.
  """
  decoding = head_kinds.get(kind).decoding
  if decoding is None:
    evaluated = [k.name for k in head_kinds.KINDS.values() if k.decoding is not None]
    raise ValueError(f"no eval step for head kind {kind!r}; known {evaluated}")

  def step(state, batch, totals):
    model = nnx.merge(graphdef, state)
    scores = predict(model, batch)
    mask = batch["example_mask"]  # [E]
    if decoding == "span":
      start_logits, end_logits = scores
      start, end, score = best_spans(
        start_logits, end_logits, batch["span_valid"], max_answer_length
      )
      first = batch["pool_pos"][:, :1]  # [E, 1] row position of [CLS]
      null = (
        jnp.take_along_axis(start_logits.astype(jnp.float32), first, axis=1)
        + jnp.take_along_axis(end_logits.astype(jnp.float32), first, axis=1)
      )[:, 0]
      decoded = {"start": start, "end": end, "score": score, "null": null}
      return decoded, {"examples": totals["examples"] + mask.sum()}
    if kind == "multiple_choice":
      scores = jnp.where(batch["choice_mask"] > 0, scores.astype(jnp.float32), -jnp.inf)
    predicted = jnp.argmax(scores, axis=-1).astype(jnp.int32)  # [E]
    correct = (predicted == batch["label"]).astype(jnp.float32) * mask  # [E]
    return {"predicted": predicted}, {
      "correct": totals["correct"] + correct.sum(),
      "examples": totals["examples"] + mask.sum(),
    }

  return step


def head_predict(head_name: str) -> Callable:
  """predict(model, batch) for a multi-task model: the scores of one named head."""

  def predict(model, batch):
    return model(batch, deterministic=True)[head_name]

  return predict


@dataclasses.dataclass
class EvalCell:
  """One (task, language, attack) to evaluate, with its batches and head.

  Span scoring (`span_style`, `no_answer`) is the registered task's (`tasks.TaskInfo`);
  unset, SQuAD v1.1's script without unanswerable questions.
  """

  task: str
  lang: str
  attack: str
  kind: str
  head: str
  batches: Iterable[tuple[Mapping[str, np.ndarray], Mapping]]
  span_style: str | None = None
  no_answer: bool | None = None


@dataclasses.dataclass
class LoopStats:
  """Totals over every cell an Evaluator has run."""

  examples: int = 0
  seconds: float = 0.0
  compilations: int = 0


class Evaluator:
  """Runs cells through per-(head, kind) compiled steps of one model, data parallel.

  `predict_factory(head_name)` gives the `predict(model, batch)` of a head; the default
  reads that head's output of a `MultiTaskModel`, which needs only `DEVICE_KEYS` of the
  batch on the device. Batches are sharded over `mesh` by the `'batch'` rule of `rules`
  (default: one device, this process's first); the model's parameters stay where they are
  (replicated, or sharded over the same mesh as in training).
  """

  def __init__(
    self,
    model: nnx.Module,
    max_answer_length: int = DEFAULT_MAX_ANSWER_LENGTH,
    predict_factory: Callable[[str], Callable] = head_predict,
    device_keys: tuple[str, ...] | None = DEVICE_KEYS,
    null_score_threshold: float = DEFAULT_NULL_SCORE_THRESHOLD,
    mesh: jax.sharding.Mesh | None = None,
    rules: partitioning.AxisRules = (),
  ):
    self.graphdef, self.state = nnx.split(model)
    if mesh is None:
      mesh = partitioning.make_mesh((("data", 1),), jax.local_devices()[:1])
    self.mesh, self.rules = mesh, tuple(rules)
    self._replicated = partitioning.replicated(mesh)
    # Rows and slots are padded to a multiple of the devices they are split over.
    self.shards = partitioning.batch_shards(mesh, self.rules)
    self.max_answer_length = max_answer_length
    self.null_score_threshold = null_score_threshold
    self.predict_factory = predict_factory
    self.device_keys = device_keys  # None: send every batch array
    self._steps: dict[tuple[str, str], CompileCache] = {}
    self.stats = LoopStats()

  @property
  def num_compilations(self) -> int:
    return sum(step.num_compilations for step in self._steps.values())

  def load(self, model: nnx.Module) -> None:
    """Evaluates `model` from now on: new weights of the same architecture, so the
    compiled steps are kept (periodic evaluation during training)."""
    _, self.state = nnx.split(model)

  def _step(self, head: str, kind: str) -> CompileCache:
    if (head, kind) not in self._steps:
      self._steps[head, kind] = CompileCache(
        make_eval_step(self.graphdef, self.predict_factory(head), kind, self.max_answer_length),
        # Every process reads every example's decoded prediction.
        out_shardings=self._replicated,
      )
    return self._steps[head, kind]

  def evaluate(self, cells: Iterable[EvalCell]) -> list[CellResult]:
    return [self.evaluate_cell(cell) for cell in cells]

  def evaluate_cell(self, cell: EvalCell) -> CellResult:
    """All batches of one cell.

    Batch i's decoded predictions are fetched (and turned into per-example results on
    the host) while batch i + 1 runs on the device; the totals stay on the device
    until the cell ends and are fetched once.
    """
    begin = time.perf_counter()
    step = self._step(cell.head, cell.kind)
    is_span = head_kinds.get(cell.kind).decoding == "span"
    collector = (
      _SpanCollector(cell, self.null_score_threshold) if is_span else _ChoiceCollector(cell)
    )
    totals = {
      name: self._place(np.zeros((), np.float32), self._replicated) for name in collector.totals
    }
    pending = None
    for batch, meta in cell.batches:
      _check_meta(cell, batch, meta)
      device_batch = (
        dict(batch)
        if self.device_keys is None
        else {key: batch[key] for key in self.device_keys if key in batch}
      )
      if is_span:
        device_batch["span_valid"] = span_valid_mask(batch, meta)
      device_batch = self._shard(device_batch)
      decoded, totals = step(self.state, device_batch, totals)
      if pending is not None:
        collector.add(jax.device_get(pending[0]), *pending[1:])
      pending = (decoded, batch, meta)
    if pending is not None:
      collector.add(jax.device_get(pending[0]), *pending[1:])
    result = collector.finish(jax.device_get(totals))
    self.stats.examples += len(result.ids)
    self.stats.seconds += time.perf_counter() - begin
    self.stats.compilations = self.num_compilations
    return result

  def _shard(self, batch: Mapping[str, np.ndarray]) -> dict[str, jax.Array]:
    """The global batch, axis 0 (rows or example slots) sharded, padded to divide evenly."""
    placed = {}
    for key, value in batch.items():
      value = np.asarray(value)
      pad = -value.shape[0] % self.shards
      if pad:  # empty rows / slots: zero segment ids and example mask
        value = np.concatenate([value, np.zeros((pad, *value.shape[1:]), value.dtype)])
      sharding = partitioning.batch_sharding(self.mesh, self.rules, value.ndim)
      placed[key] = self._place(value, sharding)
    return placed

  @staticmethod
  def _place(value: np.ndarray, sharding: jax.sharding.Sharding) -> jax.Array:
    # Each process holds the whole value and gives its own devices' shards.
    return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])


def _check_meta(cell: EvalCell, batch: Mapping, meta) -> None:
  real = int(np.count_nonzero(np.asarray(batch["example_mask"]) > 0))
  if real != len(meta) or np.any(np.asarray(batch["example_mask"])[:real] <= 0):
    raise ValueError(
      f"{cell.task}/{cell.lang}/{cell.attack}: a batch has {real} real "
      f"example slots (example_mask) but {len(meta)} meta entries; real "
      "slots must come first, one meta dict each"
    )


def span_valid_mask(batch: Mapping, meta) -> np.ndarray:
  """[E, L] bool: the row positions of each span slot that hold context tokens."""
  examples, length = batch["pool_row"].shape[0], batch["input_ids"].shape[1]
  valid = np.zeros((examples, length), bool)
  for slot, slot_meta in enumerate(meta):
    offsets = np.asarray(slot_meta["token_offsets"])  # [sequence, 2]
    start = int(batch["pool_pos"][slot, 0])
    valid[slot, start : start + len(offsets)] = offsets[:, 0] >= 0
  return valid


class _ChoiceCollector:
  """Per-example results of a choice/classification cell, batch by batch."""

  totals = ("correct", "examples")

  def __init__(self, cell: EvalCell):
    self.cell = cell
    self.ids, self.predicted, self.gold = [], [], []

  def add(self, decoded: dict, batch: Mapping, meta: Mapping) -> None:
    real = len(meta)  # real slots come first
    self.ids += [str(slot_meta["id"]) for slot_meta in meta]
    self.predicted += decoded["predicted"][:real].tolist()
    self.gold += np.asarray(batch["label"])[:real].tolist()

  def finish(self, totals: dict) -> CellResult:
    cell = self.cell
    correct = np.asarray(self.predicted) == np.asarray(self.gold)  # [n]
    # The device sums and the host's per-example results must agree.
    if (int(round(float(totals["correct"]))), int(round(float(totals["examples"])))) != (
      int(correct.sum()),
      len(self.ids),
    ):
      raise AssertionError(
        f"{cell.task}/{cell.lang}/{cell.attack}: device counted {totals['correct']} "
        f"correct of {totals['examples']}, host {int(correct.sum())} of {len(self.ids)}"
      )
    return CellResult(
      task=cell.task,
      lang=cell.lang,
      attack=cell.attack,
      ids=self.ids,
      predicted=self.predicted,
      gold=self.gold,
      scores={"accuracy": correct.astype(np.float64)},
    )


class _SpanCollector:
  """Best window per example id, mapped back to characters through the offsets."""

  totals = ("examples",)  # windows; span scores need the host's text normalisation

  def __init__(self, cell: EvalCell, null_score_threshold: float):
    self.cell = cell
    self.null_score_threshold = null_score_threshold
    self.best: dict[str, tuple[float, str]] = {}
    self.null: dict[str, float] = {}  # smallest null score over the windows
    self.answers: dict[str, list[str]] = {}

  def add(self, decoded: dict, batch: Mapping, meta: Mapping) -> None:
    for slot, slot_meta in enumerate(meta):
      example_id = str(slot_meta["id"])
      self.answers.setdefault(example_id, list(slot_meta["answers"]))
      null = float(decoded["null"][slot])
      self.null[example_id] = min(null, self.null.get(example_id, null))
      score = float(decoded["score"][slot])
      if example_id in self.best and self.best[example_id][0] >= score:
        continue
      if not np.isfinite(score):  # no context token in this window
        self.best.setdefault(example_id, (score, ""))
        continue
      offsets = np.asarray(slot_meta["token_offsets"])  # [sequence, 2]
      start = int(batch["pool_pos"][slot, 0])
      first = offsets[decoded["start"][slot] - start, 0]
      last = offsets[decoded["end"][slot] - start, 1]
      self.best[example_id] = (score, slot_meta["context"][first:last])

  def finish(self, totals: dict) -> CellResult:
    cell = self.cell
    style = cell.span_style or metrics.SQUAD_V1
    no_answer = bool(cell.no_answer)
    ids = list(self.best)
    predicted = [self.best[i][1] for i in ids]
    na_probs = None
    if no_answer:
      na_probs = [self.null[i] - self.best[i][0] for i in ids]
      predicted = [
        ("" if na_prob > self.null_score_threshold else text)
        for na_prob, text in zip(na_probs, predicted)
      ]
    gold = [self.answers[i] for i in ids]
    scores = {}
    for column in (style, *(other for other in metrics.STYLES if other != style)):
      exact, f1 = metrics.span_scores(gold, predicted, cell.lang, column, no_answer)
      suffix = "" if column == style else f"_{column}"
      scores[f"f1{suffix}"] = np.asarray(f1)
      scores[f"exact_match{suffix}"] = np.asarray(exact)
    return CellResult(
      task=cell.task,
      lang=cell.lang,
      attack=cell.attack,
      ids=ids,
      predicted=predicted,
      gold=gold,
      scores=scores,
      na_probs=na_probs,
    )
