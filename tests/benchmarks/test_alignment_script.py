"""benchmarks/alignment.py on the real multilingual-e5-small and shared XQuAD, a few pairs."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

from mrc_jax.perturb import embedder

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_script_prints_cost_precision_and_lexicon_size():
  data_dir = os.environ.get("MRC_JAX_DATA_DIR")
  if not data_dir or embedder.checkpoint_missing(None):
    pytest.skip("needs MRC_JAX_DATA_DIR and multilingual-e5-small under MRC_JAX_CKPT_DIR")
  out = subprocess.run(
    [
      sys.executable,
      "benchmarks/alignment.py",
      f"--data_dir={data_dir}",
      "--max_pairs=24",
      "--langs=de,zh",
    ],
    cwd=REPO,
    capture_output=True,
    text=True,
    check=True,
  ).stdout
  rows = re.findall(
    r"^\| (de|zh) \| 8 \| (argmax|itermax) \| 24 \| [\d.]+ \| (\d+)/(\d+) = ([\d.]+) \| (\d+) \|$",
    out,
    re.M,
  )
  assert len(rows) == 8  # streamed rows and the final table, 2 languages x 2 methods
  for _, _, correct, checked, _, words in rows:
    assert int(checked) > 0 and int(correct) / int(checked) > 0.8 and int(words) > 0
