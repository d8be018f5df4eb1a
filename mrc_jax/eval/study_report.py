"""The study report: every compared run's robustness rows and each pair's paired
differences in one set of files (``launch/study.py`` writes it to ``WORKDIR/report``)."""

from __future__ import annotations

import pathlib
from collections import defaultdict

from mrc_jax.eval import report, results

# Taller study figures are split in two images (scores and drops; paired differences).
MAX_PLOT_HEIGHT = 12000


def pair_run(baseline: str, other: str) -> str:
  """The ``run`` of a pair's difference rows (as robustness.comparison_rows names them)."""
  return f"{other}-{baseline}"


def write_study_report(
  out_dir: pathlib.Path,
  rows: list[dict],
  comparison: list[dict],
  info: dict,
  max_height: int = MAX_PLOT_HEIGHT,
) -> dict[str, pathlib.Path]:
  """robustness.{json,csv} hold every run's rows and the paired differences (the ``run``
  column tells them apart); robustness.md has the summaries, a section per run and the
  differences; robustness.png the heatmap grid (differences in robustness_pairs.png when
  the whole grid would be taller than `max_height` pixels)."""
  out_dir.mkdir(parents=True, exist_ok=True)
  everything = rows + comparison
  paths = {suffix: out_dir / f"robustness.{suffix}" for suffix in ("json", "csv", "md", "png")}
  report.write_json(paths["json"], everything, info)
  report.write_csv(paths["csv"], everything)
  pairs = info.get("pairs", [])
  sections = [
    f"# {info['title']}",
    "",
    f"**{info['data']}**",
    "",
    f"- runs compared: {', '.join(info['runs'])}",
    f"- paired differences (other-baseline): {', '.join(pairs) or 'none'}",
    f"- seconds per stage: {info['stage_seconds']}",
    "",
  ]
  sections += [_summary_table(rows, info["runs"]), ""]
  if comparison:
    sections += [_pairs_summary(comparison, pairs), ""]
  for run_name in info["runs"]:
    mine = [r for r in rows if r["run"] == run_name]
    sections.append(report.markdown(mine, f"Run {run_name}", info).replace("# ", "## ", 1))
  if comparison:
    sections.append(report.markdown(comparison, "Paired differences", info).replace("# ", "## ", 1))
  paths["md"].write_text("\n".join(sections))
  scores, differences = study_panels(rows, comparison, info["runs"], pairs)
  title = f"{info['title']} ({info['data']})"
  if not differences or report.plot_height(scores + differences) <= max_height:
    report.plot_panels(paths["png"], scores + differences, title)
  else:
    paths["pairs_png"] = out_dir / "robustness_pairs.png"
    report.plot_panels(paths["png"], scores, f"{title}: scores and drops")
    report.plot_panels(paths["pairs_png"], differences, f"{title}: paired differences")
  return paths


def study_panels(rows: list[dict], comparison: list[dict], runs: list[str], pairs: list[str]):
  """(score groups, difference groups) of heatmap panels, a figure row group each: per task
  the runs' scores, then their drops; per task each pair's score differences, then its drop
  differences (significant cells marked)."""
  by_run_task = defaultdict(list)
  for row in rows + comparison:
    by_run_task[row["run"], row["task"]].append(row)
  scores, differences = [], []
  for task in sorted({r["task"] for r in rows}):
    primary = report.primary_metric(rows, task)
    for names, suffixes, groups in (
      (runs, ("", "_drop"), scores),
      (pairs, ("_diff", "_drop_diff"), differences),
    ):
      for suffix in suffixes:
        panels = [
          report.heatmap_panel(
            by_run_task[name, task], task, primary + suffix, f"{task} {primary + suffix}: {name}"
          )
          for name in names
        ]
        groups.append([panel for panel in panels if panel is not None])
  return ([group for group in scores if group], [group for group in differences if group])


def _summary_table(rows: list[dict], runs: list[str]) -> str:
  """Mean over languages per attack, one column per run (primary metric)."""
  mean = {
    (r["run"], r["task"], r["attack"], r["metric"]): r["value"] for r in rows if r["lang"] == "mean"
  }
  tasks = sorted({r["task"] for r in rows})
  attacks = sorted(
    {r["attack"] for r in rows if r["lang"] == "mean" and not r["attack"].startswith("worst(")},
    key=lambda a: (a != results.CLEAN, a),
  )
  lines = [
    "## Summary: mean over languages (percent)",
    "",
    "| task | attack | " + " | ".join(f"{run} score | {run} drop" for run in runs) + " |",
    "|---|---|" + "---|---|" * len(runs),
  ]
  for task in tasks:
    metric = report.primary_metric(rows, task)
    for attack in attacks:
      cells = []
      for run_name in runs:
        score = mean.get(
          (run_name, task, attack, metric if attack == results.CLEAN else f"{metric}_attacked")
        )
        drop = mean.get((run_name, task, attack, f"{metric}_drop"))
        cells += [_fmt(score), _fmt(drop)]
      lines.append(f"| {task} | {attack} | " + " | ".join(cells) + " |")
  return "\n".join(lines)


def _pairs_summary(comparison: list[dict], pairs: list[str]) -> str:
  """Per pair: mean over languages of the score and drop differences per attack (primary
  metric), with how many languages differ significantly."""
  lines = [
    "## Summary: paired differences, mean over languages (points)",
    "",
    "Differences other - baseline with 95% paired bootstrap intervals; `sig.` counts "
    f"the languages whose score difference has p < {report.SIGNIFICANCE} (exact McNemar /"
    " paired bootstrap) or whose drop difference has a 95% interval excluding 0.",
    "",
  ]
  for pair in pairs:
    mine = [r for r in comparison if r["run"] == pair]
    lines += [
      f"### {pair}",
      "",
      "| task | attack | score diff | sig. | drop diff | sig. |",
      "|---|---|---|---|---|---|",
    ]
    for task in sorted({r["task"] for r in mine}):
      primary = report.primary_metric(mine, task)
      columns = []
      for metric in (f"{primary}_diff", f"{primary}_drop_diff"):
        _, attacks, cells = report.metric_grid(mine, task, metric)
        significant, _ = report.significant_cells(mine, task, metric)
        columns.append((attacks, cells, significant))
      for attack in columns[0][0]:
        if attack == "mean":
          continue
        line = [task, attack]
        for _, cells, significant in columns:
          langs = [lang for lang, name in cells if name == attack and lang != "mean"]
          if ("mean", attack) not in cells:
            line += ["-", "-"]
            continue
          count = sum((lang, attack) in significant for lang in langs)
          line += [report.format_row(cells["mean", attack]), f"{count}/{len(langs)}"]
        lines.append("| " + " | ".join(line) + " |")
    lines.append("")
  return "\n".join(lines)


def _fmt(value) -> str:
  return "-" if value is None else f"{value:.1f}"
