"""benchmarks/encoder_step.py runs end to end in a tiny configuration, frozen variants included."""

import pathlib
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_script_prints_every_variant_and_the_ratios():
  result = subprocess.run(
    [
      sys.executable,
      "benchmarks/encoder_step.py",
      "--model=tiny",
      "--batch=2",
      "--choices=2",
      "--length=8",
      "--rounds=2",
      "--steps=1",
      "--freeze=embeddings/word",
    ],
    cwd=REPO,
    capture_output=True,
    text=True,
    check=True,
    timeout=600,
  )
  rows = [
    line.split("|")[1:3]
    for line in result.stdout.splitlines()
    if re.match(r"^\| (full step|fwd\+bwd) \|", line)
  ]
  variants = {(w.strip(), v.strip()) for w, v in rows}
  assert variants == {
    ("full step", v) for v in ("jax", "jax frozen", "jax stop_gradient", "torch", "torch frozen")
  } | {("fwd+bwd", v) for v in ("jax", "jax frozen", "torch", "torch frozen")}, result.stdout
  assert "batch 2x2x8 = 32 tokens" in result.stdout
  ratio = re.search(
    r"jax frozen/jax tokens/s, full step: ([\d.]+)x \(per round: ([\d.]+), "
    r"([\d.]+);",
    result.stdout,
  )
  assert ratio and all(float(x) > 0 for x in ratio.groups()), result.stdout


def test_a_pattern_matching_no_parameter_is_refused():
  result = subprocess.run(
    [
      sys.executable,
      "benchmarks/encoder_step.py",
      "--model=tiny",
      "--batch=1",
      "--choices=2",
      "--length=8",
      "--rounds=1",
      "--steps=1",
      "--freeze=no_such_table",
    ],
    cwd=REPO,
    capture_output=True,
    text=True,
    timeout=600,
  )
  assert result.returncode != 0
  assert "['no_such_table'] match no parameter path" in result.stderr
