"""Every ablation sweep expands into buildable stages; launch/sweep.py writes and gathers."""

import importlib.machinery
import json
import pathlib
import sys

import numpy as np
import pytest

from mrc_jax.data import tasks

import configs

REPO = pathlib.Path(__file__).resolve().parents[2]
SWEEPS = ("num_tasks.py", "sample_efficiency.py", "advrace_effect.py")


def _module(path: pathlib.Path, name: str):
  return importlib.machinery.SourceFileLoader(name, str(path)).load_module()


@pytest.fixture(scope="module")
def sweep_lib():
  sys.path.insert(0, str(REPO / "launch"))
  try:
    return _module(REPO / "launch" / "sweep.py", "launch_sweep")
  finally:
    sys.path.remove(str(REPO / "launch"))


def _build(stage: dict, root: pathlib.Path):
  """The ConfigDict a stage's command would build (as config_flags would load it)."""
  path, arg = configs.split_spec(stage["config"].replace("{root}", str(root)))
  return configs.load(str(REPO / path)).get_config(arg)


@pytest.mark.parametrize(
  "name,arg,num_runs",
  [
    ("num_tasks.py", "", 9),
    ("num_tasks.py", "model=xlmr-large,adv=advrace,hw=tpu_v5e_8", 9),
    ("sample_efficiency.py", "", 10),
    ("sample_efficiency.py", "fractions=0.1+1.0,adv=advrace", 4),
    ("advrace_effect.py", "", 8),
    (
      "advrace_effect.py",
      "models=roberta-base+xlmr-base+mbert,adv=none+advrace+advrace_multilingual",
      18,
    ),
  ],
)
def test_sweep_expands_into_buildable_stages(sweep_lib, name, arg, num_runs, tmp_path):
  runs = sweep_lib.load_sweep(f"configs/ablations/{name}:{arg}")
  assert len(runs) == num_runs
  for run in runs:
    kinds = [stage["kind"] for stage in run["stages"]]
    assert kinds[-1] == "eval" and kinds[-2] == "train"
    finetune = _build(run["stages"][-2], tmp_path)
    assert tasks.plan(finetune.data.mixture).tasks and finetune.total_steps > 0
    if len(kinds) == 3:  # pre-finetuning first; fine-tuning starts from its workdir
      prefinetune = _build(run["stages"][0], tmp_path)
      assert all(t.startswith("muppet.") for t in tasks.plan(prefinetune.data.mixture).tasks)
      assert finetune.init_from == str(tmp_path / run["stages"][0]["workdir"])
    evaluation = _build(run["stages"][-1], tmp_path)
    assert all("attacks" in entry for entry in evaluation.evals.values())
    assert run["stages"][-1]["workdir"] == run["stages"][-2]["workdir"]


def test_swept_values(sweep_lib):
  num_tasks = [
    r["params"]["num_tasks"] for r in sweep_lib.load_sweep("configs/ablations/num_tasks.py")
  ]
  assert num_tasks == [0, "5", "10", "15", "20", "25", "30", "40", "all"]
  fractions = sorted(
    {
      r["params"]["fraction"]
      for r in sweep_lib.load_sweep("configs/ablations/sample_efficiency.py")
    }
  )
  assert fractions == [0.1, 0.25, 0.5, 0.75, 1.0]
  effect = sweep_lib.load_sweep("configs/ablations/advrace_effect.py:models=xlmr-base")
  assert {(r["params"]["prefinetune"], r["params"]["adv"]) for r in effect} == {
    (False, "none"),
    (False, "advrace"),
    (True, "none"),
    (True, "advrace"),
  }


