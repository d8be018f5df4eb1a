"""Restoring the model of a training workdir gives back the saved weights."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from mrc_jax.eval import restore
from mrc_jax.models.encoder import EncoderConfig
from mrc_jax.models.multitask import HeadSpec, MultiTaskModel
from mrc_jax.train import checkpoint as checkpoint_lib
from mrc_jax.train.step import TrainState

TINY = EncoderConfig(
  vocab_size=32,
  hidden_size=8,
  num_layers=1,
  num_heads=2,
  intermediate_size=16,
  max_position_embeddings=16,
)
HEADS = [HeadSpec("multiple_choice", "multiple_choice"), HeadSpec("span", "span")]


def write_workdir(workdir, model, steps):
  (workdir / "config.json").write_text(
    json.dumps(
      {
        "config": {},
        "resolved": {
          "encoder": dataclasses.asdict(TINY),
          "heads": [dataclasses.asdict(h) for h in HEADS],
          "tasks": ["synthetic.en"],
          "head_of_task": [0],
          "tokenizer_dir": str(workdir),
        },
      }
    )
  )
  manager = checkpoint_lib.CheckpointManager(str(workdir / "checkpoints"), asynchronous=False)
  params = nnx.state(model, nnx.Param).to_pure_dict()
  for step in steps:
    scaled = jax.tree.map(lambda x: x * step, params)
    manager.save(TrainState(step=jnp.asarray(step, jnp.int32), params=scaled, opt_state={}), {})
  manager.wait()
  manager.close()
  return params


def test_latest_checkpoint_weights_are_restored(tmp_path):
  model = MultiTaskModel(TINY, HEADS, rngs=nnx.Rngs(3))
  saved = write_workdir(tmp_path, model, steps=[1, 2])
  restored, spec, step = restore.load_model(str(tmp_path))
  assert step == 2 and spec.tasks == ("synthetic.en",) and spec.heads == tuple(HEADS)
  got = nnx.state(restored, nnx.Param).to_pure_dict()
  jax.tree.map(
    lambda a, b: np.testing.assert_array_equal(np.asarray(a), 2 * np.asarray(b)), got, saved
  )
  _, _, step = restore.load_model(str(tmp_path), step=1)
  assert step == 1


def test_missing_workdir_files_are_clear_errors(tmp_path):
  with pytest.raises(FileNotFoundError, match="config.json not found"):
    restore.load_model(str(tmp_path))
  write_workdir(tmp_path, MultiTaskModel(TINY, HEADS, rngs=nnx.Rngs(0)), steps=[])
  with pytest.raises(FileNotFoundError, match="no checkpoint"):
    restore.load_model(str(tmp_path))
