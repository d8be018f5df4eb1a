"""Report files are written and readable; predictions JSONL round-trips."""

import csv
import json
import math

import numpy as np
import pytest
from PIL import Image

from mrc_jax.eval import report, results, robustness
from mrc_jax.eval.results import CellResult


def synthetic_run(seed, attacked_rate):
  rng = np.random.default_rng(seed)
  cells = []
  for lang in ("en", "de", "zh"):
    ids = [f"{lang}{i}" for i in range(40)]
    clean = rng.random(40) < 0.8
    cells.append(
      CellResult(
        "toy", lang, "clean", ids, clean.astype(int).tolist(), [1] * 40, {"accuracy": clean}
      )
    )
    for attack in ("charswap", "addsent"):
      attacked = clean & (rng.random(40) < attacked_rate)
      cells.append(
        CellResult(
          "toy", lang, attack, ids, attacked.astype(int).tolist(), [1] * 40, {"accuracy": attacked}
        )
      )
  spans = [
    CellResult(
      "toyqa",
      "en",
      "clean",
      ["s1", "s2"],
      ["Paris", "x"],
      [["Paris"], ["Rome"]],
      {"f1": [1.0, 0.0], "exact_match": [1.0, 0.0]},
    )
  ]
  return cells + spans


def test_report_files_are_written_and_readable(tmp_path):
  rows = robustness.robustness_rows(synthetic_run(0, 0.7), run="A", num_resamples=200)
  info = {"title": "robustness of A", "runs": ["A"], "compilations": 1, "checkpoint_step": 7}
  paths = report.write_report(tmp_path, rows, info, step=7)

  payload = json.loads(paths["json"].read_text())
  assert payload["compilations"] == 1 and len(payload["rows"]) == len(rows)

  with paths["csv"].open() as handle:
    parsed = list(csv.DictReader(handle))
  assert tuple(parsed[0]) == report.CSV_COLUMNS
  assert len(parsed) == len(rows)
  drop = next(
    r
    for r in parsed
    if (r["lang"], r["attack"], r["metric"]) == ("de", "charswap", "accuracy_drop")
  )
  expected = next(
    r
    for r in rows
    if (r["task"], r["lang"], r["attack"], r["metric"])
    == ("toy", "de", "charswap", "accuracy_drop")
  )
  assert float(drop["value"]) == pytest.approx(expected["value"])
  assert float(drop["ci_low"]) <= float(drop["value"]) <= float(drop["ci_high"])
  assert int(drop["n"]) == 40

  text = paths["md"].read_text()
  assert "## toy: accuracy_drop" in text
  assert "| lang | clean | addsent | charswap | mean |" in text
  assert "## toy: worst cases (largest drop)" in text
  assert "| worst(" in text and "| de | worst(" in text  # worst language; worst attack
  assert "## toyqa: f1" in text and "## toyqa: exact_match" in text
  de_row = next(line for line in text.splitlines() if line.startswith("| de |") and "[" in line)
  assert de_row.count("|") >= 4

  with Image.open(paths["png"]) as image:
    assert image.size[0] > 100 and image.size[1] > 100

  event_files = list(paths["tensorboard"].glob("events.out.tfevents.*"))
  assert event_files and event_files[0].stat().st_size > 0


def test_tensorboard_scalars_hold_the_values(tmp_path):
  import tensorflow as tf

  rows = robustness.robustness_rows(synthetic_run(1, 0.7), run="A", num_resamples=50)
  report.write_tensorboard(tmp_path, rows, step=3)
  tags = {}
  for event_file in tmp_path.glob("events.out.tfevents.*"):
    for event in tf.compat.v1.train.summary_iterator(str(event_file)):
      for value in event.summary.value:
        tags[value.tag] = (event.step, float(tf.make_ndarray(value.tensor)))
  expected = next(
    r for r in rows if (r["lang"], r["attack"], r["metric"]) == ("en", "charswap", "accuracy_drop")
  )
  assert tags["robustness/toy/en/charswap/accuracy_drop"] == (
    3,
    pytest.approx(expected["value"], rel=1e-6),
  )


