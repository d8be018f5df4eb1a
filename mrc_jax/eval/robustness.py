"""Robustness statistics per (task, language, attack), aggregates, and two-run comparison.

Every figure is a row in long format: `{"run", "task", "lang", "attack", "metric", "style",
"value", "ci_low", "ci_high", "n"}`; `style` names the official script whose normalisation
a span metric uses ("squad_v1", "mlqa"; `mrc_jax.eval.metrics`), "" for accuracy. Values
are percent (drops and gaps in percentage points, relative robustness = 100 * attacked /
clean). Intervals are 95% percentile bootstrap
intervals over examples; statistics of the same cell (clean vs attacked, run A vs run B)
share resampled indices over examples paired by id, and aggregates over languages or
attacks average the per-cell replicates (cells are resampled independently).

Metric names, for each per-example metric m of a task (accuracy; exact_match and f1):
  m                  score of the cell (clean or attacked), all its examples
  m_clean            clean score on the examples paired with the attacked set
  m_attacked         attacked score on the same paired examples
  m_drop             m_clean - m_attacked
  m_relative         100 * m_attacked / m_clean
  m_flip_rate        share of clean-correct examples the attack makes wrong (0/1 metrics)
  m_gap_to_en        m(lang, attack) - m(en, attack)

Span cells carry `exact_match`/`f1` by their dataset's official script and the other
style as `exact_match_STYLE`/`f1_STYLE`, each with every statistic above. SQuAD v2.0 cells
(with no-answer scores) add evaluate-v2.0.py's `HasAns_exact`, `HasAns_f1`, `NoAns_exact`,
`NoAns_f1` (over the questions with / without a gold answer; n is their count) and its
best-threshold search: `best_exact`, `best_f1` (percent, no interval) at
`best_exact_thresh`, `best_f1_thresh` (a null score minus span score, not percent).

Aggregate rows use lang "mean" / attack "mean", and lang "worst(xx)" / attack "worst(a)"
for the language / attack with the largest drop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from mrc_jax.eval import bootstrap, metrics
from mrc_jax.eval.results import BINARY_METRICS, CLEAN, CellResult

ENGLISH = "en"


@dataclasses.dataclass
class Estimate:
  """A statistic (percent), its bootstrap replicates [B] and the examples behind it."""

  value: float
  replicates: np.ndarray
  n: int

  def row(self, run: str, task: str, lang: str, attack: str, metric: str) -> dict:
    low, high = bootstrap.percentile_interval(self.replicates)
    return {
      "run": run,
      "task": task,
      "lang": lang,
      "attack": attack,
      "metric": metric,
      "value": float(self.value),
      "ci_low": low,
      "ci_high": high,
      "n": int(self.n),
    }


def _is_english(lang: str) -> bool:
  return lang == ENGLISH or lang.startswith(ENGLISH + "_") or lang == "eng_Latn"


def _paired_indices(first: Sequence[str], second: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
  """Indices into `first` and `second` of the ids both hold, in `first`'s order."""
  position = {example_id: index for index, example_id in enumerate(second)}
  left = [i for i, example_id in enumerate(first) if example_id in position]
  right = [position[first[i]] for i in left]
  return np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)


def cell_estimates(cell: CellResult, num_resamples: int, seed: int) -> dict[str, Estimate]:
  """Score of each metric on all examples of one cell."""
  metrics = list(cell.scores)
  columns = np.stack([cell.scores[m] for m in metrics], axis=1)  # [n, metrics]
  n = columns.shape[0]
  sums = bootstrap.resampled_sums(
    columns, num_resamples, bootstrap.cell_seed(seed, *cell.key)
  )  # [B, metrics]
  return {
    m: Estimate(100.0 * columns[:, k].mean(), 100.0 * sums[:, k] / n, n)
    for k, m in enumerate(metrics)
  }


