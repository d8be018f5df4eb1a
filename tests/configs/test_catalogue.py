"""Every config of the catalogue runs end to end at a few steps, as a user runs it.

Each case is the command a user types (``launch/train.py``, ``launch/eval.py``,
``launch/study.py``, ``launch/sweep.py``) on a data directory of real shared files and
upstream-format fixtures (``catalogue_data``), with the real MiniLM checkpoint wherever a
config loads weights: build the config, draw real batches, train, checkpoint, evaluate and
write the report. A config file that no case runs fails ``test_every_config_is_in_the_catalogue``.
"""

from __future__ import annotations

import importlib
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from tests.configs import catalogue_data, muppet_sources

REPO = pathlib.Path(__file__).resolve().parents[2]
STAGE_TIMEOUT_S = 1500
LOCAL = "model=minilm,hw=runlocal,runlocal"
# The Muppet mixtures the cases below pre-finetune on.
MIXTURES = ("muppet_5tasks", "muppet_all")

# config file -> the cases that run it (test function names below, or FILE::NAME for a test
# elsewhere).
CATALOGUE = {
  "configs/smoke.py": (
    "test_smoke",
    "tests/train/test_trainer_seq2seq.py::test_mixed_generation_step_checkpoints_resumes_and_exports",
  ),
  "configs/finetune_dg.py": (
    "tests/configs/test_finetune_dg.py::test_runlocal_trains_a_model_the_dg_attack_loads",
  ),
  "configs/quickstart.py": ("test_quickstart",),
  "configs/minilm_xquad.py": ("test_minilm_xquad",),
  "configs/study_me5.py": ("test_study_me5_smoke",),
  "configs/finetune_race.py": (
    "test_finetune_race_multilingual_adversarial",
    "test_eval_xlingual_every_default_set",
  ),
  "configs/eval_xlingual.py": ("test_eval_xlingual_every_default_set",),
  "configs/prefinetune_muppet.py": ("test_sweep_run",),
  "configs/ablations/num_tasks.py": ("test_sweep_run",),
  "configs/ablations/advrace_effect.py": ("test_sweep_run",),
  "configs/ablations/sample_efficiency.py": ("test_sweep_run",),
}


def test_every_config_is_in_the_catalogue():
  found = sorted(
    str(path.relative_to(REPO))
    for path in (REPO / "configs").rglob("*.py")
    if re.search(r"^def get_(config|sweep)\(", path.read_text(), re.MULTILINE)
  )
  assert found == sorted(CATALOGUE)
  for cases in CATALOGUE.values():
    for case in cases:
      path, _, name = case.rpartition("::")
      module = importlib.import_module(path.removesuffix(".py").replace("/", ".")) if path else None
      assert name in (vars(module) if module else globals()), case


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  shared = catalogue_data.shared_data_dir()
  if shared is None:
    pytest.skip("MRC_JAX_DATA_DIR with the shared data is not set")
  root = catalogue_data.build(tmp_path_factory.mktemp("catalogue") / "data", shared)
  muppet_sources.prepare(root, MIXTURES)
  return root


def launch(data_dir: pathlib.Path, *argv: str) -> str:
  """Runs ``python launch/...`` from the repository root; its output, or a failure with it."""
  env = dict(
    os.environ,
    MRC_JAX_DATA_DIR=str(data_dir),
    HF_DATASETS_OFFLINE="1",
    HF_HUB_OFFLINE="1",
    TF_CPP_MIN_LOG_LEVEL="2",
  )
  done = subprocess.run(
    [sys.executable, *argv],
    cwd=REPO,
    env=env,
    capture_output=True,
    text=True,
    timeout=STAGE_TIMEOUT_S,
  )
  output = done.stdout + done.stderr
  assert done.returncode == 0, f"{' '.join(argv)} failed:\n{output[-6000:]}"
  return output


def trained(workdir: pathlib.Path, steps: int) -> list[dict]:
  """The workdir's logged metrics, after checking it holds the final checkpoint."""
  assert (workdir / "checkpoints" / str(steps)).is_dir(), sorted(
    (workdir / "checkpoints").iterdir()
  )
  metrics = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  losses = [m["loss"] for m in metrics if "loss" in m]
  assert losses and all(0 < loss < 20 for loss in losses)
  return metrics


def report_rows(workdir: pathlib.Path) -> list[dict]:
  report = workdir / "report"
  for suffix in ("json", "csv", "md", "png"):
    assert (report / f"robustness.{suffix}").stat().st_size > 0
  return json.loads((report / "robustness.json").read_text())["rows"]


def study(data_dir: pathlib.Path, workdir: pathlib.Path, config: str) -> list[dict]:
  """``launch/study.py`` (its training stages, evaluation and report); the report's rows."""
  launch(
    data_dir, "launch/study.py", f"--workdir={workdir}", "--num_resamples=20", f"--config={config}"
  )
  return report_rows(workdir)


