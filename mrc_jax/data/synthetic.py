"""Procedural multilingual reading tasks, built in so a smoke run needs no downloads.

Every example is a short passage of facts about a few people ("Alice lives in Paris. The
favourite colour of Alice is red.") and a question about one fact, so the answer can only
be read from the passage. Four task kinds share the passages, giving a small blend of
distinct tasks and heads for a toy pre-finetuning stage:

* ``synthetic.LANG``       4-way multiple choice; distractors are the other people's values
                           from the same passage, topped up from the language's word list,
                           so the answer needs the person bound to the value.
* ``synthetic_lookup.LANG`` 4-way multiple choice whose distractors are values of the asked
                           attribute that the passage never mentions: the answer is the one
                           option the passage states (lexical lookup, no binding). The
                           distractor_extraction attack then brings in passage spans as
                           distractors, which this task never has.
* ``synthetic_pair.LANG``  3-way sentence-pair classification of a claim against the
                           passage: 0 stated, 1 contradicted, 2 not mentioned.
* ``synthetic_span.LANG``  extractive QA: the answer's text and character offset.
* ``synthetic_summary.LANG`` generation for encoder-decoders: the passage's first sentence
                           (the lead-1 summary), so a decoder learns it by copying.

Example ``i`` of a split is a pure function of ``(seed, kind, lang, split, i)``, so a stream
can start at any position (exact resume) and the train split is infinite.
"""

from __future__ import annotations

import functools
import itertools
import os
from typing import Iterator

import numpy as np
import tokenizers
from tokenizers import models as tok_models
from tokenizers import normalizers, pre_tokenizers, processors

LANGS = ("en", "de", "ru", "zh", "ar", "hi")
KINDS = ("mc", "lookup", "pair", "span")
CHOICE_KINDS = ("mc", "lookup")
# Kinds only an encoder-decoder trains; kept out of KINDS (the encoder blends).
GENERATION_KINDS = ("summary",)
EXAMPLE_KIND = {
  "mc": "choice",
  "lookup": "choice",
  "pair": "classification",
  "span": "span",
  "summary": "generation",
}
TASK_PREFIX = {
  "mc": "synthetic",
  "lookup": "synthetic_lookup",
  "pair": "synthetic_pair",
  "span": "synthetic_span",
  "summary": "synthetic_summary",
}
SPLITS = ("train", "validation", "test")
# Finite evaluation splits; the train split never ends.
EVAL_SPLIT_SIZE = 1000
NUM_CHOICES = 4
PAIR_LABELS = ("stated", "contradicted", "not_mentioned")
ATTRIBUTES = ("city", "colour")
# People per passage: from one (two sentences) to four (eight). Short passages give a model
# trained from scratch an early, strong signal for matching options against the passage.
MIN_PEOPLE, MAX_PEOPLE = 1, 4

