"""BART / mBART / T5 / mT5 against transformers + torch on tiny random checkpoints: logits,
the save round trip, greedy and beam decoding, the tokenizer, parameter axis names."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from mrc_jax.models import generation, hf, hf_seq2seq, teacher_forcing
from mrc_jax.models.seq2seq_tokenizer import Seq2SeqTokenizer
from tests.models import seq2seq_checkpoints as tiny

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

MODEL_TYPES = list(tiny.MODEL_TYPES)


def reference(path):
  return transformers.AutoModelForSeq2SeqLM.from_pretrained(path).eval()


def torch_logits(model, ids, mask, dec, dec_mask):
  with torch.no_grad():
    return model(
      input_ids=torch.tensor(ids, dtype=torch.long),
      attention_mask=torch.tensor(mask, dtype=torch.long),
      decoder_input_ids=torch.tensor(dec, dtype=torch.long),
      decoder_attention_mask=torch.tensor(dec_mask, dtype=torch.long),
    ).logits.numpy()


def decoder_batch(seed=1):
  rng = np.random.default_rng(seed)
  dec = rng.integers(4, tiny.VOCAB_SIZE, (4, 6)).astype(np.int32)
  dec_mask = np.ones_like(dec)
  dec_mask[1, 4:] = 0
  dec_mask[3, 2:] = 0
  return dec, dec_mask


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_logits_match_transformers(model_type, seq2seq_dir):
  path = seq2seq_dir(model_type)
  model, config = hf.load_hf_seq2seq(path)
  assert config.model_type == model_type
  assert config.pre_norm == (model_type != "bart")
  assert config.tie_word_embeddings == (model_type != "mt5")
  assert config.scale_decoder_outputs == (model_type == "t5")
  assert config.gated_mlp == (model_type == "mt5")
  ids, mask = tiny.ragged_batch(config.pad_token_id)
  dec, dec_mask = decoder_batch()
  expected = torch_logits(reference(path), ids, mask, dec, dec_mask)
  logits = np.asarray(model(ids, mask, dec, dec_mask))
  assert logits.shape == (4, 6, tiny.VOCAB_SIZE)
  # Positions the decoder mask hides are unspecified (both sides softmax a row of -inf).
  valid = dec_mask.astype(bool)
  assert np.abs(logits - expected)[valid].max() <= 1e-5


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_decode_step_matches_teacher_forcing(model_type, seq2seq_dir):
  """The cached one-position decoder gives the teacher-forced logits at every position."""
  model, config = hf.load_hf_seq2seq(seq2seq_dir(model_type))
  ids, mask = tiny.ragged_batch(config.pad_token_id)
  dec, _ = decoder_batch()
  full = np.asarray(model(ids, mask, dec))
  cache = model.init_cache(model.encode(ids, mask), mask, max_length=8)
  for position in range(dec.shape[1]):
    step_logits, cache = model.decode_step(jnp.asarray(dec[:, position]), position, cache)
    assert np.abs(np.asarray(step_logits) - full[:, position]).max() <= 1e-5


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_save_round_trip(model_type, seq2seq_dir, tmp_path):
  path = seq2seq_dir(model_type)
  model, config = hf.load_hf_seq2seq(path)
  hf.save_hf_seq2seq(model, str(tmp_path))
  reloaded = reference(str(tmp_path))
  ids, mask = tiny.ragged_batch(config.pad_token_id)
  dec, dec_mask = decoder_batch()
  valid = dec_mask.astype(bool)
  ours = np.asarray(model(ids, mask, dec, dec_mask))
  theirs = torch_logits(reloaded, ids, mask, dec, dec_mask)
  assert np.abs(ours - theirs)[valid].max() <= 1e-5
  assert (
    reloaded.lm_head.weight.data_ptr() == reloaded.get_input_embeddings().weight.data_ptr()
  ) == (model_type != "mt5")
  again, again_config = hf.load_hf_seq2seq(str(tmp_path))
  assert again_config == config
  for (name, a), (_, b) in zip(
    jax.tree_util.tree_leaves_with_path(nnx.state(model, nnx.Param)),
    jax.tree_util.tree_leaves_with_path(nnx.state(again, nnx.Param)),
  ):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=str(name))


GENERATION_SETTINGS = [
  dict(num_beams=1, min_new_tokens=4),
  dict(num_beams=4, length_penalty=0.6, min_new_tokens=3),
  dict(num_beams=2, early_stopping=True),
  dict(num_beams=3, early_stopping="never", length_penalty=1.5, num_return_sequences=2),
]


def fill_value(config, num_beams):
  # transformers fills greedy rows with the pad id and beams with `pad or eos`.
  if num_beams == 1:
    return config.pad_token_id
  return config.pad_token_id or config.eos_token_id


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_generate_matches_transformers(model_type, seq2seq_dir):
  path = seq2seq_dir(model_type, eos_boost=2.0)
  ref = reference(path)
  model, config = hf.load_hf_seq2seq(path)
  ids, mask = tiny.ragged_batch(config.pad_token_id, seed=2)
  ended_early = 0
  for index, settings in enumerate(GENERATION_SETTINGS):
    # A short limit (forced </s> at once) for greedy decoding, a long one for all.
    for max_new_tokens in (5, 12) if index == 0 else (12,):
      with torch.no_grad():
        expected = ref.generate(
          input_ids=torch.tensor(ids, dtype=torch.long),
          attention_mask=torch.tensor(mask, dtype=torch.long),
          do_sample=False,
          max_new_tokens=max_new_tokens,
          **settings,
        ).numpy()
      out = np.asarray(
        generation.generate(model, ids, mask, max_new_tokens=max_new_tokens, **settings)
      )
      label = f"{settings} max_new_tokens={max_new_tokens}"
      assert out.shape == (4 * settings.get("num_return_sequences", 1), 1 + max_new_tokens), label
      np.testing.assert_array_equal(out[:, : expected.shape[1]], expected, err_msg=label)
      assert (out[:, expected.shape[1] :] == fill_value(config, settings["num_beams"])).all(), label
      body = out[:, 1:-1]
      ended_early += int((body == config.eos_token_id).any())
  # The comparison covers hypotheses that finish before the length limit. (T5's tied head
  # gives no way to favour </s> in a random model; the other three share its decoding code.)
  if model_type != "t5":
    assert ended_early >= 3


def test_generate_forced_tokens_follow_the_config(seq2seq_dir):
  """BART's config forces the last token to be </s>; forced_bos_token_id the first."""
  model, config = hf.load_hf_seq2seq(seq2seq_dir("bart"))
  assert config.forced_eos_token_id == config.eos_token_id
  ids, mask = tiny.ragged_batch(config.pad_token_id)
  out = np.asarray(generation.generate(model, ids, mask, max_new_tokens=4, forced_bos_token_id=7))
  assert (out[:, 1] == 7).all()
  last = out[:, -1]
  assert ((last == config.eos_token_id) | (last == config.pad_token_id)).all()
  free = np.asarray(
    generation.generate(model, ids, mask, max_new_tokens=4, forced_eos_token_id=None)
  )
  assert not (free[:, -1] == config.eos_token_id).all()


