"""benchmarks/linear_probe.py on the real multilingual-e5-small and shared DREAM / XQuAD-MC,
a few examples; and the probe (mrc_jax/eval/linear_probe.py) on features whose answer is
linearly readable."""

import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

from mrc_jax.eval import linear_probe

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_the_probe_finds_a_linear_answer_and_not_a_missing_one():
  rng = np.random.default_rng(0)
  n, c, h = 400, 3, 16
  x = rng.normal(size=(n, c, h)).astype(np.float32)  # [N, C, H]
  labels = rng.integers(0, c, n)
  x[np.arange(n), labels, 3] += 2.0  # the gold option stands out along one feature
  mask = np.ones((n, c), np.float32)
  mask[:50, 2] = 0  # some examples have two options
  labels[:50] = labels[:50] % 2
  x[np.arange(50), labels[:50], 3] += 2.0
  train, test = slice(0, 300), slice(300, None)
  probe = linear_probe.fit_probe(x[train], mask[train], labels[train], 1e-3, 200, 0.05)
  assert linear_probe.correct(probe, x[test], mask[test], labels[test]).mean() > 0.8
  # A masked option is never chosen, however high it scores.
  lure = x.copy()
  lure[:50, 2, 3] += 100.0
  assert linear_probe.correct(probe, lure[:50], mask[:50], labels[:50]).mean() > 0.8
  shuffled = rng.permutation(labels)  # no feature says which option is right
  probe = linear_probe.fit_probe(x[train], mask[train], shuffled[train], 1e-3, 200, 0.05)
  assert linear_probe.correct(probe, x[test], mask[test], shuffled[test]).mean() < 0.5


@pytest.mark.integration
def test_script_prints_a_row_per_pooling_and_set():
  data_dir = os.environ.get("MRC_JAX_DATA_DIR", "")
  checkpoint = pathlib.Path(
    os.environ.get("MRC_JAX_CKPT_DIR", "/nonexistent"), "multilingual-e5-small"
  )
  if not (checkpoint / "model.safetensors").is_file() or not os.path.isdir(
    os.path.join(data_dir, "dream")
  ):
    pytest.skip("needs the multilingual-e5-small checkpoint and the shared DREAM files")
  result = subprocess.run(
    [
      sys.executable,
      "benchmarks/linear_probe.py",
      f"--checkpoint={checkpoint}",
      "--train=dream.en:train:12",
      "--eval=dream.en:validation:6,xquad_mc.en:test:5",
      "--length=64",
      "--steps=20",
    ],
    cwd=REPO,
    capture_output=True,
    text=True,
    check=True,
    timeout=600,
  )
  rows = re.findall(
    r"^\| (first|mean) \| (\S+?)(?: \(fit\))? \| (\d+) \| ([\d.]+) \|", result.stdout, re.M
  )
  assert {(p, s, int(n), float(c)) for p, s, n, c in rows} == {
    (p, s, n, c)
    for p in ("first", "mean")
    for s, n, c in (
      ("dream.en:train:12", 12, 33.3),
      ("dream.en:validation:6", 6, 33.3),
      ("xquad_mc.en:test:5", 5, 25.0),
    )
  }, result.stdout
  assert "features of 23 examples" in result.stdout