def cells(rows) -> set[tuple[str, str, str]]:
  """(task, language, attack) of every per-language cell of a report."""
  return {
    (r["task"], r["lang"], r["attack"])
    for r in rows
    if r["lang"] != "mean"
    and not r["lang"].startswith("worst(")
    and r["attack"] != "mean"
    and not r["attack"].startswith("worst(")
  }


@pytest.mark.slow
@pytest.mark.integration
def test_smoke(data_dir, tmp_path):
  launch(
    data_dir,
    "launch/train.py",
    "--config=configs/smoke.py",
    f"--workdir={tmp_path}",
    "--config.total_steps=3",
    "--config.checkpoint_every_steps=3",
    "--config.eval_every_steps=3",
    "--config.log_every_steps=1",
  )
  metrics = trained(tmp_path, 3)
  assert any(key.startswith("eval/") for m in metrics for key in m)
  assert (tmp_path / "export" / "hf").is_dir()


@pytest.mark.slow
@pytest.mark.integration
def test_quickstart(data_dir, tmp_path):
  rows = study(
    data_dir,
    tmp_path,
    "configs/quickstart.py:prefinetune_steps=2,finetune_steps=2,batch=4,eval_examples=8",
  )
  assert {r["run"] for r in rows} >= {"finetune_clean", "finetune_adv"}


@pytest.mark.integration
def test_study_me5_smoke(tmp_path):
  """The study's 2 x 2 on the real multilingual checkpoint and the shared files, as
  ``:smoke`` runs it (in the default suite: the one real-model study a change must keep
  working)."""
  from configs import common

  shared = catalogue_data.shared_data_dir()
  checkpoint = pathlib.Path(common.checkpoint_dir("me5-small"))
  if shared is None or not (checkpoint / "model.safetensors").is_file():
    pytest.skip("needs MRC_JAX_DATA_DIR (shared data) and the multilingual-e5-small checkpoint")
  # Mean-pooled heads with a faster head rate: the path from pre-finetuning's workdir
  # into the fine-tunings that a Hugging Face export cannot carry.
  rows = study(
    pathlib.Path(shared), tmp_path, "configs/study_me5.py:smoke,pooling=mean,head_lr_mult=10"
  )
  arms = {"ft_clean", "ft_adv", "pft_ft_clean", "pft_ft_adv"}
  assert {r["run"] for r in rows} == arms | {
    "ft_adv-ft_clean",
    "pft_ft_adv-pft_ft_clean",
    "pft_ft_clean-ft_clean",
    "pft_ft_adv-ft_adv",
  }
  for arm in arms:
    assert {(task, lang) for task, lang, _ in cells([r for r in rows if r["run"] == arm])} == {
      ("xquad_mc_36_48", "en"),
      ("xquad_mc_36_48", "ar"),
      ("xquad_mc_36_48", "de"),
      ("dream", "en"),
      ("exams", "bg"),
      ("exams", "hu"),
      ("xcopa", "et"),
      ("xcopa", "ht"),
    }
    assert {attack for _, _, attack in cells([r for r in rows if r["run"] == arm])} == {
      "clean",
      "charswap",
      "addsent",
    }
  # The pre-finetuned arms started from the pre-finetuning's workdir, mean-pooled heads.
  resolved = json.loads((tmp_path / "pft_ft_clean" / "config.json").read_text())
  assert resolved["config"]["init_from"] == str(tmp_path / "pft")
  assert resolved["resolved"]["heads"] == [
    dict(name="multiple_choice", kind="multiple_choice", num_labels=0, pooling="mean")
  ]
  pft = json.loads((tmp_path / "pft" / "config.json").read_text())["resolved"]
  assert {(h["kind"], h["pooling"]) for h in pft["heads"]} == {
    ("multiple_choice", "mean"),
    ("span", "first"),
    ("classification", "mean"),
  }
  assert resolved["config"]["optimizer"]["lr_mults"] == [["^heads/", 10.0]]
  # The cross-lingual evaluation config runs on any arm's workdir.
  arm = tmp_path / "pft_ft_adv"
  launch(
    pathlib.Path(shared),
    "launch/eval.py",
    f"--workdir={arm}",
    "--num_resamples=20",
    "--config=configs/eval_xlingual.py:sets=xquad_mc,langs=en+de,attacks=charswap,"
    "max_examples=3,max_length=128,batch_size=8",
  )
  assert {(t, lang, a) for t, lang, a in cells(report_rows(arm))} == {
    ("xquad_mc", lang, attack) for lang in ("en", "de") for attack in ("clean", "charswap")
  }
  assert (tmp_path / "report" / "robustness.png").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.integration
def test_minilm_xquad(data_dir, tmp_path):
  """Real MiniLM weights, real XQuAD files, both regimes and the report."""
  rows = study(
    data_dir,
    tmp_path,
    "configs/minilm_xquad.py:steps=2,batch=4,max_length=128,eval_examples=6,langs=en+de+zh",
  )
  assert {r["run"] for r in rows} >= {"finetune_clean", "finetune_adv"}
  assert {lang for _, lang, _ in cells(rows)} == {"en", "de", "zh"}


