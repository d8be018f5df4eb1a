"""The evaluator registry: ``config.evals.NAME = dict(type=TYPE, ...)`` names one by ``type``.

big_vision's ``config.evals``: each entry is built into its type's evaluator, and the same
evaluators run during training (every ``every_steps`` steps) and from launch/eval.py (every
entry, once, on the restored checkpoint). Every entry is checked when the run is built,
before any checkpoint is read or step taken: a missing or unknown type, a missing field or
one its type does not read is an error naming the entry, so no entry is silently skipped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

# Every entry may set it: run every this many training steps (and at the last); 0 = never
# during training. Its default is the type's (`periodic`).
EVERY_STEPS = "every_steps"


@dataclasses.dataclass(frozen=True)
class EvalContext:
  """What evaluators read of the model under evaluation, given by their caller.

  ``model_of(params)`` is the one way an evaluator builds the model from parameters: the
  trainer and a restored workdir rebuild the model's non-parameter state differently.
  ``spec`` names the heads, the tasks' heads, the tokenizer and the multiple-choice layout;
  batches are placed on ``mesh`` by ``rules`` (the config's, over every device, in training
  and launch/eval.py alike). ``shared``
  holds what the evaluators of one run share (compiled steps).
  """

  config: Any
  spec: Any  # mrc_jax.train.run_spec.RunSpec
  model_of: Callable[[Any], Any]
  mesh: Any
  rules: Sequence = ()
  data_dir: str | None = None
  shared: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class EvaluatorType:
  """A registered evaluator: ``make(name, entry, context)`` builds it; the built evaluator's
  ``__call__(params)`` returns its scalars ``{"eval/NAME/...": value}``.

  ``periodic``: its entries run every ``config.eval_every_steps`` during training unless
  they set ``every_steps``; otherwise only when they set it (expensive evaluations).
  """

  name: str
  make: Callable
  required: tuple[str, ...]
  optional: tuple[str, ...]
  periodic: bool
  description: str


@dataclasses.dataclass(frozen=True)
class Entry:
  """One checked ``config.evals`` entry, its training schedule resolved."""

  name: str
  type: str
  fields: Mapping
  every_steps: int


_TYPES: dict[str, EvaluatorType] = {}


def register(
  name: str,
  *,
  required: Sequence[str],
  optional: Sequence[str] = (),
  periodic: bool,
  description: str,
):
  """Decorator registering ``make(name, entry, context) -> evaluator`` as type ``name``."""

  def wrap(make):
    if name in _TYPES:
      raise ValueError(f"evaluator type {name!r} is registered twice")
    _TYPES[name] = EvaluatorType(
      name, make, tuple(required), (*optional, EVERY_STEPS), periodic, description
    )
    return make

  return wrap


def entries(config) -> dict[str, Entry]:
  """Every ``config.evals`` entry, checked against its type's fields."""
  checked = {}
  for name, fields in config.get("evals", {}).items():
    kind = fields.get("type")
    if kind not in _TYPES:
      problem = "has no `type`" if kind is None else f"has unknown type {kind!r}"
      known = "; ".join(f"{t!r}: {spec.description}" for t, spec in _TYPES.items())
      raise ValueError(f"config.evals.{name} {problem}; known types: {known}")
    spec = _TYPES[kind]
    missing = [field for field in spec.required if field not in fields]
    unknown = sorted(set(fields.keys()) - {"type", *spec.required, *spec.optional})
    if missing or unknown:
      raise ValueError(
        f"config.evals.{name} (type {kind!r}): missing fields {missing}, "
        f"unknown fields {unknown}; a {kind!r} entry has "
        f"{list(spec.required)} and optionally {list(spec.optional)}"
      )
    default = int(config.get("eval_every_steps", 0)) if spec.periodic else 0
    checked[name] = Entry(name, kind, fields, int(fields.get(EVERY_STEPS, default)))
  return checked


def build(entries: Mapping[str, Entry], context: EvalContext, training: bool = False) -> dict:
  """``{name: (entry, evaluator)}``; in training only the entries that run there."""
  return {
    name: (entry, _TYPES[entry.type].make(name, entry.fields, context))
    for name, entry in entries.items()
    if entry.every_steps > 0 or not training
  }


def due(built: Mapping, params, step: int, last: bool) -> dict[str, float]:
  """Scalars of every built entry due at training ``step`` (its every_steps, and the last)."""
  scalars = {}
  for entry, evaluator in built.values():
    if entry.every_steps > 0 and (step % entry.every_steps == 0 or last):
      scalars.update(evaluator(params))
  return scalars
