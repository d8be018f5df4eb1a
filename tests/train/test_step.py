"""The multi-task step: scaled heterogeneous loss, learning, and accumulation memory."""

import jax
import numpy as np
import pytest
from flax import nnx

from mrc_jax.train import partitioning, trainer
from tests.train import helpers


def _setup(config, devices=None):
  mesh = partitioning.make_mesh(config.mesh, devices=devices)
  return trainer.make_setup(
    config, mesh, helpers.HEADS, helpers.encoder_config(config), helpers.TASKS
  )


def _log_softmax(x):
  x = np.asarray(x, np.float64)
  x = x - x.max(-1, keepdims=True)
  return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_heterogeneous_loss_is_hand_computed_scaled_mean():
  # The switch itself (scale_by_log_classes=False -> weights 1) is covered by
  # test_parts.test_loss_scale_is_inverse_log_classes; the per-task sums below are unscaled.
  config = helpers.tiny_config()
  setup = _setup(config)
  batch = helpers.mixed_batch(0, examples=6)  # 4 real examples + 2 padding slots
  with jax.set_mesh(setup.mesh):
    state = setup.fresh_state()
    model = nnx.merge(setup.graphdef, jax.device_get(state.params))
    out = jax.device_get(model({k: v for k, v in batch.items()}, deterministic=True))
    _, metrics = setup.jit_step({k: v.ndim + 1 for k, v in batch.items()})(
      state, helpers.stack([batch])
    )

  # By hand: each example under its own head, divided by log(n), then the mean.
  cls = -_log_softmax(out["pair"][0])[batch["label"][0]]
  scores = np.where(batch["choice_mask"][1] > 0, out["multiple_choice"][1], -np.inf)
  mc = -_log_softmax(scores)[batch["label"][1]]
  start, end = out["span"][0][2], out["span"][1][2]
  span = -0.5 * (
    _log_softmax(start)[batch["span_start"][2]] + _log_softmax(end)[batch["span_end"][2]]
  )
  reg = (out["score"][3] - batch["target"][3]) ** 2
  n = batch["num_classes"][:4].astype(np.float64)
  weights = 1 / np.log(n[:3])
  expected = (cls * weights[0] + mc * weights[1] + span * weights[2] + reg) / 4
  got = float(metrics["loss_sum"] / metrics["examples"])
  assert metrics["examples"] == 4
  np.testing.assert_allclose(got, expected, rtol=1e-5)
  # Per-task sums are unscaled and land in each example's task slot.
  np.testing.assert_allclose(np.asarray(metrics["task_loss"]), [cls, mc, span, reg], rtol=1e-5)


def test_task_weights_multiply_each_tasks_scaled_loss():
  batch = helpers.stack([helpers.mixed_batch(0, examples=6)])  # tasks 0-3, one example each
  results = {}
  patterns = (("^pair", 2.0), ("^choice", 0.5), ("^span", 3.0), ("^score", 0.25))
  for weights in ((), patterns):
    config = helpers.tiny_config(**{"loss.task_weights": weights})
    setup = _setup(config)
    with jax.set_mesh(setup.mesh):
      _, metrics = setup.jit_step({k: v.ndim for k, v in batch.items()})(setup.fresh_state(), batch)
    results[weights] = jax.device_get(metrics)
  plain, weighted = results[()], results[patterns]
  n = helpers.mixed_batch(0, examples=6)["num_classes"][:4].astype(np.float64)
  scale = np.append(1 / np.log(n[:3]), 1.0)  # the regression example is not scaled
  task_loss = np.asarray(plain["task_loss"], np.float64)
  np.testing.assert_allclose(plain["loss_sum"], np.sum(scale * task_loss), rtol=1e-5)
  np.testing.assert_allclose(
    weighted["loss_sum"], np.sum(np.array([2.0, 0.5, 3.0, 0.25]) * scale * task_loss), rtol=1e-5
  )
  # Reported per-task losses stay unweighted.
  np.testing.assert_allclose(weighted["task_loss"], plain["task_loss"], rtol=1e-6)
  with pytest.raises(ValueError, match=r"patterns \['\^nope'\] match none of the tasks"):
    _setup(helpers.tiny_config(**{"loss.task_weights": (("^nope", 1.0),)}))
  # The first match decides: "^s" (span, score) before "^score".
  assert trainer.task_weights((("^s", 3.0), ("^score", 9.0)), helpers.TASKS) == (1.0, 1.0, 3.0, 3.0)