def test_comparison_report(tmp_path):
  rows = robustness.comparison_rows(
    synthetic_run(0, 0.5), synthetic_run(0, 0.9), "A", "B", num_resamples=200
  )
  paths = report.write_comparison(tmp_path, rows, {"runs": ["A", "B"]})
  parsed = list(csv.DictReader(paths["csv"].open()))
  drop_diffs = {
    (r["lang"], r["attack"]): float(r["value"])
    for r in parsed
    if r["metric"] == "accuracy_drop_diff"
  }
  cells = {key: value for key, value in drop_diffs.items() if "mean" not in key}
  # B keeps more of its clean answers under attack: its drops are smaller everywhere.
  assert len(cells) == 6 and all(d < 0 for d in cells.values())
  assert drop_diffs["mean", "charswap"] == pytest.approx(
    np.mean([cells[lang, "charswap"] for lang in ("en", "de", "zh")])
  )
  assert drop_diffs["de", "mean"] == pytest.approx(
    np.mean([cells["de", attack] for attack in ("charswap", "addsent")])
  )
  assert "## toy: accuracy_drop_diff" in paths["md"].read_text()
  with Image.open(paths["png"]) as image:
    assert image.size[0] > 100


def test_heatmaps_wrap_into_rows_at_most_2000_pixels_wide(tmp_path, monkeypatch):
  # Six tasks x (score diff, drop diff) were twelve panels side by side in one row.
  cells_a, cells_b = [], []
  for task in range(6):
    for cells, seed in ((cells_a, 0), (cells_b, 1)):
      cells += [
        CellResult(f"toy{task}", c.lang, c.attack, c.ids, c.predicted, c.gold, c.scores)
        for c in synthetic_run(seed + 2 * task, 0.5 + 0.4 * seed)
        if c.task == "toy"
      ]
  rows = robustness.comparison_rows(cells_a, cells_b, "A", "B", num_resamples=100)
  drawn = []
  draw_panel = report.draw_panel
  monkeypatch.setattr(
    report, "draw_panel", lambda *args: drawn.append(args[3]) or draw_panel(*args)
  )
  paths = report.write_comparison(tmp_path, rows, {"runs": ["A", "B"]})
  with Image.open(paths["png"]) as image:
    width, height = image.size
  # One figure row per task.
  assert width <= report.MAX_PLOT_WIDTH
  assert height > 6 * report.PLOT_DPI * (report.PANEL_TOP + report.PANEL_BOTTOM)
  assert len(drawn) == 12
  # Compare mode marks the score differences with p < 0.05.
  panel = next(p for p in drawn if p.title == "toy4: accuracy_diff (* p < 0.05)")
  assert panel.marked == {
    (r["lang"], r["attack"])
    for r in rows
    if r["task"] == "toy4" and r["metric"] == "accuracy_diff_p" and r["value"] < 0.05
  }
  assert panel.marked


def test_predictions_jsonl_round_trip(tmp_path):
  cells = synthetic_run(2, 0.6)
  path = tmp_path / "predictions.jsonl"
  results.write_predictions(cells, path)
  first = json.loads(path.read_text().splitlines()[0])
  assert set(first) >= {"id", "lang", "attack", "predicted", "gold", "correct"}
  loaded = results.read_predictions(path)
  assert [c.key for c in loaded] == [c.key for c in cells]
  for original, again in zip(cells, loaded):
    assert again.ids == original.ids and again.predicted == original.predicted
    for name, values in original.scores.items():
      np.testing.assert_array_equal(again.scores[name], values)
  assert loaded[-1].gold == [["Paris"], ["Rome"]]


def test_bad_prediction_line_names_file_and_line(tmp_path):
  path = tmp_path / "predictions.jsonl"
  path.write_text('{"id": "a", "task": "t", "lang": "en", "attack": "clean"}\n{"id": \n')
  with pytest.raises(ValueError, match=r"predictions.jsonl:2"):
    results.read_predictions(path)


