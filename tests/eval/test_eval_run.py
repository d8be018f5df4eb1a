"""End to end: a training workdir -> robustness report, and compare mode on two workdirs."""

import csv
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from eval_helpers import eval_config
from PIL import Image

from mrc_jax.eval import results, run
from mrc_jax.models.multitask import HeadSpec
from mrc_jax.train.run_spec import RunSpec

REPO = pathlib.Path(__file__).resolve().parents[2]
ATTACKS = ("charswap", "addsent")


def small_config():
  return eval_config(
    ["synthetic.en", "synthetic.de", "synthetic_span.en"], ATTACKS, num_examples=12
  )


def test_workdir_report_and_comparison(make_workdir):
  workdir_a, workdir_b = make_workdir("run_a", 0), make_workdir("run_b", 1)
  options = run.ReportOptions(num_resamples=100)
  paths = run.evaluate_workdir(small_config(), str(workdir_a), options)

  summary = json.loads(paths["json"].read_text())
  # Multiple-choice cells share one padded shape, span cells another.
  assert summary["compilations"] == 2
  assert summary["checkpoint_step"] == 5
  assert summary["cells"] == 9 and summary["examples"] == 9 * 12

  cells = {cell.key: cell for cell in results.read_predictions(paths["predictions"])}
  assert set(cells) == {
    (task, lang, attack)
    for task, lang in [("synthetic", "en"), ("synthetic", "de"), ("synthetic_span", "en")]
    for attack in ("clean", *ATTACKS)
  }
  rows = list(csv.DictReader(paths["csv"].open()))
  by_key = {(r["task"], r["lang"], r["attack"], r["metric"]): r for r in rows}
  for (task, lang, attack), cell in cells.items():
    metric = "accuracy" if task == "synthetic" else "f1"
    row = by_key[task, lang, attack, metric]
    assert float(row["value"]) == pytest.approx(100 * cell.scores[metric].mean())
    assert int(row["n"]) == 12
  clean, attacked = cells["synthetic", "de", "clean"], cells["synthetic", "de", "charswap"]
  assert clean.ids == attacked.ids
  drop = 100 * (clean.scores["accuracy"].mean() - attacked.scores["accuracy"].mean())
  assert float(by_key["synthetic", "de", "charswap", "accuracy_drop"]["value"]) == pytest.approx(
    drop
  )
  assert "## synthetic_span: exact_match" in paths["md"].read_text()
  with Image.open(paths["png"]) as image:
    assert image.size[0] > 100
  assert list(paths["tensorboard"].glob("events.out.tfevents.*"))
  # The accuracy entry runs the evaluator training runs, on the restored checkpoint.
  scalars = json.loads(paths["scalars_json"].read_text())
  assert scalars["checkpoint_step"] == 5
  assert set(scalars["scalars"]) == {
    "eval/validation/synthetic.en/accuracy",
    "eval/validation/synthetic.en/loss",
  }
  assert 0.0 <= scalars["scalars"]["eval/validation/synthetic.en/accuracy"] <= 1.0
  assert "eval/validation/synthetic.en/loss" in paths["scalars_md"].read_text()

  predictions_mtime = paths["predictions"].stat().st_mtime_ns
  compare = run.compare_workdirs(small_config(), str(workdir_a), str(workdir_b), options)
  # Run A's predictions of the same checkpoint step are reused, not recomputed.
  assert paths["predictions"].stat().st_mtime_ns == predictions_mtime
  assert (workdir_b / "report" / "robustness.json").is_file()
  comparison = list(csv.DictReader(compare["csv"].open()))
  diffs = {
    (r["lang"], r["attack"]): float(r["value"])
    for r in comparison
    if r["task"] == "synthetic" and r["metric"] == "accuracy_diff"
  }
  cells_b = {c.key: c for c in results.read_predictions(workdir_b / "report" / "predictions.jsonl")}
  expected = 100 * (
    cells_b["synthetic", "en", "addsent"].scores["accuracy"].mean()
    - cells["synthetic", "en", "addsent"].scores["accuracy"].mean()
  )
  assert diffs["en", "addsent"] == pytest.approx(expected)
  p_values = [float(r["value"]) for r in comparison if r["metric"].endswith("_diff_p")]
  assert p_values and all(0.0 < p <= 1.0 for p in p_values)
  assert "accuracy_drop_diff" in compare["md"].read_text()


