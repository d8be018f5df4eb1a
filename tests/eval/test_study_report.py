"""The study report (mrc_jax/eval/study_report.py: paired comparisons, the summary, the
heatmap grid) and launch/study.py's pairs."""

import importlib.machinery
import pathlib
import types

import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pytest

from mrc_jax.eval import report, robustness, study_report
from mrc_jax.eval.results import CellResult

REPO = pathlib.Path(__file__).resolve().parents[2]
ARMS = ("ft_clean", "ft_adv", "pft_ft_clean", "pft_ft_adv")
PAIRS = [
  ("ft_clean", "ft_adv"),
  ("pft_ft_clean", "pft_ft_adv"),
  ("ft_clean", "pft_ft_clean"),
  ("ft_adv", "pft_ft_adv"),
]
ATTACKS = ("charswap", "addsent", "typo_keyboard", "negation", "distractor_passage", "paraphrase")
LANGS = ("en", "de", "ru", "zh", "ar", "hi", "sw", "tr", "vi")


@pytest.fixture(scope="module")
def study():
  return importlib.machinery.SourceFileLoader(
    "launch_study", str(REPO / "launch" / "study.py")
  ).load_module()


def arm_cells(seed, kept, tasks=4, langs=LANGS, attacks=ATTACKS, n=30):
  """Accuracy cells of one arm: the same examples in every arm, `kept` the share of clean
  answers an attack leaves right."""
  rng = np.random.default_rng(seed)
  cells = []
  for t in range(tasks):
    for lang in langs:
      ids = [f"{t}{lang}{i}" for i in range(n)]
      clean = rng.random(n) < 0.85
      cells.append(CellResult(f"set{t}", lang, "clean", ids, [0] * n, [0] * n, {"accuracy": clean}))
      for attack in attacks:
        attacked = clean & (rng.random(n) < kept)
        cells.append(
          CellResult(f"set{t}", lang, attack, ids, [0] * n, [0] * n, {"accuracy": attacked})
        )
  return cells


@pytest.fixture(scope="module")
def study_rows(study):
  """(rows, comparison, info) of a 4-arm x 4-set x 6-attack x 9-language study."""
  cells = {
    arm: arm_cells(seed, kept) for seed, (arm, kept) in enumerate(zip(ARMS, (0.3, 0.9, 0.5, 0.95)))
  }
  rows, comparison = [], []
  for arm in ARMS:
    rows += robustness.robustness_rows(cells[arm], arm, num_resamples=50)
  for baseline, other in PAIRS:
    comparison += robustness.comparison_rows(
      cells[baseline], cells[other], baseline, other, num_resamples=50
    )
  info = dict(
    title="Study report",
    data="SYNTHETIC",
    runs=list(ARMS),
    pairs=[study_report.pair_run(*pair) for pair in PAIRS],
    num_resamples=50,
    stage_seconds={},
  )
  return rows, comparison, info


def test_default_pairs_are_the_first_stage_against_each_other(study):
  plan = dict(train=("a", "b", "c"), compare=("b", "a", "c"))
  assert study.study_pairs(plan) == [("b", "a"), ("b", "c")]
  assert study.study_pairs(dict(plan, pairs=[["a", "c"], ("c", "b")])) == [("a", "c"), ("c", "b")]
  assert study_report.pair_run("ft_clean", "ft_adv") == "ft_adv-ft_clean"


@pytest.mark.parametrize(
  "pair,message",
  [
    (("ft_clean", "ft_advx"), r"names 'ft_advx', which is not a compared stage"),
    (("pretrain", "ft_adv"), r"names 'pretrain'"),
    (("ft_adv", "ft_adv"), r"compares 'ft_adv' with itself"),
    ("ft_adv", r"'ft_adv' is not a \(baseline, other\) pair"),
    (("ft_clean", "ft_adv", "pft_ft_adv"), r"is not a \(baseline, other\) pair"),
  ],
)
def test_bad_pairs_are_named(study, pair, message):
  plan = dict(train=("pretrain",) + ARMS, compare=ARMS, pairs=[("ft_clean", "pft_ft_clean"), pair])
  with pytest.raises(ValueError, match=message):
    study.study_pairs(plan)


