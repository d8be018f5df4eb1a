"""Periodic evaluation during training: accuracy and loss on held-out splits.

Entries of ``config.evals`` with ``type="accuracy"`` name what to measure, so adding an
evaluation is a config change: ``config.evals.synthetic_val = dict(type="accuracy",
tasks=("synthetic.en",), split="validation", num_examples=256)``. Each entry reports
``eval/NAME/TASK/{accuracy,loss}``.
"""
from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from mrc_jax.models.multitask import HeadSpec
from mrc_jax.train import input_pipeline, partitioning
from mrc_jax.train.step import example_losses, fresh_rng_state


def make_eval_sums(graphdef, rest, head_specs: Sequence[HeadSpec]):
  """``eval_sums(params, batch) -> {correct, loss, count}`` summed over real examples."""
  from flax import nnx
  head_specs = tuple(head_specs)

  def eval_sums(params, batch):
    model = nnx.merge(graphdef, params, fresh_rng_state(rest, jax.random.key(0)))
    loss, correct = example_losses(model(batch, deterministic=True), batch, head_specs)
    mask = batch["example_mask"]
    return dict(correct=jnp.sum(correct * mask), loss=jnp.sum(loss * mask),
                count=jnp.sum(mask))

  return eval_sums


class PeriodicEvaluator:
  """Runs every ``config.evals`` entry on the current parameters."""

  def __init__(self, config, graphdef, rest, head_specs, tasks, head_of_task,
               tokenizer_dir, mesh, rules):
    # Entries of other types (robustness reports) belong to launch/eval.py.
    self.entries = {name: entry for name, entry in config.get("evals", {}).items()
                    if entry.get("type") == "accuracy"}
    self.mesh, self.rules = mesh, rules
    self.seed = int(config.seed)
    self.data_dir = config.data.data_dir or None
    self.task_index = {t: i for i, t in enumerate(tasks)}
    self.local_examples = config.batch_size // config.optimizer.accum_steps // jax.process_count()
    self.convert = input_pipeline.config_converter(
        config, tokenizer_dir, tasks, head_of_task, head_specs, self.local_examples)
    self._sums = jax.jit(make_eval_sums(graphdef, rest, head_specs))

  def _batches(self, task: str, split: str, limit: int):
    source = input_pipeline.ExampleSource(task, split, self.seed, self.data_dir, ordered=True)
    total = min(limit, source.num_examples) if limit else source.num_examples
    per_batch = self.local_examples * jax.process_count()
    for start in range(0, total, per_batch):
      mine = range(start + jax.process_index() * self.local_examples,
                   min(start + (jax.process_index() + 1) * self.local_examples, total))
      examples = [source[i] for i in mine]
      batch, _ = self.convert(examples)
      yield {k: jax.make_array_from_process_local_data(
                 partitioning.batch_sharding(self.mesh, self.rules, v.ndim), v)
             for k, v in batch.items()}

  def __call__(self, params) -> dict[str, float]:
    scalars = {}
    for name, entry in self.entries.items():
      for task in entry.tasks:
        if task not in self.task_index:
          raise ValueError(f"config.evals.{name}: task {task!r} has no head in this run "
                           f"(train tasks: {sorted(self.task_index)})")
        totals = None
        for batch in self._batches(task, entry.get("split", "validation"),
                                   int(entry.get("num_examples", 0))):
          sums = self._sums(params, batch)
          totals = sums if totals is None else jax.tree.map(jnp.add, totals, sums)
        host = jax.device_get(totals)
        count = max(float(host["count"]), 1.0)
        scalars[f"eval/{name}/{task}/accuracy"] = float(host["correct"]) / count
        scalars[f"eval/{name}/{task}/loss"] = float(host["loss"]) / count
    return scalars
