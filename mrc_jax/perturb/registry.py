"""The attack registry: every attack is a named, seeded function on a private copy of an example."""

from __future__ import annotations

import dataclasses
import functools
import logging
import random
from typing import Any, Callable

log = logging.getLogger(__name__)

FULL, DEGRADED, UNSUPPORTED = "full", "degraded", "unsupported"


class PerturbationError(ValueError):
  """An attack was misused, or its output broke an invariant (names example and field)."""


@dataclasses.dataclass(frozen=True)
class Support:
  """How well an attack serves one language: full, degraded (and how) or unsupported (why)."""

  status: str
  how: str = ""

  def __str__(self) -> str:
    return f"{self.status} ({self.how})" if self.how else self.status


@dataclasses.dataclass
class Step:
  """One attack applied to one example: its language, seeded generator, parameters and record."""

  attack: str
  lang: str
  rng: random.Random
  params: dict[str, Any]
  edits: list[dict[str, Any]] = dataclasses.field(default_factory=list)
  degraded: list[str] = dataclasses.field(default_factory=list)
  notes: list[str] = dataclasses.field(default_factory=list)
  # What the attack's `prepare` computed for this example (a batched model's output).
  prepared: Any = None

  def edit(self, field: str, start: int, end: int, old: str, new: str, op: str, **extra) -> None:
    """Record one edit; offsets refer to `field` as it was before this attack."""
    self.edits.append(
      {"field": field, "start": start, "end": end, "old": old, "new": new, "op": op, **extra}
    )

  def degrade(self, note: str | None) -> None:
    if note and note not in self.degraded:
      self.degraded.append(note)
      _log_once(self.attack, note)


@functools.lru_cache(maxsize=None)
def _log_once(attack: str, note: str) -> None:
  log.warning("%s degraded: %s", attack, note)


def _lacks_nothing(params: dict[str, Any]) -> list[str]:
  return []


@dataclasses.dataclass(frozen=True)
class Attack:
  """A registered attack.

  apply(example, step) edits its private copy of the example and returns it; `kinds` are
  the example kinds ('span', 'choice', 'classification') it applies to; `needs_pool` marks
  attacks that draw other examples' passages (dataset level); `requires(params)` lists
  what the attack still lacks to run with those parameters (a lexicon, a checkpoint), each
  as "what: how to provide it". `prepare(examples, langs, params) -> [value per example]`,
  if set, runs a model over a batch of examples at once (`perturb_examples` batches
  `params["batch_size"]` of them); `apply` finds its example's value in `step.prepared`.
  """

  name: str
  apply: Callable[[dict, Step], dict]
  advrace: str
  description: str
  params: dict[str, Any]
  support: Callable[[str], Support]
  kinds: tuple[str, ...] = ("span", "choice", "classification")
  needs_pool: bool = False
  requires: Callable[[dict[str, Any]], list[str]] = _lacks_nothing
  prepare: Callable[[list[dict], list[str], dict[str, Any]], list[Any]] | None = None


_REGISTRY: dict[str, Attack] = {}


def register(
  name: str,
  *,
  advrace: str,
  description: str,
  params: dict[str, Any],
  support: Callable[[str], Support],
  kinds=("span", "choice", "classification"),
  needs_pool: bool = False,
  requires: Callable[[dict[str, Any]], list[str]] = _lacks_nothing,
  prepare: Callable[[list[dict], list[str], dict[str, Any]], list[Any]] | None = None,
):
  """Decorator registering `fn(example, step) -> example` as attack `name`."""

  def wrap(fn):
    if name in _REGISTRY:
      raise ValueError(f"attack {name!r} registered twice")
    _REGISTRY[name] = Attack(
      name,
      fn,
      advrace,
      description,
      dict(params),
      support,
      tuple(kinds),
      needs_pool,
      requires,
      prepare,
    )
    return fn

  return wrap


def get(name: str) -> Attack:
  try:
    return _REGISTRY[name]
  except KeyError:
    raise PerturbationError(
      f"unknown attack {name!r}; known: {', '.join(sorted(_REGISTRY))}"
    ) from None


def missing(name: str, **params) -> list[str]:
  """What attack `name` lacks to run with `params` (its defaults filled in); [] if runnable."""
  spec = get(name)
  return spec.requires({**spec.params, **params})


def require_runnable(name: str, **params) -> Attack:
  """The attack, or a PerturbationError naming everything it lacks with these parameters."""
  lacking = missing(name, **params)
  if lacking:
    raise PerturbationError(f"{name} needs " + "; and ".join(lacking))
  return get(name)


def list_attacks() -> list[str]:
  """Names of every registered attack, sorted."""
  return sorted(_REGISTRY)
