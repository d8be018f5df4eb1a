"""Task metrics: accuracy, exact match / F1 for extractive QA, ROUGE for generation.

All metrics are in percent (0-100), as the official SQuAD and MLQA evaluation scripts
report them; drops and gaps in the robustness report are therefore percentage points.

Span scoring re-implements the official scripts (standalone scripts, not importable
libraries); each dataset is scored by its own (`mrc_jax.data.catalog` names it, the
task's `span_style`):

  "squad_v1"  SQuAD v1.1's `evaluate-v1.1.py`, also the official scorer of XQuAD and
              TyDiQA-GoldP: lower-case; remove ASCII `string.punctuation` only (Unicode
              quotes and CJK punctuation stay); remove the English articles a|an|the in
              every language; tokenise on whitespace (Chinese without spaces is one token).
  "mlqa"      MLQA's `mlqa_evaluation_v1.py`: lower-case; remove every character whose
              Unicode category starts with "P" plus ASCII `string.punctuation`; remove the
              language's articles with its exact regular expression; tokenise on
              whitespace, or, for Chinese, by "mixed segmentation" (each CJK ideograph is
              one token, runs of other characters are split on whitespace).

The score of a prediction is the maximum over the gold answers (`metric_max_over_ground_
truths`). With `no_answer=True` scoring follows SQuAD v2.0's `evaluate-v2.0.py`: gold
answers that normalise to nothing are dropped, a question left without one has the single
gold answer "", and F1 is 1 when prediction and gold are both empty (0 when only one is).
`no_answer_metrics` gives that script's HasAns / NoAns splits and best-threshold search.

ROUGE is Google's `rouge-score` package (the scorer of the PEGASUS and T5 papers and of
Hugging Face's `evaluate`): ROUGE-1, -2, -L and -Lsum F-measures, averaged over examples.
English uses its own tokenizer with the Porter stemmer, as BART's and PEGASUS' reported
CNN/DM and XSum figures do; that tokenizer keeps only `[a-z0-9]`, which would score every
other script as empty, so other languages are tokenized into ICU words, case-folded and
unstemmed (the choice of XL-Sum's multilingual ROUGE, whose stemmers the package lacks).
For ROUGE-Lsum sentences are the lines of the text (newline-separated, the package's rule).

Languages outside MLQA's seven (e.g. XQuAD's el, ro, ru, th, tr) have no article list in
the MLQA script. Under "mlqa" they get no article removal; languages written without
spaces between words (ja, th, lo, km, my) get mixed segmentation over their script's
characters, like Chinese, so F1 is not all-or-nothing for them.
"""

from __future__ import annotations

import collections
import re
import string
import sys
import unicodedata
from collections.abc import Sequence

# The official scripts a span can be scored by (module docstring).
SQUAD_V1 = "squad_v1"
MLQA = "mlqa"
STYLES = (SQUAD_V1, MLQA)

# SQuAD v1.1's normalisation: ASCII punctuation only, English articles in any language.
_DELETE_ASCII_PUNCTUATION = {ord(ch): None for ch in string.punctuation}
_SQUAD_ARTICLES = re.compile(r"\b(a|an|the)\b")

# Every Unicode punctuation character, plus ASCII punctuation (which includes symbols such
# as "$" and "+" that Unicode files under S*), exactly as the MLQA script builds its set.
PUNCTUATION = frozenset(
  chr(i) for i in range(sys.maxunicode + 1) if unicodedata.category(chr(i)).startswith("P")
).union(string.punctuation)

# str.translate table deleting every punctuation character (C speed; same result as the
# official per-character filter).
_DELETE_PUNCTUATION = {ord(ch): None for ch in PUNCTUATION}

# The official MLQA script's article patterns. Arabic's pattern removes the definite
# article "ال" wherever it occurs, also inside words; that is the official behaviour and
# is kept so scores are comparable with published MLQA numbers.
_ARTICLE_PATTERNS = {
  "en": re.compile(r"\b(a|an|the)\b"),
  "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
  "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
  "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
  "ar": re.compile(r"\sال^|ال"),
}

# Characters that are single tokens under mixed segmentation, per language written
# without spaces. Chinese uses the MLQA script's exact range.
_SEGMENTED_CHARACTERS = {
  "zh": re.compile(r"[\u4e00-\u9fa5]"),
  "ja": re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]"),
  "th": re.compile(r"[\u0e00-\u0e7f]"),
  "lo": re.compile(r"[\u0e80-\u0eff]"),
  "km": re.compile(r"[\u1780-\u17ff]"),
  "my": re.compile(r"[\u1000-\u109f]"),
}


def _language(lang: str) -> str:
  """ISO 639-1 code of `lang` ("de", "zh", or a task-style "zh_cn" / "de-DE")."""
  if not isinstance(lang, str) or not lang:
    raise ValueError(f"span_metrics: lang must be a non-empty language code, got {lang!r}")
  return re.split(r"[_\-]", lang.lower(), maxsplit=1)[0]