def test_duplicate_pair_is_named(study):
  with pytest.raises(ValueError, match=r"\('ft_clean', 'ft_adv'\) is listed twice"):
    study.study_pairs(dict(compare=ARMS, pairs=[("ft_clean", "ft_adv")] * 2))


def test_bad_pairs_fail_before_any_training(study, tmp_path):
  def get_config(arg):
    raise AssertionError(f"trained with bad pairs: {arg}")

  module = types.SimpleNamespace(
    get_config=get_config,
    study=lambda arg: dict(
      train=ARMS,
      compare=ARMS,
      eval_config="stage=eval",
      data_label="x",
      pairs=[("ft_clean", "nope")],
    ),
  )
  with pytest.raises(ValueError, match="'nope'"):
    study.run_study(module, "", str(tmp_path))


def _row(lang, attack, metric, value, low=float("nan"), high=float("nan")):
  return {
    "run": "B-A",
    "task": "t",
    "lang": lang,
    "attack": attack,
    "metric": metric,
    "value": value,
    "ci_low": low,
    "ci_high": high,
    "n": 10,
  }


def test_marks_are_exactly_the_cells_with_p_below_005():
  p_values = {
    ("en", "clean"): 0.001,
    ("de", "clean"): 0.0499,
    ("en", "addsent"): 0.05,
    ("de", "addsent"): 0.3,
  }
  rows = [_row(lang, attack, "accuracy_diff", 5.0, 1.0, 9.0) for lang, attack in p_values]
  rows += [_row(lang, attack, "accuracy_diff_p", p) for (lang, attack), p in p_values.items()]
  # The mean has an interval but no p-value: never marked by the p rule.
  rows += [_row("mean", "clean", "accuracy_diff", 5.0, 1.0, 9.0)]
  marked, rule = report.significant_cells(rows, "t", "accuracy_diff")
  assert marked == {("en", "clean"), ("de", "clean")} and rule == "* p < 0.05"
  panel = report.heatmap_panel(rows, "t", "accuracy_diff")
  assert panel.marked == marked and panel.title == "t: accuracy_diff (* p < 0.05)"
  assert panel.diverging
  # Drop differences have no p-values: marked where the 95% interval excludes 0.
  drops = [
    _row("en", "addsent", "accuracy_drop_diff", 2.0, 0.5, 3.5),
    _row("de", "addsent", "accuracy_drop_diff", 1.0, -0.5, 2.5),
    _row("mean", "addsent", "accuracy_drop_diff", -2.0, -3.0, -0.1),
  ]
  assert report.significant_cells(drops, "t", "accuracy_drop_diff") == (
    {("en", "addsent"), ("mean", "addsent")},
    "* 95% CI excludes 0",
  )
  assert report.heatmap_panel(rows, "t", "accuracy_diff_p").marked == frozenset()


def test_draw_panel_writes_marked_cells_bold_with_an_asterisk():
  panel = report.Panel(
    "t",
    ["en", "de"],
    ["clean", "addsent"],
    np.array([[1.0, -2.0], [3.0, np.nan]]),
    diverging=True,
    marked=frozenset({("en", "addsent"), ("de", "clean")}),
  )
  figure, (axis, colorbar_axis) = plt.subplots(1, 2)
  report.draw_panel(figure, axis, colorbar_axis, panel, limit=3.0)
  texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t for t in axis.texts}
  plt.close(figure)
  assert {key: t.get_text() for key, t in texts.items()} == {
    (0, 0): "1.0",
    (0, 1): "-2.0*",
    (1, 0): "3.0*",
  }  # the NaN cell stays blank
  assert {key for key, t in texts.items() if t.get_fontweight() == "bold"} == {(0, 1), (1, 0)}