# Per language: people, values of each attribute, and the templates that state a fact
# and ask about it. Values are nominative forms that fit every template unchanged.
LEXICON = {
  "en": dict(
    names=["Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry", "Irene", "Jack"],
    city=[
      "Paris",
      "London",
      "Rome",
      "Madrid",
      "Lisbon",
      "Vienna",
      "Prague",
      "Dublin",
      "Oslo",
      "Athens",
    ],
    colour=["red", "blue", "green", "yellow", "black", "white", "purple", "orange"],
    fact=dict(city="{name} lives in {value}.", colour="The favourite colour of {name} is {value}."),
    ask=dict(city="Where does {name} live?", colour="What is the favourite colour of {name}?"),
    sep=" ",
  ),
  "de": dict(
    names=["Anna", "Lukas", "Mia", "Jonas", "Lea", "Felix", "Emma", "Paul", "Hannah", "Leon"],
    city=[
      "Berlin",
      "Hamburg",
      "München",
      "Köln",
      "Dresden",
      "Leipzig",
      "Bremen",
      "Hannover",
      "Stuttgart",
      "Bonn",
    ],
    colour=["rot", "blau", "grün", "gelb", "schwarz", "weiß", "lila", "orange"],
    fact=dict(city="{name} wohnt in {value}.", colour="Die Lieblingsfarbe von {name} ist {value}."),
    ask=dict(city="Wo wohnt {name}?", colour="Was ist die Lieblingsfarbe von {name}?"),
    sep=" ",
  ),
  "ru": dict(
    names=[
      "Анна",
      "Иван",
      "Мария",
      "Олег",
      "Ольга",
      "Павел",
      "Елена",
      "Сергей",
      "Ирина",
      "Дмитрий",
    ],
    city=["Москва", "Казань", "Самара", "Омск", "Томск", "Тула", "Пермь", "Сочи", "Курск", "Уфа"],
    colour=["красный", "синий", "зелёный", "жёлтый", "чёрный", "белый", "серый", "розовый"],
    fact=dict(
      city="{name} живёт в городе {value}.",
      colour="Любимый цвет человека по имени {name} — {value}.",
    ),
    ask=dict(
      city="В каком городе живёт {name}?", colour="Какой любимый цвет у человека по имени {name}?"
    ),
    sep=" ",
  ),
  "zh": dict(
    names=["李明", "王芳", "张伟", "刘洋", "陈静", "杨磊", "赵丽", "黄涛", "周杰", "吴敏"],
    city=["北京", "上海", "广州", "深圳", "成都", "杭州", "武汉", "西安", "南京", "重庆"],
    colour=["红色", "蓝色", "绿色", "黄色", "黑色", "白色", "紫色", "橙色"],
    fact=dict(city="{name}住在{value}。", colour="{name}最喜欢的颜色是{value}。"),
    ask=dict(city="{name}住在哪里？", colour="{name}最喜欢的颜色是什么？"),
    sep="",
  ),
  "ar": dict(
    names=["أحمد", "محمد", "علي", "عمر", "يوسف", "خالد", "حسن", "سامي", "كريم", "طارق"],
    city=["القاهرة", "دبي", "بيروت", "عمان", "تونس", "الرباط", "بغداد", "دمشق", "الرياض", "الدوحة"],
    colour=["الأحمر", "الأزرق", "الأخضر", "الأصفر", "الأسود", "الأبيض", "البرتقالي", "البنفسجي"],
    fact=dict(city="{name} يعيش في {value}.", colour="اللون المفضل لدى {name} هو {value}."),
    ask=dict(city="أين يعيش {name}؟", colour="ما هو اللون المفضل لدى {name}؟"),
    sep=" ",
  ),
  "hi": dict(
    names=["राहुल", "अमित", "विजय", "सुरेश", "अर्जुन", "रवि", "मोहन", "अनिल", "संजय", "करण"],
    city=["दिल्ली", "मुंबई", "कोलकाता", "चेन्नई", "जयपुर", "पुणे", "लखनऊ", "पटना", "भोपाल", "इंदौर"],
    colour=["लाल", "नीला", "हरा", "पीला", "काला", "सफ़ेद", "नारंगी", "बैंगनी"],
    fact=dict(city="{name} {value} में रहता है।", colour="{name} का पसंदीदा रंग {value} है।"),
    ask=dict(city="{name} कहाँ रहता है?", colour="{name} का पसंदीदा रंग क्या है?"),
    sep=" ",
  ),
}

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = range(len(SPECIAL_TOKENS))


def task_name(kind: str, lang: str) -> str:
  """The seqio task name of a synthetic kind and language, e.g. ``synthetic.de``."""
  return f"{TASK_PREFIX[kind]}.{lang}"


