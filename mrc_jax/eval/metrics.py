"""Task metrics: accuracy, and exact match / F1 for extractive QA.

All metrics are in percent (0-100), as the official SQuAD v1.1 and MLQA evaluation
scripts report them; drops and gaps in the robustness report are therefore percentage
points.

Span scoring follows the official MLQA evaluation script (`mlqa_evaluation_v1.py`),
re-implemented here because it is a standalone script, not an importable library:
lower-case; remove every character whose Unicode category starts with "P" plus ASCII
`string.punctuation`; remove the language's articles with its exact regular expression;
tokenise on whitespace, or, for Chinese, by "mixed segmentation" (each CJK ideograph is
one token, runs of other characters are split on whitespace). The score of a prediction is
the maximum over the gold answers (SQuAD v1.1's `metric_max_over_ground_truths`).

Languages outside MLQA's seven (e.g. XQuAD's el, ro, ru, th, tr) have no article list in
the official script. They get no article removal; languages written without spaces
between words (ja, th, lo, km, my) get mixed segmentation over their script's characters,
like Chinese, so F1 is not all-or-nothing for them.
"""
from __future__ import annotations

import collections
import re
import string
import sys
import unicodedata
from collections.abc import Sequence

# Every Unicode punctuation character, plus ASCII punctuation (which includes symbols such
# as "$" and "+" that Unicode files under S*), exactly as the MLQA script builds its set.
PUNCTUATION = frozenset(
    chr(i) for i in range(sys.maxunicode + 1)
    if unicodedata.category(chr(i)).startswith("P")).union(string.punctuation)

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


def normalize_answer(text: str, lang: str) -> str:
    """MLQA normalisation: lower, strip punctuation, drop articles, re-join tokens."""
    lang = _language(lang)
    text = text.lower().translate(_DELETE_PUNCTUATION)
    if lang in _ARTICLE_PATTERNS:
        text = _ARTICLE_PATTERNS[lang].sub(" ", text)
    if lang in _SEGMENTED_CHARACTERS:
        tokens = _mixed_segmentation(text, _SEGMENTED_CHARACTERS[lang])
    else:
        tokens = text.split()
    return " ".join(token for token in tokens if token.strip())


def exact_match_score(prediction: str, gold: str, lang: str) -> float:
    """1.0 if the normalised strings are equal, else 0.0."""
    return float(normalize_answer(prediction, lang) == normalize_answer(gold, lang))


def _token_f1(prediction_tokens: list[str], gold_tokens: list[str]) -> float:
    common = collections.Counter(prediction_tokens) & collections.Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(prediction_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def f1_score(prediction: str, gold: str, lang: str) -> float:
    """Token-level F1 between the normalised prediction and gold answer, in [0, 1]."""
    return _token_f1(normalize_answer(prediction, lang).split(),
                     normalize_answer(gold, lang).split())


def span_scores(targets: Sequence[Sequence[str]], predictions: Sequence[str],
                lang: str) -> tuple[list[float], list[float]]:
    """Per-example exact match and F1 (each in {0,1} / [0,1]), max over gold answers."""
    if len(targets) != len(predictions):
        raise ValueError(f"span_metrics: {len(targets)} targets but {len(predictions)} predictions")
    exact, f1 = [], []
    for index, (golds, prediction) in enumerate(zip(targets, predictions)):
        if isinstance(golds, str) or not golds:
            raise ValueError(
                f"span_metrics: targets[{index}] must be a non-empty list of gold answer strings, "
                f"got {golds!r}")
        # Each string is normalised once; EM and F1 both come from it.
        predicted = normalize_answer(prediction, lang)
        normalised_golds = [normalize_answer(gold, lang) for gold in golds]
        exact.append(float(any(predicted == gold for gold in normalised_golds)))
        f1.append(max(_token_f1(predicted.split(), gold.split()) for gold in normalised_golds))
    return exact, f1


def span_metrics(targets: Sequence[Sequence[str]], predictions: Sequence[str],
                 lang: str) -> dict[str, float]:
    """Exact match and F1 in percent, as the official SQuAD v1.1 / MLQA scripts report them.

    Args:
      targets: per example, the list of gold answer strings.
      predictions: per example, the predicted answer string.
      lang: language code that selects the normalisation ("en", "zh", ...).
    """
    exact, f1 = span_scores(targets, predictions, lang)
    if not exact:
        raise ValueError("span_metrics: no examples to score")
    return {"exact_match": 100.0 * sum(exact) / len(exact), "f1": 100.0 * sum(f1) / len(f1)}


def accuracy(targets: Sequence, predictions: Sequence) -> dict[str, float]:
    """Share of predictions equal to their target, in percent (seqio metric signature)."""
    if len(targets) != len(predictions):
        raise ValueError(f"accuracy: {len(targets)} targets but {len(predictions)} predictions")
    if not len(targets):
        raise ValueError("accuracy: no examples to score")
    correct = sum(int(target == prediction) for target, prediction in zip(targets, predictions))
    return {"accuracy": 100.0 * correct / len(targets)}
