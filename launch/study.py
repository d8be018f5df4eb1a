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

import os
import pathlib
import time

from absl import app, flags, logging

import configs
from mrc_jax import train
from mrc_jax.eval import report, results, robustness, study_report
from mrc_jax.eval import run as eval_run

_CONFIG = flags.DEFINE_string("config", None, "Study config file and argument: PATH[:ARG].")
_WORKDIR = flags.DEFINE_string("workdir", None, "Root directory of the study's stages.")
_NUM_RESAMPLES = flags.DEFINE_integer("num_resamples", 1000, "Bootstrap resamples.")


def load_study(spec: str):
  """(config module, argument) of ``PATH[:ARG]``."""
  path, arg = configs.split_spec(spec)
  module = configs.load(path)
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
    report.write_report(
      out,
      stage_rows,
      dict(info, title=f"Robustness: {stage}", data=plan["data_label"]),
      step=info["checkpoint_step"],
    )
    rows += stage_rows
    timings[f"eval_{stage}"] = round(time.perf_counter() - begin, 1)

  comparison = []
  for baseline, other in pairs:
    comparison += robustness.comparison_rows(
      cells[baseline], cells[other], baseline, other, num_resamples, options.seed
    )
  info = dict(
    title="Study report",
    data=plan["data_label"],
    runs=list(plan["compare"]),
    pairs=[study_report.pair_run(*pair) for pair in pairs],
    num_resamples=num_resamples,
    stage_seconds=timings,
  )
  return study_report.write_study_report(
    pathlib.Path(workdir) / eval_run.REPORT_DIR, rows, comparison, info
  )


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
        raise ValueError(
          f"study pairs: {tuple(pair)} names {stage!r}, which is not a "
          f"compared stage ({', '.join(compare)})"
        )
    if pair[0] == pair[1]:
      raise ValueError(f"study pairs: {tuple(pair)} compares {pair[0]!r} with itself")
    if tuple(pair) in pairs:
      raise ValueError(f"study pairs: {tuple(pair)} is listed twice")
    pairs.append(tuple(pair))
  return pairs


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
