"""The encoder-decoder multi-task model on rows + examples batches, head by head against the
transformers classes that attach the same heads (BartForSequenceClassification for
classification and, with one label per choice row, multiple choice; BartForQuestionAnswering;
the generation classes' `labels=` loss), and its Hugging Face export."""

import logging

import jax
import numpy as np
import pytest
from flax import nnx

from mrc_jax.data import features
from mrc_jax.data.vocab import load_tokenizer
from mrc_jax.models import families, head_kinds, hf
from mrc_jax.models.multitask import HeadSpec
from mrc_jax.train import input_pipeline

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

SPECS = (
  HeadSpec("cls", "classification", 3),
  HeadSpec("mc", "multiple_choice"),
  HeadSpec("span", "span"),
  HeadSpec("gen", "generation"),
)
EXAMPLES = [
  dict(
    id="c0",
    task="cls",
    lang="en",
    context="the teacher went to school in the morning",
    question="she was happy",
    options=[],
    label=2,
  ),
  dict(
    id="m0",
    task="mc",
    lang="en",
    context="his family took the train to the city",
    question="they went to the",
    options=["city", "river park", "mountain"],
    label=0,
  ),
  dict(
    id="s0",
    task="span",
    lang="en",
    context="the student read a book at home",
    question="what did the student read",
    answers=[{"text": "a book", "start": 17}],
  ),
  dict(
    id="g0",
    task="gen",
    lang="en",
    context="the old teacher told the students to help their friends every day",
    question="",
    target_text="the teacher told students to help",
  ),
]
LENGTH = 24


def _model_and_batch(path):
  seq2seq, config = hf.load_hf_seq2seq(path)
  model = families.build(config, SPECS, rngs=nnx.Rngs(1))
  model.seq2seq = seq2seq
  # Random head weights (biases included), so that a transposed or swapped one shows.
  state = nnx.state(model.heads, nnx.Param)
  keys = iter(jax.random.split(jax.random.key(3), 32))
  state = jax.tree.map(lambda x: 0.3 * jax.random.normal(next(keys), x.shape), state)
  nnx.update(model.heads, state)
  tokenizer = load_tokenizer(path)
  ((batch, meta),) = list(
    features.make_batches(
      EXAMPLES,
      tokenizer,
      task_index={s.name: i for i, s in enumerate(SPECS)},
      head_index={s.name: i for i, s in enumerate(SPECS)},
      num_classes={"cls": 3},
      examples_per_batch=4,
      rows_per_batch=8,
      lengths=(LENGTH,),
      max_choices=3,
      pack=False,
      decoder=input_pipeline.decoder_layout(config),
    )
  )
  return model, batch, meta


def _row(batch, slot, choice=0):
  row = batch["pool_row"][slot, choice]
  ids = torch.as_tensor(batch["input_ids"][row : row + 1], dtype=torch.long)
  mask = torch.as_tensor((batch["segment_ids"][row : row + 1] > 0), dtype=torch.long)
  return row, ids, mask


def _set(linear, kernel, bias):
  with torch.no_grad():
    linear.weight.copy_(torch.as_tensor(np.array(kernel[...]).T))
    linear.bias.copy_(torch.as_tensor(np.array(bias[...])))


def _classifier(path, head, num_labels):
  model = transformers.BartForSequenceClassification.from_pretrained(path, num_labels=num_labels)
  _set(model.classification_head.dense, head.dense_kernel, head.dense_bias)
  _set(model.classification_head.out_proj, head.out_kernel, head.out_bias)
  return model.eval()


def test_bart_heads_match_the_transformers_classes(seq2seq_dir):
  path = seq2seq_dir("bart")
  model, batch, meta = _model_and_batch(path)
  assert [m["kind"] for m in meta] == ["classification", "choice", "span", "generation"]
  outputs = model(batch)

  classifier = _classifier(path, model.heads["cls"], 3)
  _, ids, mask = _row(batch, 0)
  with torch.no_grad():
    expected = classifier(input_ids=ids, attention_mask=mask).logits.numpy()[0]
  np.testing.assert_allclose(np.asarray(outputs["cls"][0]), expected, atol=1e-5)

  scorer = _classifier(path, model.heads["mc"], 1)
  for choice in range(3):
    _, ids, mask = _row(batch, 1, choice)
    with torch.no_grad():
      expected = scorer(input_ids=ids, attention_mask=mask).logits.numpy()[0, 0]
    np.testing.assert_allclose(float(outputs["mc"][1, choice]), expected, atol=1e-5)

  qa = transformers.BartForQuestionAnswering.from_pretrained(path).eval()
  head = model.heads["span"]
  _set(qa.qa_outputs, head.kernel, head.bias)
  _, ids, mask = _row(batch, 2)
  real = int(mask.sum())
  with torch.no_grad():
    out = qa(input_ids=ids, attention_mask=mask)
  start, end = (np.asarray(x[2]) for x in outputs["span"])
  np.testing.assert_allclose(start[:real], out.start_logits.numpy()[0, :real], atol=1e-5)
  np.testing.assert_allclose(end[:real], out.end_logits.numpy()[0, :real], atol=1e-5)
  assert (start[real:] < -1e30).all()  # padding positions are never an answer

  losses, _ = head_kinds.get("generation").loss(outputs["gen"], batch)
  _assert_generation_loss(transformers.BartForConditionalGeneration, path, batch, 3, losses[3])


