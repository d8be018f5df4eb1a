"""AdamW with warm-up + linear decay, no decay on norms and biases, and clipping."""
from __future__ import annotations

import jax
import optax

# Leaf names that never get weight decay: biases and layer-norm parameters (BERT's
# recipe). Matched on the last path component of the parameter tree.
_NO_DECAY_MARKERS = ("bias", "norm", "layernorm", "layer_norm")


def learning_rate_schedule(peak: float, total_steps: int, warmup_steps: int) -> optax.Schedule:
  """Linear warm-up from 0 to ``peak``, then linear decay to 0 at ``total_steps``."""
  warmup_steps = max(int(warmup_steps), 0)
  decay_steps = max(int(total_steps) - warmup_steps, 1)
  return optax.join_schedules(
      [optax.linear_schedule(0.0, peak, max(warmup_steps, 1)),
       optax.linear_schedule(peak, 0.0, decay_steps)],
      boundaries=[warmup_steps])


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
  chain.append(optax.adamw(schedule, b1=opt.get("b1", 0.9), b2=opt.get("b2", 0.999),
                           eps=opt.get("eps", 1e-6), weight_decay=opt.get("weight_decay", 0.0),
                           mask=decay_mask))
  return optax.chain(*chain), schedule