def _check_style(style: str) -> str:
  if style not in STYLES:
    raise ValueError(f"span_metrics: unknown style {style!r}; known {STYLES}")
  return style


def _mixed_segmentation(text: str, single_characters: re.Pattern) -> list[str]:
  """MLQA's mixed segmentation: script characters and punctuation are tokens alone."""
  tokens, run = [], []
  for char in text:
    if single_characters.search(char) or char in PUNCTUATION:
      tokens.extend("".join(run).split())
      run = []
      tokens.append(char)
    else:
      run.append(char)
  tokens.extend("".join(run).split())
  return tokens


def normalize_answer(text: str, lang: str, style: str = SQUAD_V1) -> str:
  """Lower, strip punctuation, drop articles, re-join tokens, as `style`'s script does."""
  lang = _language(lang)
  if _check_style(style) == SQUAD_V1:
    text = _SQUAD_ARTICLES.sub(" ", text.lower().translate(_DELETE_ASCII_PUNCTUATION))
    return " ".join(text.split())
  text = text.lower().translate(_DELETE_PUNCTUATION)
  if lang in _ARTICLE_PATTERNS:
    text = _ARTICLE_PATTERNS[lang].sub(" ", text)
  if lang in _SEGMENTED_CHARACTERS:
    tokens = _mixed_segmentation(text, _SEGMENTED_CHARACTERS[lang])
  else:
    tokens = text.split()
  return " ".join(token for token in tokens if token.strip())


def exact_match_score(prediction: str, gold: str, lang: str, style: str = SQUAD_V1) -> float:
  """1.0 if the normalised strings are equal, else 0.0."""
  return float(normalize_answer(prediction, lang, style) == normalize_answer(gold, lang, style))


def _token_f1(prediction_tokens: list[str], gold_tokens: list[str], no_answer: bool) -> float:
  if no_answer and not (prediction_tokens and gold_tokens):
    return float(prediction_tokens == gold_tokens)  # evaluate-v2.0.py: "" vs "" is 1
  common = collections.Counter(prediction_tokens) & collections.Counter(gold_tokens)
  num_same = sum(common.values())
  if num_same == 0:
    return 0.0
  precision = num_same / len(prediction_tokens)
  recall = num_same / len(gold_tokens)
  return 2 * precision * recall / (precision + recall)


def f1_score(
  prediction: str, gold: str, lang: str, style: str = SQUAD_V1, no_answer: bool = False
) -> float:
  """Token-level F1 between the normalised prediction and gold answer, in [0, 1]."""
  return _token_f1(
    normalize_answer(prediction, lang, style).split(),
    normalize_answer(gold, lang, style).split(),
    no_answer,
  )


def span_scores(
  targets: Sequence[Sequence[str]],
  predictions: Sequence[str],
  lang: str,
  style: str = SQUAD_V1,
  no_answer: bool = False,
) -> tuple[list[float], list[float]]:
  """Per-example exact match and F1 (each in {0,1} / [0,1]), max over gold answers.

  `no_answer=True` scores SQuAD v2.0 style: an empty gold list means "no answer", which
  only the prediction "" matches.
  """
  if len(targets) != len(predictions):
    raise ValueError(f"span_metrics: {len(targets)} targets but {len(predictions)} predictions")
  _check_style(style)
  exact, f1 = [], []
  for index, (golds, prediction) in enumerate(zip(targets, predictions)):
    if isinstance(golds, str) or not (golds or no_answer):
      raise ValueError(
        f"span_metrics: targets[{index}] must be a non-empty list of gold answer strings, "
        f"got {golds!r} (an empty list means no answer only with no_answer=True)"
      )
    # Each string is normalised once; EM and F1 both come from it.
    predicted = normalize_answer(prediction, lang, style)
    normalised_golds = [normalize_answer(gold, lang, style) for gold in golds]
    if no_answer:
      normalised_golds = [gold for gold in normalised_golds if gold] or [""]
    exact.append(float(any(predicted == gold for gold in normalised_golds)))
    f1.append(
      max(_token_f1(predicted.split(), gold.split(), no_answer) for gold in normalised_golds)
    )
  return exact, f1


def span_metrics(
  targets: Sequence[Sequence[str]],
  predictions: Sequence[str],
  lang: str,
  style: str = SQUAD_V1,
  no_answer: bool = False,
) -> dict[str, float]:
  """Exact match and F1 in percent, as the official SQuAD / MLQA scripts report them.

  Args:
    targets: per example, the list of gold answer strings (empty: no answer, SQuAD v2.0).
    predictions: per example, the predicted answer string ("" predicts no answer).
    lang: language code; selects MLQA's per-language rules.
    style: "squad_v1" (evaluate-v1.1.py; SQuAD, XQuAD, TyDiQA-GoldP) or "mlqa"
      (mlqa_evaluation_v1.py).
    no_answer: score unanswerable questions as evaluate-v2.0.py does.
  """
  exact, f1 = span_scores(targets, predictions, lang, style, no_answer)
  if not exact:
    raise ValueError("span_metrics: no examples to score")
  return {"exact_match": 100.0 * sum(exact) / len(exact), "f1": 100.0 * sum(f1) / len(f1)}