def _passage(rng: np.random.Generator, lex: dict) -> tuple[list[str], dict]:
  """Picks 1-4 people with distinct values per attribute; returns shuffled fact sentences."""
  num_people = int(rng.integers(MIN_PEOPLE, MAX_PEOPLE + 1))
  people = [lex["names"][i] for i in rng.choice(len(lex["names"]), num_people, replace=False)]
  facts = {
    attr: [lex[attr][i] for i in rng.choice(len(lex[attr]), num_people, replace=False)]
    for attr in ATTRIBUTES
  }
  sentences = [(name, attr) for name in people for attr in ATTRIBUTES]
  order = rng.permutation(len(sentences))
  return [sentences[i] for i in order], dict(people=people, facts=facts)


def _render(lex: dict, sentences, world) -> tuple[str, dict]:
  """Joins fact sentences; returns the text and each (name, attr) value's char offset."""
  text, offsets = "", {}
  for name, attr in sentences:
    value = world["facts"][attr][world["people"].index(name)]
    sentence = lex["fact"][attr].format(name=name, value=value)
    if text:
      text += lex["sep"]
    # The value follows the name in every template, so search after the name.
    name_at = sentence.index(name)
    offsets[(name, attr)] = len(text) + sentence.index(value, name_at + len(name))
    text += sentence
  return text, offsets


def _distractors(
  kind: str,
  rng: np.random.Generator,
  values: list[str],
  stated: list[str],
  answer: str,
  context: str,
) -> list[str]:
  """The wrong options of a choice kind: NUM_CHOICES - 1 values of the asked attribute."""
  if kind == "mc":
    # Hard distractors first: values of the other people in this passage.
    others = [v for v in stated if v != answer]
    rng.shuffle(others)
    pool = [v for v in values if v != answer and v not in others]
    rng.shuffle(pool)
    return (others + pool)[: NUM_CHOICES - 1]
  # lookup. A substring test, not a token test: it also leaves out values that only
  # occur inside a longer passage word (Омск in Томск), so no distractor is ever "stated".
  unstated = [v for v in values if v not in context]
  return [unstated[i] for i in rng.choice(len(unstated), NUM_CHOICES - 1, replace=False)]


def make_example(kind: str, lang: str, split: str, index: int, seed: int = 0) -> dict:
  """Example ``index`` of a task as a unified example dict (pure function of its args)."""
  every = KINDS + GENERATION_KINDS
  if kind not in every or lang not in LEXICON or split not in SPLITS:
    raise ValueError(f"unknown synthetic kind/lang/split: {kind!r}, {lang!r}, {split!r}")
  rng = np.random.default_rng(
    [
      seed,
      every.index(kind),
      LANGS.index(lang) if lang in LANGS else len(LANGS),
      SPLITS.index(split),
      index,
    ]
  )
  lex = LEXICON[lang]
  sentences, world = _passage(rng, lex)
  context, offsets = _render(lex, sentences, world)
  person = int(rng.integers(len(world["people"])))
  name = world["people"][person]
  attr = ATTRIBUTES[int(rng.integers(len(ATTRIBUTES)))]
  answer = world["facts"][attr][person]
  example = dict(
    id=f"{task_name(kind, lang)}-{split}-{index}",
    task=task_name(kind, lang),
    lang=lang,
    context=context,
    meta=dict(attribute=attr),
  )
  if kind == "summary":
    lead, _ = _render(lex, sentences[:1], world)
    example.update(question="", target_text=lead)
  elif kind in CHOICE_KINDS:
    distractors = _distractors(kind, rng, lex[attr], world["facts"][attr], answer, context)
    label = int(rng.integers(NUM_CHOICES))
    options = distractors[:label] + [answer] + distractors[label:]
    example.update(question=lex["ask"][attr].format(name=name), options=options, label=label)
  elif kind == "pair":
    label = int(rng.integers(len(PAIR_LABELS)))
    if label == 0:
      claim_name, value = name, answer
    elif label == 1:
      claim_name = name
      value = [v for v in lex[attr] if v != answer][int(rng.integers(len(lex[attr]) - 1))]
    else:
      absent = [n for n in lex["names"] if n not in world["people"]]
      claim_name = absent[int(rng.integers(len(absent)))]
      value = lex[attr][int(rng.integers(len(lex[attr])))]
    example.update(
      question=lex["fact"][attr].format(name=claim_name, value=value), options=[], label=label
    )
  else:
    example.update(
      question=lex["ask"][attr].format(name=name),
      answers=[dict(text=answer, start=offsets[(name, attr)])],
    )
  return example


