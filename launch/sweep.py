r"""Expands an ablation sweep into runs; runs them locally, writes cluster commands, gathers.

  python launch/sweep.py --sweep=configs/ablations/num_tasks.py:model=xlmr-base --root=DIR --mode=commands
  python launch/sweep.py --sweep=configs/ablations/num_tasks.py:runlocal --root=DIR --mode=local
  python launch/sweep.py --sweep=configs/ablations/num_tasks.py:model=xlmr-base --root=DIR --mode=gather

A sweep file defines ``get_sweep(arg) -> [run]``; a run has a name, its swept parameters
and stages (train or eval, a config string and a workdir under --root; see
configs/common.py). Modes:
  list      print the runs and their stages
  local     run every stage one after another in this machine (a stage finished before,
            marked in ROOT/.done/, is skipped; training itself resumes from checkpoints)
  commands  write ROOT/commands/shared.txt (stages several runs share: run these first)
            and ROOT/commands/runs.txt (one line per run, its own stages joined by &&),
            each line a shell command for one cluster job
  gather    read every run's ROOT/WORKDIR/report/robustness.json into
            ROOT/summary/sweep.{json,csv,md,png}: per run and task, mean clean score,
            attacked score, drop and flip rate over languages and attacks
"""
from __future__ import annotations

import collections
import csv
import importlib.machinery
import json
import math
import os
import pathlib
import shlex
import subprocess
import sys

from absl import app, flags

REPO = pathlib.Path(__file__).resolve().parent.parent
LAUNCHERS = {"train": "launch/train.py", "eval": "launch/eval.py"}
SUMMARY_COLUMNS = ("clean", "attacked", "drop", "flip_rate")

_SWEEP = flags.DEFINE_string("sweep", None, "Sweep file and argument: PATH[:ARG].")
_ROOT = flags.DEFINE_string("root", None, "Directory holding every run's workdir.")
_MODE = flags.DEFINE_enum("mode", "list", ["list", "local", "commands", "gather"],
                          "What to do with the expanded sweep.")
_PYTHON = flags.DEFINE_string("python", sys.executable, "Interpreter of the stage commands.")
_RUNS = flags.DEFINE_list("runs", [], "Only these runs of the sweep (names as --mode=list "
                          "prints them); default: every run.")


# --- Expansion ---------------------------------------------------------------------------

def load_sweep(spec: str) -> list[dict]:
  """Runs of ``PATH[:ARG]``, with ``{root}`` left in place for :func:`stage_command`."""
  path, _, arg = spec.partition(":")
  path = os.path.join(REPO, path) if not os.path.isabs(path) else path
  if not os.path.isfile(path):
    raise FileNotFoundError(f"sweep file {path} does not exist")
  module = importlib.machinery.SourceFileLoader(
      "sweep_" + pathlib.Path(path).stem, path).load_module()
  runs = module.get_sweep(arg)
  names = [r["name"] for r in runs]
  duplicates = sorted({n for n in names if names.count(n) > 1})
  if duplicates:
    raise ValueError(f"sweep {spec}: run names repeat: {duplicates}")
  for r in runs:
    for stage in r["stages"]:
      if stage["kind"] not in LAUNCHERS:
        raise ValueError(f"sweep {spec}: run {r['name']}: stage kind {stage['kind']!r} is "
                         f"not one of {sorted(LAUNCHERS)}")
  return runs


def select_runs(runs: list[dict], names) -> list[dict]:
  """The runs named in ``names`` (all when empty); an unknown name is an error listing them."""
  if not names:
    return runs
  known = [r["name"] for r in runs]
  unknown = sorted(set(names) - set(known))
  if unknown:
    raise ValueError(f"--runs: no runs {unknown} in this sweep; its runs: {known}")
  return [r for r in runs if r["name"] in names]


def stage_key(stage: dict) -> str:
  return f"{stage['kind']}-{stage['workdir']}"


def stage_argv(stage: dict, root: str, python: str = sys.executable) -> list[str]:
  """The command line of one stage (run from the repository root)."""
  config = stage["config"].replace("{root}", os.path.abspath(root))
  return [python, LAUNCHERS[stage["kind"]], f"--config={config}",
          f"--workdir={os.path.join(os.path.abspath(root), stage['workdir'])}"]


def shared_stages(runs: list[dict]) -> list[dict]:
  """Stages that appear in more than one run (same kind and workdir), in first-use order."""
  counts = collections.Counter(stage_key(s) for r in runs for s in r["stages"])
  seen, shared = set(), []
  for r in runs:
    for stage in r["stages"]:
      key = stage_key(stage)
      if counts[key] > 1 and key not in seen:
        for other in (s for r2 in runs for s in r2["stages"] if stage_key(s) == key):
          if other["config"] != stage["config"]:
            raise ValueError(f"workdir {stage['workdir']} is used with two configs: "
                             f"{stage['config']!r} and {other['config']!r}")
        seen.add(key)
        shared.append(stage)
  return shared


# --- Modes -------------------------------------------------------------------------------

def run_local(runs: list[dict], root: str, python: str = sys.executable) -> None:
  """Runs every stage once, in order; finished stages (ROOT/.done/KEY) are skipped."""
  done_dir = pathlib.Path(root) / ".done"
  done_dir.mkdir(parents=True, exist_ok=True)
  for r in runs:
    for stage in r["stages"]:
      marker = done_dir / stage_key(stage)
      if marker.exists():
        print(f"[{r['name']}] done before: {stage_key(stage)}", flush=True)
        continue
      argv = stage_argv(stage, root, python)
      print(f"[{r['name']}] {shlex.join(argv)}", flush=True)
      subprocess.run(argv, cwd=REPO, check=True)
      marker.touch()