def test_commands_run_shared_stages_once(sweep_lib, tmp_path):
  runs = sweep_lib.load_sweep("configs/ablations/advrace_effect.py:models=xlmr-base+xlmr-large")
  paths = sweep_lib.write_commands(runs, str(tmp_path), "python")
  shared = paths["shared"].read_text().splitlines()
  lines = paths["runs"].read_text().splitlines()
  assert len(lines) == len(runs) == 8
  # The pre-finetuning of each model is shared by its two fine-tuning regimes.
  assert len(shared) == 2 and all("prefinetune_muppet.py" in line for line in shared)
  assert not any("prefinetune_muppet.py" in line for line in lines)
  for run, line in zip(runs, lines):
    assert f"--workdir={tmp_path / run['stages'][-1]['workdir']}" in line
    assert line.count("launch/train.py") == 1 and line.count("launch/eval.py") == 1
  assert "{root}" not in "".join(lines)


def _fake_report(workdir: pathlib.Path, run: str, clean_p: float, attacked_p: float, seed: int):
  """A robustness.json written by the report code from per-example results."""
  from mrc_jax.eval import report, robustness
  from mrc_jax.eval.results import CellResult

  rng = np.random.default_rng(seed)
  cells = []
  for lang in ("en", "de"):
    ids = [f"{lang}-{i}" for i in range(200)]
    clean = (rng.random(200) < clean_p).astype(float)
    attacked = clean * (rng.random(200) < attacked_p / clean_p)
    for attack, scores in (("clean", clean), ("charswap", attacked)):
      cells.append(
        CellResult("belebele", lang, attack, ids, [0] * 200, [0] * 200, {"accuracy": scores})
      )
  rows = robustness.robustness_rows(cells, run, num_resamples=50)
  report.write_report(workdir / "report", rows, {"title": run}, tensorboard=False)
  return rows


def test_gather_summarises_every_report(sweep_lib, tmp_path):
  runs = sweep_lib.load_sweep("configs/ablations/advrace_effect.py:models=xlmr-base")
  expected = {}
  for index, run in enumerate(runs[:3]):  # the last run has no report yet
    rows = _fake_report(
      tmp_path / run["stages"][-1]["workdir"], run["name"], 0.8 - 0.1 * index, 0.5, index
    )
    value = {(r["lang"], r["attack"], r["metric"]): r["value"] for r in rows}
    # One attack: the mean over attacks is that attack's mean over languages.
    expected[run["name"]] = (
      value["mean", "clean", "accuracy"],
      value["mean", "charswap", "accuracy_drop"],
    )
  paths = sweep_lib.gather(runs, str(tmp_path))
  summary = json.loads(paths["json"].read_text())
  assert len(summary["missing"]) == 1 and runs[3]["stages"][-1]["workdir"] in summary["missing"][0]
  assert len(summary["rows"]) == 3
  for row in summary["rows"]:
    clean, drop = expected[row["run"]]
    assert row["clean"] == pytest.approx(clean) and row["drop"] == pytest.approx(drop)
    assert row["attacked"] == pytest.approx(clean - drop)
    assert row["param.model"] == "xlmr-base"
  assert "| run |" in paths["md"].read_text()
  assert paths["png"].stat().st_size > 1000 and paths["csv"].read_text().count("\n") == 4


def test_gather_without_any_report_is_an_error(sweep_lib, tmp_path):
  runs = sweep_lib.load_sweep("configs/ablations/num_tasks.py")
  with pytest.raises(FileNotFoundError, match="no run has a report"):
    sweep_lib.gather(runs, str(tmp_path))


@pytest.mark.parametrize("name", SWEEPS)
def test_sweep_languages_reach_every_eval_stage(sweep_lib, name, tmp_path):
  runs = sweep_lib.load_sweep(f"configs/ablations/{name}:langs=deu_Latn+it")
  for run in runs:
    evaluation = _build(run["stages"][-1], tmp_path)
    assert evaluation.evals.belebele.tasks == ("belebele.deu_Latn",)
    assert evaluation.evals.exams.tasks == ("exams.it",)
    assert evaluation.evals.xcopa.tasks == ("xcopa.it",)