def examples(kind: str, lang: str, split: str, seed: int = 0, start: int = 0) -> Iterator[dict]:
  """Examples from position ``start`` on: endless for train, EVAL_SPLIT_SIZE otherwise."""
  stop = None if split == "train" else EVAL_SPLIT_SIZE
  for index in itertools.islice(
    itertools.count(start), None if stop is None else max(stop - start, 0)
  ):
    yield make_example(kind, lang, split, index, seed)


def read(kind: str, lang: str, split, data_dir, strict, report, seed) -> Iterator[dict]:
  """A task reader (``tasks.Reader``) of the built-in data: generator seed 0, no files."""
  del data_dir, strict, report, seed  # procedural: nothing to read or skip, nothing perturbed
  for one in [split] if split else SPLITS[1:]:  # every finite split; train never ends
    yield from examples(kind, lang, one)


def example_at(kind: str, lang: str, split: str, index: int, seed: int) -> dict:
  return make_example(kind, lang, split, index, seed)


def num_classes(kind: str) -> int:
  """Output classes of a kind's head (span heads count positions; not fixed here)."""
  return NUM_CHOICES if kind in CHOICE_KINDS else {"pair": len(PAIR_LABELS)}[kind]


# --- Tokenizer -------------------------------------------------------------------------


def _normalizer():
  # Lower-cases, keeps diacritics (ü, ё, nukta) and puts spaces around CJK characters,
  # so Chinese is tokenised per character and every other script per word.
  return normalizers.BertNormalizer(
    clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=True
  )


@functools.lru_cache(maxsize=1)
def tokenizer() -> tokenizers.Tokenizer:
  """A word-level tokenizer over every word the generator can emit (built, not downloaded).

  Pairs are encoded BERT-style: ``[CLS] A [SEP] B [SEP]`` with token types 0 / 1.
  The vocabulary is sorted, so ids are stable across runs and machines.
  """
  normalizer, pre = _normalizer(), pre_tokenizers.BertPreTokenizer()
  words = set()
  for lex in LEXICON.values():
    texts = list(lex["names"]) + [v for a in ATTRIBUTES for v in lex[a]]
    texts += [t.format(name=" ", value=" ") for t in lex["fact"].values()]
    texts += [t.format(name=" ") for t in lex["ask"].values()]
    for text in texts:
      words.update(piece for piece, _ in pre.pre_tokenize_str(normalizer.normalize_str(text)))
  vocab = {tok: i for i, tok in enumerate(list(SPECIAL_TOKENS) + sorted(words))}
  tok = tokenizers.Tokenizer(tok_models.WordLevel(vocab, unk_token="[UNK]"))
  tok.normalizer = normalizer
  tok.pre_tokenizer = pre
  tok.post_processor = processors.TemplateProcessing(
    single="[CLS] $A [SEP]",
    pair="[CLS] $A [SEP] $B:1 [SEP]:1",
    special_tokens=[("[CLS]", CLS_ID), ("[SEP]", SEP_ID)],
  )
  return tok


def vocab_size() -> int:
  return tokenizer().get_vocab_size()


def save_tokenizer(directory: str) -> str:
  """Writes ``directory/tokenizer.json`` (loadable by ``vocab.load_tokenizer``)."""
  os.makedirs(directory, exist_ok=True)
  path = os.path.join(directory, "tokenizer.json")
  tokenizer().save(path)
  return path
