"""The multi-task model of a training workdir, with the weights of one of its checkpoints.

The workdir's run specification (:mod:`mrc_jax.train.run_spec`) says what the model is;
only the parameters are restored, so evaluation needs neither the optimizer nor its state.
"""

from __future__ import annotations

import os

from flax import nnx

from mrc_jax.models import families
from mrc_jax.train import run_spec


def load_model(workdir: str, step: int | None = None) -> tuple[nnx.Module, run_spec.RunSpec, int]:
  """(model with the checkpoint's weights, the workdir's run spec, checkpoint step).

  `step=None` takes the latest checkpoint.
  """
  workdir = os.path.abspath(workdir)
  spec = run_spec.read(workdir)
  params, step = run_spec.load_params(workdir, step)
  model = families.build(spec.encoder, spec.heads, rngs=nnx.Rngs(0))
  state = nnx.state(model, nnx.Param)
  state.replace_by_pure_dict(params)
  nnx.update(model, state)
  return model, spec, step


def load_evaluable(workdir: str, step: int | None = None):
  """(model_of, params, run spec, checkpoint step): ``model_of(params)`` is the workdir's
  model with ``params``, as evaluators build it (:class:`mrc_jax.eval.evaluators.EvalContext`)."""
  model, spec, step = load_model(workdir, step)
  graphdef, params = nnx.split(model, nnx.Param)  # the model holds parameters only
  return (lambda p: nnx.merge(graphdef, p)), params, spec, step
