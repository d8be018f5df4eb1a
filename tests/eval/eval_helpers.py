"""Training workdirs with a tiny random model, written the way the trainer writes them,
and small robustness configs."""

import dataclasses
import json

import jax.numpy as jnp
import ml_collections
from flax import nnx

from mrc_jax.data import synthetic
from mrc_jax.models.encoder import EncoderConfig
from mrc_jax.models.multitask import HeadSpec, MultiTaskModel
from mrc_jax.train import checkpoint as checkpoint_lib
from mrc_jax.train.step import TrainState

HEADS = [HeadSpec("multiple_choice", "multiple_choice"), HeadSpec("span", "span")]


def write_workdir(workdir, seed, *, vocab_size=None, tokenizer_dir=None, step=5, max_positions=128):
  """config.json (resolved architecture) + one orbax checkpoint of a random model."""
  encoder = EncoderConfig(
    vocab_size=vocab_size or synthetic.vocab_size(),
    hidden_size=16,
    num_layers=1,
    num_heads=2,
    intermediate_size=32,
    max_position_embeddings=max_positions,
    hidden_dropout=0.0,
    attention_dropout=0.0,
  )
  workdir.mkdir(parents=True, exist_ok=True)
  if tokenizer_dir is None:
    tokenizer_dir = workdir / "tokenizer"
    synthetic.save_tokenizer(str(tokenizer_dir))
  (workdir / "config.json").write_text(
    json.dumps(
      {
        "config": {},
        "resolved": {
          "encoder": dataclasses.asdict(encoder),
          "heads": [dataclasses.asdict(h) for h in HEADS],
          "tasks": ["synthetic.en", "synthetic.de"],
          "head_of_task": [0, 0],
          "tokenizer_dir": str(tokenizer_dir),
        },
      }
    )
  )
  model = MultiTaskModel(encoder, HEADS, rngs=nnx.Rngs(seed))
  manager = checkpoint_lib.CheckpointManager(str(workdir / "checkpoints"), asynchronous=False)
  manager.save(
    TrainState(
      step=jnp.asarray(step, jnp.int32),
      params=nnx.state(model, nnx.Param).to_pure_dict(),
      opt_state={},
    ),
    {},
  )
  manager.wait()
  manager.close()
  return workdir


def eval_config(tasks, attacks, num_examples, data_dir="", max_length=96, batch_size=8):
  config = ml_collections.ConfigDict()
  config.batch_size = batch_size
  config.data = ml_collections.ConfigDict(
    dict(max_length=max_length, max_choices=4, data_dir=data_dir)
  )
  config.evals = ml_collections.ConfigDict()
  config.evals.validation = dict(
    type="accuracy", tasks=("synthetic.en",), split="validation", num_examples=4
  )
  config.evals.robustness = dict(
    type="robustness",
    tasks=tuple(tasks),
    attacks=tuple(attacks),
    split="test",
    num_examples=num_examples,
  )
  return config