def no_answer_estimates(cell: CellResult, num_resamples: int, seed: int) -> dict[str, Estimate]:
  """evaluate-v2.0.py's HasAns/NoAns scores and best thresholds of a SQuAD v2.0 cell."""
  has_answer = np.asarray([bool(gold) for gold in cell.gold], dtype=np.float64)  # [n]
  exact, f1 = cell.scores["exact_match"], cell.scores["f1"]
  official = metrics.no_answer_metrics(
    exact.tolist(), f1.tolist(), cell.predicted, has_answer.astype(bool).tolist(), cell.na_probs
  )
  # Subset scores as ratios of sums over the cell's resampled examples.
  subsets = {"HasAns": has_answer, "NoAns": 1.0 - has_answer}
  columns = np.stack(
    [values for subset in subsets.values() for values in (exact * subset, f1 * subset, subset)],
    axis=1,
  )  # [n, 6]
  sums = bootstrap.resampled_sums(
    columns, num_resamples, bootstrap.cell_seed(seed, *cell.key, "no_answer")
  )
  estimates = {}
  with np.errstate(divide="ignore", invalid="ignore"):
    for k, prefix in enumerate(subsets):
      if f"{prefix}_total" not in official:
        continue  # no question of this kind in the cell; the script omits it too
      count = sums[:, 3 * k + 2]
      for j, name in enumerate(("exact", "f1")):
        estimates[f"{prefix}_{name}"] = Estimate(
          official[f"{prefix}_{name}"],
          100 * sums[:, 3 * k + j] / count,
          official[f"{prefix}_total"],
        )
  no_interval = np.full(num_resamples, np.nan)
  for name in ("best_exact", "best_exact_thresh", "best_f1", "best_f1_thresh"):
    estimates[name] = Estimate(official[name], no_interval, len(cell.ids))
  return estimates


def attack_estimates(
  clean: CellResult, attacked: CellResult, num_resamples: int, seed: int
) -> dict[str, Estimate]:
  """Paired clean-vs-attacked statistics of one (task, language, attack)."""
  clean_index, attacked_index = _paired_indices(clean.ids, attacked.ids)
  n = len(clean_index)
  if n == 0:
    raise ValueError(
      f"{attacked.key}: no example id in common with {clean.key}; "
      f"attacked ids look like {attacked.ids[:3]}, clean like {clean.ids[:3]}"
    )
  names, columns = [], []
  for metric in clean.scores:
    if metric not in attacked.scores:
      raise ValueError(f"{attacked.key}: metric {metric} missing (has {list(attacked.scores)})")
    c = clean.scores[metric][clean_index]
    a = attacked.scores[metric][attacked_index]
    names += [(metric, "clean"), (metric, "attacked")]
    columns += [c, a]
    if metric in BINARY_METRICS:
      names.append((metric, "flipped"))
      columns.append(c * (1.0 - a))
  columns = np.stack(columns, axis=1)  # [n, statistics]
  sums = bootstrap.resampled_sums(
    columns, num_resamples, bootstrap.cell_seed(seed, *attacked.key, "paired")
  )
  point = columns.sum(axis=0)
  column = {name: k for k, name in enumerate(names)}
  estimates = {}
  with np.errstate(divide="ignore", invalid="ignore"):
    for metric in clean.scores:
      c_point, c_reps = point[column[metric, "clean"]], sums[:, column[metric, "clean"]]
      a_point, a_reps = point[column[metric, "attacked"]], sums[:, column[metric, "attacked"]]
      estimates[f"{metric}_clean"] = Estimate(100 * c_point / n, 100 * c_reps / n, n)
      estimates[f"{metric}_attacked"] = Estimate(100 * a_point / n, 100 * a_reps / n, n)
      estimates[f"{metric}_drop"] = Estimate(
        100 * (c_point - a_point) / n, 100 * (c_reps - a_reps) / n, n
      )
      estimates[f"{metric}_relative"] = Estimate(_ratio(a_point, c_point), 100 * a_reps / c_reps, n)
      if (metric, "flipped") in column:
        f_point, f_reps = point[column[metric, "flipped"]], sums[:, column[metric, "flipped"]]
        estimates[f"{metric}_flip_rate"] = Estimate(
          _ratio(f_point, c_point), 100 * f_reps / c_reps, int(c_point)
        )
  return estimates


def _ratio(numerator: float, denominator: float) -> float:
  return float("nan") if denominator == 0 else 100.0 * numerator / denominator


def _mean_estimate(estimates: Sequence[Estimate]) -> Estimate:
  return Estimate(
    float(np.mean([e.value for e in estimates])),
    np.mean(np.stack([e.replicates for e in estimates]), axis=0),
    int(sum(e.n for e in estimates)),
  )


