"""Multi-task training: ``train_and_evaluate(config, workdir)`` and its parts."""

from mrc_jax.train.trainer import NonFiniteError, initialize_distributed, train_and_evaluate

__all__ = ["NonFiniteError", "initialize_distributed", "train_and_evaluate"]
