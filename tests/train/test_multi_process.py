"""Several processes as on a pod: launch/train.py on 2 processes x 4 CPU devices ends where
1 process x 8 devices does, resumes across host counts, and hosts' rows stack correctly."""

import json
import os
import shutil

import jax
import numpy as np
import pytest
from flax import nnx

from mrc_jax.data import features
from mrc_jax.models.multitask import MultiTaskModel
from mrc_jax.train import input_pipeline, run_spec
from mrc_jax.train.step import example_losses
from tests.train import helpers

DEVICES = 8
STEPS = 4
FLAGS = helpers.TINY_SMOKE_FLAGS + [
  f"--config.total_steps={STEPS}",
  "--config.checkpoint_every_steps=2",
  "--config.keep_checkpoints=2",
  f"--config.eval_every_steps={STEPS}",
  "--config.evals.validation.tasks=('synthetic.en','synthetic_pair.zh','synthetic_span.ar')",
  # 10 examples in batches of 8: in the second, process 1 has none and joins with padding.
  "--config.evals.validation.num_examples=10",
  "--config.log_every_steps=1",
  "--config.export.enabled=False",
]


def _train(workdir: str, processes: int) -> None:
  """launch/train.py on ``processes`` processes sharing the 8 devices, as README says."""
  procs, logs = helpers.launch(
    "launch/train.py", [f"--workdir={workdir}", *FLAGS], workdir, processes, DEVICES
  )
  codes = helpers.wait(procs)
  if any(codes):
    pytest.fail(f"{processes}-process run exited {codes}:\n{helpers.tails(logs)}")


def _resume_copy(source: str, workdir: str) -> str:
  """``source`` as it was after its step-2 checkpoint (that checkpoint kept, the final one
  gone), so running it again resumes there."""
  shutil.copytree(source, workdir)
  shutil.rmtree(os.path.join(workdir, "checkpoints", str(STEPS)))
  return workdir


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  """Workdirs: uninterrupted on 1 and 2 processes, and each one's step-2 checkpoint
  resumed on the other host count."""
  root = tmp_path_factory.mktemp("multi_process")
  dirs = {"1": str(root / "one"), "2": str(root / "two")}
  _train(dirs["1"], 1)
  _train(dirs["2"], 2)
  dirs["1->2"] = _resume_copy(dirs["1"], str(root / "one_then_two"))
  _train(dirs["1->2"], 2)
  dirs["2->1"] = _resume_copy(dirs["2"], str(root / "two_then_one"))
  _train(dirs["2->1"], 1)
  return dirs


def _params(workdir: str, step: int = STEPS):
  return run_spec.load_params(workdir, step)[0]


def _max_diff(a, b) -> float:
  leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
  assert len(leaves_a) == len(leaves_b) > 0
  return max(
    float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) for x, y in zip(leaves_a, leaves_b)
  )


def _last_scalars(workdir: str, prefix: str) -> dict:
  """The last value of every logged scalar starting with ``prefix``, by (step, name)."""
  scalars = {}
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    for record in map(json.loads, f):
      scalars.update({(record["step"], k): v for k, v in record.items() if k.startswith(prefix)})
  return scalars


def test_two_processes_end_where_one_process_ends(runs):
  assert _max_diff(_params(runs["1"]), _params(runs["2"])) <= 1e-4
  losses_1, losses_2 = _last_scalars(runs["1"], "loss"), _last_scalars(runs["2"], "loss")
  assert len(losses_1) >= STEPS and losses_1.keys() == losses_2.keys()
  assert max(abs(losses_1[k] - losses_2[k]) for k in losses_1) <= 1e-4
  # The periodic accuracy evaluation stacks both hosts' rows too.
  evals_1, evals_2 = _last_scalars(runs["1"], "eval/"), _last_scalars(runs["2"], "eval/")
  assert evals_1 and evals_1.keys() == evals_2.keys()
  assert max(abs(evals_1[k] - evals_2[k]) for k in evals_1) <= 1e-4


