"""Compare mode reuses saved predictions only if the same evaluation made them."""

import json

import pytest
from eval_helpers import eval_config

from mrc_jax.eval import results, run

OPTIONS = run.ReportOptions(num_resamples=20)


def small_config():
  config = eval_config(["synthetic.en"], ("charswap",), num_examples=6)
  config.max_answer_length = 30
  return config


def _change(config, field, value):
  node = config
  *parents, leaf = field.split(".")
  for name in parents:
    node = node[name]
  node[leaf] = value
  return config


@pytest.mark.parametrize(
  "field, value",
  [
    ("evals.robustness.tasks", ("synthetic.en", "synthetic.de")),
    ("evals.robustness.split", "validation"),
    ("evals.robustness.attacks", ("addsent",)),
    ("evals.robustness.num_examples", 7),
    ("evals.robustness.perturb_seed", 3),
    ("evals.robustness.attack_params", {"charswap": {"rate": 0.5}}),
    ("evals.robustness.window_stride", 16),
    ("data.max_length", 64),
    ("max_answer_length", 10),
    ("null_score_threshold", 1.5),
  ],
)
def test_every_setting_that_decides_predictions_changes_the_fingerprint(make_workdir, field, value):
  workdir = str(make_workdir("run", 0))
  base = run.fingerprint(run.evaluation_settings(small_config(), workdir, 5))
  assert run.fingerprint(run.evaluation_settings(small_config(), workdir, 5)) == base
  assert run.fingerprint(run.evaluation_settings(small_config(), workdir, 6)) != base
  changed = _change(small_config(), field, value)
  assert run.fingerprint(run.evaluation_settings(changed, workdir, 5)) != base
  # Settings that only shape batches or the statistics leave it alone.
  same = _change(small_config(), "evals.robustness.batch_size", 3)
  assert run.fingerprint(run.evaluation_settings(same, workdir, 5)) == base


def test_compare_recomputes_predictions_of_another_evaluation(make_workdir):
  workdir_a, workdir_b = make_workdir("run_a", 0), make_workdir("run_b", 1)
  predictions_a = workdir_a / "report" / "predictions.jsonl"
  run.evaluate_workdir(small_config(), str(workdir_a), OPTIONS)
  saved = results.read_evaluation(predictions_a)
  assert saved["settings"]["checkpoint_step"] == 5
  assert saved["settings"]["entries"][0]["num_examples"] == 6
  summary = json.loads((workdir_a / "report" / "robustness.json").read_text())
  assert summary["eval_fingerprint"] == saved["fingerprint"]

  # Same checkpoint step, another evaluation: A's predictions are made again.
  other = _change(small_config(), "evals.robustness.num_examples", 9)
  mtime = predictions_a.stat().st_mtime_ns
  run.compare_workdirs(other, str(workdir_a), str(workdir_b), OPTIONS)
  assert predictions_a.stat().st_mtime_ns != mtime
  for predictions in (predictions_a, workdir_b / "report" / "predictions.jsonl"):
    assert [len(cell.ids) for cell in results.read_predictions(predictions)] == [9, 9]
    assert results.read_evaluation(predictions)["fingerprint"] == run.fingerprint(
      run.evaluation_settings(other, str(workdir_a), 5)
    )

  # The same evaluation again: both runs' predictions are reused.
  mtimes = [
    p.stat().st_mtime_ns for p in (predictions_a, workdir_b / "report" / "predictions.jsonl")
  ]
  run.compare_workdirs(other, str(workdir_a), str(workdir_b), OPTIONS)
  assert [
    p.stat().st_mtime_ns for p in (predictions_a, workdir_b / "report" / "predictions.jsonl")
  ] == mtimes


def test_predictions_without_their_evaluation_are_recomputed(make_workdir):
  """A report written before predictions carried their evaluation is not trusted."""
  workdir_a, workdir_b = make_workdir("run_a", 0), make_workdir("run_b", 1)
  predictions_a = workdir_a / "report" / "predictions.jsonl"
  run.evaluate_workdir(small_config(), str(workdir_a), OPTIONS)
  results.evaluation_path(predictions_a).unlink()
  mtime = predictions_a.stat().st_mtime_ns
  run.compare_workdirs(small_config(), str(workdir_a), str(workdir_b), OPTIONS)
  assert predictions_a.stat().st_mtime_ns != mtime
  assert results.read_evaluation(predictions_a) is not None
