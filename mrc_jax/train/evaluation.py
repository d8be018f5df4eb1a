"""Evaluations named by ``config.evals``: the entry types, and periodic evaluation in training.

Every entry names its ``type`` (big_vision's ``config.evals``), one of :data:`EVAL_TYPES`:
``"accuracy"`` entries run here, periodically during training, and report
``eval/NAME/TASK/{accuracy,loss}``; ``"robustness"`` entries are the clean and attacked
cells of launch/eval.py (:mod:`mrc_jax.eval.inputs`). Adding an evaluation is a config
change: ``config.evals.synthetic_val = dict(type="accuracy", tasks=("synthetic.en",),
split="validation", num_examples=256)``. An entry of missing or unknown type, or with a
field its type does not read, is an error when the run is built, so no entry is silently
skipped.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Sequence

import jax
import jax.numpy as jnp

from mrc_jax.data.schema import example_kind
from mrc_jax.models import head_kinds
from mrc_jax.models.multitask import HeadSpec
from mrc_jax.train import input_pipeline, partitioning
from mrc_jax.train.step import example_losses


@dataclasses.dataclass(frozen=True)
class EvalType:
  """Where entries of one type run and the fields they may set."""

  runs_in: str
  required: tuple[str, ...]
  optional: tuple[str, ...]


EVAL_TYPES = {
  "accuracy": EvalType(
    "periodic evaluation during training (launch/train.py)",
    required=("tasks",),
    optional=("split", "num_examples"),
  ),
  "robustness": EvalType(
    "the robustness report (launch/eval.py)",
    required=("tasks", "attacks"),
    optional=(
      "split",
      "num_examples",
      "batch_size",
      "perturb_seed",
      "window_stride",
      "attack_params",
      "max_length",
    ),
  ),
}


def eval_entries(config, eval_type: str) -> dict[str, Mapping]:
  """The ``config.evals`` entries of ``eval_type``, once every entry's type and fields check."""
  if eval_type not in EVAL_TYPES:
    raise ValueError(f"unknown eval type {eval_type!r}; known: {sorted(EVAL_TYPES)}")
  entries = {}
  for name, entry in config.get("evals", {}).items():
    kind = entry.get("type")
    if kind not in EVAL_TYPES:
      problem = "has no `type`" if kind is None else f"has unknown type {kind!r}"
      known = "; ".join(f"{t!r}: {spec.runs_in}" for t, spec in EVAL_TYPES.items())
      raise ValueError(f"config.evals.{name} {problem}; known types: {known}")
    spec = EVAL_TYPES[kind]
    missing = [field for field in spec.required if field not in entry]
    unknown = sorted(set(entry.keys()) - {"type", *spec.required, *spec.optional})
    if missing or unknown:
      raise ValueError(
        f"config.evals.{name} (type {kind!r}): missing fields {missing}, "
        f"unknown fields {unknown}; a {kind!r} entry has "
        f"{list(spec.required)} and optionally {list(spec.optional)}"
      )
    if kind == eval_type:
      entries[name] = entry
  return entries


def make_eval_sums(graphdef, head_specs: Sequence[HeadSpec]):
  """``eval_sums(params, batch) -> {correct, loss, count}`` summed over real examples."""
  from flax import nnx

  head_specs = tuple(head_specs)

  def eval_sums(params, batch):
    model = nnx.merge(graphdef, params)
    loss, correct = example_losses(model(batch, deterministic=True), batch, head_specs)
    mask = batch["example_mask"]
    return dict(correct=jnp.sum(correct * mask), loss=jnp.sum(loss * mask), count=jnp.sum(mask))

  return eval_sums


