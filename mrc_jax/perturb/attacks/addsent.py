"""AddSent: distractor sentences in the passage's language, made from the question and a wrong
answer, inserted at seeded sentence boundaries."""

from __future__ import annotations

import regex

from mrc_jax.perturb import languages, resources, text, words
from mrc_jax.perturb.attacks.options import has_gold_label
from mrc_jax.perturb.edits import overlaps, replace_spans, shift_offset
from mrc_jax.perturb.registry import DEGRADED, FULL, Support, register

_CASED_SCRIPTS = {"Latn", "Cyrl", "Grek", "Armn"}
_CLAUSE_BREAK = regex.compile(r"[,;:]")
_CAPITALISED = regex.compile(r"^\p{Lu}\p{L}*$")
_NUMBER = regex.compile(r"\p{Nd}+")


def _shift_number(match, step) -> str:
  """Add 10..100 (AdvRACE's shift) and write the result in the same digit script."""
  digits = match.group()
  zero = ord(digits[0]) - int(digits[0])
  value = int("".join(str(int(d)) for d in digits)) + step.rng.randint(10, 100)
  return "".join(chr(zero + int(d)) for d in str(value))


def _entities(source: str, lang: str) -> list[str]:
  """Capitalised words not opening a sentence: a light proxy for named entities."""
  starts = {a for a, _ in text.sentence_spans(source, lang)}
  found = [
    source[a:b]
    for a, b in text.word_spans(source, lang)
    if a not in starts and _CAPITALISED.match(source[a:b])
  ]
  return list(dict.fromkeys(found))


def mutate_question(question: str, context: str, step) -> tuple[str, list[str]]:
  """The question with its numbers shifted, one entity swapped for another entity of the
  passage and its negation removed, each where it applies; and the list of what was done.

  AdvRACE also inserts a negation when nothing else applies; placing one needs a verb
  tagger for each language, so here negation is only removed."""
  ops, lang = [], step.lang
  body = question.strip().rstrip(resources.QUESTION_MARKS).rstrip()
  if _NUMBER.search(body):
    body = _NUMBER.sub(lambda m: _shift_number(m, step), body)
    ops.append("numbers shifted")
  question_entities = _entities(body, lang)
  passage_entities = [e for e in _entities(context, lang) if e not in question_entities]
  if question_entities and passage_entities:
    old, new = step.rng.choice(question_entities), step.rng.choice(passage_entities)
    body = regex.sub(rf"\b{regex.escape(old)}\b", lambda _: new, body, count=1)
    ops.append(f"entity {old!r}->{new!r}")
  negated = negation_spans(body, lang)
  if negated:
    joiner = " " if text.uses_spaces(lang) else ""
    for a, b, whole_word in sorted(negated, reverse=True):
      body = body[:a].rstrip() + joiner + body[b:].lstrip() if whole_word else body[:a] + body[b:]
    body = body.strip()
    ops.append("negation removed")
  return body, ops


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


def _sentence(body: str, filler: str, lang: str) -> str:
  """body + filler (the wrong answer), closed by the language's full stop."""
  space = " " if text.uses_spaces(lang) else ""
  if "_" in body:  # a cloze question: the wrong option fills the blank
    sentence = regex.sub(r"_+", lambda _: filler, body, count=1)
  else:
    sentence = f"{body}{space}{filler}" if body else filler
  sentence = sentence.strip()
  end = resources.sentence_end(lang)
  if end.strip() and not regex.search(r"\p{P}$", sentence):
    sentence += end
  return sentence


def _wrong_answers(example: dict, step) -> list[str]:
  if "options" in example:
    wrong = [o for i, o in enumerate(example["options"]) if i != example["label"] and o.strip()]
    step.rng.shuffle(wrong)
    return wrong
  # Extractive: another number of the passage stands in for a numeric answer, another
  # entity for any other answer (AddSent's fake answer of the same type).
  context = example["context"]
  numbers = [context[a:b] for a, b in text.digit_runs(context)]
  entities = _entities(context, step.lang)
  numeric = any(_NUMBER.search(a["text"]) for a in example["answers"])
  pool = numbers + entities if numeric else entities + numbers
  if not pool:
    pool = [
      context[a:b]
      for a, b in words.content_words(context, step.lang, 4, resources.stopwords(step.lang)[0])
    ]
  first = list(dict.fromkeys(pool[: len(numbers) if numeric else len(entities)]))
  rest = [p for p in dict.fromkeys(pool) if p not in first]
  step.rng.shuffle(first)
  step.rng.shuffle(rest)
  return first + rest


def addsent_support(lang: str) -> Support:
  problems = []
  if languages.script(lang) not in _CASED_SCRIPTS:
    problems.append("no capitalisation: entities are not swapped")
  if not resources.negation(lang):
    problems.append("no negation word list")
  return Support(DEGRADED if problems else FULL, "; ".join(problems))


@register(
  "addsent",
  advrace="AddSent",
  description="insert distractor sentences made from the question (numbers shifted, "
  "entity swapped, negation removed (never inserted); cloze blank filled) "
  "and a wrong answer (same type as the answer for extractive tasks) "
  "at seeded ICU sentence boundaries; never containing the gold answer",
  params={"num_sentences": 2},
  support=addsent_support,
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
  if words.question_field(example) == "question":
    body, ops = mutate_question(example["question"], context, step)
  else:
    body, ops = "", ["question is a fixed prompt: the wrong answer alone"]
  sentences = []
  for wrong in _wrong_answers(example, step):
    sentence = _sentence(body, wrong, lang)
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
