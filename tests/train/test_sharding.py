"""The sharded step on 8 fake CPU devices (data 2 x fsdp 2 x tensor 2) matches 1 device."""

import json
import os
import subprocess
import sys

import pytest

from mrc_jax.train import partitioning

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def compare_one_and_eight_devices() -> dict:
  """Runs 3 steps on a 1-device and an 8-device mesh; returns the largest differences."""
  import jax
  import numpy as np

  from mrc_jax.train import trainer
  from tests.train import helpers

  devices = jax.devices()
  assert len(devices) == 8, devices
  # Adam turns tiny gradients into steps of size lr whatever their precision, so a small
  # learning rate keeps reduction-order noise (1e-7 relative) far below the tolerance.
  # With dropout on: its masks are a function of the step's key, not of the sharding.
  config = helpers.tiny_config(
    **{
      "optimizer.learning_rate": 1e-4,
      "model.hidden_dropout": 0.1,
      "model.attention_dropout": 0.1,
    }
  )
  batches = [
    helpers.stack([helpers.mixed_batch(10 * s + a, rows=8, examples=8) for a in range(2)])
    for s in range(3)
  ]
  runs = {}
  for name, axes, devs in (
    ("one", (("data", 1), ("fsdp", 1), ("tensor", 1)), devices[:1]),
    ("eight", (("data", 2), ("fsdp", 2), ("tensor", 2)), devices),
  ):
    config.mesh = axes
    mesh = partitioning.make_mesh(config.mesh, devices=devs)
    setup = trainer.make_setup(
      config, mesh, helpers.HEADS, helpers.encoder_config(config), helpers.TASKS
    )
    with jax.set_mesh(mesh):
      state = setup.fresh_state()
      step = setup.jit_step({k: v.ndim for k, v in batches[0].items()})
      losses = []
      for batch in batches:
        state, metrics = step(state, batch)
        losses.append(float(metrics["loss_sum"] / metrics["examples"]))
      sharded = sum(
        not s.sharding.is_fully_replicated
        for s in jax.tree.leaves(state.params) + jax.tree.leaves(state.opt_state)
      )
      runs[name] = (np.asarray(losses), jax.device_get(state.params), sharded)
  (l1, p1, _), (l8, p8, sharded8) = runs["one"], runs["eight"]
  param_diff = max(
    float(np.max(np.abs(a - b))) for a, b in zip(jax.tree.leaves(p1), jax.tree.leaves(p8))
  )
  return dict(
    loss_diff=float(np.max(np.abs(l1 - l8))),
    param_diff=param_diff,
    sharded_arrays_8=int(sharded8),
    losses=l1.tolist(),
  )


@pytest.mark.slow
def test_eight_fake_devices_match_one_device():
  env = dict(
    os.environ,
    XLA_FLAGS="--xla_force_host_platform_device_count=8",
    JAX_PLATFORMS="cpu",
    PYTHONPATH=ROOT,
  )
  code = (
    "import json; from tests.train.test_sharding import compare_one_and_eight_devices as f;"
    " print('RESULT', json.dumps(f()))"
  )
  proc = subprocess.run(
    [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
  )
  lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
  assert proc.returncode == 0 and lines, proc.stderr[-3000:]
  result = json.loads(lines[-1][len("RESULT ") :])
  assert result["sharded_arrays_8"] > 0, result  # the 8-device run really shards
  assert result["loss_diff"] <= 1e-5, result
  assert result["param_diff"] <= 1e-5, result
  assert result["losses"][-1] != result["losses"][0]  # parameters moved between steps


def test_mesh_fills_minus_one_and_rejects_bad_shapes():
  assert partitioning.resolve_mesh_shape((("data", -1), ("fsdp", 2), ("tensor", 1)), 8) == (
    ("data", "fsdp", "tensor"),
    (4, 2, 1),
  )
  with pytest.raises(ValueError, match="at most one -1"):
    partitioning.resolve_mesh_shape((("data", -1), ("fsdp", -1)), 8)
  with pytest.raises(ValueError, match="needs 4 devices"):
    partitioning.resolve_mesh_shape((("data", 2), ("fsdp", 2)), 8)
  with pytest.raises(ValueError, match="not divisible"):
    partitioning.resolve_mesh_shape((("data", -1), ("fsdp", 3)), 8)


def test_logical_rules_skip_taken_and_indivisible_axes():
  import jax
  import numpy as np
  from jax.sharding import Mesh, PartitionSpec

  mesh = Mesh(np.asarray(jax.devices()[:1]).reshape(1, 1), ("data", "tensor"))
  rules = (("vocab", "tensor"), ("embed", "data"), ("mlp", "tensor"))
  # Size-1 mesh axes never shard.
  assert partitioning.logical_to_spec(("vocab", "embed"), (8, 4), rules, mesh) == PartitionSpec(
    None, None
  )
  fake = type("FakeMesh", (), {"shape": {"data": 2, "tensor": 2}})()
  assert partitioning.logical_to_spec(("vocab", "embed"), (8, 4), rules, fake) == PartitionSpec(
    "tensor", "data"
  )
  assert partitioning.logical_to_spec(("vocab", "mlp"), (8, 4), rules, fake) == PartitionSpec(
    "tensor", None
  )  # 'tensor' already taken by the first axis
  assert partitioning.logical_to_spec(("vocab", "embed"), (7, 4), rules, fake) == PartitionSpec(
    None, "data"
  )  # 7 rows do not split in two
