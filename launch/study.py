r"""Runs a multi-stage study config end to end and writes one report comparing its runs.

  python launch/study.py --config=configs/quickstart.py --workdir=/tmp/quickstart

A study config defines ``get_config(arg)`` (one training config per ``stage=NAME``, plus
``stage=eval`` for the evaluation entries) and ``study(arg)``, which returns a dict:
``train`` (the training stages, in order), ``compare`` (the fine-tuned stages to evaluate),
``eval_config`` (the config argument of the evaluation entries), ``data_label`` (what the
data is, printed on the report) and optionally ``pairs``: (baseline, other) pairs of
compared stages, e.g. ``[("ft_clean", "ft_adv"), ("ft_clean", "pft_ft_clean")]``; without
it the first compared stage is the baseline of each other one. Each stage trains in
``WORKDIR/STAGE`` exactly as ``launch/train.py --config=CONFIG:stage=STAGE,root=WORKDIR
--workdir=WORKDIR/STAGE`` would (running the command again resumes, and finished stages
return at once). Then every compared stage is evaluated clean and under each attack (its
own report lands in ``WORKDIR/STAGE/report/``) and the study report, with all runs and
each pair's paired differences (run ``OTHER-BASELINE``), is written to
``WORKDIR/report/robustness.{json,csv,md,png}``; a figure too tall for one image puts the
differences in ``robustness_pairs.png``.
"""
from __future__ import annotations

import importlib.machinery
import os
import pathlib
import time
from collections import defaultdict

from absl import app, flags, logging

from mrc_jax import train
from mrc_jax.eval import report, results, robustness
from mrc_jax.eval import run as eval_run

_CONFIG = flags.DEFINE_string("config", None, "Study config file and argument: PATH[:ARG].")
_WORKDIR = flags.DEFINE_string("workdir", None, "Root directory of the study's stages.")
_NUM_RESAMPLES = flags.DEFINE_integer("num_resamples", 1000, "Bootstrap resamples.")
# Taller study figures are split in two images (scores and drops; paired differences).
MAX_PLOT_HEIGHT = 12000


def load_study(spec: str):
  """(config module, argument) of ``PATH[:ARG]``."""
  path, _, arg = spec.partition(":")
  if not os.path.isfile(path):
    raise FileNotFoundError(f"study config {path} does not exist")
  module = importlib.machinery.SourceFileLoader("study_" + pathlib.Path(path).stem,
                                                path).load_module()
  for name in ("get_config", "study"):
    if not hasattr(module, name):
      raise AttributeError(f"study config {path} defines no {name}()")
  return module, arg


def stage_arg(*parts: str, **options) -> str:
  """Joins config arguments: ``stage_arg("a=1", "b", c=2) == "a=1,b,c=2"``."""
  return ",".join(filter(None, list(parts) + [f"{k}={v}" for k, v in options.items()]))


def run_study(module, arg: str, workdir: str, num_resamples: int = 1000) -> dict:
  """Trains every stage, evaluates the compared ones, writes the study report."""
  workdir = os.path.abspath(workdir)
  plan = module.study(arg)
  pairs = study_pairs(plan)
  timings = {}
  for stage in plan["train"]:
    begin = time.perf_counter()
    config = module.get_config(stage_arg(arg, stage=stage, root=workdir))
    logging.info("study stage %s: training in %s/%s", stage, workdir, stage)
    train.train_and_evaluate(config, os.path.join(workdir, stage))
    timings[stage] = round(time.perf_counter() - begin, 1)

  eval_config = module.get_config(stage_arg(arg, plan["eval_config"], root=workdir))
  options = eval_run.ReportOptions(num_resamples=num_resamples)
  cells, rows = {}, []
  for stage in plan["compare"]:
    begin = time.perf_counter()
    stage_dir = os.path.join(workdir, stage)
    cells[stage], info = eval_run.predict_workdir(eval_config, stage_dir, options)
    stage_rows = robustness.robustness_rows(cells[stage], stage, num_resamples, options.seed)
    out = pathlib.Path(stage_dir) / eval_run.REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    results.write_predictions(cells[stage], out / eval_run.PREDICTIONS)
    report.write_report(out, stage_rows, dict(info, title=f"Robustness: {stage}",
                                              data=plan["data_label"]),
                        step=info["checkpoint_step"])
    rows += stage_rows
    timings[f"eval_{stage}"] = round(time.perf_counter() - begin, 1)

  comparison = []
  for baseline, other in pairs:
    comparison += robustness.comparison_rows(cells[baseline], cells[other], baseline, other,
                                             num_resamples, options.seed)
  info = dict(title="Study report", data=plan["data_label"], runs=list(plan["compare"]),
              pairs=[pair_run(*pair) for pair in pairs], num_resamples=num_resamples,
              stage_seconds=timings)
  return write_study_report(pathlib.Path(workdir) / eval_run.REPORT_DIR, rows, comparison, info)


