"""The evaluators of ``config.evals`` entries; importing this package registers every type.

registry     register, check (`entries`), `build`, `due`; `EvalContext`, what callers give
accuracy     type "accuracy": accuracy and loss per task (periodic in training)
robustness   type "robustness": clean and attacked cells (the report of launch/eval.py)
rouge        type "rouge": ROUGE of an encoder-decoder's generated text per generation task
"""

from mrc_jax.eval.evaluators import accuracy, robustness, rouge  # noqa: F401  (registers them)
from mrc_jax.eval.evaluators.registry import EvalContext, build, due, entries, register

__all__ = ["EvalContext", "build", "due", "entries", "register"]
