"""SIGTERM / SIGINT at a random step: the run saves that step and exits with the
preemption status; rerunning it ends bitwise where an uninterrupted run ends."""

import os
import random
import re
import signal
import subprocess
import sys

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from mrc_jax.train import PREEMPTED_EXIT_CODE, checkpoint, preemption

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STEPS = 30


def _command(workdir) -> list[str]:
  return [
    sys.executable,
    "launch/train.py",
    "--config=configs/smoke.py",
    f"--workdir={workdir}",
    f"--config.total_steps={STEPS}",
    "--config.batch_size=8",
    "--config.checkpoint_every_steps=10",
    "--config.eval_every_steps=0",
    "--config.log_every_steps=1",
    "--config.export.enabled=False",
    "--config.model.hidden_size=32",
    "--config.model.intermediate_size=64",
    "--config.model.hidden_dropout=0.1",
  ]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
  # One compilation cache for every run here: reruns skip most of their start-up.
  cache = str(tmp_path_factory.mktemp("jax_cache"))
  return dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS="cpu", JAX_COMPILATION_CACHE_DIR=cache)


@pytest.fixture(scope="module")
def straight(tmp_path_factory, env):
  workdir = tmp_path_factory.mktemp("straight")
  subprocess.run(_command(workdir), cwd=ROOT, env=env, check=True, capture_output=True)
  return workdir


def _final_params(workdir):
  with ocp.PyTreeCheckpointer() as checkpointer:
    state = checkpointer.restore(os.path.join(workdir, "checkpoints", str(STEPS), "state"))
  return state["params"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_at_random_step_saves_exits_75_and_resumes_bitwise(tmp_path, env, straight, signum):
  after = random.Random(int(signum)).randint(3, 12)  # the step whose log line triggers it
  proc = subprocess.Popen(
    _command(tmp_path), cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True, bufsize=1
  )
  log = []
  for line in proc.stderr:
    log.append(line)
    if f"step {after}/{STEPS} " in line:
      proc.send_signal(signum)
  proc.wait()
  log = "".join(log)
  assert proc.returncode == PREEMPTED_EXIT_CODE, log[-3000:]
  stopped = int(re.search(rf"stopped by {signum.name} after step (\d+)", log).group(1))
  assert after <= stopped < STEPS
  manager = checkpoint.CheckpointManager(str(tmp_path / "checkpoints"), asynchronous=False)
  assert manager.latest_step() == stopped
  manager.close()

  rerun = subprocess.run(
    _command(tmp_path), cwd=ROOT, env=env, check=True, capture_output=True, text=True
  )
  assert f"resuming from checkpoint step {stopped} " in rerun.stderr
  a, b = jax.tree.leaves(_final_params(straight)), jax.tree.leaves(_final_params(tmp_path))
  assert len(a) == len(b) > 0
  for x, y in zip(a, b):
    assert np.array_equal(np.asarray(x), np.asarray(y))


def test_single_process_stop_request_answers_after_the_signal():
  before = signal.getsignal(signal.SIGINT)
  with preemption.StopRequest(sync_every=10) as stop:
    assert not stop.should_stop(1)
    os.kill(os.getpid(), signal.SIGTERM)
    assert stop.received == "SIGTERM" and stop.should_stop(2)
    # The first signal put the previous handler back.
    assert signal.getsignal(signal.SIGTERM) is not stop._handle
  assert signal.getsignal(signal.SIGINT) is before
