"""Checkpoints that are never restored (unfinished, truncated, a file missing), one run
per workdir, and a full disk."""

import errno
import json
import logging
import os
import shutil
import socket
import subprocess

import orbax.checkpoint as ocp
import pytest

from mrc_jax.train import checkpoint, train_and_evaluate
from mrc_jax.train.checkpoint import CheckpointManager, CheckpointWriteError
from mrc_jax.train.lock import WorkdirInUseError, WorkdirLock
from tests.train import helpers


def _config():
  config = helpers.tiny_config(total_steps=4, checkpoint_every_steps=2, log_every_steps=2)
  tasks = ("synthetic.en", "synthetic_pair.zh")
  config.data.mixture = helpers.mixture_of(*tasks)
  config.evals.validation.tasks = tasks
  config.data.max_length = 64
  config.export.enabled = False
  return config


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """A workdir with complete checkpoints at steps 2 and 4."""
  workdir = tmp_path_factory.mktemp("trained")
  train_and_evaluate(_config(), str(workdir))
  return workdir


def _largest_file(step_dir):
  files = [os.path.join(r, n) for r, _, names in os.walk(step_dir) for n in names]
  return max(files, key=os.path.getsize)


def _truncate(step_dir):
  path = _largest_file(step_dir)
  with open(path, "r+b") as f:
    f.truncate(os.path.getsize(path) // 2)
  return "bytes"


def _delete(step_dir):
  os.remove(_largest_file(step_dir))
  return "is missing"


def _uncommit(step_dir):
  # What a run killed mid-save leaves: orbax's temporary directory, not yet renamed.
  os.rename(step_dir, step_dir + ".orbax-checkpoint-tmp-1234")
  return "an unfinished save"


def _no_manifest(step_dir):
  os.remove(os.path.join(step_dir, checkpoint.MANIFEST))
  return "no manifest"


@pytest.mark.parametrize("damage", [_truncate, _delete, _uncommit, _no_manifest])
def test_resume_skips_a_damaged_latest_checkpoint_and_says_why(trained, tmp_path, caplog, damage):
  shutil.copytree(trained / "checkpoints", tmp_path / "checkpoints")
  reason = damage(str(tmp_path / "checkpoints" / "4"))
  manager = CheckpointManager(str(tmp_path / "checkpoints"), asynchronous=False)
  assert manager.latest_step() == 2  # readers such as launch/eval.py skip it too
  with caplog.at_level(logging.INFO, logger="absl"):
    assert manager.resume_step() == 2
  assert manager.all_steps() == [2]  # so the run can write step 4 again
  manager.close()
  skipped = [r.getMessage() for r in caplog.records if "skipped checkpoint" in r.getMessage()]
  assert len(skipped) == 1 and reason in skipped[0] and "4" in skipped[0], skipped
  assert any("resuming from checkpoint step 2 " in r.getMessage() for r in caplog.records)


def test_a_second_run_on_a_workdir_in_use_is_refused(tmp_path):
  with WorkdirLock(str(tmp_path)):
    with pytest.raises(WorkdirInUseError, match=f"in use by pid {os.getpid()} on host"):
      train_and_evaluate(_config(), str(tmp_path))
  assert not os.path.exists(tmp_path / "lock.0")


def test_a_stale_lock_of_a_dead_pid_is_taken_over(tmp_path, caplog):
  dead = subprocess.Popen(["true"])
  dead.wait()
  lock = tmp_path / "lock.0"
  lock.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname()}))
  with caplog.at_level(logging.INFO), WorkdirLock(str(tmp_path)):
    assert json.loads(lock.read_text())["pid"] == os.getpid()
  assert any("taking over" in r.getMessage() for r in caplog.records)
  assert not lock.exists()
  # A dead pid on another host cannot be checked: refused.
  lock.write_text(json.dumps({"pid": dead.pid, "host": "elsewhere"}))
  with pytest.raises(WorkdirInUseError, match="on host elsewhere"):
    WorkdirLock(str(tmp_path)).__enter__()


def test_disk_full_stops_the_run_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch, caplog):
  original = ocp.CheckpointManager.save

  def full_disk(self, step, *args, **kwargs):
    if step < 4:
      return original(self, step, *args, **kwargs)
    os.makedirs(os.path.join(str(self.directory), f"{step}.orbax-checkpoint-tmp-1"))
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

  monkeypatch.setattr(ocp.CheckpointManager, "save", full_disk)
  with pytest.raises(CheckpointWriteError, match="step 4 .* disk is full.* step 2"):
    train_and_evaluate(_config(), str(tmp_path))
  monkeypatch.undo()
  manager = CheckpointManager(str(tmp_path / "checkpoints"), asynchronous=False)
  assert manager.latest_step() == 2
  manager.close()
  with caplog.at_level(logging.INFO, logger="absl"):
    state = train_and_evaluate(_config(), str(tmp_path))
  assert int(state.step) == 4
  assert any("resuming from checkpoint step 2 " in r.getMessage() for r in caplog.records)