def _learnable_batch(rng, rows=16, length=10):
  """The label is which of tokens 6 / 7 follows [CLS]: learnable only by reading it."""
  ids = rng.integers(8, helpers.VOCAB, (rows, length)).astype(np.int32)
  label = rng.integers(2, size=rows).astype(np.int32)
  ids[:, 1] = 6 + label
  ids[:, 0] = 2
  zeros = np.zeros(rows, np.int32)
  b = dict(
    input_ids=ids,
    token_type_ids=np.zeros_like(ids),
    segment_ids=np.ones_like(ids),
    positions=np.broadcast_to(np.arange(length, dtype=np.int32), ids.shape).copy(),
    example_mask=np.ones(rows, np.float32),
    task_id=zeros,
    head_id=zeros,
    num_classes=np.full(rows, 3, np.int32),
    label=label,
    pool_row=np.arange(rows, dtype=np.int32)[:, None],
    pool_pos=np.zeros((rows, 1), np.int32),
    choice_mask=np.ones((rows, 1), np.float32),
    span_start=zeros,
    span_end=zeros,
    target=np.zeros(rows, np.float32),
  )
  return helpers.stack([b])


@pytest.mark.slow
def test_loss_falls_on_learnable_task():
  config = helpers.tiny_config(total_steps=100, **{"optimizer.learning_rate": 1e-2})
  setup = _setup(config)
  rng = np.random.default_rng(0)
  with jax.set_mesh(setup.mesh):
    state = setup.fresh_state()
    step = setup.jit_step({k: v.ndim for k, v in _learnable_batch(rng).items()})
    losses = []
    for _ in range(config.total_steps):
      state, metrics = step(state, _learnable_batch(rng))
      losses.append(float(metrics["loss_sum"] / metrics["examples"]))
  first, last = np.mean(losses[:10]), np.mean(losses[-10:])
  assert last < 0.3 * first, (first, last)


def _temp_bytes(setup, accum: int, examples: int, rows: int) -> int:
  batch = helpers.stack(
    [helpers.mixed_batch(i, rows=rows, examples=examples) for i in range(accum)]
  )
  abstract = jax.tree.map(
    lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
    setup.abstract_state,
    setup.state_sh,
  )
  step = setup.jit_step({k: v.ndim for k, v in batch.items()})
  compiled = step.lower(abstract, batch).compile()
  return compiled.memory_analysis().temp_size_in_bytes


def test_gradient_accumulation_does_not_grow_peak_memory():
  config = helpers.tiny_config()
  setup = _setup(config)
  with jax.set_mesh(setup.mesh):
    one = _temp_bytes(setup, accum=1, examples=8, rows=64)
    eight = _temp_bytes(setup, accum=8, examples=8, rows=64)
    # The same 8x larger batch in one pass: what accumulation avoids.
    big = _temp_bytes(setup, accum=1, examples=64, rows=512)
  assert big > 3 * one, (one, big)  # the measure sees activation memory at all
  assert eight <= 1.1 * one, (one, eight)


@pytest.mark.slow
def test_r3f_adds_a_gradient_only_when_embeddings_are_noised():
  batch = helpers.stack([helpers.mixed_batch(3)])
  grads = {}
  for name, weight, eps in (("off", 0.0, 0.0), ("zero_noise", 1.0, 0.0), ("noised", 1.0, 0.5)):
    config = helpers.tiny_config(**{"r3f.weight": weight, "r3f.eps": eps})
    setup = _setup(config)
    with jax.set_mesh(setup.mesh):
      _, metrics = setup.jit_step({k: v.ndim for k, v in batch.items()})(setup.fresh_state(), batch)
    grads[name] = float(metrics["l2_grads"])
  np.testing.assert_allclose(grads["zero_noise"], grads["off"], rtol=1e-5)
  assert abs(grads["noised"] - grads["off"]) > 1e-4 * grads["off"], grads
