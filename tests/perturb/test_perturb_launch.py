"""launch/perturb.py, perturbed task names through the data layer, and the generated docs."""

import json
import pathlib
import subprocess
import sys

import pytest

from mrc_jax import perturb

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_docs_support_table_is_the_registry_table():
  docs = (ROOT / "docs" / "ATTACKS.md").read_text(encoding="utf-8")
  assert perturb.support_markdown() in docs
  for name in perturb.list_attacks():
    assert f"### `{name}`" in docs


def test_list_prints_the_support_table():
  out = subprocess.run(
    [sys.executable, str(ROOT / "launch" / "perturb.py"), "--list"],
    capture_output=True,
    text=True,
    check=True,
  )
  assert out.stdout.strip() == perturb.support_markdown().strip()


@pytest.mark.integration
def test_launch_writes_unified_examples(data_dir, tmp_path):
  out_path = tmp_path / "out.jsonl"
  subprocess.run(
    [
      sys.executable,
      str(ROOT / "launch" / "perturb.py"),
      "--task=xcopa.it",
      "--attacks=charswap,addsent|option_shuffle",
      f"--data_dir={data_dir}",
      "--seed=3",
      f"--out={out_path}",
    ],
    check=True,
    capture_output=True,
  )
  rows = [json.loads(line) for line in out_path.read_text(encoding="utf-8").splitlines()]
  assert len(rows) == 2 * 600  # validation 100 + test 500, once per attack
  assert {r["task"] for r in rows} == {"xcopa.it.charswap", "xcopa.it.addsent|option_shuffle"}
  chained = [r for r in rows if r["task"].endswith("option_shuffle")]
  assert all(
    [p["attack"] for p in r["meta"]["perturbation"]] == ["addsent", "option_shuffle"]
    for r in chained
  )
  assert all(r["options"][r["label"]] for r in rows)


@pytest.mark.integration
def test_perturbed_task_loads_through_the_data_layer(data_dir):
  from mrc_jax.data import load_examples

  examples = load_examples("xquad.zh.charswap", data_dir=data_dir)
  first = next(iter(examples))
  assert first["task"] == "xquad.zh.charswap"
  assert first["meta"]["perturbation"][-1]["attack"] == "charswap"
