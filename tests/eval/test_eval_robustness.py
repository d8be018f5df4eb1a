"""Robustness statistics against hand-computed values."""

import numpy as np
import pytest

from mrc_jax.eval import robustness
from mrc_jax.eval.results import CellResult


def choice_cell(lang, attack, correct, ids=None, task="toy"):
  ids = ids or [f"q{i}" for i in range(len(correct))]
  return CellResult(
    task=task,
    lang=lang,
    attack=attack,
    ids=ids,
    predicted=[0 if c else 1 for c in correct],
    gold=[0] * len(correct),
    scores={"accuracy": np.asarray(correct, dtype=float)},
  )


def rows_by(rows):
  return {(r["task"], r["lang"], r["attack"], r["metric"]): r for r in rows}


@pytest.fixture
def two_language_run():
  # en: clean 8/10, charswap 6/10 (2 of the 8 flipped, none gained).
  # de: clean 6/10, charswap 5/10 (2 flipped, 1 gained); attacked ids in another order.
  en_clean = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
  en_swap = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
  de_clean = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
  de_swap = [1, 1, 1, 1, 0, 0, 1, 0, 0, 0]
  ids = [f"q{i}" for i in range(10)]
  return [
    choice_cell("en", "clean", en_clean),
    choice_cell("en", "charswap", en_swap),
    choice_cell("de", "clean", de_clean),
    choice_cell("de", "charswap", de_swap[::-1], ids=ids[::-1]),
  ]


def test_per_cell_statistics_match_hand_computation(two_language_run):
  rows = rows_by(robustness.robustness_rows(two_language_run, run="A", num_resamples=200))
  assert rows["toy", "en", "clean", "accuracy"]["value"] == pytest.approx(80.0)
  assert rows["toy", "en", "charswap", "accuracy_drop"]["value"] == pytest.approx(20.0)
  assert rows["toy", "en", "charswap", "accuracy_relative"]["value"] == pytest.approx(75.0)
  assert rows["toy", "en", "charswap", "accuracy_flip_rate"]["value"] == pytest.approx(25.0)
  assert rows["toy", "en", "charswap", "accuracy_flip_rate"]["n"] == 8
  # Pairing by id undoes the reversed order of the German attacked set.
  assert rows["toy", "de", "charswap", "accuracy_drop"]["value"] == pytest.approx(10.0)
  assert rows["toy", "de", "charswap", "accuracy_flip_rate"]["value"] == pytest.approx(100 * 2 / 6)
  assert rows["toy", "de", "clean", "accuracy_gap_to_en"]["value"] == pytest.approx(-20.0)
  assert rows["toy", "de", "charswap", "accuracy_gap_to_en"]["value"] == pytest.approx(-10.0)
  for row in rows.values():
    assert row["ci_low"] <= row["value"] + 1e-9 <= row["ci_high"] + 2e-9 or np.isnan(row["ci_low"])


def test_aggregate_rows(two_language_run):
  rows = rows_by(robustness.robustness_rows(two_language_run, run="A", num_resamples=200))
  assert rows["toy", "mean", "charswap", "accuracy_drop"]["value"] == pytest.approx(15.0)
  assert rows["toy", "mean", "clean", "accuracy"]["value"] == pytest.approx(70.0)
  assert rows["toy", "worst(en)", "charswap", "accuracy_drop"]["value"] == pytest.approx(20.0)
  assert rows["toy", "de", "mean", "accuracy_drop"]["value"] == pytest.approx(10.0)
  assert rows["toy", "de", "worst(charswap)", "accuracy_drop"]["value"] == pytest.approx(10.0)


def test_attacked_cell_without_clean_cell_is_an_error():
  with pytest.raises(ValueError, match="no clean cell"):
    robustness.robustness_rows([choice_cell("en", "charswap", [1, 0])], run="A")


def test_unpairable_ids_are_an_error():
  cells = [
    choice_cell("en", "clean", [1, 0]),
    choice_cell("en", "charswap", [1, 0], ids=["x1", "x2"]),
  ]
  with pytest.raises(ValueError, match="no example id in common"):
    robustness.robustness_rows(cells, run="A")


