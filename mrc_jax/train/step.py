"""The pure multi-task train step: per-example losses, 1/log(n) scaling, R3F, accumulation.

The step is a function of ``(TrainState, batch)`` only; it is jitted with shardings by the
trainer. Batches are "rows + examples" dicts (docs/ARCHITECTURE.md) with one extra leading
axis of micro-batches, ``[accum, ...]``, scanned over so peak memory does not grow with
the number of accumulation steps.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import flax.struct
import jax
import jax.numpy as jnp
import optax
from flax import nnx

from mrc_jax.models import families, head_kinds
from mrc_jax.models.encoder import DTYPES
from mrc_jax.models.multitask import HeadSpec
from mrc_jax.train.optimizer import Freeze


@flax.struct.dataclass
class TrainState:
  """Everything a checkpoint must hold to continue training exactly."""

  step: jax.Array  # [] int32, optimizer steps taken
  params: Any  # nested dict of parameter arrays (nnx.State.to_pure_dict() layout)
  opt_state: Any


# --- Per-example losses ----------------------------------------------------------------


def head_losses(spec: HeadSpec, output, batch: dict) -> tuple[jax.Array, jax.Array]:
  """Loss ``[E]`` and correctness ``[E]`` of one head on every example slot."""
  return head_kinds.get(spec.kind).loss(output, batch)


def example_losses(
  outputs: dict, batch: dict, head_specs: Sequence[HeadSpec]
) -> tuple[jax.Array, jax.Array]:
  """Each example's loss and correctness under its own head (selected by ``head_id``)."""
  loss = jnp.zeros(batch["head_id"].shape, jnp.float32)
  correct = jnp.zeros(batch["head_id"].shape, bool)
  for index, spec in enumerate(head_specs):
    mine = batch["head_id"] == index
    head_loss, head_correct = head_losses(spec, outputs[spec.name], batch)
    loss = jnp.where(mine, head_loss, loss)
    correct = jnp.where(mine, head_correct, correct)
  return loss, correct


def loss_scale(num_classes: jax.Array, enabled: bool) -> jax.Array:
  """Muppet's ``1 / log(n)`` per example; 1 where n < 2 (regression) or when disabled."""
  n = num_classes.astype(jnp.float32)
  if not enabled:
    return jnp.ones_like(n)
  return jnp.where(n >= 2, 1.0 / jnp.log(jnp.maximum(n, 2.0)), 1.0)


# --- R3F -------------------------------------------------------------------------------


def example_symmetric_kl(
  clean: dict, noisy: dict, batch: dict, head_specs: Sequence[HeadSpec]
) -> jax.Array:
  """R3F's divergence between clean and noised outputs, per example under its head."""
  kl = jnp.zeros(batch["head_id"].shape, jnp.float32)
  for index, spec in enumerate(head_specs):
    d = head_kinds.get(spec.kind).divergence(clean[spec.name], noisy[spec.name], batch)
    kl = jnp.where(batch["head_id"] == index, d, kl)
  return kl


def embedding_noise(key: jax.Array, shape: tuple, dtype, noise: str, eps: float) -> jax.Array:
  """R3F's noise for the embedded inputs: one draw per token position and hidden unit.

  Added to the embedding output in the computation dtype (``Encoder(embedding_noise=)``;
  an encoder-decoder's encoder input, ``Seq2Seq.encode``; both detach that pass's token
  embeddings), as in the R3F paper (Aghajanyan et al. 2020) and fairseq's R3F criteria, so
  repeated tokens get independent draws.
  ``shape`` is ``[rows, length, hidden]``.
  """
  if noise == "normal":
    return (eps * jax.random.normal(key, shape, jnp.float32)).astype(dtype)
  return jax.random.uniform(key, shape, jnp.float32, -eps, eps).astype(dtype)


# --- The step --------------------------------------------------------------------------


