"""SIGTERM / SIGINT to one of 2 processes: both stop after the same step, save it and exit
with the preemption status; rerunning both ends where an uninterrupted 2-process run ends."""

import os
import re
import signal
import time

import jax
import numpy as np
import pytest

from mrc_jax.train import PREEMPTED_EXIT_CODE, checkpoint, run_spec
from tests.train import helpers

pytestmark = pytest.mark.slow  # three 2-process runs per case

STEPS = 24
AFTER = 5  # the step whose log line triggers the signal
FLAGS = helpers.TINY_SMOKE_FLAGS + [
  f"--config.total_steps={STEPS}",
  "--config.model.hidden_dropout=0.1",
  "--config.checkpoint_every_steps=100",
  "--config.eval_every_steps=0",
  "--config.log_every_steps=1",
  "--config.preemption_sync_every_steps=4",
  "--config.export.enabled=False",
]


def _run(workdir: str, tag: str, signum=None) -> tuple[list[int], list[str]]:
  """launch/train.py on 2 processes x 4 devices; ``signum`` goes to process 1 alone once
  it logs step AFTER. Returns the exit statuses and the logs."""
  procs, logs = helpers.launch(
    "launch/train.py", [f"--workdir={workdir}", *FLAGS], f"{workdir}.{tag}", 2
  )
  if signum is not None:
    deadline = time.monotonic() + 600
    while f"step {AFTER}/{STEPS} " not in open(logs[1]).read():
      assert procs[1].poll() is None and time.monotonic() < deadline, helpers.tails(logs)
      time.sleep(0.05)
    procs[1].send_signal(signum)
  codes = helpers.wait(procs)
  return codes, [open(log).read() for log in logs]


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("straight") / "run")
  codes, logs = _run(workdir, "straight")
  assert codes == [0, 0], "\n".join(log[-3000:] for log in logs)
  return workdir


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_one_process_stops_both_at_one_saved_step_and_resumes(
  tmp_path, straight, signum
):
  workdir = str(tmp_path / "run")
  codes, logs = _run(workdir, "stopped", signum)
  assert codes == [PREEMPTED_EXIT_CODE] * 2, "\n".join(log[-3000:] for log in logs)
  stopped = [int(re.search(r"stopped by .* after step (\d+)", log).group(1)) for log in logs]
  assert f"stopped by {signum.name} after step" in logs[1]
  assert stopped[0] == stopped[1] and AFTER <= stopped[0] < STEPS
  manager = checkpoint.CheckpointManager(os.path.join(workdir, "checkpoints"), asynchronous=False)
  assert manager.latest_step() == stopped[0]
  manager.close()

  codes, logs = _run(workdir, "resumed")
  assert codes == [0, 0], "\n".join(log[-3000:] for log in logs)
  assert all(f"resuming from checkpoint step {stopped[0]} " in log for log in logs)
  a = jax.tree.leaves(run_spec.load_params(straight, STEPS)[0])
  b = jax.tree.leaves(run_spec.load_params(workdir, STEPS)[0])
  assert len(a) == len(b) > 0
  assert max(float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) for x, y in zip(a, b)) <= 1e-6
