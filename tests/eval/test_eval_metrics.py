"""Metrics against hand-computed values and the official SQuAD v1.1 / v2.0 and MLQA
scoring rules."""

import collections
import json
import os
import pathlib
import re
import string
import sys
import unicodedata

import pytest

from mrc_jax.eval import metrics

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "eval"


def test_accuracy_in_percent():
  assert metrics.accuracy([0, 1, 2, 3], [0, 1, 0, 0]) == {"accuracy": 50.0}
  assert metrics.accuracy([1], [1]) == {"accuracy": 100.0}


def test_accuracy_rejects_length_mismatch_and_empty():
  with pytest.raises(ValueError, match="3 targets but 2 predictions"):
    metrics.accuracy([0, 1, 2], [0, 1])
  with pytest.raises(ValueError, match="no examples"):
    metrics.accuracy([], [])


def test_squad_fixture_matches_hand_computed_scores():
  """SQuAD v1.1 JSON + predictions: EM 1/4, F1 (1 + 0.8 + 0 + 0.75) / 4, in percent."""
  dataset = json.loads((FIXTURES / "squad_mini.json").read_text())
  predictions = json.loads((FIXTURES / "squad_mini_predictions.json").read_text())
  targets, predicted = [], []
  for article in dataset["data"]:
    for paragraph in article["paragraphs"]:
      for qa in paragraph["qas"]:
        targets.append([answer["text"] for answer in qa["answers"]])
        predicted.append(predictions[qa["id"]])
  scores = metrics.span_metrics(targets, predicted, "en")
  assert scores["exact_match"] == pytest.approx(25.0, abs=1e-9)
  assert scores["f1"] == pytest.approx(63.75, abs=1e-9)


@pytest.mark.parametrize(
  "prediction, gold, lang, exact, f1",
  [
    # MLQA style. English articles and punctuation go; "their" is not an article.
    ("The Eiffel Tower!", "Eiffel Tower", "en", 1.0, 1.0),
    ("in Paris, France", "Paris", "en", 0.0, 0.5),
    # Articles are removed only as whole words.
    ("banana", "banana", "en", 1.0, 1.0),
    ("an apple", "apple", "en", 1.0, 1.0),
    # Unicode punctuation (guillemets, CJK full stop) goes too, unlike SQuAD v1.1's ASCII set.
    ("«Berlin»", "Berlin", "en", 1.0, 1.0),
    # German and Spanish article lists; English rules would not remove them.
    ("der Hund", "Hund", "de", 1.0, 1.0),
    ("der Hund", "Hund", "en", 0.0, 2 * 0.5 * 1.0 / 1.5),
    ("los Angeles", "Angeles", "es", 1.0, 1.0),
    # Vietnamese "của" is in MLQA's list.
    ("của Hà Nội", "Hà Nội", "vi", 1.0, 1.0),
    # Chinese: every ideograph is a token; runs of digits/latin stay whole.
    ("北京大学", "北京", "zh", 0.0, 2 * 0.5 * 1.0 / 1.5),
    ("2008年奥运会。", "2008年", "zh", 0.0, 2 * (2 / 5) * 1.0 / (2 / 5 + 1.0)),
    ("北京", "北京", "zh_cn", 1.0, 1.0),
    # Arabic: the official pattern removes "ال" everywhere, inside words too.
    ("الكتاب", "كتاب", "ar", 1.0, 1.0),
    # Thai (no MLQA rule): character-level tokens.
    ("กรุงเทพ", "กรุง", "th", 0.0, 2 * (4 / 7) * 1.0 / (4 / 7 + 1.0)),
    # A language without an article list keeps every word.
    ("the cat", "cat", "ru", 0.0, 2 * 0.5 * 1.0 / 1.5),
    # Both sides empty after normalisation: exact match, but zero F1 (official behaviour).
    ("!!", ".", "en", 1.0, 0.0),
    ("", "Paris", "en", 0.0, 0.0),
  ],
)
def test_mlqa_single_pair_scores(prediction, gold, lang, exact, f1):
  assert metrics.exact_match_score(prediction, gold, lang, "mlqa") == exact
  assert metrics.f1_score(prediction, gold, lang, "mlqa") == pytest.approx(f1, abs=1e-12)


def test_mixed_segmentation_tokens():
  assert metrics.normalize_answer("2008年 Beijing奥运会", "zh", "mlqa").split() == [
    "2008",
    "年",
    "beijing",
    "奥",
    "运",
    "会",
  ]


