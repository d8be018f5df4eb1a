r"""Runs a multi-stage study config end to end and writes one report comparing its runs.

  python launch/study.py --config=configs/quickstart.py --workdir=/tmp/quickstart

A study config defines ``get_config(arg)`` (one training config per ``stage=NAME``, plus
``stage=eval`` for the evaluation entries) and ``study(arg)`` naming the training stages in
order and the fine-tuned stages to compare. Each stage trains in ``WORKDIR/STAGE`` exactly
as ``launch/train.py --config=CONFIG:stage=STAGE,root=WORKDIR --workdir=WORKDIR/STAGE``
would (running the command again resumes, and finished stages return at once). Then every
compared stage is evaluated clean and under each attack (its own report lands in
``WORKDIR/STAGE/report/``) and the study report, with all runs and their paired
differences, is written to ``WORKDIR/report/robustness.{json,csv,md,png}``.
"""
from __future__ import annotations

import importlib.machinery
import os
import pathlib
import time

from absl import app, flags, logging

from mrc_jax import train
from mrc_jax.eval import report, results, robustness
from mrc_jax.eval import run as eval_run

_CONFIG = flags.DEFINE_string("config", None, "Study config file and argument: PATH[:ARG].")
_WORKDIR = flags.DEFINE_string("workdir", None, "Root directory of the study's stages.")
_NUM_RESAMPLES = flags.DEFINE_integer("num_resamples", 1000, "Bootstrap resamples.")


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

  first, *others = plan["compare"]
  comparison = []
  for other in others:
    comparison += robustness.comparison_rows(cells[first], cells[other], first, other,
                                             num_resamples, options.seed)
  info = dict(title="Study report", data=plan["data_label"], runs=list(plan["compare"]),
              num_resamples=num_resamples, stage_seconds=timings)
  return write_study_report(pathlib.Path(workdir) / eval_run.REPORT_DIR, rows, comparison, info)


def write_study_report(out_dir: pathlib.Path, rows: list[dict], comparison: list[dict],
                       info: dict) -> dict[str, pathlib.Path]:
  """robustness.{json,csv} hold every run's rows and the paired differences (the ``run``
  column tells them apart); robustness.md has a section per run and the comparison;
  robustness.png one heatmap panel per run and metric."""
  out_dir.mkdir(parents=True, exist_ok=True)
  everything = rows + comparison
  paths = {suffix: out_dir / f"robustness.{suffix}" for suffix in ("json", "csv", "md", "png")}
  report.write_json(paths["json"], everything, info)
  report.write_csv(paths["csv"], everything)
  sections = [f"# {info['title']}", "", f"**{info['data']}**", "",
              f"- runs compared: {', '.join(info['runs'])}",
              f"- seconds per stage: {info['stage_seconds']}", ""]
  sections += [_summary_table(rows, info["runs"]), ""]
  for run_name in info["runs"]:
    mine = [r for r in rows if r["run"] == run_name]
    sections.append(report.markdown(mine, f"Run {run_name}", info).replace("# ", "## ", 1))
  if comparison:
    sections.append(report.markdown(comparison, "Paired differences", info)
                    .replace("# ", "## ", 1))
  paths["md"].write_text("\n".join(sections))
  # One panel per run: the report's heatmaps are per task, so each run's rows are shown
  # under a task label that names the run.
  labelled = [dict(r, task=f"{r['task']} [{r['run']}]") for r in rows]
  report.plot_heatmaps(paths["png"], labelled, ("", "_drop"), f"{info['title']} ({info['data']})")
  return paths


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