def study_pairs(plan: dict) -> list[tuple[str, str]]:
  """The (baseline, other) stage pairs a study compares: ``plan["pairs"]``, else the first
  compared stage against each other one."""
  compare = list(plan["compare"])
  if not compare:
    raise ValueError("study: compare names no stage")
  if "pairs" not in plan:
    return [(compare[0], other) for other in compare[1:]]
  pairs = []
  for pair in plan["pairs"]:
    if isinstance(pair, str) or len(pair) != 2:
      raise ValueError(f"study pairs: {pair!r} is not a (baseline, other) pair of stages")
    for stage in pair:
      if stage not in compare:
        raise ValueError(f"study pairs: {tuple(pair)} names {stage!r}, which is not a "
                         f"compared stage ({', '.join(compare)})")
    if pair[0] == pair[1]:
      raise ValueError(f"study pairs: {tuple(pair)} compares {pair[0]!r} with itself")
    if tuple(pair) in pairs:
      raise ValueError(f"study pairs: {tuple(pair)} is listed twice")
    pairs.append(tuple(pair))
  return pairs


def pair_run(baseline: str, other: str) -> str:
  """The ``run`` of a pair's difference rows (as robustness.comparison_rows names them)."""
  return f"{other}-{baseline}"


def write_study_report(out_dir: pathlib.Path, rows: list[dict], comparison: list[dict],
                       info: dict,
                       max_height: int = MAX_PLOT_HEIGHT) -> dict[str, pathlib.Path]:
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
  sections = [f"# {info['title']}", "", f"**{info['data']}**", "",
              f"- runs compared: {', '.join(info['runs'])}",
              f"- paired differences (other-baseline): {', '.join(pairs) or 'none'}",
              f"- seconds per stage: {info['stage_seconds']}", ""]
  sections += [_summary_table(rows, info["runs"]), ""]
  if comparison:
    sections += [_pairs_summary(comparison, pairs), ""]
  for run_name in info["runs"]:
    mine = [r for r in rows if r["run"] == run_name]
    sections.append(report.markdown(mine, f"Run {run_name}", info).replace("# ", "## ", 1))
  if comparison:
    sections.append(report.markdown(comparison, "Paired differences", info)
                    .replace("# ", "## ", 1))
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
    for names, suffixes, groups in ((runs, ("", "_drop"), scores),
                                    (pairs, ("_diff", "_drop_diff"), differences)):
      for suffix in suffixes:
        panels = [report.heatmap_panel(by_run_task[name, task], task, primary + suffix,
                                       f"{task} {primary + suffix}: {name}") for name in names]
        groups.append([panel for panel in panels if panel is not None])
  return ([group for group in scores if group],
          [group for group in differences if group])


def _summary_table(rows: list[dict], runs: list[str]) -> str:
  """Mean over languages per attack, one column per run (primary metric)."""
  mean = {(r["run"], r["task"], r["attack"], r["metric"]): r["value"] for r in rows
          if r["lang"] == "mean"}
  tasks = sorted({r["task"] for r in rows})
  attacks = sorted({r["attack"] for r in rows if r["lang"] == "mean"
                    and not r["attack"].startswith("worst(")},
                   key=lambda a: (a != results.CLEAN, a))
  lines = ["## Summary: mean over languages (percent)", "",
           "| task | attack | " + " | ".join(f"{run} score | {run} drop" for run in runs) + " |",
           "|---|---|" + "---|---|" * len(runs)]
  for task in tasks:
    metric = next(m for m in ("accuracy", "f1", "exact_match")
                  if any(k[1] == task and k[3].startswith(m) for k in mean))
    for attack in attacks:
      cells = []
      for run_name in runs:
        score = mean.get((run_name, task, attack,
                          metric if attack == results.CLEAN else f"{metric}_attacked"))
        drop = mean.get((run_name, task, attack, f"{metric}_drop"))
        cells += [_fmt(score), _fmt(drop)]
      lines.append(f"| {task} | {attack} | " + " | ".join(cells) + " |")
  return "\n".join(lines)


def _pairs_summary(comparison: list[dict], pairs: list[str]) -> str:
  """Per pair: mean over languages of the score and drop differences per attack (primary
  metric), with how many languages differ significantly."""
  lines = ["## Summary: paired differences, mean over languages (points)", "",
           "Differences other - baseline with 95% paired bootstrap intervals; `sig.` counts "
           f"the languages whose score difference has p < {report.SIGNIFICANCE} (exact McNemar /"
           " paired bootstrap) or whose drop difference has a 95% interval excluding 0.", ""]
  for pair in pairs:
    mine = [r for r in comparison if r["run"] == pair]
    lines += [f"### {pair}", "", "| task | attack | score diff | sig. | drop diff | sig. |",
              "|---|---|---|---|---|---|"]
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


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  begin = time.perf_counter()
  module, arg = load_study(_CONFIG.value)
  paths = run_study(module, arg, _WORKDIR.value, _NUM_RESAMPLES.value)
  print(f"study finished in {time.perf_counter() - begin:.0f}s; report:")
  for kind, path in paths.items():
    print(f"  {kind}: {path}")


if __name__ == "__main__":
  flags.mark_flags_as_required(["config", "workdir"])
  app.run(main)
