"""benchmarks/seq2seq.py runs end to end in a tiny configuration and decodes as torch does."""

import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
pytest.importorskip("transformers")


def test_script_prints_both_workloads_and_matching_decodes():
  result = subprocess.run(
    [
      sys.executable,
      "benchmarks/seq2seq.py",
      "--model=tiny",
      "--batch=2",
      "--source=8",
      "--target=4",
      "--new_tokens=3",
      "--rounds=2",
      "--steps=1",
    ],
    cwd=REPO,
    capture_output=True,
    text=True,
    check=True,
    timeout=600,
  )
  rows = re.findall(r"^\| (train step|greedy decode) \| (jax|torch) \|", result.stdout, re.M)
  assert sorted(rows) == sorted(
    (w, v) for w in ("train step", "greedy decode") for v in ("jax", "torch")
  ), result.stdout
  assert "greedy outputs identical (before training): True" in result.stdout
  for workload in ("train step", "greedy decode"):
    assert re.search(rf"jax/torch tokens/s, {workload}: [0-9.]+x \(per round: ", result.stdout)
