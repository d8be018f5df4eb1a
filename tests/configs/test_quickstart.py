"""The README's main command end to end: the quickstart study and its report."""

import json
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
REGIMES = ("finetune_clean", "finetune_adv")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
  """Runs the quickstart once (a few minutes) and returns its report directory."""
  workdir = tmp_path_factory.mktemp("quickstart")
  subprocess.run(
    [
      sys.executable,
      "launch/study.py",
      "--config=configs/quickstart.py",
      f"--workdir={workdir}",
      "--num_resamples=200",
    ],
    cwd=REPO,
    check=True,
  )
  return workdir / "report"


def _clean_accuracy(rows, run):
  return next(
    r["value"]
    for r in rows
    if r["run"] == run
    and r["lang"] == "mean"
    and r["attack"] == "clean"
    and r["metric"] == "accuracy"
  )


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_quickstart_reports_both_regimes_over_languages_and_attacks(report):
  for suffix in ("json", "csv", "md", "png"):
    assert (report / f"robustness.{suffix}").stat().st_size > 0
  payload = json.loads((report / "robustness.json").read_text())
  assert "SYNTHETIC" in payload["data"] and "SYNTHETIC" in (report / "robustness.md").read_text()
  rows = payload["rows"]
  for run in REGIMES:
    mine = [r for r in rows if r["run"] == run]
    langs = {r["lang"] for r in mine if r["lang"] != "mean" and not r["lang"].startswith("worst(")}
    attacks = {
      r["attack"]
      for r in mine
      if r["attack"] not in ("clean", "mean") and not r["attack"].startswith("worst(")
    }
    assert len(langs) >= 5 and len({"ru", "zh", "ar", "hi"} & langs) >= 2, langs
    assert len(attacks) >= 3, attacks
    # The quickstart's promise: the tiny encoder learns the synthetic task (chance 25%).
    assert _clean_accuracy(rows, run) >= 80.0, (run, _clean_accuracy(rows, run))
  # Both regimes compared: paired differences per cell.
  compared = [r for r in rows if r["run"] == "finetune_adv-finetune_clean"]
  assert any(r["metric"] == "accuracy_diff" for r in compared)
  assert any(r["metric"] == "accuracy_drop_diff" for r in compared)
