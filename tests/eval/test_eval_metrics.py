"""Metrics against hand-computed values and the official SQuAD v1.1 / MLQA scoring rules."""
import json
import pathlib

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


@pytest.mark.parametrize("prediction, gold, lang, exact, f1", [
    # English articles and punctuation go; "their" is not an article.
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
])
def test_single_pair_scores(prediction, gold, lang, exact, f1):
    assert metrics.exact_match_score(prediction, gold, lang) == exact
    assert metrics.f1_score(prediction, gold, lang) == pytest.approx(f1, abs=1e-12)


def test_mixed_segmentation_tokens():
    assert metrics.normalize_answer("2008年 Beijing奥运会", "zh").split() == [
        "2008", "年", "beijing", "奥", "运", "会"]


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
