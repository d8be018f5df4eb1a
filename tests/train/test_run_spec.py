"""The run specification a training workdir holds: written once, read back whole, and the
one weights-only restore of its checkpoints."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from mrc_jax.models.multitask import HeadSpec, MultiTaskModel
from mrc_jax.train import checkpoint as checkpoint_lib
from mrc_jax.train import run_spec
from mrc_jax.train.step import TrainState
from tests.train import helpers


def _spec(**overrides):
  config = helpers.tiny_config()
  fields = dict(
    encoder=helpers.encoder_config(config),
    heads=(
      HeadSpec("multiple_choice", "multiple_choice", pooling="mean"),
      HeadSpec("pair", "classification", 3),
    ),
    tasks=("synthetic.en", "synthetic_pair.en"),
    head_of_task=(0, 1),
    tokenizer_dir="/tok",
    options_first=True,
    max_length=96,
    max_choices=4,
    mesh={"data": 1, "fsdp": 1, "tensor": 1},
  )
  fields.update(overrides)
  return config, run_spec.RunSpec(**fields)


def test_written_spec_reads_back_equal(tmp_path):
  config, spec = _spec()
  run_spec.write(str(tmp_path), config, spec)
  assert run_spec.read(str(tmp_path)) == spec
  saved = json.loads((tmp_path / "config.json").read_text())
  assert saved["config"]["data"]["max_length"] == config.data.max_length
  assert saved["resolved"]["heads"][0]["pooling"] == "mean"


def test_a_missing_field_names_the_file_and_field(tmp_path):
  with pytest.raises(FileNotFoundError, match="is not a training workdir"):
    run_spec.read(str(tmp_path))
  config, spec = _spec()
  resolved = spec.to_json()
  del resolved["head_of_task"]
  (tmp_path / "config.json").write_text(json.dumps({"resolved": resolved}))
  with pytest.raises(ValueError, match=r"config.json: fields \['resolved.head_of_task'\]"):
    run_spec.read(str(tmp_path))


def test_load_params_restores_one_checkpoints_weights(tmp_path):
  config, spec = _spec()
  run_spec.write(str(tmp_path), config, spec)
  model = MultiTaskModel(spec.encoder, spec.heads, rngs=nnx.Rngs(1))
  params = nnx.state(model, nnx.Param).to_pure_dict()
  manager = checkpoint_lib.CheckpointManager(str(tmp_path / "checkpoints"), asynchronous=False)
  for step in (1, 2):
    manager.save(
      TrainState(
        step=jnp.asarray(step, jnp.int32),
        params=jax.tree.map(lambda x, s=step: x * s, params),
        opt_state={},
      ),
      {},
    )
  manager.wait()
  manager.close()
  assert run_spec.latest_step(str(tmp_path)) == 2
  for step, scale in ((None, 2), (1, 1)):
    restored, got = run_spec.load_params(str(tmp_path), step)
    assert got == (2 if step is None else step)
    jax.tree.map(
      lambda a, b, k=scale: np.testing.assert_array_equal(np.asarray(a), k * np.asarray(b)),
      restored,
      params,
    )