@pytest.fixture(scope="module")
def finetuned(data_dir, tmp_path_factory):
  """``finetune_race.py`` on RACE and SQuAD (real MiniLM weights, a seeded half of the data):
  a model with the multiple-choice and the span head."""
  workdir = tmp_path_factory.mktemp("finetune_race")
  launch(
    data_dir,
    "launch/train.py",
    f"--config=configs/finetune_race.py:{LOCAL},span=squad,fraction=0.5",
    f"--workdir={workdir}",
  )
  trained(workdir, 4)
  assert sorted(p.name for p in (workdir / "export" / "hf").iterdir()) == [
    "multiple_choice",
    "span",
  ]
  return workdir


@pytest.mark.slow
@pytest.mark.integration
def test_finetune_race_multilingual_adversarial(data_dir, tmp_path):
  """The AdvRACE train mix and RACE under the multilingual attacks in one run."""
  launch(
    data_dir,
    "launch/train.py",
    f"--config=configs/finetune_race.py:{LOCAL},adv=advrace_multilingual",
    f"--workdir={tmp_path}",
    "--config.total_steps=2",
    "--config.checkpoint_every_steps=2",
    "--config.eval_every_steps=2",
  )
  metrics = trained(tmp_path, 2)
  logged = {key for m in metrics for key in m}
  assert any(key.startswith("eval/race_dev/") for key in logged), sorted(logged)
  resolved = json.loads((tmp_path / "config.json").read_text())["resolved"]
  assert resolved["tasks"] == [
    "advrace.train_mix",
    "race.all.homoglyph",
    "race.all.typo_keyboard",
    "race.all.distractor_passage",
  ]


# Languages whose files the catalogue's data directory has, real or fixture, per set:
# belebele deu/eng, exams it/tr, xcopa et/it, xquad de/tr, mlqa de, tydiqa fi.
EVAL_LANGS = ("deu_Latn", "eng_Latn", "de", "it", "tr", "et", "fi")


@pytest.mark.slow
@pytest.mark.integration
def test_eval_xlingual_every_default_set(data_dir, finetuned):
  """Each default set of the cross-lingual evaluation scores a clean and an attacked cell."""
  sets = ("belebele", "exams", "xcopa", "xquad", "mlqa", "tydiqa")
  output = launch(
    data_dir,
    "launch/eval.py",
    f"--workdir={finetuned}",
    "--num_resamples=20",
    f"--config=configs/eval_xlingual.py:sets={'+'.join(sets)},"
    f"attacks=charswap+homoglyph,langs={'+'.join(EVAL_LANGS)},runlocal",
  )
  found = cells(report_rows(finetuned))
  for name in sets:
    mine = {(lang, attack) for task, lang, attack in found if task == name}
    assert any(attack == "clean" for _, attack in mine), (name, output[-3000:])
    assert any(attack != "clean" for _, attack in mine), (name, output[-3000:])


# The sweeps evaluate Belebele, EXAMS and XCOPA in the languages the data directory has.
SWEEP_LOCAL = "hw=runlocal,runlocal,langs=deu_Latn+eng_Latn+it+tr+et,attacks=charswap"
SWEEP_RUNS = {
  # pre-finetuning on 5 tasks, fine-tuning from it, evaluation
  "num_tasks": ("num_tasks.py", f"model=minilm,{SWEEP_LOCAL}", "ft_minilm_5tasks_none"),
  # pre-finetuning on the whole blend, AdvRACE fine-tuning from it, evaluation
  "advrace_effect": (
    "advrace_effect.py",
    f"models=minilm,{SWEEP_LOCAL},adv=advrace",
    "ft_minilm_pft_advrace",
  ),
  # a seeded quarter of RACE, from the same pre-finetuned model
  "sample_efficiency": (
    "sample_efficiency.py",
    f"model=minilm,{SWEEP_LOCAL},fractions=0.25",
    "ft_minilm_pft_none_frac0.25",
  ),
}


@pytest.fixture(scope="module")
def sweep_root(tmp_path_factory):
  """One root for every sweep, so runs that share a pre-finetuned model train it once."""
  return tmp_path_factory.mktemp("sweeps")


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("sweep", sorted(SWEEP_RUNS))
def test_sweep_run(data_dir, sweep_root, sweep):
  path, arg, run = SWEEP_RUNS[sweep]
  spec = f"--sweep=configs/ablations/{path}:{arg}"
  launch(data_dir, "launch/sweep.py", spec, f"--root={sweep_root}", "--mode=local", f"--runs={run}")
  rows = report_rows(sweep_root / run)
  assert {attack for _, _, attack in cells(rows)} > {"clean"}
  summary = json.loads((sweep_root / "summary" / "sweep.json").read_text())
  assert run in json.dumps(summary)
