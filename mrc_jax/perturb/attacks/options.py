"""Attacks on the options of multiple-choice examples: distractor extraction (AdvRACE's DE)
with a pluggable span scorer, and option shuffling (answer-position bias)."""

from __future__ import annotations

import bisect
import os
from typing import Callable, Sequence

import regex

from mrc_jax.perturb import resources, text
from mrc_jax.perturb.registry import DEGRADED, FULL, PerturbationError, Support, register

# scorer(example, spans, lang) -> one score per (start, end) span of example['context'];
# higher is a more answer-like span. A span model trained with this project plugs in here.
SpanScorer = Callable[[dict, Sequence[tuple[int, int]], str], Sequence[float]]
_SCORERS: dict[str, SpanScorer] = {}
_PUNCTUATION = regex.compile(r"[\p{P}\p{S}]")


def has_gold_label(example: dict) -> bool:
  """False for examples whose gold label is missing (label -1) or out of range."""
  return 0 <= example.get("label", -1) < len(example.get("options", []))


def register_span_scorer(name: str, scorer: SpanScorer) -> None:
  """Make `scorer` selectable as distractor_extraction(scorer=name)."""
  _SCORERS[name] = scorer


def lexical_overlap_scorer(
  example: dict, spans: Sequence[tuple[int, int]], lang: str
) -> list[float]:
  """Baseline: spans in sentences sharing many words with the question, and not made of
  question words themselves, look like answers; spans close to the gold length are preferred."""
  context, question = example["context"], example["question"]
  question_words = {question[a:b].casefold() for a, b in text.word_spans(question, lang)}
  context_words = text.word_spans(context, lang)
  word_starts = [a for a, _ in context_words]
  sentences = text.sentence_spans(context, lang)
  sentence_starts = [a for a, _ in sentences]

  def words_in(start: int, end: int) -> set[str]:
    first, last = bisect.bisect_left(word_starts, start), bisect.bisect_left(word_starts, end)
    return {context[a:b].casefold() for a, b in context_words[first:last]}

  sentence_overlap = [len(words_in(a, b) & question_words) for a, b in sentences]
  gold_length = max(1, len(text.word_spans(example["options"][example["label"]], lang)))
  scores = []
  for start, end in spans:
    sentence = max(0, bisect.bisect_right(sentence_starts, start) - 1)
    span_words = words_in(start, end)
    scores.append(
      sentence_overlap[sentence]
      - 0.5 * len(span_words & question_words)
      - 0.1 * abs(max(1, len(span_words)) - gold_length)
    )
  return scores


register_span_scorer("lexical", lexical_overlap_scorer)


def candidate_spans(
  context: str, lang: str, max_words: int, stopwords: frozenset[str]
) -> list[tuple[int, int]]:
  """Word n-grams inside one sentence, starting and ending on a content word, no punctuation."""
  spans = []
  for s_start, s_end in text.sentence_spans(context, lang):
    sentence_words = [
      (s_start + a, s_start + b) for a, b in text.word_spans(context[s_start:s_end], lang)
    ]
    for i, (a, _) in enumerate(sentence_words):
      for j in range(i, min(i + max_words, len(sentence_words))):
        b = sentence_words[j][1]
        first, last = context[a : sentence_words[i][1]], context[sentence_words[j][0] : b]
        if (
          first.casefold() in stopwords
          or last.casefold() in stopwords
          or _PUNCTUATION.search(context[a:b])
        ):
          continue
        spans.append((a, b))
  return spans


def _content(span_text: str, lang: str, stopwords: frozenset[str]) -> set[str]:
  return {span_text[a:b].casefold() for a, b in text.word_spans(span_text, lang)} - stopwords


# What the support table can promise without a model: the lexical scorer runs by default.
_LEXICAL_NOTE = (
  "lexical scorer by default; span_model=WORKDIR ranks spans with a fine-tuned span head "
  "(AdvRACE's DE)"
)


def de_support(lang: str) -> Support:
  if resources.has_stopwords(lang):
    return Support(DEGRADED, f"multiple choice only; {_LEXICAL_NOTE}")
  return Support(
    DEGRADED, f"multiple choice only; {_LEXICAL_NOTE}; no stopword list: spans may open on one"
  )


def span_model_requirements(params: dict) -> list[str]:
  """What the span_model parameter still lacks (a workdir with a span head), if given."""
  from mrc_jax.perturb.span_model import span_model_missing  # the model stack, only when used

  return span_model_missing(params.get("span_model"))


