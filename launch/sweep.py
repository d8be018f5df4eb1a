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
import json
import os
import pathlib
import shlex
import subprocess
import sys

from absl import app, flags

import configs
from mrc_jax.eval import sweep_report

REPO = pathlib.Path(__file__).resolve().parent.parent
LAUNCHERS = {"train": "launch/train.py", "eval": "launch/eval.py"}
SUMMARY_COLUMNS = ("clean", "attacked", "drop", "flip_rate")

_SWEEP = flags.DEFINE_string("sweep", None, "Sweep file and argument: PATH[:ARG].")
_ROOT = flags.DEFINE_string("root", None, "Directory holding every run's workdir.")
_MODE = flags.DEFINE_enum(
  "mode", "list", ["list", "local", "commands", "gather"], "What to do with the expanded sweep."
)
_PYTHON = flags.DEFINE_string("python", sys.executable, "Interpreter of the stage commands.")
_RUNS = flags.DEFINE_list(
  "runs", [], "Only these runs of the sweep (names as --mode=list prints them); default: every run."
)


# --- Expansion ---------------------------------------------------------------------------


def load_sweep(spec: str) -> list[dict]:
  """Runs of ``PATH[:ARG]``, with ``{root}`` left in place for :func:`stage_command`."""
  path, arg = configs.split_spec(spec)
  module = configs.load(os.path.join(REPO, path) if not os.path.isabs(path) else path)
  runs = module.get_sweep(arg)
  names = [r["name"] for r in runs]
  duplicates = sorted({n for n in names if names.count(n) > 1})
  if duplicates:
    raise ValueError(f"sweep {spec}: run names repeat: {duplicates}")
  for r in runs:
    for stage in r["stages"]:
      if stage["kind"] not in LAUNCHERS:
        raise ValueError(
          f"sweep {spec}: run {r['name']}: stage kind {stage['kind']!r} is "
          f"not one of {sorted(LAUNCHERS)}"
        )
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
  return [
    python,
    LAUNCHERS[stage["kind"]],
    f"--config={config}",
    f"--workdir={os.path.join(os.path.abspath(root), stage['workdir'])}",
  ]


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
            raise ValueError(
              f"workdir {stage['workdir']} is used with two configs: "
              f"{stage['config']!r} and {other['config']!r}"
            )
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


def gather(runs: list[dict], root: str) -> dict[str, pathlib.Path]:
  """Every run's robustness.json -> ROOT/summary/sweep.{json,csv,md,png}."""
  table, missing = [], []
  for r in runs:
    path = pathlib.Path(root) / report_workdir(r) / "report" / "robustness.json"
    if not path.is_file():
      missing.append(str(path))
      continue
    for entry in sweep_report.summarise(json.loads(path.read_text())["rows"]):
      table.append(
        dict(run=r["name"], **{f"param.{k}": v for k, v in r["params"].items()}, **entry)
      )
  if not table:
    raise FileNotFoundError(f"no run has a report yet; expected e.g. {missing[:3]}")
  return sweep_report.write_summary(pathlib.Path(root) / "summary", table, len(runs), missing)


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
