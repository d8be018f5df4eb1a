"""launch/eval.py data parallel: 1 process x 8 CPU devices and 2 processes x 4 give the
per-example predictions, report rows and scalars of 1 device, and only process 0 writes."""

import json
import os
import shutil

import numpy as np
import pytest

from tests.train import helpers

TRAIN = [
  "--config=configs/smoke.py",
  "--config.total_steps=2",
  "--config.batch_size=8",
  "--config.model.hidden_size=32",
  "--config.model.intermediate_size=64",
  "--config.checkpoint_every_steps=2",
  "--config.eval_every_steps=0",
  "--config.export.enabled=False",
]
EVAL = [
  "--config=configs/smoke.py",
  "--config.batch_size=8",
  "--config.evals.validation.num_examples=10",
  # Every head kind; 6 examples fill cells of 6 slots, which 8 devices need padded.
  "--config.evals.robustness.tasks=('synthetic.en','synthetic_pair.zh','synthetic_span.ar')",
  "--config.evals.robustness.attacks=('charswap',)",
  "--config.evals.robustness.num_examples=6",
  "--num_resamples=50",
]
pytestmark = pytest.mark.slow  # five launches: about 140 s on 2 cores

LAYOUTS = {"1x1": (1, 1), "1x8": (1, 8), "2x4": (2, 8)}  # processes, devices in all


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
  """The report directory of one trained workdir evaluated in each layout, and the logs."""
  root = tmp_path_factory.mktemp("eval_devices")
  trained = str(root / "trained")
  procs, logs = helpers.launch("launch/train.py", [f"--workdir={trained}", *TRAIN], trained, 1, 1)
  assert helpers.wait(procs) == [0], helpers.tails(logs)
  out = {}
  for name, (processes, devices) in LAYOUTS.items():
    workdir = str(root / name)
    shutil.copytree(trained, workdir)
    procs, logs = helpers.launch(
      "launch/eval.py", [f"--workdir={workdir}", *EVAL], workdir, processes, devices
    )
    assert helpers.wait(procs) == [0] * processes, helpers.tails(logs)
    out[name] = (os.path.join(workdir, "report"), [open(log).read() for log in logs])
  return out


def _predictions(report_dir: str) -> dict:
  with open(os.path.join(report_dir, "predictions.jsonl")) as f:
    records = [json.loads(line) for line in f]
  return {(r["task"], r["lang"], r["attack"], r["id"]): r for r in records}


def _assert_close(a, b, path=""):
  """Equal structures; floats within 1e-5 (different batch shapes round differently)."""
  if isinstance(a, dict):
    assert a.keys() == b.keys(), path
    for key in a:
      _assert_close(a[key], b[key], f"{path}/{key}")
  elif isinstance(a, list) and not isinstance(b, str):
    assert len(a) == len(b), path
    for i, (x, y) in enumerate(zip(a, b)):
      _assert_close(x, y, f"{path}/{i}")
  elif isinstance(a, float):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=path)
  else:
    assert a == b, path


@pytest.mark.parametrize("layout", ["1x8", "2x4"])
def test_every_example_is_predicted_as_on_one_device(reports, layout):
  one, many = _predictions(reports["1x1"][0]), _predictions(reports[layout][0])
  assert len(one) == 3 * 2 * 6  # tasks x (clean, charswap) x examples
  _assert_close(one, many)


@pytest.mark.parametrize("layout", ["1x8", "2x4"])
def test_report_rows_and_scalars_are_those_of_one_device(reports, layout):
  for name in ("robustness.json", "scalars.json"):
    with open(os.path.join(reports["1x1"][0], name)) as f:
      one = json.load(f)
    with open(os.path.join(reports[layout][0], name)) as f:
      many = json.load(f)
    if name == "robustness.json":  # rows name their run: the workdir
      assert (one["devices"], many["devices"]) == (1, 8)
      one, many = ([dict(row, run=None) for row in r["rows"]] for r in (one, many))
    _assert_close(one, many, name)


def test_only_process_0_writes(reports):
  logs = reports["2x4"][1]
  assert "wrote " in logs[0] and "wrote " not in logs[1]
