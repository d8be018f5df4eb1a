"""SIGTERM / SIGINT -> the run stops after a step that every process agrees on.

A preempted run saves a checkpoint at that step and exits with
``trainer.PREEMPTED_EXIT_CODE``; rerunning the command resumes it exactly.

One process: the signal handler sets a flag that the loop reads after every step.
Several processes must stop at the same step, or the save's collectives hang:
- after ``jax.distributed.initialize()`` JAX's preemption service owns SIGTERM and
  agrees on a sync point through the coordinator (``reached_preemption_sync_point``,
  which orbax's ``CheckpointManager.reached_preemption`` wraps); it is asked every step,
  which costs no device round trip;
- every other signal (SIGINT, or SIGTERM without the service) sets the local flag, and
  the processes all-gather their flags every ``sync_every`` steps, so all see the same
  answer at the same step.
"""

from __future__ import annotations

import signal
import threading

import jax
import numpy as np
from absl import logging
from jax.experimental import multihost_utils


def _preemption_service() -> bool:
  """Whether JAX's preemption sync manager runs (it needs ``jax.distributed``)."""
  try:
    multihost_utils.reached_preemption_sync_point(0)
  except RuntimeError:
    return False
  return True


class StopRequest:
  """Catches SIGTERM and SIGINT for the duration of a ``with`` block.

  A second signal of the same kind acts as it would without this (SIGINT raises
  ``KeyboardInterrupt``, SIGTERM terminates): the handlers are put back after the first.
  """

  def __init__(self, sync_every: int = 1):
    self.sync_every = max(int(sync_every), 1)
    self.received: str | None = None  # the signal's name
    self._previous: dict = {}
    self._service = jax.process_count() > 1 and _preemption_service()

  def __enter__(self) -> StopRequest:
    if threading.current_thread() is not threading.main_thread():
      logging.warning("not on the main thread: SIGTERM and SIGINT stop the run unsaved")
      return self
    signals = [signal.SIGINT] + ([] if self._service else [signal.SIGTERM])
    self._previous = {s: signal.signal(s, self._handle) for s in signals}
    return self

  def __exit__(self, *exc) -> None:
    self._restore_handlers()

  def _restore_handlers(self) -> None:
    for signum, handler in self._previous.items():
      signal.signal(signum, handler)
    self._previous = {}

  def _handle(self, signum, frame) -> None:
    self.received = signal.Signals(signum).name
    logging.warning("%s received: stopping after the current step", self.received)
    self._restore_handlers()

  def should_stop(self, step: int) -> bool:
    """Whether the run stops after ``step``; every process gets the same answer."""
    if jax.process_count() == 1:
      return self.received is not None
    stop = False
    if self._service and multihost_utils.reached_preemption_sync_point(step):
      self.received = self.received or "SIGTERM"
      stop = True
    if step % self.sync_every == 0:
      flags = multihost_utils.process_allgather(np.int32(self.received is not None))
      if np.any(flags) and self.received is None:
        self.received = "a signal to another process"
      stop = stop or bool(np.any(flags))
    return stop