def test_generate_rejects_bad_arguments(seq2seq_dir):
  model, config = hf.load_hf_seq2seq(seq2seq_dir("t5"))
  ids, mask = tiny.ragged_batch(config.pad_token_id)
  with pytest.raises(ValueError, match="num_return_sequences"):
    generation.generate(model, ids, mask, max_new_tokens=3, num_beams=2, num_return_sequences=3)
  with pytest.raises(ValueError, match="early_stopping"):
    generation.generate(model, ids, mask, max_new_tokens=3, num_beams=2, early_stopping="sometimes")


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_every_parameter_has_axis_names(model_type, seq2seq_dir):
  model, _ = hf.load_hf_seq2seq(seq2seq_dir(model_type))
  specs = nnx.get_partition_spec(nnx.state(model, nnx.Param))
  leaves = jax.tree_util.tree_leaves_with_path(specs, is_leaf=lambda x: isinstance(x, nnx.Param))
  shapes = jax.tree_util.tree_leaves(nnx.state(model, nnx.Param))
  assert len(leaves) == len(shapes) > 20
  for (path, spec), value in zip(leaves, shapes):
    spec = spec.value
    assert isinstance(spec, jax.sharding.PartitionSpec) and len(spec) == value.ndim, path
    assert any(name is not None for name in spec), path
    if value.ndim >= 3:
      assert spec[0] == "layers", path