def test_max_over_gold_answers_taken_separately_for_em_and_f1():
  # EM comes from gold 2, F1 from gold 1 would be lower: the max is per metric.
  exact, f1 = metrics.span_scores([["big red house", "red"]], ["red"], "en")
  assert exact == [1.0] and f1 == [1.0]
  exact, f1 = metrics.span_scores([["big red house", "blue"]], ["red house"], "en")
  assert exact == [0.0] and f1[0] == pytest.approx(0.8)


def test_span_metrics_rejects_bad_targets():
  with pytest.raises(ValueError, match=r"targets\[1\]"):
    metrics.span_metrics([["a"], []], ["a", "b"], "en")
  with pytest.raises(ValueError, match=r"targets\[0\]"):
    metrics.span_metrics(["Paris"], ["Paris"], "en")
  with pytest.raises(ValueError, match="lang"):
    metrics.span_metrics([["a"]], ["a"], "")
  with pytest.raises(ValueError, match="unknown style"):
    metrics.span_metrics([["a"]], ["a"], "en", style="squad")


# --- SQuAD v1.1 vs MLQA normalisation ------------------------------------------------------


@pytest.mark.parametrize(
  "prediction, gold, lang, squad_v1, mlqa",
  [
    # Unicode quotes are not ASCII punctuation: SQuAD v1.1 keeps them, MLQA removes them.
    ("“Paris”", "Paris", "en", (0.0, 0.0), (1.0, 1.0)),
    ("«Berlin»", "Berlin", "de", (0.0, 0.0), (1.0, 1.0)),
    # ASCII punctuation goes in both.
    ('"Paris".', "Paris", "en", (1.0, 1.0), (1.0, 1.0)),
    # SQuAD v1.1 removes only English a/an/the, in every language; MLQA the language's own.
    ("der Hund", "Hund", "de", (0.0, 2 * 0.5 / 1.5), (1.0, 1.0)),
    ("the Hund", "Hund", "de", (1.0, 1.0), (0.0, 2 * 0.5 / 1.5)),
    ("los Angeles", "Angeles", "es", (0.0, 2 * 0.5 / 1.5), (1.0, 1.0)),
    # Chinese under SQuAD v1.1: whitespace tokens, so one token each and no partial credit.
    ("北京大学", "北京", "zh", (0.0, 0.0), (0.0, 2 * 0.5 / 1.5)),
    ("北京 大学", "北京", "zh", (0.0, 2 * 0.5 / 1.5), (0.0, 2 * 0.5 / 1.5)),
    # The CJK full stop is Unicode punctuation only.
    ("北京。", "北京", "zh", (0.0, 0.0), (1.0, 1.0)),
  ],
)
def test_squad_v1_and_mlqa_styles_hand_checked(prediction, gold, lang, squad_v1, mlqa):
  for style, (exact, f1) in (("squad_v1", squad_v1), ("mlqa", mlqa)):
    assert metrics.exact_match_score(prediction, gold, lang, style) == exact, style
    assert metrics.f1_score(prediction, gold, lang, style) == pytest.approx(f1, abs=1e-12), style


def test_default_style_is_squad_v1():
  assert metrics.span_metrics([["Paris"]], ["“Paris”"], "en") == {"exact_match": 0.0, "f1": 0.0}


# The official scripts' steps, written out here on their own to check the module against.
_ASCII_PUNCTUATION = set(string.punctuation)
_UNICODE_PUNCTUATION = {
  chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")
} | _ASCII_PUNCTUATION
_MLQA_ARTICLES = {
  "en": r"\b(a|an|the)\b",
  "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
  "vi": r"\b(của|là|cái|chiếc|những)\b",
  "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
  "ar": "\\sال^|ال",
}


def official_squad_v1_tokens(text):
  """evaluate-v1.1.py: lower, drop ASCII punctuation, drop a/an/the, split on whitespace."""
  text = "".join(ch for ch in text.lower() if ch not in _ASCII_PUNCTUATION)
  return re.sub(r"\b(a|an|the)\b", " ", text).split()


def official_mlqa_tokens(text, lang):
  """mlqa_evaluation_v1.py (languages it has no rule for: whitespace, no articles)."""
  text = "".join(ch for ch in text.lower() if ch not in _UNICODE_PUNCTUATION)
  if lang in _MLQA_ARTICLES:
    text = re.sub(_MLQA_ARTICLES[lang], " ", text)
  if lang != "zh":
    return [t for t in text.split() if t.strip()]
  tokens, pending = [], ""
  for ch in text:
    if re.search(r"[\u4e00-\u9fa5]", ch) or ch in _UNICODE_PUNCTUATION:
      tokens += pending.split()
      pending = ""
      tokens.append(ch)
    else:
      pending += ch
  return [t for t in tokens + pending.split() if t.strip()]


