"""How tasks are mixed: a config choice between natural proportions, temperature sampling
with a per-task cap, and epoch mode.

* ``natural``: rate = number of training examples (Muppet: no up/down-sampling).
* ``temperature``: rate = min(n * scale, maximum) ** (1 / temperature), exactly
  ``seqio.mixing_rate_num_examples``.
* ``epoch``: natural rates, but the mixture keeps drawing until *every* task is exhausted
  (seqio's default sampler stops when the first task runs out), so each example of each
  task is seen once per epoch.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Mapping

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

  @property
  def suffix(self) -> str:
    """Distinguishes registered mixtures of one blend under different mixing configs."""
    if self.mode != "temperature":
      return self.mode
    return f"temperature_t{self.temperature:g}_max{self.maximum}_scale{self.scale:g}"


def mixing_rates(sizes: Mapping[str, int], config: MixingConfig) -> dict[str, float]:
  """Per-task sampling rate from per-task training-set sizes."""
  if config.mode in ("natural", "epoch"):
    return {task: float(n) for task, n in sizes.items()}
  rates = {}
  for task, n in sizes.items():
    n = n * config.scale
    if config.maximum is not None:
      n = min(n, config.maximum)
    rates[task] = float(n) ** (1.0 / config.temperature)
  return rates


def sample_fn(config: MixingConfig):
  """The ``sample_fn`` a seqio.Mixture uses under ``config``."""
  return functools.partial(
    tf.data.Dataset.sample_from_datasets, stop_on_empty_dataset=config.mode != "epoch"
  )