def robustness_rows(
  cells: Sequence[CellResult], run: str, num_resamples: int = 1000, seed: int = 0
) -> list[dict]:
  """Every statistic of one run as long-format rows (see the module docstring)."""
  by_key = {}
  for cell in cells:
    if cell.key in by_key:
      raise ValueError(f"run {run}: cell {cell.key} evaluated twice")
    by_key[cell.key] = cell
  estimates: dict[tuple[str, str, str], dict[str, Estimate]] = {}
  for key, cell in by_key.items():
    estimates[key] = cell_estimates(cell, num_resamples, seed)
    if cell.na_probs is not None:
      estimates[key].update(no_answer_estimates(cell, num_resamples, seed))
    task, lang, attack = key
    if attack != CLEAN:
      clean = by_key.get((task, lang, CLEAN))
      if clean is None:
        raise ValueError(
          f"run {run}: {key} has no clean cell ({task}, {lang}, clean) "
          f"to pair with; evaluate the clean set too"
        )
      estimates[key].update(attack_estimates(clean, cell, num_resamples, seed))
  for (task, lang, attack), cell_stats in estimates.items():
    english = [k for k in estimates if k[0] == task and k[2] == attack and _is_english(k[1])]
    if english and not _is_english(lang):
      english_stats = estimates[english[0]]
      for metric in by_key[task, lang, attack].scores:
        mine, theirs = cell_stats[metric], english_stats[metric]
        cell_stats[f"{metric}_gap_to_en"] = Estimate(
          mine.value - theirs.value, mine.replicates - theirs.replicates, mine.n
        )
  rows = [
    estimate.row(run, task, lang, attack, metric)
    for (task, lang, attack), cell_stats in estimates.items()
    for metric, estimate in cell_stats.items()
  ]
  rows += _aggregate_rows(estimates, run)
  return _with_styles(rows, by_key.values())


def _metric_style(metric: str, headline: str | None) -> str:
  """The style of a metric row of a task whose headline span style is `headline`."""
  if headline is None:
    return ""
  return next((style for style in metrics.STYLES if f"_{style}" in metric), headline)


def _with_styles(rows: list[dict], cells) -> list[dict]:
  """Adds each row's `style`; every cell of a task (dataset) shares its official style."""
  headline = {}
  for cell in cells:
    headline.setdefault(cell.task, metrics.headline_style(cell.scores))
  return [dict(row, style=_metric_style(row["metric"], headline[row["task"]])) for row in rows]


def _aggregate_rows(
  estimates: dict[tuple[str, str, str], dict[str, Estimate]], run: str
) -> list[dict]:
  """Mean over languages / attacks, and the worst language / attack by drop."""
  rows = []
  tasks = sorted({task for task, _, _ in estimates})
  for task in tasks:
    keys = [k for k in estimates if k[0] == task]
    langs = sorted({lang for _, lang, _ in keys})
    attacks = sorted({attack for _, _, attack in keys})
    for attack in attacks:
      in_attack = [estimates[k] for k in keys if k[2] == attack]
      for metric in sorted(set.intersection(*(set(e) for e in in_attack))):
        if metric.endswith(("_gap_to_en", "_thresh")):
          continue
        rows.append(
          _mean_estimate([e[metric] for e in in_attack]).row(run, task, "mean", attack, metric)
        )
      rows += _worst_rows(
        {k[1]: estimates[k] for k in keys if k[2] == attack},
        lambda worst: (task, f"worst({worst})", attack),
        run,
      )
    for lang in langs:
      attacked = {k[2]: estimates[k] for k in keys if k[1] == lang and k[2] != CLEAN}
      if not attacked:
        continue
      for metric in sorted(set.intersection(*(set(e) for e in attacked.values()))):
        rows.append(
          _mean_estimate([e[metric] for e in attacked.values()]).row(
            run, task, lang, "mean", metric
          )
        )
      rows += _worst_rows(attacked, lambda worst: (task, lang, f"worst({worst})"), run)
  return rows


def _worst_rows(group: dict[str, dict[str, Estimate]], where, run: str) -> list[dict]:
  """Rows of the member of `group` with the largest drop, for each drop metric."""
  rows = []
  drop_metrics = sorted(set.intersection(*(set(e) for e in group.values())))
  for metric in [m for m in drop_metrics if m.endswith("_drop")]:
    worst = max(group, key=lambda name: group[name][metric].value)
    task, lang, attack = where(worst)
    rows.append(group[worst][metric].row(run, task, lang, attack, metric))
  return rows


