"""Orbax checkpoints of the train state plus the input position, and the resume order.

A checkpoint step holds two items: ``state`` (step, parameters, optimizer state; each
host writes its own shards) and ``input`` (JSON: how many examples of each task the input
pipeline has consumed), so a resumed run reads exactly the batches an uninterrupted run
would. Saves are asynchronous; orbax finalises a step directory atomically, so a run
killed mid-save leaves only complete checkpoints behind.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import orbax.checkpoint as ocp
from absl import logging

from mrc_jax.train.step import TrainState


def _as_tree(state: TrainState) -> dict:
  return dict(step=state.step, params=state.params, opt_state=state.opt_state)


class CheckpointManager:
  """Keeps the last ``keep`` checkpoints of a run under ``directory``."""

  def __init__(self, directory: str, keep: int = 3, asynchronous: bool = True):
    self.directory = os.path.abspath(directory)
    options = ocp.CheckpointManagerOptions(
      max_to_keep=keep, create=True, enable_async_checkpointing=asynchronous
    )
    self._manager = ocp.CheckpointManager(
      self.directory, options=options, item_names=("state", "input")
    )

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, state: TrainState, input_position: dict, *, force: bool = False) -> bool:
    """Starts an asynchronous save of ``state`` at its step; returns whether it saved."""
    step = int(jax.device_get(state.step))
    if step in self._manager.all_steps():
      return False
    return self._manager.save(
      step,
      args=ocp.args.Composite(
        state=ocp.args.StandardSave(_as_tree(state)), input=ocp.args.JsonSave(input_position)
      ),
      force=force,
    )

  def restore(self, abstract_state: TrainState, step: int | None = None) -> tuple[TrainState, dict]:
    """Restores ``step`` (default latest) into the shardings of ``abstract_state``."""
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
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.close()


def is_training_workdir(path: str) -> bool:
  """Whether ``path`` is a workdir of this trainer (holds ``checkpoints/``)."""
  return os.path.isdir(os.path.join(path, "checkpoints"))
