"""How a mixture's tasks are drawn: natural proportions, temperature sampling with a
per-task cap, or epoch mode (the mixture's ``MixingConfig``, set when it is registered).

* ``natural``: rate = number of training examples (Muppet: no up/down-sampling).
* ``temperature``: rate = min(n * scale, maximum) ** (1 / temperature), exactly
  ``seqio.mixing_rate_num_examples``.
* ``epoch``: natural rates, but the mixture keeps drawing until *every* task is exhausted
  (seqio's default sampler stops when the first task runs out), so each example of each
  task is seen once per epoch. The trainer draws an epoch as a seeded permutation of every
  example slot of every task (``input_pipeline.MixtureSampler``).
"""

from __future__ import annotations

import dataclasses
import functools

import tensorflow as tf

MODES = ("natural", "temperature", "epoch")


@dataclasses.dataclass(frozen=True)
class MixingConfig:
  mode: str = "natural"
  temperature: float = 1.0
  maximum: int | None = None
  scale: float = 1.0

  def __post_init__(self):
    if self.mode not in MODES:
      raise ValueError(f"mixing mode {self.mode!r} is not one of {MODES}")
    if self.temperature <= 0:
      raise ValueError(f"temperature must be > 0, got {self.temperature}")


def mixing_rate(task, *, size: float | None, mixing: MixingConfig) -> float:
  """A seqio mixture rate: ``size`` (else the task's number of train examples) under
  ``mixing``. Temperature mode is ``seqio.mixing_rate_num_examples``' formula."""
  n = size if size is not None else task.num_input_examples("train")
  if n is None:
    raise ValueError(
      f"task {task.name!r} has no number of train examples (an endless built-in task): "
      "give its mixture entry a size"
    )
  if mixing.mode != "temperature":
    return float(n)
  n = n * mixing.scale
  if mixing.maximum is not None:
    n = min(n, mixing.maximum)
  return float(n) ** (1.0 / mixing.temperature)


def sample_fn(config: MixingConfig):
  """The ``sample_fn`` a seqio.Mixture uses under ``config``."""
  return functools.partial(
    tf.data.Dataset.sample_from_datasets, stop_on_empty_dataset=config.mode != "epoch"
  )