def official_scores(prediction, golds, tokens):
  """metric_max_over_ground_truths of exact match and F1 over token lists."""
  predicted = tokens(prediction)
  best_exact = best_f1 = 0.0
  for gold in golds:
    gold_tokens = tokens(gold)
    best_exact = max(best_exact, float(" ".join(predicted) == " ".join(gold_tokens)))
    same = sum((collections.Counter(predicted) & collections.Counter(gold_tokens)).values())
    if same:
      precision, recall = same / len(predicted), same / len(gold_tokens)
      best_f1 = max(best_f1, 2 * precision * recall / (precision + recall))
  return best_exact, best_f1


# Light edits of a gold answer, as a model's near misses look.
_LANG_ARTICLE = {"de": "die ", "es": "la ", "vi": "những ", "ar": "ال", "en": "an "}


def perturbed_prediction(index, gold, context, start, lang):
  kind = index % 7
  if kind == 0:
    return gold
  if kind == 1:
    return f"“{gold}”"
  if kind == 2:
    return "the " + gold
  if kind == 3:
    return _LANG_ARTICLE.get(lang, "") + gold
  if kind == 4:
    words = gold.split()
    return " ".join(words[:-1]) if len(words) > 1 else gold[:-1]
  if kind == 5:
    return context[start : start + len(gold) + 12]  # an over-long span
  return gold[: len(gold) // 2 + 1] + "。"


DATA_DIR = os.environ.get("MRC_JAX_DATA_DIR")


def xquad_questions(lang):
  path = pathlib.Path(DATA_DIR or "") / "xquad" / f"xquad.{lang}.json"
  if not DATA_DIR or not path.is_file():
    pytest.skip(f"real XQuAD data absent ({path})")
  questions = []
  for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
    for paragraph in article["paragraphs"]:
      for qa in paragraph["qas"]:
        questions.append((paragraph["context"], qa))
  return questions


@pytest.mark.integration
@pytest.mark.parametrize("lang", ["ar", "de", "en", "es", "ru", "tr", "vi", "zh"])
def test_both_styles_equal_the_official_definitions_on_real_xquad(lang):
  """Per question, on perturbed real gold: EM and F1 equal the scripts' steps above."""
  questions = xquad_questions(lang)
  assert len(questions) == 1190
  targets, predictions = [], []
  for index, (context, qa) in enumerate(questions):
    golds = [answer["text"] for answer in qa["answers"]]
    targets.append(golds)
    predictions.append(
      perturbed_prediction(index, golds[0], context, qa["answers"][0]["answer_start"], lang)
    )
  references = {
    "squad_v1": [
      official_scores(p, g, official_squad_v1_tokens) for p, g in zip(predictions, targets)
    ],
    "mlqa": [
      official_scores(p, g, lambda text: official_mlqa_tokens(text, lang))
      for p, g in zip(predictions, targets)
    ],
  }
  for style, reference in references.items():
    exact, f1 = metrics.span_scores(targets, predictions, lang, style)
    assert exact == [e for e, _ in reference], style
    assert f1 == pytest.approx([f for _, f in reference], abs=1e-12), style
    assert 0.0 < sum(exact) < len(exact)  # the edits leave a mix of hits and misses
  # Both styles agree on untouched gold and disagree on the quoted predictions.
  squad_v1, _ = metrics.span_scores(targets, predictions, lang, "squad_v1")
  mlqa, _ = metrics.span_scores(targets, predictions, lang, "mlqa")
  assert all(squad_v1[i] == mlqa[i] == 1.0 for i in range(0, len(targets), 7))
  assert sum(mlqa[i] for i in range(1, len(targets), 7)) > sum(
    squad_v1[i] for i in range(1, len(targets), 7)
  )


# --- SQuAD v2.0 -------------------------------------------------------------------------------


def test_no_answer_scoring_follows_evaluate_v2():
  targets = [[], [], ["Paris"], ["the", "Paris"], ["Rome"]]
  predictions = ["", "Paris", "", "", "Paris"]
  exact, f1 = metrics.span_scores(targets, predictions, "en", no_answer=True)
  # No gold: only "" is right. Gold "the" normalises to nothing and is dropped.
  assert exact == [1.0, 0.0, 0.0, 0.0, 0.0]
  assert f1 == [1.0, 0.0, 0.0, 0.0, 0.0]
  # A gold answer that is all article counts as "no answer" under v2.0's rules ...
  assert metrics.span_scores([["the"]], [""], "en", no_answer=True) == ([1.0], [1.0])
  # ... whereas v1.1's F1 of two empty strings is 0 and its gold list must not be empty.
  assert metrics.span_scores([["the"]], [""], "en") == ([1.0], [0.0])
  with pytest.raises(ValueError, match=r"targets\[0\].*no_answer=True"):
    metrics.span_scores([[]], [""], "en")
  assert metrics.span_metrics(targets, predictions, "en", no_answer=True) == {
    "exact_match": 20.0,
    "f1": 20.0,
  }


def test_best_threshold_search_hand_computed():
  # q0: answerable, score 1, na 0.1; q1: unanswerable, answered, na 0.3;
  # q2: answerable, score 0.5, na 0.6; q3: unanswerable, predicted "", na 0.9.
  answered = [True, True, True, False]
  scores = [1.0, 0.0, 0.5, 1.0]
  na_probs = [0.1, 0.3, 0.6, 0.9]
  has_answer = [True, False, True, False]
  # Start: 2 unanswerable right. Past q0: 3 (new best, thresh 0.1); q1: 2; q2: 2.5; q3: 2.5.
  best, threshold = metrics.find_best_thresh(answered, scores, na_probs, has_answer)
  assert best == pytest.approx(75.0) and threshold == 0.1
  # When nothing beats "predict no answer everywhere", the threshold stays 0.0.
  assert metrics.find_best_thresh([True], [0.0], [5.0], [True]) == (0.0, 0.0)


def test_no_answer_metrics_hand_computed():
  exact = [1.0, 0.0, 0.0, 1.0]
  f1 = [1.0, 0.0, 0.5, 1.0]
  result = metrics.no_answer_metrics(
    exact, f1, ["Paris", "Rome", "big city", ""], [True, False, True, False], [0.1, 0.3, 0.6, 0.9]
  )
  assert result["HasAns_exact"] == 50.0 and result["HasAns_f1"] == 75.0
  assert result["NoAns_exact"] == 50.0 and result["NoAns_f1"] == 50.0
  assert result["HasAns_total"] == 2 and result["NoAns_total"] == 2
  assert (result["best_exact"], result["best_exact_thresh"]) == (75.0, 0.1)
  assert (result["best_f1"], result["best_f1_thresh"]) == (75.0, 0.1)
  # Without unanswerable questions there is no NoAns split, as in the official script.
  only = metrics.no_answer_metrics([1.0], [1.0], ["x"], [True], [0.0])
  assert "NoAns_exact" not in only and only["HasAns_exact"] == 100.0


def test_headline_style_from_column_names():
  assert metrics.headline_style(["f1", "exact_match", "f1_mlqa", "exact_match_mlqa"]) == "squad_v1"
  assert metrics.headline_style(["f1", "exact_match", "f1_squad_v1"]) == "mlqa"
  assert metrics.headline_style(["accuracy"]) is None


def test_best_threshold_search_equals_the_official_steps_on_random_cells():
  """Against evaluate-v2.0.py's steps over qid dicts (sorted by na_prob, ties in order)."""
  import numpy as np

  rng = np.random.default_rng(0)
  for _ in range(20):
    n = int(rng.integers(1, 60))
    has_answer = (rng.random(n) < 0.5).tolist()
    answered = (rng.random(n) < 0.6).tolist()
    scores = [float(s) for s in rng.choice([0.0, 0.25, 0.5, 1.0], n)]
    na_probs = [float(v) for v in np.round(rng.normal(size=n), 1)]  # many ties
    qids = [f"q{i}" for i in range(n)]
    na = dict(zip(qids, na_probs))
    current = best = sum(1 for has in has_answer if not has)
    threshold = 0.0
    for qid in sorted(na, key=lambda k: na[k]):
      i = qids.index(qid)
      current += scores[i] if has_answer[i] else (-1 if answered[i] else 0)
      if current > best:
        best, threshold = current, na[qid]
    assert metrics.find_best_thresh(answered, scores, na_probs, has_answer) == (
      pytest.approx(100.0 * best / n),
      threshold,
    )
