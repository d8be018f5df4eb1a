"""``type="accuracy"``: accuracy and loss of each task's examples under the training loss.

    config.evals.synthetic_val = dict(type="accuracy", tasks=("synthetic.en",),
                                      split="validation", num_examples=256)

reports ``eval/NAME/TASK/{accuracy,loss}``; in training every ``config.eval_every_steps``
unless the entry sets ``every_steps``. Batches take the training layout of ``config.data``
(one length bucket, ``config.batch_size / accum_steps`` examples), sharded over the mesh.
"""

from __future__ import annotations

import math
from typing import Sequence

import jax
import jax.numpy as jnp

from mrc_jax.data.schema import example_kind
from mrc_jax.eval.evaluators import registry
from mrc_jax.models import head_kinds
from mrc_jax.models.multitask import HeadSpec
from mrc_jax.train import input_pipeline
from mrc_jax.train.step import example_losses


def make_eval_sums(model_of, head_specs: Sequence[HeadSpec]):
  """``eval_sums(params, batch) -> {correct, loss, count}`` summed over real examples."""
  head_specs = tuple(head_specs)

  def eval_sums(params, batch):
    loss, correct = example_losses(model_of(params)(batch, deterministic=True), batch, head_specs)
    mask = batch["example_mask"]
    return dict(correct=jnp.sum(correct * mask), loss=jnp.sum(loss * mask), count=jnp.sum(mask))

  return eval_sums


@registry.register(
  "accuracy",
  required=("tasks",),
  optional=("split", "num_examples"),
  periodic=True,
  description="accuracy and loss per task, every config.eval_every_steps in training",
)
class AccuracyEvaluator:
  """Accuracy and mean loss of every task of one entry on the given parameters."""

  def __init__(self, name: str, entry, context: registry.EvalContext):
    config, spec = context.config, context.spec
    self.name, self.context = name, context
    self.tasks = tuple(entry.tasks)
    self.split = entry.get("split", "validation")
    self.limit = int(entry.get("num_examples", 0))
    self.seed = int(config.get("seed", 0))
    accum = int(config.get("optimizer", {}).get("accum_steps", 1))
    self.local_examples = int(config.batch_size) // accum // jax.process_count()
    self._sources = {}  # task -> (source, examples to read, max_choices)
    # A task evaluated but not trained (RACE dev beside the AdvRACE train mix) is scored by
    # the one head of its example kind.
    tasks, head_of_task = list(spec.tasks), list(spec.head_of_task)
    for task in self.tasks:
      if task not in tasks:
        head_of_task.append(self._head_of_kind(task, spec.heads, tasks))
        tasks.append(task)
    self._converter_args = (spec.tokenizer_dir, tasks, head_of_task, spec.heads)
    self._converters = {}  # max_choices -> convert
    self._sums = jax.jit(make_eval_sums(context.model_of, spec.heads))

  def _head_of_kind(self, task, head_specs, trained) -> int:
    source, _, _ = self._source(task)
    kind = head_kinds.for_example_kind(example_kind(source[0])).name
    candidates = [i for i, head in enumerate(head_specs) if head.kind == kind]
    if len(candidates) != 1:
      raise ValueError(
        f"config.evals.{self.name}: task {task!r} was not trained (train tasks: "
        f"{sorted(trained)}) and the model has {len(candidates)} heads of kind "
        f"{kind!r}, so none serves it"
      )
    return candidates[0]

  def _source(self, task: str):
    """The task's examples (read once) and the choice slots they need.

    Evaluation tasks may have more options than the training layout (EXAMS: up to 5);
    the multiple-choice head scores each choice on its own, so the batches take
    ``max(data.max_choices, most options)`` slots.
    """
    if task not in self._sources:
      source = input_pipeline.ExampleSource(
        task, self.split, self.seed, self.context.data_dir, ordered=True
      )
      total = min(self.limit, source.num_examples) if self.limit else source.num_examples
      options = max((len(source[i].get("options", ())) for i in range(total)), default=0)
      trained = int(self.context.config.data.max_choices)
      self._sources[task] = (source, total, max(trained, options))
    return self._sources[task]

  def _converter(self, max_choices: int):
    if max_choices not in self._converters:
      data = self.context.config.data
      layout = input_pipeline.host_layout(self.context.config)  # this host's share
      # Room for the extra choices in the same proportion as the training layout's.
      rows = layout["rows_per_batch"]
      self._converters[max_choices] = input_pipeline.make_converter(
        *self._converter_args,
        num_examples=self.local_examples,
        max_length=int(data.max_length),
        max_choices=max_choices,
        rows_per_batch=math.ceil(rows * max_choices / int(data.max_choices)),
        slots_per_batch=layout["slots_per_batch"],
        options_first=self.context.spec.options_first,
        skip_overlong=bool(data.get("skip_overlong", False)),
        decoder=input_pipeline.decoder_layout(self.context.spec.encoder),
      )
    return self._converters[max_choices]

  def _batches(self, task: str):
    source, total, max_choices = self._source(task)
    convert = self._converter(max_choices)
    mesh, rules = self.context.mesh, self.context.rules
    per_batch = self.local_examples * jax.process_count()
    for start in range(0, total, per_batch):
      mine = range(
        start + jax.process_index() * self.local_examples,
        min(start + (jax.process_index() + 1) * self.local_examples, total),
      )
      batch, _ = convert([source[i] for i in mine])
      yield input_pipeline.global_batch(batch, mesh, rules)

  def __call__(self, params) -> dict[str, float]:
    scalars = {}
    for task in self.tasks:
      totals = None
      for batch in self._batches(task):
        sums = self._sums(params, batch)
        totals = sums if totals is None else jax.tree.map(jnp.add, totals, sums)
      host = jax.device_get(totals)
      count = max(float(host["count"]), 1.0)
      scalars[f"eval/{self.name}/{task}/accuracy"] = float(host["correct"]) / count
      scalars[f"eval/{self.name}/{task}/loss"] = float(host["loss"]) / count
    return scalars
