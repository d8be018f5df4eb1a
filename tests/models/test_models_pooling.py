"""Mean-pooled heads: each packed sequence's own tokens, the head table, and the places a
mean-pooled head cannot go (a transformers class, a differently pooled source head)."""

import os

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from mrc_jax.models import head_kinds, hf, init_from
from mrc_jax.models.multitask import HeadSpec, MultiTaskModel, mean_of_segments
from mrc_jax.train import checkpoint as checkpoint_lib
from mrc_jax.train import run_spec, trainer
from mrc_jax.train.step import TrainState
from tests.train import helpers


def packed_batch():
  """Two rows; row 0 packs three sequences (segments 1-3), row 1 one and padding."""
  rng = np.random.default_rng(0)
  segment_ids = np.array(
    [[1, 1, 1, 2, 2, 3, 3, 3, 3, 0], [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]], np.int32
  )  # [R, L]
  ids = np.where(segment_ids > 0, rng.integers(5, helpers.VOCAB, segment_ids.shape), 0)
  starts = segment_ids != np.pad(segment_ids, ((0, 0), (1, 0)))[:, :-1]
  positions = np.zeros_like(segment_ids)
  for r in range(2):
    for t in range(1, 10):
      positions[r, t] = 0 if starts[r, t] else positions[r, t - 1] + 1
  return dict(
    input_ids=ids.astype(np.int32),
    token_type_ids=np.zeros_like(ids, np.int32),
    segment_ids=segment_ids,
    positions=positions,
    pool_row=np.array([[0, 0], [0, 1]], np.int32),  # [E, C]
    pool_pos=np.array([[0, 3], [5, 0]], np.int32),
  )  # first token of each slot


def test_mean_of_segments_averages_each_slots_own_sequence():
  batch = packed_batch()
  hidden = np.random.default_rng(1).normal(size=(2, 10, 6)).astype(np.float32)  # [R, L, H]
  means = np.asarray(mean_of_segments(hidden, batch))  # [E, C, H]
  np.testing.assert_allclose(means[0, 0], hidden[0, 0:3].mean(0), rtol=1e-6)
  np.testing.assert_allclose(means[0, 1], hidden[0, 3:5].mean(0), rtol=1e-6)
  np.testing.assert_allclose(means[1, 0], hidden[0, 5:9].mean(0), rtol=1e-6)
  np.testing.assert_allclose(means[1, 1], hidden[1, 0:4].mean(0), rtol=1e-6)  # no padding


def test_mean_pooled_scores_do_not_depend_on_what_shares_the_row():
  config = helpers.encoder_config(helpers.tiny_config())
  model = MultiTaskModel(
    config, [HeadSpec("multiple_choice", "multiple_choice", pooling="mean")], rngs=nnx.Rngs(0)
  )
  batch = packed_batch()
  scores = np.asarray(model(batch)["multiple_choice"])  # [E, C]
  alone = dict(batch)  # the second sequence of row 0 moved to a row of its own
  alone["input_ids"] = np.stack([batch["input_ids"][0], np.pad(batch["input_ids"][0, 3:5], (0, 8))])
  alone["segment_ids"] = np.stack([batch["segment_ids"][0], np.r_[1, 1, np.zeros(8, int)]]).astype(
    np.int32
  )
  alone["positions"] = np.stack([batch["positions"][0], np.r_[0, 1, np.zeros(8, int)]]).astype(
    np.int32
  )
  alone["pool_row"] = np.array([[0, 1], [0, 0]], np.int32)
  alone["pool_pos"] = np.array([[0, 0], [5, 0]], np.int32)
  moved = np.asarray(model(alone)["multiple_choice"])
  np.testing.assert_allclose(moved[0, 1], scores[0, 1], atol=1e-5)
  first = MultiTaskModel(config, [HeadSpec("multiple_choice", "multiple_choice")], rngs=nnx.Rngs(0))
  assert not np.allclose(np.asarray(first(batch)["multiple_choice"]), scores, atol=1e-3)