def test_json_has_no_nan(tmp_path):
  # A clean accuracy of 0 makes relative robustness and flip rate undefined.
  cells = [
    CellResult("toy", "en", "clean", ["a", "b"], [0, 0], [1, 1], {"accuracy": [0, 0]}),
    CellResult("toy", "en", "charswap", ["a", "b"], [0, 0], [1, 1], {"accuracy": [0, 0]}),
  ]
  rows = robustness.robustness_rows(cells, run="A", num_resamples=20)
  relative = next(r for r in rows if r["metric"] == "accuracy_relative" and r["lang"] == "en")
  assert math.isnan(relative["value"])
  report.write_json(tmp_path / "r.json", rows, {})
  loaded = json.loads((tmp_path / "r.json").read_text())
  assert any(r["value"] is None for r in loaded["rows"])


def span_cells():
  """An XQuAD-like cell (SQuAD v1.1 headline) and a SQuAD v2.0 cell with na_probs."""
  from mrc_jax.eval import metrics

  cells = []
  for task, gold, predicted, na_probs in (
    ("xquad", [["“Paris”"], ["Rome"]], ["Paris", "Rome"], None),
    ("squad_v2", [["Paris"], []], ["Paris", ""], [-1.5, 2.25]),
  ):
    no_answer = na_probs is not None
    scores = {}
    for style, suffix in (("squad_v1", ""), ("mlqa", "_mlqa")):
      exact, f1 = metrics.span_scores(gold, predicted, "en", style, no_answer)
      scores[f"f1{suffix}"], scores[f"exact_match{suffix}"] = f1, exact
    cells.append(
      CellResult(task, "en", "clean", ["a", "b"], predicted, gold, scores, na_probs=na_probs)
    )
  return cells


def test_report_says_the_style_of_each_row(tmp_path):
  rows = robustness.robustness_rows(span_cells(), run="A", num_resamples=50)
  paths = report.write_report(tmp_path, rows, {"title": "spans"}, tensorboard=False)
  with paths["csv"].open() as handle:
    parsed = {(r["task"], r["metric"]): r for r in csv.DictReader(handle) if r["lang"] == "en"}
  assert parsed["xquad", "f1"]["style"] == "squad_v1"
  assert float(parsed["xquad", "exact_match"]["value"]) == 50.0  # “Paris” kept its quotes
  assert parsed["xquad", "f1_mlqa"]["style"] == "mlqa"
  assert float(parsed["xquad", "exact_match_mlqa"]["value"]) == 100.0
  assert float(parsed["squad_v2", "NoAns_exact"]["value"]) == 100.0
  # Past "a" (na -1.5) both questions are right; "b" is predicted "" anyway.
  assert float(parsed["squad_v2", "best_f1"]["value"]) == 100.0
  assert float(parsed["squad_v2", "best_f1_thresh"]["value"]) == -1.5
  text = paths["md"].read_text()
  assert "## xquad: f1 (squad_v1)" in text and "## xquad: f1_mlqa (mlqa)" in text
  assert "- span style squad_v1: SQuAD v1.1 evaluate-v1.1.py" in text
  assert "## squad_v2: HasAns_f1 (squad_v1)" in text
  assert "## squad_v2: best_f1_thresh (squad_v1)" in text and "| en | -1.500 |" in text


def test_na_probs_round_trip_through_predictions_jsonl(tmp_path):
  cells = span_cells()
  path = tmp_path / "predictions.jsonl"
  results.write_predictions(cells, path)
  records = [json.loads(line) for line in path.read_text().splitlines()]
  assert [r.get("na_prob") for r in records] == [None, None, -1.5, 2.25]
  xquad, squad_v2 = results.read_predictions(path)
  assert xquad.na_probs is None and squad_v2.na_probs == [-1.5, 2.25]
  assert list(squad_v2.scores) == ["f1", "exact_match", "f1_mlqa", "exact_match_mlqa"]
