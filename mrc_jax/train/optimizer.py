"""AdamW with warm-up + linear decay, no decay on norms and biases, clipping, per-parameter
learning-rate multipliers, freezing."""

from __future__ import annotations

import re
from typing import Sequence

import jax
import optax
from flax import traverse_util

# Leaf names that never get weight decay: biases and layer-norm parameters (BERT's
# recipe). Matched on the last path component of the parameter tree.
_NO_DECAY_MARKERS = ("bias", "norm", "layernorm", "layer_norm")


def learning_rate_schedule(peak: float, total_steps: int, warmup_steps: int) -> optax.Schedule:
  """Linear warm-up from 0 to ``peak``, then linear decay to 0 at ``total_steps``."""
  warmup_steps = max(int(warmup_steps), 0)
  decay_steps = max(int(total_steps) - warmup_steps, 1)
  return optax.join_schedules(
    [
      optax.linear_schedule(0.0, peak, max(warmup_steps, 1)),
      optax.linear_schedule(peak, 0.0, decay_steps),
    ],
    boundaries=[warmup_steps],
  )


def decay_mask(params):
  """True for parameters that get weight decay (kernels and embeddings)."""

  def decays(path, _):
    name = str(getattr(path[-1], "key", path[-1])).lower()
    return not any(marker in name for marker in _NO_DECAY_MARKERS)

  return jax.tree_util.tree_map_with_path(decays, params)


def warmup_steps(config) -> int:
  """Warm-up length: ``warmup_steps`` if set, else ``warmup_fraction * total_steps``."""
  opt = config.optimizer
  if opt.get("warmup_steps", 0):
    return int(opt.warmup_steps)
  return int(round(opt.get("warmup_fraction", 0.0) * config.total_steps))


def make_optimizer(config) -> tuple[optax.GradientTransformation, optax.Schedule]:
  """The optimizer of ``config.optimizer`` and its learning-rate schedule.

  Gradients arrive already averaged over accumulation steps (the train step scans over
  micro-batches), so no optax.MultiSteps wrapper is needed.
  """
  opt = config.optimizer
  schedule = learning_rate_schedule(opt.learning_rate, config.total_steps, warmup_steps(config))
  chain = []
  if opt.get("clip_norm", 0.0):
    chain.append(optax.clip_by_global_norm(opt.clip_norm))
  chain.append(
    optax.adamw(
      schedule,
      b1=opt.get("b1", 0.9),
      b2=opt.get("b2", 0.999),
      eps=opt.get("eps", 1e-6),
      weight_decay=opt.get("weight_decay", 0.0),
      mask=decay_mask,
    )
  )
  if opt.get("lr_mults", ()):
    chain.append(scale_by_path(opt.lr_mults))
  return optax.chain(*chain), schedule


def scale_by_path(lr_mults: Sequence[tuple[str, float]]) -> optax.GradientTransformation:
  """Multiplies each parameter's update by the factor of the first ``(regex, factor)`` whose
  regex matches (``re.search``) its path, 1 where none does (big_vision's ``lr_mults``).

  Placed after AdamW, a factor scales that parameter's learning rate (and its decoupled
  weight decay with it): a fresh task head can learn faster than the pre-trained encoder.
  """
  rules = tuple((re.compile(pattern), float(factor)) for pattern, factor in lr_mults)

  def factor(path) -> float:
    name = parameter_path(tuple(getattr(k, "key", k) for k in path))
    return next((f for regex, f in rules if regex.search(name)), 1.0)

  def scale(updates, params=None):
    del params
    return jax.tree_util.tree_map_with_path(lambda path, u: u * factor(path), updates)

  return optax.stateless(scale)


def check_lr_mults(lr_mults: Sequence[tuple[str, float]], params) -> None:
  """Raises for a multiplier rule that matches no parameter path (a typo trains at 1x)."""
  paths = [parameter_path(key) for key in traverse_util.flatten_dict(params)]
  for pattern, factor in lr_mults:
    if not any(re.search(pattern, name) for name in paths):
      raise ValueError(
        f"optimizer.lr_mults pattern {pattern!r} (x{factor}) matches no "
        f"parameter path; paths look like {sorted(paths)[:6]}"
      )


def parameter_path(key: tuple) -> str:
  """A flattened parameter key as matched by ``optimizer.freeze``: "encoder/embeddings/word"."""
  return "/".join(str(part) for part in key)


class Freeze:
  """Splits parameters into the trainable part and the frozen part (``optimizer.freeze``).

  A parameter is frozen when any pattern matches (``re.search``) its path. The optimizer
  and its state see only the trainable part, and the train step differentiates only
  w.r.t. it, so frozen parameters get no gradient, update, decay or moments. Parameters
  are nested dicts (``nnx.State.to_pure_dict()`` layout); ``params`` may be abstract.
  """

  def __init__(self, patterns: Sequence[str], params):
    self.patterns = tuple(patterns)
    paths = {key: parameter_path(key) for key in traverse_util.flatten_dict(params)}
    unmatched = [p for p in self.patterns if not any(re.search(p, n) for n in paths.values())]
    if unmatched:
      raise ValueError(
        f"optimizer.freeze patterns {unmatched} match no parameter path; "
        f"paths look like {sorted(paths.values())[:6]}"
      )
    self.frozen = frozenset(
      key for key, name in paths.items() if any(re.search(p, name) for p in self.patterns)
    )
    if self.frozen and len(self.frozen) == len(paths):
      raise ValueError(f"optimizer.freeze patterns {list(self.patterns)} freeze every parameter")

  def split(self, params) -> tuple[dict, dict]:
    """(trainable, frozen) nested dicts; with nothing frozen, ``(params, {})`` as is."""
    if not self.frozen:
      return params, {}
    flat = traverse_util.flatten_dict(params)
    trainable = {k: v for k, v in flat.items() if k not in self.frozen}
    frozen = {k: v for k, v in flat.items() if k in self.frozen}
    return traverse_util.unflatten_dict(trainable), traverse_util.unflatten_dict(frozen)

  def trainable(self, params) -> dict:
    return self.split(params)[0]

  def merge(self, trainable: dict, frozen: dict) -> dict:
    """The inverse of :meth:`split`."""
    if not self.frozen:
      return trainable
    return traverse_util.unflatten_dict(
      {**traverse_util.flatten_dict(trainable), **traverse_util.flatten_dict(frozen)}
    )
