"""multilingual-e5-small's tokenizer.json (XLM-R's SentencePiece vocabulary under a BERT
model) gives transformers' AutoTokenizer ids, token types and offsets on real text of every
shared language."""

import json
import os
import random

import pytest
import transformers

from configs import common
from mrc_jax.data import load_examples
from mrc_jax.data.vocab import load_tokenizer

XQUAD_LANGS = ("ar", "de", "en", "es", "ru", "tr", "vi", "zh")
XCOPA_LANGS = ("et", "ht", "id", "it", "qu", "sw", "tr", "vi", "zh")
EXAMS_LANGS = ("bg", "hu", "it", "pl", "pt", "tr")
# Outer whitespace: SentencePiece drops it, a bare Metaspace pre-tokenizer would not.
VARIANTS = (lambda t: t, lambda t: t + " ", lambda t: t + "\n", lambda t: "  " + t)


def me5_dir() -> str:
  path = common.checkpoint_dir("me5-small")
  if not os.path.isfile(os.path.join(path, "tokenizer.json")):
    pytest.skip(f"{path} is absent; build it with make_multilingual_e5_small.py")
  return path


@pytest.fixture(scope="module")
def tokenizers():
  """(the project's tokenizer, transformers' AutoTokenizer) of the same directory."""
  path = me5_dir()
  return load_tokenizer(path), transformers.AutoTokenizer.from_pretrained(path)


def sample(texts, count: int) -> list[str]:
  """``count`` distinct texts, a fixed seeded choice."""
  distinct = sorted(set(texts))
  random.Random(0).shuffle(distinct)
  return distinct[:count]


def assert_matches_hf(ours, reference, texts: list[str]) -> int:
  """Ids and offsets of every whitespace variant of ``texts``, and ids and token types of
  pairs of them, against ``reference``; returns the number of texts compared."""
  variants = [variant(text) for text in texts for variant in VARIANTS]
  expected = reference(variants, add_special_tokens=False, return_offsets_mapping=True)
  for text, (ids, offsets), hf_ids, hf_offsets in zip(
    variants,
    ours.encode_batch_with_offsets(variants),
    expected["input_ids"],
    expected["offset_mapping"],
  ):
    assert ids == hf_ids, text
    assert [tuple(o) for o in offsets] == [tuple(o) for o in hf_offsets], text
    # Spans are whitespace-free pieces of the text: outer whitespace is in none.
    assert all(
      start < end and text[start:end] == text[start:end].strip() for start, end in offsets
    ), text
  seconds = variants[1::7][::-1]
  firsts = variants[::7][: len(seconds)]
  pairs = reference(firsts, seconds, return_token_type_ids=True)
  for first, second, hf_ids, hf_types in zip(
    firsts, seconds, pairs["input_ids"], pairs["token_type_ids"]
  ):
    ids, types = ours.build_pair(ours.encode(first), ours.encode(second))
    assert (ids, types) == (hf_ids, hf_types), (first, second)
    assert ours(first, second) == hf_ids
  singles = reference(firsts, return_token_type_ids=True)
  for text, hf_ids, hf_types in zip(firsts, singles["input_ids"], singles["token_type_ids"]):
    assert ours.build_pair(ours.encode(text)) == (hf_ids, hf_types)
  return len(texts)


def test_special_tokens_and_template_are_xlmr(tokenizers):
  ours, reference = tokenizers
  assert ours.style == "roberta" and ours.num_special_tokens_pair == 4
  assert (
    (ours.cls_id, ours.pad_id, ours.sep_id, ours.unk_id)
    == (0, 1, 2, 3)
    == (
      reference.cls_token_id,
      reference.pad_token_id,
      reference.sep_token_id,
      reference.unk_token_id,
    )
  )
  assert ours.vocab_size == len(reference) == 250002
  ids, types = ours.build_pair([10, 11], [12])
  assert ids == [0, 10, 11, 2, 2, 12, 2] and types == [0] * 7
  edge = [
    "",
    " ",
    "\n",
    "a\u3000\u3000b",
    "x\xa0\xa0y  z",
    "tab\t\tsep",
    "ｆｕｌｌ　ｗｉｄｔｈ１２",
    "e\u0301te\u0301",
    "zero\u200bwidth",
    "🙂  🙂",
    "<s> literal </s> and <mask>",
    "ﬁne ﬂow Ⅻ ㎏",
    "line\r\nbreak",
    "trail\u3000",
    "İstanbul ß ǅ",
    "a  \n  b",
  ]
  for text in edge:
    expected = reference(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = ours.encode_with_offsets(text)
    assert ids == expected["input_ids"], text
    assert [tuple(o) for o in offsets] == [tuple(o) for o in expected["offset_mapping"]], text


@pytest.mark.integration
def test_xquad_contexts_and_questions_match_hf(tokenizers, real_data_dir):
  ours, reference = tokenizers
  for lang in XQUAD_LANGS:
    examples = list(load_examples(f"xquad.{lang}", "test", real_data_dir))
    texts = sample([e["context"] for e in examples], 40) + sample(
      [e["question"] for e in examples], 200
    )
    assert assert_matches_hf(ours, reference, texts) == 240, lang


@pytest.mark.integration
def test_xcopa_premises_and_choices_match_hf(tokenizers, real_data_dir):
  ours, reference = tokenizers
  for lang in XCOPA_LANGS:
    examples = [
      e
      for split in ("validation", "test")
      for e in load_examples(f"xcopa.{lang}", split, real_data_dir)
    ]
    texts = sample(
      [e["context"] for e in examples] + [o for e in examples for o in e["options"]], 300
    )
    assert assert_matches_hf(ours, reference, texts) == 300, lang


@pytest.mark.integration
def test_exams_paragraphs_questions_and_options_match_hf(tokenizers, real_data_dir):
  ours, reference = tokenizers
  for lang in EXAMS_LANGS:
    examples = list(load_examples(f"exams.{lang}", "validation", real_data_dir))
    # The paragraphs are long (thousands of characters): a few cover every script path.
    texts = sample([e["context"] for e in examples], 8) + sample(
      [e["question"] for e in examples] + [o for e in examples for o in e["options"]], 200
    )
    assert assert_matches_hf(ours, reference, texts) == 208, lang


@pytest.mark.integration
def test_dream_dialogues_questions_and_choices_match_hf(tokenizers, real_data_dir):
  ours, reference = tokenizers
  with open(os.path.join(real_data_dir, "dream", "data", "dev.json"), encoding="utf-8") as f:
    dialogues = json.load(f)  # [[turns, [{question, choice, answer}], id], ...]
  turns = [turn for turns, _, _ in dialogues for turn in turns]
  questions = [q["question"] for _, qs, _ in dialogues for q in qs]
  choices = [c for _, qs, _ in dialogues for q in qs for c in q["choice"]]
  texts = sample(turns, 200) + sample(questions + choices, 200)
  assert assert_matches_hf(ours, reference, texts) == 400