def write_commands(runs: list[dict], root: str, python: str = "python") -> dict[str, pathlib.Path]:
  """ROOT/commands/{shared,runs}.txt: shell lines for cluster jobs (see module docstring)."""
  out = pathlib.Path(root) / "commands"
  out.mkdir(parents=True, exist_ok=True)
  shared = shared_stages(runs)
  shared_keys = {stage_key(s) for s in shared}
  cd = f"cd {shlex.quote(str(REPO))}"
  shared_lines = [f"{cd} && {shlex.join(stage_argv(s, root, python))}" for s in shared]
  run_lines = []
  for r in runs:
    own = [s for s in r["stages"] if stage_key(s) not in shared_keys]
    run_lines.append(" && ".join([cd] + [shlex.join(stage_argv(s, root, python)) for s in own]))
  paths = {"shared": out / "shared.txt", "runs": out / "runs.txt"}
  paths["shared"].write_text("".join(line + "\n" for line in shared_lines))
  paths["runs"].write_text("".join(line + "\n" for line in run_lines))
  return paths


def report_workdir(run: dict) -> str:
  """The workdir of a run's last eval stage (where its robustness report lands)."""
  evals = [s for s in run["stages"] if s["kind"] == "eval"]
  if not evals:
    raise ValueError(f"run {run['name']} has no eval stage, so no report to gather")
  return evals[-1]["workdir"]


def _primary(rows: list[dict], task: str) -> str:
  names = {r["metric"] for r in rows if r["task"] == task}
  for metric in ("accuracy", "f1", "exact_match"):
    if metric in names or any(n.startswith(metric + "_") for n in names):
      return metric
  raise ValueError(f"task {task}: no accuracy/f1/exact_match rows among {sorted(names)}")


def summarise(rows: list[dict]) -> list[dict]:
  """Per task of one report: clean score, attacked score, drop and flip rate (percent).

  From the report's per-attack means over languages (rows with lang ``mean``): ``clean``
  is the clean score; the others are averaged over the attacks.
  """
  value = {(r["task"], r["attack"], r["metric"]): r["value"] for r in rows
           if r["lang"] == "mean" and not r["attack"].startswith("worst(")}
  summary = []
  for task in sorted({r["task"] for r in rows}):
    metric = _primary(rows, task)
    attacks = sorted({a for t, a, _ in value if t == task and a not in ("clean", "mean")})

    def over_attacks(statistic, task=task, metric=metric, attacks=attacks):
      values = [value.get((task, a, f"{metric}_{statistic}")) for a in attacks]
      values = [v for v in values if v is not None]
      return sum(values) / len(values) if values else None

    summary.append(dict(task=task, metric=metric, attacks=len(attacks),
                        clean=value.get((task, "clean", metric)),
                        attacked=over_attacks("attacked"), drop=over_attacks("drop"),
                        flip_rate=over_attacks("flip_rate")))
  return summary


def gather(runs: list[dict], root: str) -> dict[str, pathlib.Path]:
  """Every run's robustness.json -> ROOT/summary/sweep.{json,csv,md,png}."""
  table, missing = [], []
  for r in runs:
    path = pathlib.Path(root) / report_workdir(r) / "report" / "robustness.json"
    if not path.is_file():
      missing.append(str(path))
      continue
    for entry in summarise(json.loads(path.read_text())["rows"]):
      table.append(dict(run=r["name"], **{f"param.{k}": v for k, v in r["params"].items()},
                        **entry))
  if not table:
    raise FileNotFoundError(f"no run has a report yet; expected e.g. {missing[:3]}")
  out = pathlib.Path(root) / "summary"
  out.mkdir(parents=True, exist_ok=True)
  paths = {s: out / f"sweep.{s}" for s in ("json", "csv", "md", "png")}
  paths["json"].write_text(json.dumps(dict(runs=len(runs), missing=missing, rows=table),
                                      indent=1))
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
  lines = ["# Sweep summary", "",
           "Means over languages (clean) and over languages x attacks (attacked, drop, "
           "flip rate), in percent.", "",
           "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
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
    get = lambda key: [by_run[runs[i]][key] if by_run[runs[i]][key] is not None else float("nan")
                       for i in xs]
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


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  runs = select_runs(load_sweep(_SWEEP.value), _RUNS.value)
  root = _ROOT.value
  if _MODE.value == "list":
    for r in runs:
      print(f"{r['name']}  {r['params']}")
      for stage in r["stages"]:
        print("   ", shlex.join(stage_argv(stage, root, _PYTHON.value)))
  elif _MODE.value == "local":
    run_local(runs, root, _PYTHON.value)
    print("\n".join(f"{k}: {v}" for k, v in gather(runs, root).items()))
  elif _MODE.value == "commands":
    for name, path in write_commands(runs, root, "python").items():
      print(f"{name}: {path}")
  else:
    print("\n".join(f"{k}: {v}" for k, v in gather(runs, root).items()))


if __name__ == "__main__":
  flags.mark_flags_as_required(["sweep", "root"])
  app.run(main)