def make_train_step(
  graphdef: nnx.GraphDef,
  optimizer: optax.GradientTransformation,
  schedule: optax.Schedule,
  head_specs: Sequence[HeadSpec],
  *,
  num_tasks: int,
  seed: int,
  scale_loss: bool = True,
  task_weights: Sequence[float] | None = None,
  r3f_weight: float = 0.0,
  r3f_noise: str = "uniform",
  r3f_eps: float = 1e-5,
  freeze: Freeze | None = None,
) -> Callable[[TrainState, dict], tuple[TrainState, dict]]:
  """Builds ``train_step(state, batch) -> (state, metrics)``.

  ``graphdef`` and the parameters are the whole model (it holds no rng state): each
  micro-batch's dropout key is ``fold_in(fold_in(key(seed), step), micro_index)``, so a
  resumed run draws the same dropout masks. ``metrics`` holds sums and counts (the host
  divides): scaled loss sum, per-task unscaled loss / correct / count ``[num_tasks]``,
  real tokens, the R3F divergence sum (0 without R3F), and the l2 norms, learning rate
  and a finite flag.
  ``task_weights`` ``[num_tasks]`` multiply each task's examples' losses on top of the
  1/log(n) scaling (None: all 1).
  ``freeze`` splits ``state.params`` into the trainable part, which alone is
  differentiated and updated (``optimizer`` and ``state.opt_state`` cover only it; the
  norms of gradients and updates too), and the frozen part, passed through unchanged.
  """
  head_specs = tuple(head_specs)
  weights = (
    jnp.ones(num_tasks) if task_weights is None else jnp.asarray(task_weights, jnp.float32)
  )  # [num_tasks]
  if weights.shape != (num_tasks,):
    raise ValueError(f"task_weights has {weights.shape[0]} entries for {num_tasks} tasks")
  base_key = jax.random.key(seed)
  freeze = freeze or Freeze((), {})

  def micro_loss(trainable, frozen, micro, key, denominator):
    # The frozen part is closed over, not differentiated: no gradient is formed for it.
    params = freeze.merge(trainable, frozen)
    model = nnx.merge(graphdef, params)
    outputs = model(micro, deterministic=False, dropout_key=key)
    loss, correct = example_losses(outputs, micro, head_specs)
    mask = micro["example_mask"]
    scaled = loss * loss_scale(micro["num_classes"], scale_loss) * weights[micro["task_id"]]
    total = jnp.sum(scaled * mask) / denominator
    r3f_sum = jnp.zeros((), jnp.float32)
    if r3f_weight:
      shape = micro["input_ids"].shape + (families.hidden_size(model.config),)
      delta = embedding_noise(
        jax.random.fold_in(key, 1 << 20), shape, DTYPES[model.config.dtype], r3f_noise, r3f_eps
      )
      # The clean pass's dropout key, so its masks: the divergence measures the noise alone.
      noisy = model(dict(micro, embedding_noise=delta), deterministic=False, dropout_key=key)
      kl = example_symmetric_kl(outputs, noisy, micro, head_specs)
      r3f_sum = jnp.sum(kl * mask)
      total = total + r3f_weight * r3f_sum / denominator
    task = micro["task_id"]
    sums = dict(
      loss_sum=jnp.sum(scaled * mask),
      examples=jnp.sum(mask),
      task_loss=jax.ops.segment_sum(loss * mask, task, num_tasks),
      task_correct=jax.ops.segment_sum(correct * mask, task, num_tasks),
      task_count=jax.ops.segment_sum(mask, task, num_tasks),
      tokens=jnp.sum(micro["segment_ids"] > 0).astype(jnp.float32),
      r3f_sum=r3f_sum,
    )
    return total, sums

  grad_fn = jax.grad(micro_loss, has_aux=True)

  def train_step(state: TrainState, batch: dict) -> tuple[TrainState, dict]:
    step_key = jax.random.fold_in(base_key, state.step)
    # Exact mean over the whole (accumulated) batch: each micro-batch divides by the
    # global count, and gradients are summed.
    denominator = jnp.maximum(jnp.sum(batch["example_mask"]), 1.0)
    accum = batch["example_mask"].shape[0]
    trainable, frozen = freeze.split(state.params)

    def body(carry, inputs):
      grads_sum, sums_acc = carry
      index, micro = inputs
      grads, sums = grad_fn(
        trainable, frozen, micro, jax.random.fold_in(step_key, index), denominator
      )
      return (jax.tree.map(jnp.add, grads_sum, grads), jax.tree.map(jnp.add, sums_acc, sums)), None

    zeros_grads = jax.tree.map(jnp.zeros_like, trainable)
    zero_sums = dict(
      loss_sum=0.0,
      examples=0.0,
      task_loss=jnp.zeros(num_tasks),
      task_correct=jnp.zeros(num_tasks),
      task_count=jnp.zeros(num_tasks),
      tokens=0.0,
      r3f_sum=0.0,
    )
    zero_sums = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), zero_sums)
    (grads, sums), _ = jax.lax.scan(body, (zeros_grads, zero_sums), (jnp.arange(accum), batch))
    updates, opt_state = optimizer.update(grads, state.opt_state, trainable)
    params = freeze.merge(optax.apply_updates(trainable, updates), frozen)
    grad_norm = optax.global_norm(grads)
    metrics = dict(
      sums,
      l2_grads=grad_norm,
      l2_params=optax.global_norm(params),
      l2_updates=optax.global_norm(updates),
      learning_rate=schedule(state.step),
      finite=jnp.isfinite(sums["loss_sum"]) & jnp.isfinite(grad_norm),
    )
    return TrainState(step=state.step + 1, params=params, opt_state=opt_state), metrics

  return train_step


def num_parameters(params) -> int:
  return sum(math.prod(x.shape) for x in jax.tree.leaves(params))