@pytest.mark.parametrize("model_type", ["mt5", "mbart"])
def test_generation_loss_matches_transformers_labels_loss(seq2seq_dir, model_type):
  path = seq2seq_dir(model_type)
  model, batch, meta = _model_and_batch(path)
  losses, correct = head_kinds.get("generation").loss(model(batch)["gen"], batch)
  cls = {"mt5": "MT5ForConditionalGeneration", "mbart": "MBartForConditionalGeneration"}
  _assert_generation_loss(getattr(transformers, cls[model_type]), path, batch, 3, losses[3])
  assert not bool(correct[3])  # a random model does not copy the target


def _assert_generation_loss(model_class, path, batch, slot, ours):
  torch_model = model_class.from_pretrained(path).eval()
  row, ids, mask = _row(batch, slot)
  labels = torch.as_tensor(batch["decoder_labels"][row : row + 1], dtype=torch.long)
  assert int((labels != features.IGNORE).sum()) > 3
  with torch.no_grad():
    expected = torch_model(input_ids=ids, attention_mask=mask, labels=labels).loss.item()
  np.testing.assert_allclose(float(ours), expected, rtol=1e-5)


@pytest.mark.parametrize("model_type", ["bart", "mt5"])
def test_r3f_noise_perturbs_the_encoder_input_only_when_nonzero(seq2seq_dir, model_type):
  model, batch, _ = _model_and_batch(seq2seq_dir(model_type))
  clean = jax.tree.leaves(model(batch))
  rows, length = batch["input_ids"].shape
  zeros = np.zeros((rows, length, model.config.d_model), np.float32)
  noise = 1e-2 * np.random.default_rng(0).standard_normal(zeros.shape).astype(np.float32)
  for a, b in zip(clean, jax.tree.leaves(model(dict(batch, embedding_noise=zeros)))):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  clean, noised = model(batch), model(dict(batch, embedding_noise=noise))
  for name, part in (("cls", None), ("mc", None), ("span", 0), ("gen", 0)):
    a, b = (out[name] if part is None else out[name][part] for out in (clean, noised))
    assert not np.allclose(np.asarray(a), np.asarray(b)), name


def test_t5_tokenizer_template_and_decoder_layout(seq2seq_dir):
  from tokenizers import Tokenizer

  path = seq2seq_dir("mt5")
  tokenizer = load_tokenizer(path)
  assert tokenizer.style == "t5" and tokenizer.cls_id is None
  reference = Tokenizer.from_file(f"{path}/tokenizer.json")
  text = "the students went home"
  ids, _ = tokenizer.build_pair(tokenizer.encode(text))
  assert ids == reference.encode(text).ids  # `A </s>`
  _, batch, _ = _model_and_batch(path)
  row = batch["pool_row"][3, 0]
  assert batch["decoder_input_ids"][row, 0] == 0  # mT5 starts decoding from <pad>


def test_export_writes_classes_transformers_loads(seq2seq_dir, tmp_path, caplog):
  path = seq2seq_dir("bart")
  model, batch, _ = _model_and_batch(path)
  outputs = model(batch)
  with caplog.at_level(logging.WARNING):
    paths = hf.export_seq2seq_heads(model, ["cls", "mc", "span", "gen"], str(tmp_path), path)
  assert [p.rsplit("/", 1)[1] for p in paths] == ["cls", "span", "gen"]
  assert "'mc' (multiple_choice) has no transformers bart class" in caplog.text

  exported = transformers.BartForSequenceClassification.from_pretrained(paths[0]).eval()
  _, ids, mask = _row(batch, 0)
  with torch.no_grad():
    logits = exported(input_ids=ids, attention_mask=mask).logits.numpy()[0]
  np.testing.assert_allclose(np.asarray(outputs["cls"][0]), logits, atol=1e-5)
  _, _, heads = hf.load_hf_seq2seq_with_heads(paths[1])
  np.testing.assert_array_equal(
    np.asarray(heads["question_answering"].kernel[...]), np.asarray(model.heads["span"].kernel[...])
  )
  losses, _ = head_kinds.get("generation").loss(outputs["gen"], batch)
  _assert_generation_loss(transformers.BartForConditionalGeneration, paths[2], batch, 3, losses[3])
  assert load_tokenizer(paths[2]).vocab_size == load_tokenizer(path).vocab_size


def test_heads_read_the_last_end_of_sequence_state_only():
  from mrc_jax.models.seq2seq import Seq2SeqConfig

  config = Seq2SeqConfig(vocab_size=50, d_model=16, num_heads=2, head_dim=8, d_ff=32)
  with pytest.raises(ValueError, match="last end-of-sequence"):
    families.build(config, [HeadSpec("c", "classification", 2, "mean")], rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="needs an encoder-decoder"):
    families.build(
      families.from_fields(dict(model_type="bert", vocab_size=50)),
      [HeadSpec("g", "generation")],
      rngs=nnx.Rngs(0),
    )