def test_head_table_pooling():
  specs, _ = trainer.resolve_heads(
    ("synthetic.en", "synthetic_span.en", "synthetic_pair.en"), "mean"
  )
  assert {s.kind: s.pooling for s in specs} == {
    "multiple_choice": "mean",
    "span": "first",
    "classification": "mean",
  }
  with pytest.raises(ValueError, match="pooling 'mean' is not one of"):
    HeadSpec("span", "span", pooling="mean")
  with pytest.raises(ValueError, match="pooling 'max'"):
    HeadSpec("multiple_choice", "multiple_choice", pooling="max")
  config = helpers.encoder_config(helpers.tiny_config())
  head = head_kinds.build_module(
    config, {"kind": "MultipleChoiceHead", "dropout_rate": 0.1, "pooling": "mean"}, rngs=nnx.Rngs(0)
  )
  assert head.input_kind == "mean" and head_kinds.module_spec(head)["pooling"] == "mean"


def test_a_mean_pooled_head_has_no_transformers_export(tmp_path):
  config = helpers.encoder_config(helpers.tiny_config())
  model = MultiTaskModel(
    config, [HeadSpec("multiple_choice", "multiple_choice", pooling="mean")], rngs=nnx.Rngs(0)
  )
  with pytest.raises(ValueError, match="mean-pooled multiple_choice head has no transformers"):
    hf.save_hf_encoder(
      model.encoder,
      config,
      str(tmp_path / "hf"),
      heads={"multiple_choice": model.heads["multiple_choice"]},
    )
  assert not os.path.exists(tmp_path / "hf" / "model.safetensors")


def _workdir(tmp_path, pooling):
  """A training workdir whose one checkpoint holds a multiple-choice head of ``pooling``."""
  config = helpers.tiny_config()
  spec = run_spec.RunSpec(
    encoder=helpers.encoder_config(config),
    tasks=("synthetic.en",),
    head_of_task=(0,),
    heads=(HeadSpec("multiple_choice", "multiple_choice", pooling=pooling),),
    tokenizer_dir=str(tmp_path),
  )
  run_spec.write(str(tmp_path), config, spec)
  model = MultiTaskModel(spec.encoder, spec.heads, rngs=nnx.Rngs(0))
  manager = checkpoint_lib.CheckpointManager(str(tmp_path / "checkpoints"), asynchronous=False)
  params = nnx.state(model, nnx.Param).to_pure_dict()
  manager.save(TrainState(step=jnp.asarray(1, jnp.int32), params=params, opt_state={}), {})
  manager.wait()
  manager.close()
  return str(tmp_path)


def test_a_head_is_not_carried_into_another_pooling(tmp_path):
  source = trainer._source_weights(_workdir(tmp_path, "first"))
  assert source.poolings == {"multiple_choice": "first"}
  mean = [HeadSpec("multiple_choice", "multiple_choice", pooling="mean")]
  with pytest.raises(ValueError, match="'multiple_choice' was trained with 'first' pooling"):
    init_from.check_head_pooling(source, mean, {})
  init_from.check_head_pooling(source, [HeadSpec("multiple_choice", "multiple_choice")], {})
  # Renamed: the run's "choice" head starts from the source's "multiple_choice".
  renamed = [HeadSpec("choice", "multiple_choice", pooling="mean")]
  with pytest.raises(ValueError, match="head 'multiple_choice' was trained"):
    init_from.check_head_pooling(source, renamed, {"choice": "multiple_choice"})
  init_from.check_head_pooling(source, renamed, {})  # a head the source lacks starts fresh


def test_hugging_face_heads_are_first_token_pooled(make_hf_checkpoint):
  path, _ = make_hf_checkpoint("bert", "ForMultipleChoice")
  source = init_from.from_hf(path)
  assert source.poolings == {"multiple_choice": "first"}
  mean = [HeadSpec("multiple_choice", "multiple_choice", pooling="mean")]
  with pytest.raises(ValueError, match="'multiple_choice' was trained with 'first' pooling"):
    init_from.check_head_pooling(source, mean, {})