def test_comparison_of_two_runs():
  ids = [f"q{i}" for i in range(20)]
  run_a = [
    choice_cell("en", "clean", [1] * 10 + [0] * 10),
    choice_cell("en", "charswap", [1] * 4 + [0] * 16),
  ]
  run_b = [
    choice_cell("en", "clean", [1] * 10 + [0] * 10),
    choice_cell("en", "charswap", [1] * 9 + [0] * 11),
  ]
  rows = rows_by(robustness.comparison_rows(run_a, run_b, "A", "B", num_resamples=300))
  diff = rows["toy", "en", "charswap", "accuracy_diff"]
  assert diff["value"] == pytest.approx(25.0) and diff["n"] == len(ids)
  assert diff["run"] == "B-A"
  # 5 discordant pairs, all favouring B: p = 2 / 2**5.
  assert rows["toy", "en", "charswap", "accuracy_diff_p"]["value"] == pytest.approx(1 / 16)
  # Drop A = 30 points, drop B = 5 points.
  drop = rows["toy", "en", "charswap", "accuracy_drop_diff"]
  assert drop["value"] == pytest.approx(-25.0)
  assert drop["ci_low"] <= -25.0 <= drop["ci_high"] < 0
  assert rows["toy", "en", "clean", "accuracy_diff_p"]["value"] == 1.0


def squad_v2_cell(attack="clean", predicted=("Paris", "Rome", "big city", "")):
  """Two answerable (q0, q2) and two unanswerable (q1, q3) questions, hand-scored."""
  from mrc_jax.eval import metrics

  gold = [["Paris"], [], ["big red city"], []]
  exact, f1 = metrics.span_scores(gold, list(predicted), "en", no_answer=True)
  mlqa_exact, mlqa_f1 = metrics.span_scores(gold, list(predicted), "en", "mlqa", no_answer=True)
  return CellResult(
    "squad_v2",
    "en",
    attack,
    ["q0", "q1", "q2", "q3"],
    list(predicted),
    gold,
    {"f1": f1, "exact_match": exact, "f1_mlqa": mlqa_f1, "exact_match_mlqa": mlqa_exact},
    na_probs=[0.1, 0.3, 0.6, 0.9],
  )


def test_squad_v2_rows_follow_the_official_script():
  rows = rows_by(robustness.robustness_rows([squad_v2_cell()], run="A", num_resamples=300))
  get = lambda metric: rows["squad_v2", "en", "clean", metric]
  # f1: q0 1, q1 0 (answered an unanswerable), q2 2*(2/2*2/3)/(1+2/3) = 0.8, q3 1.
  assert get("exact_match")["value"] == pytest.approx(50.0)
  assert get("f1")["value"] == pytest.approx(70.0)
  assert get("HasAns_exact")["value"] == pytest.approx(50.0)
  assert get("HasAns_f1")["value"] == pytest.approx(90.0)
  assert get("NoAns_exact")["value"] == get("NoAns_f1")["value"] == pytest.approx(50.0)
  assert get("HasAns_f1")["n"] == get("NoAns_f1")["n"] == 2
  assert get("HasAns_f1")["ci_low"] <= 90.0 <= get("HasAns_f1")["ci_high"]
  # Best threshold: start 2 (both unanswerable right); past q0 3 (thresh 0.1), q1 2,
  # q2 2 (exact) / 2.8 (f1), q3 unchanged: 75 at 0.1 for both.
  assert (get("best_exact")["value"], get("best_exact_thresh")["value"]) == (75.0, 0.1)
  assert (get("best_f1")["value"], get("best_f1_thresh")["value"]) == (75.0, 0.1)
  assert np.isnan(get("best_f1")["ci_low"])
  # Every span row says its normalisation.
  assert get("f1")["style"] == get("HasAns_f1")["style"] == "squad_v1"
  assert get("f1_mlqa")["style"] == "mlqa"


def test_styles_of_attacked_aggregate_and_comparison_rows():
  clean = squad_v2_cell()
  attacked = squad_v2_cell("charswap", ("Paris", "", "", ""))
  rows = robustness.robustness_rows([clean, attacked], run="A", num_resamples=50)
  styles = {(r["lang"], r["attack"], r["metric"]): r["style"] for r in rows}
  assert styles["en", "charswap", "f1_drop"] == "squad_v1"
  assert styles["en", "charswap", "f1_mlqa_drop"] == "mlqa"
  assert styles["mean", "charswap", "exact_match_mlqa"] == "mlqa"
  assert ("mean", "clean", "best_f1_thresh") not in styles  # thresholds are not averaged
  assert rows_by(rows)["squad_v2", "en", "charswap", "NoAns_exact"]["value"] == 100.0
  other_run = squad_v2_cell("clean", ("Paris", "", "", ""))
  compared = robustness.comparison_rows([clean], [other_run], "A", "B", num_resamples=50)
  assert {r["style"] for r in compared if r["metric"].startswith("f1_mlqa")} == {"mlqa"}
  assert {r["style"] for r in compared if r["metric"] == "f1_diff_p"} == {"squad_v1"}
  choice = robustness.robustness_rows(
    [choice_cell("en", "clean", [1, 0])], run="A", num_resamples=10
  )
  assert {r["style"] for r in choice} == {""}
