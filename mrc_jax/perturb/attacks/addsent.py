"""AddSent: distractor sentences in the passage's language, made from the question and a wrong
answer, inserted at seeded sentence boundaries.

Where the language asks in situ (interrogatives.py) the wrong answer takes the wh-phrase's
place; elsewhere it follows the question, AdvRACE's form. The question's entities are
swapped for others of the same type: months for months (ICU's names), numbers shifted, an
option it mentions for another option, and a named entity for another one of the passage,
found by capitalisation in cased scripts and, in caseless ones, as a passage chunk the
question repeats, replaced by a chunk of as many words that the passage puts next to the
same words, ranked by a span model (span_model=WORKDIR) or picked by the seed.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import regex

from mrc_jax.perturb import interrogatives, languages, months, resources, text, words
from mrc_jax.perturb.attacks.options import (
  has_gold_label,
  span_model_requirements,
  span_scorer,
)
from mrc_jax.perturb.edits import overlaps, replace_spans, shift_offset
from mrc_jax.perturb.registry import DEGRADED, FULL, Support, register

_CASED_SCRIPTS = {"Latn", "Cyrl", "Grek", "Armn"}
_CLAUSE_BREAK = regex.compile(r"[,;:]")
_CAPITALISED = regex.compile(r"^\p{Lu}\p{L}*$")
_NUMBER = regex.compile(r"\p{Nd}+")
# A number written in digits or Han numerals (四, 十二): an answer of the numeric type.
# Unicode's Numeric_Type=Numeric also gives 什 ("what") and 陆 ("land") a value, so the
# numerals in everyday use are listed.
_NUMERAL = regex.compile(r"[\p{Nd}〇零一二两三四五六七八九十百千万亿]+")
_MAX_SPAN_WORDS = 4
_MAX_UNSPACED_WORDS = 8  # ICU splits unknown names into single characters there
_ENOUGH_CANDIDATES = 8
# What may stand between two words of one name: spaces, hyphens, the middle dots of
# transliterated names (卡万·肖特, ジョン・スミス).
_INSIDE_NAME = regex.compile(r"[\s\p{Pd}·・]*")


class Chunk(NamedTuple):
  start: int
  end: int
  words: int
  before: str  # the word before it, casefolded ("" after punctuation)
  after: str


def _shift_number(digits: str, step) -> str:
  """Add 10..100 (AdvRACE's shift) and write the result in the same digit script."""
  zero = ord(digits[0]) - int(digits[0])
  value = int("".join(str(int(d)) for d in digits)) + step.rng.randint(10, 100)
  return "".join(chr(zero + int(d)) for d in str(value))


@functools.lru_cache(maxsize=64)  # a passage serves each of its questions
def _entities(source: str, lang: str) -> tuple[str, ...]:
  """Capitalised words not opening a sentence: a light proxy for named entities."""
  starts = {a for a, _ in text.sentence_spans(source, lang)}
  found = [
    source[a:b]
    for a, b in text.word_spans(source, lang)
    if a not in starts and _CAPITALISED.match(source[a:b])
  ]
  return tuple(dict.fromkeys(found))


def is_numeric(answer: str) -> bool:
  """Digits, or numeral letters for half the answer (四次, not the 万 of 卡万·肖特)."""
  if _NUMBER.search(answer):
    return True
  numerals = sum(map(len, _NUMERAL.findall(answer)))
  return numerals > 0 and 2 * numerals >= len(regex.sub(r"[\s\p{P}]", "", answer))


def is_cased(lang: str) -> bool:
  return languages.script(lang) in _CASED_SCRIPTS


def _dates_and_numbers(body: str, step) -> tuple[str, list[str]]:
  """Months swapped for other months and numbers shifted, digits inside a month (5月) only
  with their month."""
  found = months.month_spans(body, step.lang)
  replacements = [(a, b, months.other_month(step.lang, f, m, step.rng)) for a, b, f, m in found]
  ops = [f"month {body[a:b]!r}->{new!r}" for a, b, new in replacements]
  month_spans = [(a, b) for a, b, _ in replacements]
  numbers = [(a, b) for a, b in text.digit_runs(body) if not overlaps(a, b, month_spans)]
  replacements += [(a, b, _shift_number(body[a:b], step)) for a, b in numbers]
  if numbers:
    ops.append("numbers shifted")
  return replace_spans(body, replacements), ops


def _swap_option(body: str, options: list[str], step) -> tuple[str, list[str]]:
  """An option the question names, replaced by another option."""
  folded = body.casefold()
  named = [o for o in dict.fromkeys(options) if len(o.strip()) > 1 and o.casefold() in folded]
  others = [o for o in dict.fromkeys(options) if o.strip() and o not in named]
  if not named or not others:
    return body, []
  old, new = step.rng.choice(named), step.rng.choice(others)
  body = regex.sub(regex.escape(old), lambda _: new, body, count=1, flags=regex.IGNORECASE)
  return body, [f"option {old!r}->{new!r}"]


def _ranked(example: dict, spans: list[tuple[int, int]], step) -> list[tuple[int, int]]:
  """`spans` best first by the run's span scorer, or in seeded order without one."""
  scorer, _ = span_scorer(step)
  if scorer is None:
    spans = list(spans)
    step.rng.shuffle(spans)
    return spans
  scores = scorer(example, spans, step.lang)
  return [span for _, span in sorted(zip(scores, spans), key=lambda p: (-p[0], p[1]))]


def _swap_passage_span(body: str, example: dict, step, context_spans) -> tuple[str, list[str]]:
  """Caseless scripts: the longest chunk of the question the passage repeats (its entity,
  most often), replaced by a passage chunk of as many words, sharing none of the question's,
  that the passage uses in the same slot (next to a word the old one stands by):
  distributional evidence of the same type where no tagger is at hand. No such chunk, no
  swap."""
  lang, context = step.lang, example["context"]
  wh = interrogatives.wh_phrase(body, lang)
  shared = [
    (c.start, c.end)
    for c in chunks(body, lang)
    if body[c.start : c.end] in context and not (wh and overlaps(c.start, c.end, [wh]))
  ]
  if not shared:
    return body, []
  # The longest chunk: names and terms run longer than the verbs a question also repeats.
  longest = max(b - a for a, b in shared)
  a, b = step.rng.choice([(a, b) for a, b in shared if b - a == longest])
  old = body[a:b]
  slots = [(c.before, c.after) for c in context_spans if context[c.start : c.end] == old]
  befores, afters = {x for x, _ in slots} - {""}, {y for _, y in slots} - {""}
  length = len(text.word_spans(old, lang))
  question_words = {body[c:d].casefold() for c, d in text.word_spans(body, lang)}
  scored = {}
  for c in context_spans:
    same_slot = (c.before in befores) + (c.after in afters)
    if c.words != length or not same_slot or context[c.start : c.end] == old:
      continue
    chunk_words = text.word_spans(context[c.start : c.end], lang)
    if {context[c.start + x : c.start + y].casefold() for x, y in chunk_words} & question_words:
      continue
    scored[(c.start, c.end)] = max(scored.get((c.start, c.end), 0), same_slot)
  if not scored:
    return body, []
  best = max(scored.values())
  pool = sorted(span for span, score in scored.items() if score == best)
  c, d = _ranked({**example, "question": body}, pool, step)[0]
  new = context[c:d]
  return body[:a] + new + body[b:], [f"passage span {old!r}->{new!r}"]


def mutate_question(
  question: str, context: str, step, options=(), context_spans=None
) -> tuple[str, list[str]]:
  """The question with its months and numbers changed, an option it names or one entity
  swapped and its negation removed, each where it applies; and the list of what was done.

  AdvRACE also inserts a negation when nothing else applies; placing one needs a verb
  tagger for each language, so here negation is only removed."""
  lang = step.lang
  body = question.strip().rstrip(resources.QUESTION_MARKS).rstrip()
  body, ops = _dates_and_numbers(body, step)
  body, swapped = _swap_option(body, list(options), step)
  if not swapped and is_cased(lang):
    question_entities = _entities(body, lang)
    passage_entities = [e for e in _entities(context, lang) if e not in question_entities]
    if question_entities and passage_entities:
      old, new = step.rng.choice(question_entities), step.rng.choice(passage_entities)
      body = regex.sub(rf"\b{regex.escape(old)}\b", lambda _: new, body, count=1)
      swapped = [f"entity {old!r}->{new!r}"]
  elif not swapped and context:
    example = {"context": context, "question": body}
    spans = context_spans if context_spans is not None else chunks(context, lang)
    body, swapped = _swap_passage_span(body, example, step, spans)
  ops += swapped
  negated = negation_spans(body, lang)
  if negated:
    joiner = " " if text.uses_spaces(lang) else ""
    for a, b, whole_word in sorted(negated, reverse=True):
      body = body[:a].rstrip() + joiner + body[b:].lstrip() if whole_word else body[:a] + body[b:]
    body = body.strip()
    ops.append("negation removed")
  return body, ops


@functools.lru_cache(maxsize=64)
def chunks(source: str, lang: str) -> tuple[Chunk, ...]:
  """Each maximal run of content words, up to four (eight unspaced), that nothing but spaces
  separates: a shallow chunk between function words, digits and punctuation. In unspaced
  scripts ICU splits an unknown name into pieces (卡 万), so an n-gram of words would cut
  names; a run bounded by function words keeps them whole."""
  stopwords = resources.stopwords(lang)[0]
  longest = _MAX_SPAN_WORDS if text.uses_spaces(lang) else _MAX_UNSPACED_WORDS
  spans = text.word_spans(source, lang)
  found, run = [], []
  for i, (a, b) in enumerate(spans + [(len(source) + 1, len(source) + 1)]):
    content = b <= len(source) and source[a:b].casefold() not in stopwords
    if run and (not content or not _INSIDE_NAME.fullmatch(source[spans[run[-1]][1] : a])):
      first, last = run[0], run[-1]
      if len(run) <= longest:
        before = _neighbour(source, spans, first - 1, spans[first][0], before=True)
        after = _neighbour(source, spans, last + 1, spans[last][1], before=False)
        found.append(Chunk(spans[first][0], spans[last][1], len(run), before, after))
      run = []
    if content:
      run.append(i)
  return tuple(found)


def _neighbour(source: str, spans, index: int, edge: int, before: bool) -> str:
  """The word next to a chunk, casefolded; "" where punctuation or the text's edge is (a
  full stop says nothing of what stands after it)."""
  if not 0 <= index < len(spans):
    return ""
  gap = source[spans[index][1] : edge] if before else source[edge : spans[index][0]]
  return "" if gap.strip() else source[spans[index][0] : spans[index][1]].casefold()


def _elided(word: str, openers: frozenset[str]) -> int:
  """Length of an elided opener the word starts with (French n'a -> 2), else 0."""
  folded = word.casefold()
  return next(
    (len(o) for o in openers if o[-1] in "'’" and folded.startswith(o) and len(folded) > len(o)), 0
  )


def negation_spans(body: str, lang: str) -> list[tuple[int, int, bool]]:
  """(start, end, whole word) of the first negation of `body`: one word, or both parts of a
  two-part negation. Skipped: a negation word inside another expression (Arabic لا يزال
  "still"), and one closing the question after "or" or as its particle ("hay không?")."""
  rules = resources.negation(lang)
  spans = text.word_spans(body, lang)
  folded = [body[a:b].casefold() for a, b in spans]
  for i, (a, b) in enumerate(spans):
    elided = _elided(body[a:b], rules.openers)
    if folded[i] in rules.openers or elided:
      for j in range(i + 1, len(spans)):
        if _CLAUSE_BREAK.search(body[spans[j - 1][1] : spans[j][0]]):
          break
        if folded[j] in rules.closers:
          opener = (a, a + elided, False) if elided else (a, b, True)
          return [opener, (*spans[j], True)]
    if folded[i] not in rules.words:
      continue
    before, after = rules.not_negation.get(folded[i], (frozenset(), frozenset()))
    last = i == len(spans) - 1
    if (i and folded[i - 1] in before) or (not last and folded[i + 1] in after):
      continue
    if last and (folded[i] in rules.particles or (i and folded[i - 1] in rules.disjunctions)):
      continue  # "... or not?", or the question's particle
    return [(a, b, True)]
  return []


def _sentence(body: str, wh: tuple[int, int] | None, filler: str, lang: str) -> str:
  """The wrong answer in the wh-phrase's place `wh` (in situ), else body + filler (AdvRACE),
  closed by the language's full stop."""
  space = " " if text.uses_spaces(lang) else ""
  if "_" in body:  # a cloze question: the wrong option fills the blank
    sentence = regex.sub(r"_+", lambda _: filler, body, count=1)
  elif wh is not None:
    sentence = body[: wh[0]] + filler + body[wh[1] :]
  else:
    sentence = f"{body}{space}{filler}" if body else filler
  sentence = sentence.strip()
  end = resources.sentence_end(lang)
  if end.strip() and not regex.search(r"\p{P}$", sentence):
    sentence += end
  return sentence


def _same_type(gold: str, example: dict, step, context_spans) -> list[str]:
  """Fake answers of the gold answer's type, best first: the gold date with another month,
  other numbers of the passage, or (text) capitalised entities in cased scripts and
  passage spans of about the gold's length elsewhere, ranked by the span scorer if any."""
  lang, context = step.lang, example["context"]
  dated = months.month_spans(gold, lang)
  if dated:
    return [
      gold[: dated[0][0]] + name + gold[dated[0][1] :]
      for m, name in enumerate(months.month_forms(lang)[dated[0][2]])
      if m != dated[0][3]
    ]
  if is_numeric(gold):
    said = set(_NUMERAL.findall(gold))
    return [n for n in _NUMERAL.findall(context) if n not in said]
  if is_cased(lang) and span_scorer(step)[0] is None:
    return list(_entities(context, lang))
  length = max(1, len(text.word_spans(gold, lang)))
  pool = [(c.start, c.end) for c in context_spans if abs(c.words - length) <= 1]
  return [context[a:b] for a, b in _ranked(example, pool, step)]


def _wrong_answers(example: dict, step, context_spans) -> list[str]:
  if "options" in example:
    wrong = [o for i, o in enumerate(example["options"]) if i != example["label"] and o.strip()]
    step.rng.shuffle(wrong)
    return wrong
  # Extractive: AddSent's fake answer of the same type, then any other candidate.
  context, lang = example["context"], step.lang
  gold = example["answers"][0]["text"] if example["answers"] else ""
  first = list(dict.fromkeys(_same_type(gold, example, step, context_spans)))
  said = set(_NUMERAL.findall(gold))
  rest = [n for n in _NUMERAL.findall(context) if n not in said] + list(_entities(context, lang))
  if len(first) + len(rest) < _ENOUGH_CANDIDATES:  # content words only when short of any
    stopwords = resources.stopwords(lang)[0]
    rest += [context[a:b] for a, b in words.content_words(context, lang, 4, stopwords)]
  rest = [r for r in dict.fromkeys(rest) if r not in first]
  if span_scorer(step)[0] is None:
    step.rng.shuffle(first)
  step.rng.shuffle(rest)
  return first + rest


def addsent_support(lang: str) -> Support:
  applies, problems = [], []
  if interrogatives.rules(lang):
    applies.append("wh-phrase replaced by the wrong answer in situ")
  if not is_cased(lang):
    problems.append(
      "no capitalisation: the entity swapped is a passage chunk the question repeats, "
      "replaced by one of as many words that the passage puts next to the same words "
      "(span_model=WORKDIR ranks them)"
    )
  if not months.month_forms(lang):
    problems.append("no ICU month names: dates keep their month")
  if not resources.negation(lang):
    problems.append("no negation word list")
  return Support(DEGRADED if problems else FULL, "; ".join(applies + problems))


@register(
  "addsent",
  advrace="AddSent",
  description="insert distractor sentences made from the question (months and entities "
  "swapped for ones of the same type, numbers shifted, negation removed (never inserted)) "
  "and a wrong answer (same type as the answer for extractive tasks), the answer in the "
  "wh-phrase's place where the language asks in situ and after the question elsewhere "
  "(cloze blank filled), at seeded ICU sentence boundaries; never containing the gold "
  "answer. span_model=WORKDIR ranks passage spans for caseless entities and fake answers",
  params={"num_sentences": 2, "span_model": None, "scorer": None},
  support=addsent_support,
  requires=span_model_requirements,
)
def addsent(example, step):
  lang, context = step.lang, example["context"]
  if not resources.negation(lang):
    step.degrade(f"no negation word list for {lang!r}")
  if "answers" in example:
    gold = [a["text"] for a in example["answers"]]
  elif "options" in example and not has_gold_label(example):
    step.notes.append("no gold label: any option may be the answer, unchanged")
    return example
  elif "options" in example:
    gold = [example["options"][example["label"]]]
  else:
    gold = []
  gold_folded = [g.casefold() for g in gold if g.strip()]
  ranked = not is_cased(lang) or span_scorer(step)[0] is not None
  context_spans = chunks(context, lang) if ranked else ()
  wh = None
  if words.question_field(example) == "question":
    body, ops = mutate_question(
      example["question"], context, step, example.get("options", ()), context_spans
    )
    declared = interrogatives.declarative(body, lang)
    wh = interrogatives.wh_phrase(declared, lang)
    if wh is not None:
      ops.append(f"wh-phrase {declared[wh[0] : wh[1]]!r} replaced by the answer")
      body = declared
  else:
    body, ops = "", ["question is a fixed prompt: the wrong answer alone"]
  sentences = []
  for wrong in _wrong_answers(example, step, context_spans):
    sentence = _sentence(body, wh, wrong, lang)
    folded = sentence.casefold()
    if any(g in folded or folded in g for g in gold_folded) or sentence in sentences:
      continue
    sentences.append(sentence)
    if len(sentences) == int(step.params["num_sentences"]):
      break
  if not sentences:
    step.notes.append("no distractor sentence avoids the gold answer: unchanged")
    return example
  protected = words.answer_spans(example)
  bounds = sorted({0, len(context), *(a for a, _ in text.sentence_spans(context, lang))})
  bounds = [b for b in bounds if not overlaps(b, b, protected)]
  space = " " if text.uses_spaces(lang) or text.base_language(lang) == "th" else ""
  inserts: dict[int, str] = {}
  for sentence in sentences:
    at = step.rng.choice(bounds)
    if at == len(context):
      piece = ("" if not context or context[-1].isspace() else space) + sentence
    else:
      piece = sentence + space
    inserts[at] = inserts.get(at, "") + piece
    step.edit("context", at, at, "", piece.strip(), "insert sentence", made_by=ops)
  replacements = [(at, at, piece) for at, piece in inserts.items()]
  example["context"] = replace_spans(context, replacements)
  for answer in example.get("answers", []):
    answer["start"] = shift_offset(answer["start"], replacements)
  return example