def test_accuracy_entries_alone_write_their_scalars(make_workdir):
  workdir = make_workdir("run", 0)
  config = small_config()
  del config.evals["robustness"]
  paths = run.evaluate_workdir(config, str(workdir), run.ReportOptions())
  assert set(paths) == {"scalars_json", "scalars_md"}
  assert not (workdir / "report" / "robustness.json").exists()
  # Compare mode needs the robustness cells.
  with pytest.raises(ValueError, match="no robustness entry"):
    run.compare_workdirs(config, str(workdir), str(workdir), run.ReportOptions())
  del config.evals["validation"]
  with pytest.raises(ValueError, match="config.evals has no entry"):
    run.evaluate_workdir(config, str(workdir), run.ReportOptions())


@pytest.mark.slow
def test_launch_eval_command_line(make_workdir, tmp_path):
  """Contract 2 through the real entry point, with --config.FIELD overrides."""
  workdir = make_workdir("cli", 0)
  env = dict(os.environ, PYTHONPATH=str(REPO))
  command = [
    sys.executable,
    str(REPO / "launch" / "eval.py"),
    f"--config={REPO / 'configs' / 'smoke.py'}",
    f"--workdir={workdir}",
    "--config.evals.robustness.num_examples=8",
    # The workdir's model has the choice and span heads only (no sentence-pair head).
    "--config.evals.validation.tasks=('synthetic.en','synthetic_span.de')",
    "--config.evals.validation.num_examples=8",
    "--num_resamples=50",
  ]
  completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
  assert completed.returncode == 0, completed.stderr[-3000:]
  report_dir = workdir / "report"
  payload = json.loads((report_dir / "robustness.json").read_text())
  langs = {row["lang"] for row in payload["rows"]}
  attacks = {row["attack"] for row in payload["rows"]}
  assert {"en", "de"} <= langs and {"clean", "charswap", "addsent"} <= attacks
  for name in ("robustness.csv", "robustness.md", "robustness.png", "predictions.jsonl"):
    assert (report_dir / name).stat().st_size > 0
  rates = np.array([row["value"] for row in payload["rows"] if row["metric"] == "accuracy"])
  assert ((0 <= rates) & (rates <= 100)).all()
  scalars = json.loads((report_dir / "scalars.json").read_text())["scalars"]
  assert 0.0 <= scalars["eval/validation/synthetic.en/accuracy"] <= 1.0
  assert "eval/validation/synthetic_span.de/loss" in scalars


@pytest.mark.parametrize("options_first", (False, True))
def test_eval_cells_use_the_layout_the_model_was_trained_with(tmp_path, options_first):
  from mrc_jax.data import synthetic
  from mrc_jax.eval import inputs

  synthetic.save_tokenizer(str(tmp_path))
  spec = RunSpec(
    encoder=None,
    heads=(HeadSpec("multiple_choice", "multiple_choice"),),
    tasks=("synthetic.en",),
    head_of_task=(0,),
    tokenizer_dir=str(tmp_path),
    options_first=options_first,
  )
  config = eval_config(["synthetic.en"], (), num_examples=2)
  (cell,) = inputs.entry_cells(config, "robustness", config.evals.robustness, spec)
  batch, meta = next(iter(cell.batches))
  example = synthetic.make_example("mc", "en", "test", 0)
  assert meta[0]["id"] == example["id"]
  tok = synthetic.tokenizer()
  first, second = example["context"], f"{example['question']} {example['options'][0]}"
  if options_first:
    first, second = f"{example['options'][0]} {example['question']}", example["context"]
  expected = tok.encode(first, second).ids
  row, pos = batch["pool_row"][0, 0], batch["pool_pos"][0, 0]
  assert batch["input_ids"][row, pos : pos + len(expected)].tolist() == expected