class PeriodicEvaluator:
  """Runs every ``type="accuracy"`` entry of ``config.evals`` on the current parameters."""

  def __init__(self, config, graphdef, head_specs, tasks, head_of_task, tokenizer_dir, mesh, rules):
    self.entries = eval_entries(config, "accuracy")
    self.config = config
    self.mesh, self.rules = mesh, rules
    self.seed = int(config.seed)
    self.data_dir = config.data.data_dir or None
    self.local_examples = config.batch_size // config.optimizer.accum_steps // jax.process_count()
    self._sources = {}  # (task, split, limit) -> (source, examples to read, max_choices)
    # A task evaluated but not trained (RACE dev beside the AdvRACE train mix) is scored by
    # the one head of its example kind.
    tasks, head_of_task = list(tasks), list(head_of_task)
    for name, entry in self.entries.items():
      for task in entry.tasks:
        if task not in tasks:
          tasks.append(task)
          head_of_task.append(self._head_of_kind(name, entry, task, head_specs, tasks[:-1]))
    self._converter_args = (tokenizer_dir, tasks, head_of_task, head_specs, self.local_examples)
    self._converters = {}  # max_choices -> convert
    self._sources = {}  # (task, split, limit) -> (source, examples to read, max_choices)
    self._sums = jax.jit(make_eval_sums(graphdef, head_specs))

  def _head_of_kind(self, name, entry, task, head_specs, trained) -> int:
    source, _, _ = self._source(
      task, entry.get("split", "validation"), int(entry.get("num_examples", 0))
    )
    kind = head_kinds.for_example_kind(example_kind(source[0])).name
    candidates = [i for i, head in enumerate(head_specs) if head.kind == kind]
    if len(candidates) != 1:
      raise ValueError(
        f"config.evals.{name}: task {task!r} was not trained (train tasks: "
        f"{sorted(trained)}) and the model has {len(candidates)} heads of kind "
        f"{kind!r}, so none serves it"
      )
    return candidates[0]

  def _source(self, task: str, split: str, limit: int):
    """The task's examples (read once) and the choice slots they need.

    Evaluation tasks may have more options than the training layout (EXAMS: up to 5);
    the multiple-choice head scores each choice on its own, so the batches take
    ``max(data.max_choices, most options)`` slots.
    """
    key = (task, split, limit)
    if key not in self._sources:
      source = input_pipeline.ExampleSource(task, split, self.seed, self.data_dir, ordered=True)
      total = min(limit, source.num_examples) if limit else source.num_examples
      options = max((len(source[i].get("options", ())) for i in range(total)), default=0)
      self._sources[key] = (source, total, max(int(self.config.data.max_choices), options))
    return self._sources[key]

  def _converter(self, max_choices: int):
    if max_choices not in self._converters:
      config = self.config.copy_and_resolve_references()
      rows = int(config.data.rows_per_batch)
      # Room for the extra choices in the same proportion as the training layout's.
      config.data.rows_per_batch = math.ceil(rows * max_choices / config.data.max_choices)
      config.data.max_choices = max_choices
      self._converters[max_choices] = input_pipeline.config_converter(config, *self._converter_args)
    return self._converters[max_choices]

  def _batches(self, task: str, split: str, limit: int):
    source, total, max_choices = self._source(task, split, limit)
    convert = self._converter(max_choices)
    per_batch = self.local_examples * jax.process_count()
    for start in range(0, total, per_batch):
      mine = range(
        start + jax.process_index() * self.local_examples,
        min(start + (jax.process_index() + 1) * self.local_examples, total),
      )
      examples = [source[i] for i in mine]
      batch, _ = convert(examples)
      yield {
        k: jax.make_array_from_process_local_data(
          partitioning.batch_sharding(self.mesh, self.rules, v.ndim), v
        )
        for k, v in batch.items()
      }

  def __call__(self, params) -> dict[str, float]:
    scalars = {}
    for name, entry in self.entries.items():
      for task in entry.tasks:
        totals = None
        for batch in self._batches(
          task, entry.get("split", "validation"), int(entry.get("num_examples", 0))
        ):
          sums = self._sums(params, batch)
          totals = sums if totals is None else jax.tree.map(jnp.add, totals, sums)
        host = jax.device_get(totals)
        count = max(float(host["count"]), 1.0)
        scalars[f"eval/{name}/{task}/accuracy"] = float(host["correct"]) / count
        scalars[f"eval/{name}/{task}/loss"] = float(host["loss"]) / count
    return scalars