@pytest.mark.parametrize("render", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_study_grid_is_at_most_2000_pixels_wide(study, study_rows, tmp_path, monkeypatch, render):
  rows, comparison, info = study_rows
  drawn = {}
  draw_panel = report.draw_panel

  def record(figure, axis, colorbar_axis, panel, limit):
    drawn[panel.title] = panel, limit
    if render:  # Writing ~5,000 cell values takes ~15 s on 2 cores; the size is the same.
      draw_panel(figure, axis, colorbar_axis, panel, limit)

  monkeypatch.setattr(report, "draw_panel", record)
  paths = study_report.write_study_report(tmp_path, rows, comparison, info)
  assert "pairs_png" not in paths
  height, width, _ = matplotlib.image.imread(paths["png"]).shape
  assert width <= report.MAX_PLOT_WIDTH and height > width
  # 4 sets x (score, drop) x 4 arms, then 4 sets x (score diff, drop diff) x 4 pairs.
  assert len(drawn) == 2 * 4 * 4 * 2
  # The arms' drops of one set share one colour scale.
  drops = [drawn[f"set2 accuracy_drop: {arm}"] for arm in ARMS]
  assert {limit for _, limit in drops} == {max(np.nanmax(np.abs(p.values)) for p, _ in drops)}
  # Every score-difference panel is marked exactly where its cells have p < 0.05.
  for baseline, other in PAIRS:
    run = study_report.pair_run(baseline, other)
    for task in ("set0", "set3"):
      expected = {
        (r["lang"], r["attack"])
        for r in comparison
        if r["run"] == run
        and r["task"] == task
        and r["metric"] == "accuracy_diff_p"
        and r["value"] < 0.05
      }
      panel, _ = drawn[f"{task} accuracy_diff: {run} (* p < 0.05)"]
      assert panel.marked == expected
  marks = [len(p.marked) for title, (p, _) in drawn.items() if "accuracy_diff:" in title]
  assert max(marks) > 0 and min(marks) < len(LANGS) * (len(ATTACKS) + 1)


def test_tall_study_grid_is_split_in_two_images(study, study_rows, tmp_path):
  rows, comparison, info = study_rows
  arms = [r for r in rows if r["task"] == "set0"]
  pairs = [r for r in comparison if r["task"] == "set0"]
  paths = study_report.write_study_report(tmp_path, arms, pairs, info, max_height=1500)
  assert paths["pairs_png"] == tmp_path / "robustness_pairs.png"
  scores = matplotlib.image.imread(paths["png"]).shape
  differences = matplotlib.image.imread(paths["pairs_png"]).shape
  assert scores[1] <= report.MAX_PLOT_WIDTH and differences[1] <= report.MAX_PLOT_WIDTH
  assert scores[0] + differences[0] > 1500


def test_summary_has_each_pair_with_intervals_and_significant_counts(study, study_rows, tmp_path):
  rows, comparison, info = study_rows
  rows = [r for r in rows if r["task"] == "set1"]
  comparison = [r for r in comparison if r["task"] == "set1"]
  text = study_report.write_study_report(tmp_path, rows, comparison, info)["md"].read_text()
  assert (
    "- paired differences (other-baseline): ft_adv-ft_clean, pft_ft_adv-pft_ft_clean, "
    "pft_ft_clean-ft_clean, pft_ft_adv-ft_adv" in text
  )
  summary = text.split("## Summary: paired differences")[1].split("\n## ")[0]
  for baseline, other in PAIRS:
    run = study_report.pair_run(baseline, other)
    assert f"### {run}" in summary
    table = summary.split(f"### {run}")[1].split("###")[0]
    for attack in ("clean",) + ATTACKS:
      mine = [r for r in comparison if r["run"] == run and r["attack"] == attack]
      mean = next(r for r in mine if r["lang"] == "mean" and r["metric"] == "accuracy_diff")
      count = sum(r["metric"] == "accuracy_diff_p" and r["value"] < 0.05 for r in mine)
      line = next(line for line in table.splitlines() if line.startswith(f"| set1 | {attack} |"))
      assert line.startswith(
        f"| set1 | {attack} | {report.format_row(mean)} | {count}/{len(LANGS)} | "
      )
      if attack == "clean":
        assert line.endswith("| - | - |")
      else:
        drops = [r for r in mine if r["metric"] == "accuracy_drop_diff" and r["lang"] != "mean"]
        excludes_zero = sum(r["ci_low"] > 0 or r["ci_high"] < 0 for r in drops)
        assert line.endswith(f" | {excludes_zero}/{len(LANGS)} |")