def span_scorer(step) -> tuple[SpanScorer | None, str]:
  """The scorer of this run (span_model= first, then scorer=) and its name for the edit
  records; None where neither parameter names one."""
  if step.params.get("span_model"):
    from mrc_jax.perturb.span_model import span_model_scorer

    path = os.fspath(step.params["span_model"])
    return span_model_scorer(path), f"span model {path}"
  scorer = step.params.get("scorer")
  if scorer is None:
    return None, ""
  if not isinstance(scorer, str):
    return scorer, getattr(scorer, "__name__", "callable scorer")
  if scorer not in _SCORERS:
    raise PerturbationError(
      f"distractor_extraction: unknown scorer {scorer!r}; known: {sorted(_SCORERS)}"
    )
  return _SCORERS[scorer], scorer


@register(
  "distractor_extraction",
  advrace="DE",
  description="replace the wrong options by the best-scored passage spans (top_k) that do "
  "not overlap the answer, are not stopwords or punctuation and do not repeat; "
  "original distractors fill any gap. Spans are ranked by a fine-tuned span head "
  "(span_model=WORKDIR, AdvRACE's recipe) or else by a registered scorer (lexical overlap)",
  params={"scorer": "lexical", "span_model": None, "top_k": 20, "max_words": 5},
  support=de_support,
  kinds=("choice",),
  requires=span_model_requirements,
)
def distractor_extraction(example, step):
  lang, context = step.lang, example["context"]
  if not has_gold_label(example):
    step.notes.append("no gold label: the wrong options are unknown, unchanged")
    return example
  stopwords, note = resources.stopwords(lang)
  step.degrade(note)
  scorer, scorer_name = span_scorer(step)
  spans = candidate_spans(context, lang, int(step.params["max_words"]), stopwords)
  scores = list(scorer(example, spans, lang))
  if len(scores) != len(spans):
    raise PerturbationError(
      f"distractor_extraction: scorer gave {len(scores)} scores for "
      f"{len(spans)} spans of example {example.get('id')!r}"
    )
  ranked = [span for _, span in sorted(zip(scores, spans), key=lambda p: (-p[0], p[1]))]
  gold = example["options"][example["label"]]
  gold_folded, gold_content = gold.casefold(), _content(gold, lang, stopwords)
  chosen: list[str] = []
  used_content: set[str] = set()
  wanted = len(example["options"]) - 1
  for a, b in ranked[: int(step.params["top_k"])]:
    span = context[a:b]
    folded, content = span.casefold(), _content(span, lang, stopwords)
    if (
      not content
      or content & gold_content
      or folded in gold_folded
      or gold_folded in folded
      or content & used_content
    ):
      continue
    chosen.append(span)
    used_content |= content
    if len(chosen) == wanted:
      break
  if len(chosen) < wanted:
    step.notes.append(f"{wanted - len(chosen)} original distractor(s) kept (too few spans)")
  replacements = iter(chosen)
  options = list(example["options"])
  for i, old in enumerate(options):
    if i == example["label"]:
      continue
    new = next(replacements, None)
    if new is None:
      break
    options[i] = new
    step.edit(f"options[{i}]", 0, len(old), old, new, "extracted distractor", scorer=scorer_name)
  example["options"] = options
  return example


@register(
  "option_shuffle",
  advrace="none (answer-position bias probe)",
  description="permute the options (position=None: a seeded permutation that moves the "
  "answer when possible; position=K: the answer moved to option K)",
  params={"position": None},
  support=lambda lang: Support(FULL, "multiple choice only"),
  kinds=("choice",),
)
def option_shuffle(example, step):
  options, label = list(example["options"]), example["label"]
  count = len(options)
  position = step.params["position"]
  if not has_gold_label(example):
    if position is not None:
      step.notes.append("no gold label: nothing to move, unchanged")
      return example
    label = 0  # the label stays missing; any non-identity permutation is used
  order = list(range(count))
  if position is None:
    if count > 1:
      while order == list(range(count)) or (count > 2 and order[label] == label):
        step.rng.shuffle(order)
  else:
    position = int(position)
    if not -count <= position < count:
      raise PerturbationError(
        f"option_shuffle: position {position} out of range for "
        f"{count} options in example {example.get('id')!r}"
      )
    position %= count
    others = [i for i in range(count) if i != label]
    step.rng.shuffle(others)
    order = others[:position] + [label] + others[position:]
  # order[new_index] = old_index
  example["options"] = [options[old] for old in order]
  if has_gold_label({"label": example["label"], "options": options}):
    example["label"] = order.index(label)
  if order != list(range(count)):
    step.edit("options", 0, count, "", "", "permute", permutation=order)
  return example
