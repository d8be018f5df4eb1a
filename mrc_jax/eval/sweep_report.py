"""The sweep summary: per run and task of an ablation sweep, the clean score, attacked
score, drop and flip rate, as ``launch/sweep.py --mode=gather`` writes them."""

from __future__ import annotations

import csv
import json
import math
import pathlib

from mrc_jax.eval import report


def summarise(rows: list[dict]) -> list[dict]:
  """Per task of one report: clean score, attacked score, drop and flip rate (percent).

  From the report's per-attack means over languages (rows with lang ``mean``): ``clean``
  is the clean score; the others are averaged over the attacks.
  """
  value = {
    (r["task"], r["attack"], r["metric"]): r["value"]
    for r in rows
    if r["lang"] == "mean" and not r["attack"].startswith("worst(")
  }
  summary = []
  for task in sorted({r["task"] for r in rows}):
    metric = report.primary_metric(rows, task)
    attacks = sorted({a for t, a, _ in value if t == task and a not in ("clean", "mean")})

    def over_attacks(statistic, task=task, metric=metric, attacks=attacks):
      values = [value.get((task, a, f"{metric}_{statistic}")) for a in attacks]
      values = [v for v in values if v is not None]
      return sum(values) / len(values) if values else None

    summary.append(
      dict(
        task=task,
        metric=metric,
        attacks=len(attacks),
        clean=value.get((task, "clean", metric)),
        attacked=over_attacks("attacked"),
        drop=over_attacks("drop"),
        flip_rate=over_attacks("flip_rate"),
      )
    )
  return summary


def write_summary(
  out_dir: pathlib.Path, table: list[dict], num_runs: int, missing: list[str]
) -> dict[str, pathlib.Path]:
  """The gathered table as sweep.{json,csv,md,png} in ``out_dir``; ``missing`` lists the
  reports not there yet."""
  out_dir.mkdir(parents=True, exist_ok=True)
  paths = {s: out_dir / f"sweep.{s}" for s in ("json", "csv", "md", "png")}
  paths["json"].write_text(json.dumps(dict(runs=num_runs, missing=missing, rows=table), indent=1))
  columns = list(dict.fromkeys(k for row in table for k in row))
  with paths["csv"].open("w", newline="") as handle:
    writer = csv.DictWriter(handle, fieldnames=columns)
    writer.writeheader()
    writer.writerows(table)
  paths["md"].write_text(_markdown(table, columns, missing))
  _plot(paths["png"], table)
  return paths


def _cell(value) -> str:
  if isinstance(value, float):
    return "-" if not math.isfinite(value) else f"{value:.1f}"
  return "-" if value is None else str(value)


def _markdown(table: list[dict], columns: list[str], missing: list[str]) -> str:
  lines = [
    "# Sweep summary",
    "",
    "Means over languages (clean) and over languages x attacks (attacked, drop, "
    "flip rate), in percent.",
    "",
    "| " + " | ".join(columns) + " |",
    "|" + "---|" * len(columns),
  ]
  lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in table]
  if missing:
    lines += ["", f"Runs without a report yet ({len(missing)}):", ""]
    lines += [f"- {m}" for m in missing]
  return "\n".join(lines) + "\n"


def _plot(path: pathlib.Path, table: list[dict]) -> None:
  """Clean and attacked score, and drop, per run (x) with one line per task."""
  import matplotlib  # pylint: disable=import-outside-toplevel

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

  runs = list(dict.fromkeys(row["run"] for row in table))
  figure, (score_axis, drop_axis) = plt.subplots(1, 2, figsize=(max(8, 1.2 * len(runs) + 4), 4.5))
  for task in sorted({row["task"] for row in table}):
    by_run = {row["run"]: row for row in table if row["task"] == task}
    xs = [i for i, name in enumerate(runs) if name in by_run]
    get = lambda key: [
      by_run[runs[i]][key] if by_run[runs[i]][key] is not None else float("nan") for i in xs
    ]
    score_axis.plot(xs, get("clean"), marker="o", label=f"{task} clean")
    score_axis.plot(xs, get("attacked"), marker="x", linestyle="--", label=f"{task} attacked")
    drop_axis.plot(xs, get("drop"), marker="o", label=task)
  for axis, title in ((score_axis, "score (%)"), (drop_axis, "drop under attack (points)")):
    axis.set_xticks(range(len(runs)), runs, rotation=30, ha="right", fontsize=7)
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7)
  figure.tight_layout()
  figure.savefig(path, dpi=100)
  plt.close(figure)
