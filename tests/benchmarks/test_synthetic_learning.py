"""The learning-curve probe runs and prints one table row per `--every` steps."""

import math
import pathlib
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_probe_prints_a_row_per_interval(tmp_path):
  result = subprocess.run(
    [
      sys.executable,
      "benchmarks/synthetic_learning.py",
      "--kind=lookup",
      "--langs=en,zh",
      "--steps=4",
      "--every=2",
      "--batch=2",
      "--layers=1",
      "--warmup=1",
      "--options_first",
      "--position_init=sinusoidal",
      f"--tokenizer_dir={tmp_path}",
    ],
    cwd=REPO,
    capture_output=True,
    text=True,
    check=True,
  )
  rows = [line.split() for line in result.stdout.splitlines() if re.match(r"^\s+\d+\s", line)]
  assert [row[0] for row in rows] == ["2", "4"], result.stdout
  for _, loss, accuracy, _ in rows:
    # Four steps from scratch: still at the 4-way chance loss; accuracy is a mean over
    # 2 steps x 2 examples, so a multiple of 1/4.
    assert abs(float(loss) - math.log(4)) < 0.05, result.stdout
    assert float(accuracy) * 4 == round(float(accuracy) * 4) and 0 <= float(accuracy) <= 1
  assert "kind=lookup langs=en,zh" in result.stdout
  assert "sinusoidal positions" in result.stdout and "options first" in result.stdout