@pytest.mark.parametrize("model_type", ["bart", "mt5"])
def test_bfloat16_compute(model_type, seq2seq_dir):
  path = seq2seq_dir(model_type)
  model32, config = hf.load_hf_seq2seq(path)
  model16, _ = hf.load_hf_seq2seq(path, dtype="bfloat16")
  ids, mask = tiny.ragged_batch(config.pad_token_id)
  dec, _ = decoder_batch()
  a, b = np.asarray(model32(ids, mask, dec)), np.asarray(model16(ids, mask, dec))
  assert b.dtype == np.float32  # logits are float32 whatever the compute dtype
  scale = np.abs(a).max()
  assert 0 < np.abs(a - b).max() <= 0.05 * scale
  out = np.asarray(generation.generate(model16, ids, mask, max_new_tokens=4, num_beams=2))
  assert out.shape == (4, 5)


def test_dropout_is_a_function_of_the_key(seq2seq_dir):
  model, config = hf.load_hf_seq2seq(seq2seq_dir("bart"), hidden_dropout=0.3, attention_dropout=0.2)
  ids, mask = tiny.ragged_batch(config.pad_token_id)
  dec, _ = decoder_batch()
  with pytest.raises(ValueError, match="dropout_key"):
    model(ids, mask, dec, deterministic=False)
  key = jax.random.key(3)
  one = np.asarray(model(ids, mask, dec, deterministic=False, dropout_key=key))
  two = np.asarray(model(ids, mask, dec, deterministic=False, dropout_key=key))
  other = np.asarray(model(ids, mask, dec, deterministic=False, dropout_key=jax.random.key(4)))
  clean = np.asarray(model(ids, mask, dec))
  np.testing.assert_array_equal(one, two)
  assert np.abs(one - other).max() > 1e-3 and np.abs(one - clean).max() > 1e-3


@pytest.mark.parametrize("model_type", ["bart", "t5"])
def test_tokenizer_matches_transformers(model_type, seq2seq_dir):
  path = seq2seq_dir(model_type)
  ours = Seq2SeqTokenizer(path)
  theirs = transformers.PreTrainedTokenizerFast(tokenizer_file=f"{path}/tokenizer.json")
  texts = ["the teacher went to school", "she found a red book in the park because", "zebra"]
  for text in texts:
    assert ours.encode(text) == theirs(text)["input_ids"]
  pad = 1 if model_type == "bart" else 0
  ids, mask = ours.batch(texts, max_length=5, pad_id=pad, pad_to=7)
  expected = theirs(texts, truncation=True, max_length=5)["input_ids"]
  for row, want in enumerate(expected):
    assert ids[row, : len(want)].tolist() == want and mask[row].sum() == len(want)
    assert (ids[row, len(want) :] == pad).all()
  assert ours.decode(ours.encode(texts[0])) == texts[0]


def test_inputs_beyond_the_position_table_are_refused(seq2seq_dir):
  model, config = hf.load_hf_seq2seq(seq2seq_dir("bart"))
  ids = np.full((1, config.max_position_embeddings + 1), 5, np.int32)
  with pytest.raises(ValueError, match="exceeds the 64 positions"):
    model.encode(ids, np.ones_like(ids))
  with pytest.raises(ValueError, match="exceeds the 64 positions"):
    generation.generate(model, ids[:, :8], np.ones((1, 8), np.int32), max_new_tokens=64)