def comparison_rows(
  cells_a: Sequence[CellResult],
  cells_b: Sequence[CellResult],
  run_a: str,
  run_b: str,
  num_resamples: int = 1000,
  seed: int = 0,
) -> list[dict]:
  """Paired differences run_b - run_a per cell, with significance, and their aggregates.

  For each shared cell and metric m: `m_diff` (b - a on examples both runs scored, with
  a paired bootstrap interval) and `m_diff_p` (exact McNemar for 0/1 metrics, paired
  bootstrap otherwise). For attacked cells also `m_drop_diff`: the change in drop,
  paired over examples present clean and attacked in both runs. Differences are also
  averaged over languages and over attacks (lang / attack "mean").
  """
  run = f"{run_b}-{run_a}"
  a_cells = {cell.key: cell for cell in cells_a}
  b_cells = {cell.key: cell for cell in cells_b}
  shared = [key for key in a_cells if key in b_cells]
  if not shared:
    raise ValueError(f"runs {run_a} and {run_b} share no (task, lang, attack) cell")
  estimates: dict[tuple[str, str, str], dict[str, Estimate]] = {}
  p_rows = []
  for key in shared:
    a, b = a_cells[key], b_cells[key]
    a_index, b_index = _paired_indices(a.ids, b.ids)
    n = len(a_index)
    if n == 0:
      raise ValueError(f"{key}: runs {run_a} and {run_b} share no example id")
    estimates[key] = {}
    for metric in [m for m in a.scores if m in b.scores]:
      a_values, b_values = a.scores[metric][a_index], b.scores[metric][b_index]
      cell_seed = bootstrap.cell_seed(seed, *key, metric, "compare")
      sums = bootstrap.resampled_sums(
        np.stack([a_values, b_values], axis=1), num_resamples, cell_seed
      )  # [B, 2]
      estimates[key][f"{metric}_diff"] = Estimate(
        100 * (b_values.mean() - a_values.mean()), 100 * (sums[:, 1] - sums[:, 0]) / n, n
      )
      if metric in BINARY_METRICS:
        p_value = bootstrap.mcnemar_exact(a_values, b_values)["p_value"]
      else:
        p_value = bootstrap.paired_bootstrap_pvalue(a_values, b_values, num_resamples, cell_seed)
      p_rows.append(
        {
          "run": run,
          "task": key[0],
          "lang": key[1],
          "attack": key[2],
          "metric": f"{metric}_diff_p",
          "value": p_value,
          "ci_low": float("nan"),
          "ci_high": float("nan"),
          "n": n,
        }
      )
    clean_key = (key[0], key[1], CLEAN)
    if key[2] != CLEAN and clean_key in a_cells and clean_key in b_cells:
      estimates[key].update(
        _drop_differences(a_cells[clean_key], a, b_cells[clean_key], b, num_resamples, seed)
      )
  rows = [
    estimate.row(run, task, lang, attack, metric)
    for (task, lang, attack), cell_stats in estimates.items()
    for metric, estimate in cell_stats.items()
  ]
  return _with_styles(rows + p_rows + _aggregate_rows(estimates, run), cells_a)


def _drop_differences(
  clean_a, attacked_a, clean_b, attacked_b, num_resamples, seed
) -> dict[str, Estimate]:
  """(drop_b - drop_a) over ids present in all four cells, one shared resampling."""
  common = set(clean_a.ids) & set(attacked_a.ids) & set(clean_b.ids) & set(attacked_b.ids)
  ids = [example_id for example_id in clean_a.ids if example_id in common]
  if not ids:
    return {}
  estimates = {}
  for metric in clean_a.scores:
    if not all(metric in cell.scores for cell in (attacked_a, clean_b, attacked_b)):
      continue
    columns = np.stack(
      [_values_for(cell, metric, ids) for cell in (clean_a, attacked_a, clean_b, attacked_b)],
      axis=1,
    )
    sums = bootstrap.resampled_sums(
      columns, num_resamples, bootstrap.cell_seed(seed, *attacked_a.key, metric, "drop")
    )
    n = len(ids)
    point = columns.sum(axis=0)
    value = 100 * ((point[2] - point[3]) - (point[0] - point[1])) / n
    replicates = 100 * ((sums[:, 2] - sums[:, 3]) - (sums[:, 0] - sums[:, 1])) / n
    estimates[f"{metric}_drop_diff"] = Estimate(value, replicates, n)
  return estimates


def _values_for(cell: CellResult, metric: str, ids: Sequence[str]) -> np.ndarray:
  position = {example_id: index for index, example_id in enumerate(cell.ids)}
  return cell.scores[metric][[position[example_id] for example_id in ids]]
