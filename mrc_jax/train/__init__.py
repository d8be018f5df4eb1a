"""Multi-task training: ``train_and_evaluate(config, workdir)`` and its parts."""

from mrc_jax.train.trainer import (
  PREEMPTED_EXIT_CODE,
  NonFiniteError,
  Preempted,
  initialize_distributed,
  train_and_evaluate,
)

__all__ = [
  "PREEMPTED_EXIT_CODE",
  "NonFiniteError",
  "Preempted",
  "initialize_distributed",
  "train_and_evaluate",
]