def test_input_position_does_not_depend_on_the_host_count(runs):
  def position(workdir):
    with open(os.path.join(workdir, "checkpoints", "2", "input", "metadata")) as f:
      return json.load(f)

  assert position(runs["1"]) == position(runs["2"])
  assert position(runs["1"])["step"] == 2


@pytest.mark.parametrize("resumed", ["1->2", "2->1"])
def test_resume_on_another_host_count_ends_as_the_uninterrupted_run(runs, resumed):
  assert _max_diff(_params(runs["1"]), _params(runs[resumed])) <= 1e-4


def test_checkpoints_of_both_layouts_restore_here(runs):
  # Weights-only restore (evaluation, init_from) on this process's devices.
  for written_by in ("1", "2"):
    assert _max_diff(_params(runs["1"], 2), _params(runs[written_by], 2)) <= 1e-4


def test_stacked_host_batches_score_each_example_as_it_scores_alone():
  """Two hosts' batches stacked as global_batch stacks them: every example, host 1's
  included, gets the loss it gets in its own host's batch."""
  config = helpers.tiny_config()
  model = MultiTaskModel(helpers.encoder_config(config), helpers.HEADS, rngs=nnx.Rngs(params=0))
  hosts = [helpers.mixed_batch(seed) for seed in (0, 1)]
  rows = hosts[0]["input_ids"].shape[0]

  graphdef, params = nnx.split(model, nnx.Param)
  per_example = jax.jit(lambda p, b: example_losses(nnx.merge(graphdef, p)(b), b, helpers.HEADS)[0])

  def losses(batch):
    return np.asarray(per_example(params, batch))

  def stacked(batches):
    return {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}

  alone = np.concatenate([losses(b) for b in hosts])  # [2 E]
  # Host h's rows are global rows [h R, (h + 1) R), as on a data-parallel mesh.
  global_ = stacked(
    [features.to_global_rows(b, np.arange(h * rows, (h + 1) * rows)) for h, b in enumerate(hosts)]
  )
  np.testing.assert_allclose(losses(global_), alone, rtol=1e-5, atol=1e-6)
  # Without the mapping host 1's examples read host 0's rows.
  examples = hosts[0]["example_mask"].shape[0]
  unmapped = losses(stacked(hosts))
  assert not np.allclose(unmapped[examples:], alone[examples:], atol=1e-3)


class _Ids:
  """A converter that keeps the examples' ids, in slot order."""

  def __call__(self, examples):
    return {"ids": np.array([hash(e["id"]) for e in examples])}, [e["id"] for e in examples]


def _host_inputs(processes: int, accum: int) -> list[input_pipeline.TrainInput]:
  tasks = ("synthetic.en", "synthetic_pair.zh")
  return [
    input_pipeline.TrainInput(
      tasks,
      [input_pipeline.ExampleSource(t, "train", 0) for t in tasks],
      input_pipeline.MixtureSampler((1.0, 2.0), "heterogeneous", 0, 10),
      8,
      accum,
      _Ids(),
      index,
      processes,
    )
    for index in range(processes)
  ]


@pytest.mark.parametrize("accum", [1, 2])
def test_hosts_read_disjoint_shares_of_the_one_host_batch(accum):
  (one,) = _host_inputs(1, accum)
  two = _host_inputs(2, accum)
  for _ in range(3):
    _, metas = next(one)
    shares = [next(host)[1] for host in two]
    for a in range(accum):  # micro-batch a: host 0's slots, then host 1's
      assert shares[0][a] + shares[1][a] == metas[a]
    assert {json.dumps(h.position(), sort_keys=True) for h in two} == {
      json.dumps(one.position(), sort_keys=True)
    }


def test_host_layout_splits_the_global_micro_batch(monkeypatch):
  config = helpers.tiny_config(**{"data.rows_per_batch": 32, "data.slots_per_batch": 8})
  monkeypatch.setattr(jax, "process_count", lambda: 2)
  layout = input_pipeline.host_layout(config)
  assert (layout["rows_per_batch"], layout["slots_per_batch"]) == (16, 4)
  config.data.slots_per_batch = 7
  with pytest.raises(ValueError, match="slots_per_batch=7 is not divisible by the 2"):
    input_pipeline.host_layout(config)
