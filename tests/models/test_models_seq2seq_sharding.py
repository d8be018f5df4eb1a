"""The encoder-decoder placed by the training axis rules on 8 fake CPU devices
(data 2 x fsdp 2 x tensor 2) gives the 1-device logits and generations."""

import json
import os
import subprocess
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytest.importorskip("transformers")


def compare_sharded_and_single() -> dict:
  import jax
  import numpy as np
  from flax import nnx

  from configs import smoke
  from mrc_jax.models import generation, hf
  from mrc_jax.train import partitioning
  from tests.models import seq2seq_checkpoints as tiny

  assert jax.device_count() == 8
  rules = [tuple(r) for r in smoke.get_config("").axis_rules]
  mesh = partitioning.make_mesh((("data", 2), ("fsdp", 2), ("tensor", 2)))
  result = {}
  for model_type in ("mt5",):
    with tempfile.TemporaryDirectory() as path:
      model, config = hf.load_hf_seq2seq(tiny.write(model_type, path))
    ids, mask = tiny.ragged_batch(config.pad_token_id)
    dec = ids[:, :6]
    single_logits = np.asarray(model(ids, mask, dec))
    single_beams = np.asarray(generation.generate(model, ids, mask, max_new_tokens=6, num_beams=3))
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    shardings = partitioning.param_shardings(params, rules, mesh)
    placed = jax.device_put(params.to_pure_dict(), shardings)
    sharded_count = sum(not x.sharding.is_fully_replicated for x in jax.tree.leaves(placed))
    nnx.replace_by_pure_dict(params, placed)
    sharded_model = nnx.merge(graphdef, params, rest)
    batch = partitioning.batch_sharding(mesh, rules, 2)
    ids_s, mask_s, dec_s = (jax.device_put(x, batch) for x in (ids, mask, dec))
    with jax.set_mesh(mesh):
      logits = np.asarray(
        jax.jit(lambda m, a, b, c: m(a, b, c))(sharded_model, ids_s, mask_s, dec_s)
      )
      beams = np.asarray(
        generation.generate(sharded_model, ids_s, mask_s, max_new_tokens=6, num_beams=3)
      )
    result[model_type] = dict(
      sharded_params=int(sharded_count),
      logit_diff=float(np.abs(logits - single_logits).max()),
      beams_equal=bool(np.array_equal(beams, single_beams)),
    )
  return result


@pytest.mark.slow
def test_sharded_model_matches_one_device():
  env = dict(
    os.environ,
    XLA_FLAGS="--xla_force_host_platform_device_count=8",
    JAX_PLATFORMS="cpu",
    PYTHONPATH=ROOT,
  )
  code = (
    "import json; from tests.models.test_models_seq2seq_sharding import "
    "compare_sharded_and_single as f; print('RESULT', json.dumps(f()))"
  )
  proc = subprocess.run(
    [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
  )
  lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
  assert proc.returncode == 0 and lines, proc.stderr[-3000:]
  result = json.loads(lines[-1][len("RESULT ") :])
  for model_type, row in result.items():
    assert row["sharded_params"] > 10, (model_type, row)
    assert row["logit_diff"] <= 1e-5, (model_type, row)
    assert row["beams_equal"], (model_type, row)
