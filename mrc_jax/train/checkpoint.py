"""Orbax checkpoints of the train state plus the input position, and the resume order.

A checkpoint step holds two items: ``state`` (step, parameters, optimizer state; each
host writes its own shards) and ``input`` (JSON: how many examples of each task the input
pipeline has consumed), so a resumed run reads exactly the batches an uninterrupted run
would. Saves are asynchronous: orbax writes a step into ``STEP.orbax-checkpoint-tmp-*``
and renames it when every file is written, so a run killed mid-save leaves a temporary
directory, never a half-written ``STEP``.

A renamed step can still lose a file or part of one later (a full disk, a copy that was
cut short). So once orbax has written every file of a step, and before it renames the
directory, ``MANIFEST`` records each file and its size: the manifest arrives with the
step, never without it. Only steps whose files all match their manifest count as
checkpoints (``latest_step``), and a resuming trainer (``resume_step``) says which ones it
skipped and why. Sizes, not hashes: hashing would read every checkpoint whole at each save
and restore.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import shutil
from typing import Any

import jax
import orbax.checkpoint as ocp
from absl import logging
from jax.experimental import multihost_utils

from mrc_jax.train.step import TrainState


MANIFEST = "manifest.json"  # STEP/manifest.json: {"step": N, "files": {path: bytes}}
# Orbax rewrites its step metadata when it renames the step: only its presence is checked.
_REWRITTEN = "_CHECKPOINT_METADATA"
SKIPPED = "skipped"  # checkpoints/skipped/STEP: steps a resume found incomplete
_TMP = ".orbax-checkpoint-tmp"


class CheckpointWriteError(OSError):
  """A checkpoint could not be written; the earlier ones are untouched."""


def _as_tree(state: TrainState) -> dict:
  return dict(step=state.step, params=state.params, opt_state=state.opt_state)


def _files(step_dir: str) -> dict[str, int | None]:
  sizes = {}
  for root, _, names in os.walk(step_dir):
    for name in names:
      path = os.path.join(root, name)
      sizes[os.path.relpath(path, step_dir)] = os.path.getsize(path)
  sizes.pop(MANIFEST, None)
  if _REWRITTEN in sizes:
    sizes[_REWRITTEN] = None
  return sizes


def problem(step_dir: str) -> str | None:
  """Why the checkpoint in ``step_dir`` cannot be restored, or None if it is complete."""
  try:
    with open(os.path.join(step_dir, MANIFEST)) as f:
      expected = json.load(f)["files"]
  except FileNotFoundError:
    return "no manifest: its save did not finish"
  except (ValueError, KeyError):
    return "its manifest is unreadable"
  found = _files(step_dir)
  for path, size in sorted(expected.items()):
    if path not in found:
      return f"{path} is missing"
    if size is not None and found[path] != size:
      return f"{path} has {found[path]} bytes, {size} were written"
  return None


class CheckpointManager:
  """Keeps the last ``keep`` checkpoints of a run under ``directory``."""

  def __init__(self, directory: str, keep: int = 3, asynchronous: bool = True):
    self.directory = os.path.abspath(directory)
    self._asynchronous = asynchronous
    self._in_flight: int | None = None  # the step being saved
    options = ocp.CheckpointManagerOptions(
      max_to_keep=keep,
      create=True,
      enable_async_checkpointing=asynchronous,
      # Called in orbax's finalising thread once the step's files are written, before the
      # temporary directory is renamed.
      async_options=ocp.AsyncOptions(post_finalization_callback=self._write_manifest)
      if asynchronous
      else None,
    )
    self._manager = ocp.CheckpointManager(
      self.directory, options=options, item_names=("state", "input")
    )

  def _step_dir(self, step: int) -> str:
    return os.path.join(self.directory, str(step))

  def _write_manifest(self) -> None:
    step = self._in_flight
    if step is None or jax.process_index() != 0:
      return
    # The save's temporary directory (the newest, should a failed save have left one), or
    # the step itself where orbax writes in place (synchronous saves call this after).
    tmp_dirs = sorted(glob.glob(f"{self._step_dir(step)}{_TMP}*"), key=os.path.getmtime)
    step_dir = tmp_dirs[-1] if tmp_dirs else self._step_dir(step)
    manifest = {"step": step, "files": _files(step_dir)}
    tmp = os.path.join(step_dir, MANIFEST + ".tmp")
    with open(tmp, "w") as f:
      json.dump(manifest, f, indent=1)
    os.replace(tmp, os.path.join(step_dir, MANIFEST))

  def latest_step(self) -> int | None:
    """The newest complete checkpoint (see ``problem``)."""
    return next((s for s in reversed(self.all_steps()) if not self.problem(s)), None)

  def all_steps(self) -> list[int]:
    """Every committed step, complete or not."""
    return sorted(self._manager.all_steps())

  def problem(self, step: int) -> str | None:
    return problem(self._step_dir(step))

  def resume_step(self) -> int | None:
    """The newest complete checkpoint, for a run that will write here (it holds the lock).

    Unfinished saves are removed and incomplete steps moved to ``skipped/STEP``, each with
    a log line saying why, so the run can save those steps again.
    """
    if jax.process_index() == 0:
      for name in sorted(os.listdir(self.directory)):
        if _TMP in name:
          logging.warning("skipped checkpoint %s: an unfinished save; removing it", name)
          shutil.rmtree(os.path.join(self.directory, name))
    latest = self.latest_step()
    for step in self.all_steps():
      reason = self.problem(step) if latest is None or step > latest else None
      if reason and jax.process_index() == 0:
        target = os.path.join(self.directory, SKIPPED, str(step))
        logging.warning("skipped checkpoint step %d: %s; moved to %s", step, reason, target)
        shutil.rmtree(target, ignore_errors=True)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(self._step_dir(step), target)
    if jax.process_count() > 1:
      multihost_utils.sync_global_devices("mrc_jax checkpoint resume_step")
    self._manager.reload()
    if latest is not None:
      logging.info("resuming from checkpoint step %d (%s)", latest, self._step_dir(latest))
    return latest

  def save(self, state: TrainState, input_position: dict, *, force: bool = False) -> bool:
    """Starts an asynchronous save of ``state`` at its step; returns whether it saved.

    A failed write (of this save, or of the previous one still in flight) raises
    ``CheckpointWriteError``.
    """
    step = int(jax.device_get(state.step))
    self.wait()
    if step in self._manager.all_steps():
      return False
    self._in_flight = step
    try:
      saved = self._manager.save(
        step,
        args=ocp.args.Composite(
          state=ocp.args.StandardSave(_as_tree(state)), input=ocp.args.JsonSave(input_position)
        ),
        force=force,
      )
    except OSError as e:
      self._in_flight = None
      raise self._write_error(step, e) from e
    if saved and not self._asynchronous:
      self._write_manifest()
    if not saved or not self._asynchronous:
      self._in_flight = None
    return saved

  def _write_error(self, step: int, error: OSError) -> CheckpointWriteError:
    reason = "the disk is full" if error.errno == errno.ENOSPC else "the write failed"
    return CheckpointWriteError(
      error.errno,
      f"checkpoint step {step} could not be written to {self.directory}: {reason} ({error}); "
      f"the last complete checkpoint is step {self.latest_step()}",
    )

  def restore(self, abstract_state: TrainState, step: int | None = None) -> tuple[TrainState, dict]:
    """Restores ``step`` (default latest complete) into the shardings of ``abstract_state``."""
    step = self.latest_step() if step is None else step
    restored = self._manager.restore(
      step,
      args=ocp.args.Composite(
        state=ocp.args.StandardRestore(_as_tree(abstract_state)), input=ocp.args.JsonRestore()
      ),
    )
    tree = restored["state"]
    logging.info("restored checkpoint step %d from %s", step, self.directory)
    return TrainState(**tree), dict(restored["input"])

  def restore_params(self, abstract_params: Any, step: int | None = None) -> Any:
    """Only the parameters of a checkpoint (weights-only initialisation)."""
    step = self.latest_step() if step is None else step
    item = {"params": abstract_params}
    with ocp.PyTreeCheckpointer() as checkpointer:
      restored = checkpointer.restore(
        os.path.join(self.directory, str(step), "state"),
        args=ocp.args.PyTreeRestore(
          item=item,
          partial_restore=True,
          restore_args=jax.tree.map(lambda a: ocp.ArrayRestoreArgs(sharding=a.sharding), item),
        ),
      )
    return restored["params"]

  def wait(self) -> None:
    """Waits for the save in flight; raises ``CheckpointWriteError`` if it failed."""
    try:
      self._manager.wait_until_finished()
    except OSError as e:
      raise self._write_error(self._in_flight, e) from e
    finally:
      self._in_flight = None

  def close(self) -> None:
    self._manager.close()


def is_training_workdir(path: str) -> bool:
  """Whether ``path`` is a workdir of this trainer (holds ``checkpoints/``)."""
  return os.path.isdir(os.path.join(path, "checkpoints"))
