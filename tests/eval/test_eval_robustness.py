"""Robustness statistics against hand-computed values."""
import numpy as np
import pytest

from mrc_jax.eval import robustness
from mrc_jax.eval.results import CellResult


def choice_cell(lang, attack, correct, ids=None, task="toy"):
    ids = ids or [f"q{i}" for i in range(len(correct))]
    return CellResult(task=task, lang=lang, attack=attack, ids=ids,
                      predicted=[0 if c else 1 for c in correct], gold=[0] * len(correct),
                      scores={"accuracy": np.asarray(correct, dtype=float)})


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
    return [choice_cell("en", "clean", en_clean), choice_cell("en", "charswap", en_swap),
            choice_cell("de", "clean", de_clean),
            choice_cell("de", "charswap", de_swap[::-1], ids=ids[::-1])]


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
    cells = [choice_cell("en", "clean", [1, 0]),
             choice_cell("en", "charswap", [1, 0], ids=["x1", "x2"])]
    with pytest.raises(ValueError, match="no example id in common"):
        robustness.robustness_rows(cells, run="A")


def test_comparison_of_two_runs():
    ids = [f"q{i}" for i in range(20)]
    run_a = [choice_cell("en", "clean", [1] * 10 + [0] * 10),
             choice_cell("en", "charswap", [1] * 4 + [0] * 16)]
    run_b = [choice_cell("en", "clean", [1] * 10 + [0] * 10),
             choice_cell("en", "charswap", [1] * 9 + [0] * 11)]
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