@pytest.mark.parametrize("model_type", ["bart", "mbart"])
@pytest.mark.parametrize("suffix", ["ForSequenceClassification", "ForQuestionAnswering"])
def test_task_heads_match_transformers(model_type, suffix, tmp_path):
  from mrc_jax.models import hf_seq2seq, seq2seq_heads

  torch.manual_seed(0)
  prefix = {"bart": "Bart", "mbart": "MBart"}[model_type]
  config = getattr(transformers, prefix + "Config")(
    vocab_size=tiny.VOCAB_SIZE,
    d_model=32,
    encoder_layers=2,
    decoder_layers=2,
    encoder_attention_heads=4,
    decoder_attention_heads=4,
    encoder_ffn_dim=48,
    decoder_ffn_dim=48,
    max_position_embeddings=64,
    num_labels=3,
  )
  reference = getattr(transformers, prefix + suffix)(config).eval()
  with torch.no_grad():
    for name, p in reference.named_parameters():
      if name.endswith("bias"):
        p.normal_(0.0, 0.2)
  reference.save_pretrained(str(tmp_path))
  model, loaded, heads = hf_seq2seq.load_with_heads(str(tmp_path))
  ids, mask = tiny.ragged_batch(loaded.pad_token_id)
  lengths = mask.sum(-1)
  ids[ids == loaded.eos_token_id] = 5
  ids[np.arange(4), lengths - 1] = loaded.eos_token_id  # one </s> per row, after its text
  with torch.no_grad():
    expected = reference(
      input_ids=torch.tensor(ids, dtype=torch.long),
      attention_mask=torch.tensor(mask, dtype=torch.long),
    )
  states = seq2seq_heads.decoder_states(model, ids, mask)
  if suffix == "ForSequenceClassification":
    (head,) = heads.values()
    assert list(heads) == ["sequence_classification"] and head.num_labels == 3
    logits = head(seq2seq_heads.last_eos_states(states, ids, loaded.eos_token_id))
    assert np.abs(np.asarray(logits) - expected.logits.numpy()).max() <= 1e-5
  else:
    start, end = heads["question_answering"](states)
    valid = mask.astype(bool)
    assert np.abs(np.asarray(start) - expected.start_logits.numpy())[valid].max() <= 1e-5
    assert np.abs(np.asarray(end) - expected.end_logits.numpy())[valid].max() <= 1e-5
  plain, _ = hf.load_hf_seq2seq(str(tmp_path))  # the model alone, its head left out
  np.testing.assert_array_equal(np.asarray(plain.shared[...]), np.asarray(model.shared[...]))


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_teacher_forced_loss_and_gradients_match_transformers(model_type, seq2seq_dir):
  path = seq2seq_dir(model_type)
  ref = reference(path)
  model, config = hf.load_hf_seq2seq(path)
  ids, mask = tiny.ragged_batch(config.pad_token_id)
  rng = np.random.default_rng(5)
  labels = rng.integers(4, tiny.VOCAB_SIZE, (4, 7)).astype(np.int32)
  labels[1, 5:] = teacher_forcing.IGNORE
  labels[3, 2:] = teacher_forcing.IGNORE
  labels[[0, 2], -1] = config.eos_token_id
  expected = ref(
    input_ids=torch.tensor(ids, dtype=torch.long),
    attention_mask=torch.tensor(mask, dtype=torch.long),
    labels=torch.tensor(labels, dtype=torch.long),
  ).loss
  expected.backward()
  graphdef, params = nnx.split(model, nnx.Param)

  def loss_fn(params):
    m = nnx.merge(graphdef, params)
    logits = m(ids, mask, teacher_forcing.decoder_inputs(config, labels))
    return teacher_forcing.mean_loss(logits, labels)

  loss, grads = jax.value_and_grad(loss_fn)(params)
  assert abs(float(loss) - float(expected.detach())) <= 1e-5
  ours = hf_seq2seq.to_hf_tensors(nnx.merge(graphdef, grads))
  theirs = {name: p.grad.numpy() for name, p in ref.named_parameters() if p.grad is not None}
  # Tied copies are one tensor in torch; final_logits_bias is a torch buffer (no gradient).
  compared = 0
  for name, grad in theirs.items():
    if name not in ours:
      continue
    scale = max(1e-3, float(np.abs(grad).max()))
    assert np.abs(ours[name] - grad).max() <= 1e-4 * scale, name
    compared += 1
  assert compared >= len(ours) - 2, sorted(set(ours) - set(theirs))
