"""Choosing the words a word-level attack may edit: content words of the question and,
with scope='passage_keywords', passage words sharing a lemma with question or option words."""

from __future__ import annotations

from mrc_jax.perturb import resources, text
from mrc_jax.perturb.edits import replace_spans, shift_offset
from mrc_jax.perturb.registry import PerturbationError, Step

SCOPES = ("question", "passage_keywords")
HAN_NOTE = (
  "Han/Kana words are mostly 1-3 characters: words of >= 2 characters are eligible "
  "and any two adjacent characters may swap (readers of Chinese and Japanese "
  "tolerate transposed characters as readers of alphabets tolerate inner swaps)"
)


# COPA-style examples carry a fixed prompt ("What was the cause?") as their question, in
# English whatever the example's language; their in-language text is the premise (context).
COPA_RELATIONS = frozenset({"cause", "effect"})


def question_field(example: dict) -> str:
  """The field holding the example's own question text: 'question', or 'context' when the
  question is a fixed prompt (meta.question_template, or a COPA relation)."""
  meta = example.get("meta") or {}
  if meta.get("question_template") or meta.get("relation") in COPA_RELATIONS:
    return "context"
  return "question"


def answer_spans(example: dict) -> list[tuple[int, int]]:
  """Gold answer spans of an extractive example (protected from passage edits)."""
  return [(a["start"], a["start"] + len(a["text"])) for a in example.get("answers", [])]


def is_content_word(word: str, lang: str, min_clusters: int, stopwords: frozenset[str]) -> bool:
  """Letters only, not a stopword, at least `min_clusters` grapheme clusters (2 for Han/Kana)."""
  if not text.is_letter_word(word) or word.casefold() in stopwords:
    return False
  needed = min(min_clusters, 2) if text.is_han_or_kana(word) else min_clusters
  return len(text.graphemes(word)) >= needed


def content_words(
  field_text: str, lang: str, min_clusters: int, stopwords: frozenset[str]
) -> list[tuple[int, int]]:
  return [
    (a, b)
    for a, b in text.word_spans(field_text, lang)
    if is_content_word(field_text[a:b], lang, min_clusters, stopwords)
  ]


def targets(
  example: dict, step: Step, min_clusters: int, skip_stopwords: bool = True
) -> list[tuple[str, int, int]]:
  """(field, start, end) of every word the attack may edit, in text order."""
  scope = step.params.get("scope", "question")
  if scope not in SCOPES:
    raise PerturbationError(f"{step.attack}: scope must be one of {SCOPES}, got {scope!r}")
  stopwords, note = resources.stopwords(step.lang) if skip_stopwords else (frozenset(), None)
  step.degrade(note)
  field = question_field(example)
  if field != "question":
    step.notes.append("the question is a fixed prompt: the premise is edited instead")
  question = example[field]
  found = [(field, a, b) for a, b in content_words(question, step.lang, min_clusters, stopwords)]
  if min_clusters > 2 and any(text.is_han_or_kana(question[a:b]) for _, a, b in found):
    step.degrade(HAN_NOTE)
  if scope == "passage_keywords" and field == "question":
    found += _passage_keywords(example, step, min_clusters, stopwords)
  return found


def _passage_keywords(example, step, min_clusters, stopwords):
  lemma_of, note = resources.lemmatizer(step.lang)
  step.degrade(note)
  keys = set()
  for source in [example["question"], *example.get("options", [])]:
    for a, b in text.word_spans(source, step.lang):
      word = source[a:b]
      if text.is_letter_word(word) and word.casefold() not in stopwords:
        keys.add(lemma_of(word))
  context = example["context"]
  protected = answer_spans(example)
  found = []
  for a, b in content_words(context, step.lang, min_clusters, stopwords):
    if lemma_of(context[a:b]) in keys and not any(a < e and s < b for s, e in protected):
      found.append(("context", a, b))
  return found


def choose(found: list, step: Step) -> list:
  """A seeded subset of `found`: a fraction `rate` of it, at least one word (AdvRACE: all)."""
  rate = float(step.params.get("rate", 1.0))
  if not 0.0 < rate <= 1.0:
    raise PerturbationError(f"{step.attack}: rate must be in (0, 1], got {rate}")
  if rate >= 1.0 or not found:
    return list(found)
  count = max(1, round(rate * len(found)))
  return sorted(step.rng.sample(found, count), key=lambda t: (t[0], t[1]))


def rewrite(example: dict, step: Step, picked: list[tuple[str, int, int]], edit_word) -> dict:
  """Apply `edit_word(word, step) -> (new, op) | None` to each picked word and record it.

  Passage edits move the answer offsets; picked passage words never overlap an answer.
  """
  by_field: dict[str, list] = {}
  for field, a, b in picked:
    word = example[field][a:b]
    result = edit_word(word, step)
    if result is None:
      continue
    new, op = result
    if new != word:
      by_field.setdefault(field, []).append((a, b, new))
      step.edit(field, a, b, word, new, op)
  for field, replacements in by_field.items():
    example[field] = replace_spans(example[field], replacements)
    if field == "context":
      for answer in example.get("answers", []):
        answer["start"] = shift_offset(answer["start"], replacements)
  return example