def find_best_thresh(
  answered: Sequence[bool],
  scores: Sequence[float],
  na_probs: Sequence[float],
  has_answer: Sequence[bool],
) -> tuple[float, float]:
  """evaluate-v2.0.py's best no-answer threshold: (best score in percent, threshold).

  Questions are taken in increasing `na_probs` order (stable, so ties keep the given
  order); moving the threshold past one gains its score (0..1) if it has an answer,
  loses 1 if it has none but the model answered, and changes nothing otherwise. The
  start, every question predicted "no answer", scores the unanswerable ones; the
  threshold is the na_prob of the question where the running score last rose.
  """
  if not len(scores):
    raise ValueError("find_best_thresh: no examples to score")
  score = best = float(sum(1 for has in has_answer if not has))
  threshold = 0.0
  for index in sorted(range(len(scores)), key=lambda i: na_probs[i]):
    if has_answer[index]:
      score += scores[index]
    elif answered[index]:
      score -= 1.0
    if score > best:
      best, threshold = score, float(na_probs[index])
  return 100.0 * best / len(scores), threshold


def no_answer_metrics(
  exact: Sequence[float],
  f1: Sequence[float],
  predictions: Sequence[str],
  has_answer: Sequence[bool],
  na_probs: Sequence[float],
) -> dict[str, float]:
  """evaluate-v2.0.py's extra figures: HasAns_*/NoAns_* (percent, per subset; absent when
  the subset is empty) and best_exact/best_f1 with their thresholds.

  `exact`, `f1` are per-example scores of `predictions` (`span_scores(no_answer=True)`);
  `na_probs` the model's no-answer scores (here null score minus best span score).
  """
  result = {}
  for prefix, wanted in (("HasAns", True), ("NoAns", False)):
    subset = [i for i, has in enumerate(has_answer) if bool(has) == wanted]
    if subset:
      result[f"{prefix}_exact"] = 100.0 * sum(exact[i] for i in subset) / len(subset)
      result[f"{prefix}_f1"] = 100.0 * sum(f1[i] for i in subset) / len(subset)
      result[f"{prefix}_total"] = len(subset)
  answered = [bool(prediction) for prediction in predictions]
  for name, scores in (("exact", exact), ("f1", f1)):
    best, threshold = find_best_thresh(answered, scores, na_probs, has_answer)
    result[f"best_{name}"], result[f"best_{name}_thresh"] = best, threshold
  return result


def headline_style(metric_names) -> str | None:
  """The style of a span cell's unsuffixed `exact_match`/`f1` columns: the one style
  without an `f1_STYLE` extra column (None when that is not decidable, e.g. no spans)."""
  names = set(metric_names)
  missing = [style for style in STYLES if f"f1_{style}" not in names]
  return missing[0] if "f1" in names and len(missing) == 1 else None


def accuracy(targets: Sequence, predictions: Sequence) -> dict[str, float]:
  """Share of predictions equal to their target, in percent (seqio metric signature)."""
  if len(targets) != len(predictions):
    raise ValueError(f"accuracy: {len(targets)} targets but {len(predictions)} predictions")
  if not len(targets):
    raise ValueError("accuracy: no examples to score")
  correct = sum(int(target == prediction) for target, prediction in zip(targets, predictions))
  return {"accuracy": 100.0 * correct / len(targets)}


ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")


class _IcuWords:
  """rouge-score's tokenizer interface over ICU word boundaries: case-folded words."""

  def __init__(self, lang: str):
    self.lang = lang

  def tokenize(self, text: str) -> list[str]:
    from mrc_jax.perturb import text as text_lib  # ICU segmentation, shared with the attacks

    words = (text[b:e].casefold() for b, e in text_lib.word_spans(text, self.lang))
    return [w for w in words if any(c.isalnum() for c in w)]


def rouge(targets: Sequence[str], predictions: Sequence[str], lang: str = "en") -> dict[str, float]:
  """Mean ROUGE F-measures in percent, ``{"rouge1", "rouge2", "rougeL", "rougeLsum"}``."""
  from rouge_score import rouge_scorer

  if len(targets) != len(predictions):
    raise ValueError(f"rouge: {len(targets)} targets but {len(predictions)} predictions")
  if not len(targets):
    raise ValueError("rouge: no examples to score")
  if _language(lang) == "en":
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
  else:
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), tokenizer=_IcuWords(lang))
  totals = dict.fromkeys(ROUGE_TYPES, 0.0)
  for target, prediction in zip(targets, predictions):
    for name, score in scorer.score(target, prediction).items():
      totals[name] += score.fmeasure
  return {name: 100.0 * total / len(targets) for name, total in totals.items()}
