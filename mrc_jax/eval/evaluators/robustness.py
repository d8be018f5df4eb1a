"""``type="robustness"``: each task clean and under each attack (:mod:`mrc_jax.eval.inputs`).

launch/eval.py turns every robustness entry's cells into the robustness report
(:mod:`mrc_jax.eval.run`). Its attacked cells are expensive, so in training an entry runs
only when it sets ``every_steps``; it then logs each cell's mean scores as
``eval/NAME/TASK/ATTACK/METRIC`` (accuracy; exact_match and f1 for spans), no report files.
"""

from __future__ import annotations

import numpy as np

from mrc_jax.eval import evaluator as evaluator_lib
from mrc_jax.eval import inputs
from mrc_jax.eval.evaluators import registry
from mrc_jax.eval.results import CellResult

TYPE = "robustness"


def max_answer_length(config) -> int:
  return int(config.get("max_answer_length", evaluator_lib.DEFAULT_MAX_ANSWER_LENGTH))


def null_score_threshold(config) -> float:
  """SQuAD v2.0's no-answer threshold (``config.null_score_threshold``)."""
  return float(config.get("null_score_threshold", evaluator_lib.DEFAULT_NULL_SCORE_THRESHOLD))


@registry.register(
  TYPE,
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
  periodic=False,
  description="clean and attacked cells, the robustness report of launch/eval.py "
  "(in training only with every_steps)",
)
class RobustnessEvaluator:
  """The clean and attacked cells of one entry on the given parameters."""

  def __init__(self, name: str, entry, context: registry.EvalContext):
    self.name, self.entry, self.context = name, entry, context

  @property
  def loop(self) -> evaluator_lib.Evaluator | None:
    """The eval loop every robustness entry of the run shares, so equal shapes compile once."""
    return self.context.shared.get("robustness_loop")

  def cells(self, params) -> list[CellResult]:
    context = self.context
    model = context.model_of(params)
    if self.loop is None:
      context.shared["robustness_loop"] = evaluator_lib.Evaluator(
        model,
        max_answer_length=max_answer_length(context.config),
        null_score_threshold=null_score_threshold(context.config),
        mesh=context.mesh,
        rules=context.rules,
      )
    else:
      self.loop.load(model)
    return self.loop.evaluate(
      inputs.entry_cells(context.config, self.name, self.entry, context.spec, context.data_dir)
    )

  def __call__(self, params) -> dict[str, float]:
    return {
      f"eval/{self.name}/{cell.task}.{cell.lang}/{cell.attack}/{metric}": float(np.mean(values))
      for cell in self.cells(params)
      for metric, values in cell.scores.items()
    }
