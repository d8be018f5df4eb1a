"""Encoder behaviour: packed segments, bfloat16, dropout, sharding names, save round trip."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from mrc_jax.models import hf
from mrc_jax.models.encoder import Encoder, EncoderConfig, dropout, segment_positions
from mrc_jax.models.heads import MultipleChoiceHead, SequenceClassificationHead
from mrc_jax.models.multitask import MultiTaskModel
from tests.train import helpers

TINY = dict(
  vocab_size=101,
  hidden_size=32,
  num_layers=2,
  num_heads=4,
  intermediate_size=37,
  max_position_embeddings=40,
  layer_norm_eps=1e-5,
)


def random_encoder(model_type="roberta", **overrides):
  fields = dict(TINY, model_type=model_type)
  if model_type != "bert":
    fields.update(pad_token_id=1, position_offset=2)
  fields.update(overrides)
  config = EncoderConfig(**fields)
  return Encoder(config, rngs=nnx.Rngs(params=1)), config


def test_segment_positions_restart_per_segment():
  segments = jnp.array([[1, 1, 1, 2, 2, 0, 0], [1, 2, 2, 2, 3, 3, 0]])
  np.testing.assert_array_equal(
    segment_positions(segments), [[0, 1, 2, 0, 1, 0, 1], [0, 0, 1, 2, 0, 1, 0]]
  )


@pytest.mark.parametrize("model_type", ["bert", "xlm-roberta"])
def test_packed_sequences_equal_separate(model_type):
  encoder, config = random_encoder(model_type)
  rng = np.random.default_rng(0)
  first, second = rng.integers(5, 101, 7), rng.integers(5, 101, 4)
  pad = config.pad_token_id
  packed = np.full((1, 14), pad, np.int32)
  packed[0, :7], packed[0, 7:11] = first, second
  segments = np.zeros((1, 14), np.int32)
  segments[0, :7], segments[0, 7:11] = 1, 2
  types = np.zeros((1, 14), np.int32)
  types[0, 3:7] = 1  # token types inside the first sequence travel with it
  hidden = encoder(packed, (segments > 0).astype(np.int32), types, segment_ids=segments)

  alone_first = encoder(first[None], np.ones((1, 7), np.int32), types[:, :7])
  alone_second = encoder(second[None], np.ones((1, 4), np.int32))
  np.testing.assert_allclose(hidden[0, :7], alone_first[0], atol=1e-5, rtol=0)
  np.testing.assert_allclose(hidden[0, 7:11], alone_second[0], atol=1e-5, rtol=0)


def test_bfloat16_close_to_float32():
  encoder, config = random_encoder("bert")
  ids = np.random.default_rng(0).integers(5, 101, (2, 16)).astype(np.int32)
  mask = np.ones_like(ids)
  reference = np.asarray(encoder(ids, mask))
  low = Encoder(dataclasses.replace(config, dtype="bfloat16"), rngs=nnx.Rngs(0))
  nnx.update(low, nnx.state(encoder, nnx.Param))
  hidden = low(ids, mask)
  assert hidden.dtype == jnp.bfloat16
  relative = np.linalg.norm(np.asarray(hidden, np.float32) - reference) / np.linalg.norm(reference)
  assert relative <= 2e-2
  assert relative > 0  # the computation did run in bfloat16


@pytest.mark.parametrize("deterministic", [True, False])
def test_unrolled_layers_equal_scanned(deterministic):
  """scan_unroll changes how XLA compiles the layer loop, never the numbers."""
  rolled, config = random_encoder("bert", num_layers=3, hidden_dropout=0.2, attention_dropout=0.2)
  unrolled = Encoder(dataclasses.replace(config, scan_unroll=3), rngs=nnx.Rngs(params=1))
  ids = np.random.default_rng(0).integers(5, 101, (2, 9)).astype(np.int32)
  mask = np.ones_like(ids)
  mask[1, 6:] = 0
  key = jax.random.key(3)
  expected = np.asarray(rolled(ids, mask, deterministic=deterministic, dropout_key=key))
  actual = np.asarray(unrolled(ids, mask, deterministic=deterministic, dropout_key=key))
  np.testing.assert_allclose(actual, expected, atol=1e-6, rtol=0)
  assert not np.allclose(expected[0], expected[1], atol=1e-3)  # rows do differ


def test_initializer_range_sets_fresh_weights_and_round_trips():
  wide, config = random_encoder(
    "bert", hidden_size=64, intermediate_size=128, initializer_range=0.1
  )
  narrow, _ = random_encoder("bert", hidden_size=64, intermediate_size=128)
  for encoder, std in ((wide, 0.1), (narrow, 0.02)):
    kernel = np.asarray(encoder.layers.mlp_in_kernel[...])
    assert abs(kernel.std() - std) < 0.05 * std
  assert EncoderConfig.from_hf_config(config.to_hf_config()).initializer_range == 0.1


def test_mimetic_attention_init_makes_tokens_attend_to_themselves():
  normal, _ = random_encoder("bert")
  mimetic, _ = random_encoder("bert", attention_init="mimetic")
  x = np.random.default_rng(0).normal(size=(200, TINY["hidden_size"]))
  off_diagonal = ~np.eye(len(x), dtype=bool)
  for encoder, (low, high) in ((normal, (-1.0, 1.0)), (mimetic, (1.5, 4.0))):
    kernel = np.asarray(encoder.layers.qkv_kernel[...])  # [layers, embed, 3, heads, kv]
    for layer, head in np.ndindex(TINY["num_layers"], TINY["num_heads"]):
      query, key = x @ kernel[layer, :, 0, head], x @ kernel[layer, :, 1, head]
      scores = query @ key.T  # [x, y]
      other = scores[off_diagonal]
      z = (np.diag(scores).mean() - other.mean()) / other.std()
      assert low < z < high, (layer, head, z)
  kernel = np.asarray(mimetic.layers.qkv_kernel[...])
  for layer, head in np.ndindex(TINY["num_layers"], TINY["num_heads"]):
    query, key = kernel[layer, :, 0, head], kernel[layer, :, 1, head]
    # U sqrt(S) and V sqrt(S) of one SVD: both Gram matrices are the same diagonal S.
    np.testing.assert_allclose(query.T @ query, key.T @ key, atol=1e-5)
    gram = query.T @ query
    np.testing.assert_allclose(gram - np.diag(np.diag(gram)), 0, atol=1e-5)
  # Values keep the normal initialiser.
  assert abs(kernel[:, :, 2].std() - 0.02) < 0.1 * 0.02


def test_sinusoidal_position_init_makes_neighbours_similar():
  normal, _ = random_encoder("bert")
  sinusoidal, _ = random_encoder("bert", position_init="sinusoidal")
  table = np.asarray(sinusoidal.embeddings.position[...])  # [positions, embed]
  positions, embed = table.shape
  assert abs(table.std() - 0.02) < 1e-6
  # Row p is sin(p w_i), cos(p w_i) interleaved up to one scale factor.
  w = 10000.0 ** (-2.0 * np.arange(embed // 2) / embed)
  expected = np.stack(
    [np.sin(np.outer(np.arange(positions), w)), np.cos(np.outer(np.arange(positions), w))], -1
  ).reshape(positions, -1)
  np.testing.assert_allclose(table, expected * (table[1, 0] / expected[1, 0]), rtol=1e-4, atol=1e-7)

  def similarity(t, distance):
    a, b = t[:-distance], t[distance:]
    return np.mean(np.sum(a * b, -1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1))

  learned = np.asarray(normal.embeddings.position[...])
  assert similarity(table, 1) > 0.9 > similarity(table, 8) and abs(similarity(learned, 1)) < 0.1
  # The other weights draw exactly what the normal initialiser draws.
  np.testing.assert_array_equal(sinusoidal.embeddings.word[...], normal.embeddings.word[...])
  np.testing.assert_array_equal(sinusoidal.layers.qkv_kernel[...], normal.layers.qkv_kernel[...])


def test_attention_and_position_inits_are_checked():
  with pytest.raises(ValueError, match="attention_init"):
    EncoderConfig(**TINY, attention_init="identity")
  with pytest.raises(ValueError, match="position_init"):
    EncoderConfig(**TINY, position_init="rotary")


def test_scan_unroll_must_be_positive():
  with pytest.raises(ValueError, match="scan_unroll"):
    EncoderConfig(**TINY, scan_unroll=0)


def test_dropout_mask_rate_scale_and_independence():
  x = jnp.ones((400, 500))
  seed = lambda a, b: jnp.array([a, b], jnp.uint32)
  y = np.asarray(dropout(x, 0.1, seed(7, 11)))
  dropped = y == 0
  assert abs(dropped.mean() - 0.1) < 0.003
  np.testing.assert_allclose(y.mean(), 1.0, atol=0.01)  # inverted dropout keeps the mean
  np.testing.assert_array_equal(y, dropout(x, 0.1, seed(7, 11)))  # same seed, same mask
  # Masks of different seeds (either word) and of neighbouring rows are independent:
  # both dropped at about rate**2.
  for other in (seed(8, 11), seed(7, 12)):
    both = dropped & (np.asarray(dropout(x, 0.1, other)) == 0)
    assert abs(both.mean() - 0.01) < 0.002
  assert abs((dropped[1:] & dropped[:-1]).mean() - 0.01) < 0.002
  assert abs((dropped[:, 1:] & dropped[:, :-1]).mean() - 0.01) < 0.002


def test_dropout_masks_are_a_function_of_the_key_alone():
  encoder, _ = random_encoder("bert")
  ids = np.random.default_rng(0).integers(5, 101, (2, 8)).astype(np.int32)
  mask = np.ones_like(ids)
  clean = encoder(ids, mask)
  np.testing.assert_array_equal(clean, encoder(ids, mask, dropout_key=jax.random.key(1)))
  train = lambda seed: encoder(ids, mask, deterministic=False, dropout_key=jax.random.key(seed))
  noisy = train(1)
  np.testing.assert_array_equal(noisy, train(1))
  assert not np.allclose(noisy, clean, atol=1e-3)
  assert not np.allclose(noisy, train(2), atol=1e-3)
  with pytest.raises(ValueError, match="dropout_key"):
    encoder(ids, mask, deterministic=False)


def test_model_holds_parameters_only_and_its_dropout_follows_the_key():
  """``nnx.split(model, nnx.Param)`` is the whole model; the same key gives the same
  outputs (a resumed step, R3F's two passes), another key others, and deterministic
  outputs are the evaluation outputs."""
  config = EncoderConfig(**dict(TINY, model_type="roberta", pad_token_id=1, position_offset=2))
  model = MultiTaskModel(config, helpers.HEADS, rngs=nnx.Rngs(0))
  graphdef, params = nnx.split(model, nnx.Param)  # raises if any other state were left
  batch = jax.tree.map(jnp.asarray, helpers.mixed_batch(0))

  @jax.jit
  def forward(params, key):
    return nnx.merge(graphdef, params)(batch, deterministic=False, dropout_key=key)

  first, again, other = (jax.device_get(forward(params, jax.random.key(k))) for k in (1, 1, 2))
  clean = jax.device_get(model(batch))
  merged = jax.device_get(nnx.merge(graphdef, params)(batch, deterministic=True))
  for name in model.head_names:
    for a, b, c, d, e in zip(
      *(jax.tree.leaves(o[name]) for o in (first, again, other, clean, merged))
    ):
      np.testing.assert_array_equal(a, b, err_msg=name)
      assert not np.allclose(a, c, atol=1e-4), name
      assert not np.allclose(a, d, atol=1e-4), name
      np.testing.assert_array_equal(d, e, err_msg=name)
  with pytest.raises(ValueError, match="dropout_key"):
    model(batch, deterministic=False)

  # The heads' own dropout follows the key too (here the encoder has none).
  features = jax.random.normal(jax.random.key(0), (3, 4, config.hidden_size))  # [E, C, H]
  for head in (
    SequenceClassificationHead(config, 3, dropout_rate=0.5, rngs=nnx.Rngs(0)),
    MultipleChoiceHead(config, dropout_rate=0.5, rngs=nnx.Rngs(0)),
  ):
    run = lambda k: np.asarray(head(features, False, dropout_key=jax.random.key(k)))
    np.testing.assert_array_equal(run(1), run(1))
    assert not np.allclose(run(1), run(2), atol=1e-4)
    assert not np.allclose(run(1), head(features), atol=1e-4)


def test_parameters_carry_logical_axis_names():
  encoder, config = random_encoder("bert")
  specs = nnx.get_partition_spec(nnx.state(encoder, nnx.Param))
  flat = {
    "/".join(map(str, path)): leaf.value
    for path, leaf in jax.tree_util.tree_leaves_with_path(
      specs, is_leaf=lambda x: isinstance(x, nnx.Param)
    )
    for path in [tuple(k.key for k in path)]
  }
  assert flat["embeddings/word"] == jax.sharding.PartitionSpec("vocab", "embed")
  assert flat["layers/qkv_kernel"] == jax.sharding.PartitionSpec(
    "layers", "embed", None, "heads", "kv"
  )
  assert flat["layers/mlp_in_kernel"] == jax.sharding.PartitionSpec("layers", "embed", "mlp")
  assert all(spec is not None for spec in flat.values())


@pytest.mark.parametrize(
  "model_type,suffix",
  [
    ("bert", "ForMultipleChoice"),
    ("roberta", "ForSequenceClassification"),
    ("xlm-roberta", "Model"),
  ],
)
def test_save_round_trip_through_transformers(
  model_type, suffix, make_hf_checkpoint, ragged_batch, torch_forward, tmp_path
):
  import transformers

  path, _ = make_hf_checkpoint(model_type, suffix)
  encoder, config, heads = hf.load_hf_model(path)
  out_dir = str(tmp_path / "saved")
  hf.save_hf_encoder(encoder, config, out_dir, heads=heads)
  reloaded = getattr(transformers, "AutoModel" if suffix == "Model" else "AutoModel" + suffix)
  reference = reloaded.from_pretrained(out_dir).eval()
  ids, mask, types = ragged_batch(model_type)
  hidden = encoder(ids, mask, types)
  if suffix == "Model":
    expected = torch_forward(reference, ids, mask, types).last_hidden_state
    assert np.max(np.abs(np.asarray(hidden) - expected.numpy())) <= 1e-5
    again, _ = hf.load_hf_encoder(out_dir)
    np.testing.assert_array_equal(again(ids, mask, types), hidden)
    return
  (head,) = heads.values()
  first = hidden[:, 0]
  features = encoder.pool(first) if head.input_kind == "pooled" else first
  if suffix == "ForMultipleChoice":  # the three rows are the choices of one example
    expected = torch_forward(reference, ids[None], mask[None], types[None]).logits[0]
  else:
    expected = torch_forward(reference, ids, mask, types).logits
  logits = head(features)
  assert np.max(np.abs(np.asarray(logits) - expected.numpy())) <= 1e-5


def test_save_rejects_several_heads(tmp_path):
  from mrc_jax.models.heads import MultipleChoiceHead, SpanHead

  encoder, config = random_encoder("bert")
  heads = {
    "a": SpanHead(config, rngs=nnx.Rngs(0)),
    "b": MultipleChoiceHead(config, rngs=nnx.Rngs(0)),
  }
  with pytest.raises(ValueError, match="one task head"):
    hf.save_hf_encoder(encoder, config, str(tmp_path), heads=heads)
