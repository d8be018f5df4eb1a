"""One run per workdir: a lock file holding the running process's pid and host.

Two runs writing one workdir would interleave checkpoints and metrics. Each process of a
run holds ``WORKDIR/lock.PROCESS_INDEX``, so every process of a second run is refused,
not only the first. A lock left by a killed process is taken over when its pid is dead
on this host; a lock from another host cannot be checked and is never taken over.
"""

from __future__ import annotations

import json
import os
import socket

import jax
from absl import logging


class WorkdirInUseError(RuntimeError):
  """Another run holds the workdir's lock."""


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # alive, someone else's
    pass
  return True


class WorkdirLock:
  """``with WorkdirLock(workdir):`` holds the workdir for this process."""

  def __init__(self, workdir: str, process_index: int | None = None):
    index = jax.process_index() if process_index is None else process_index
    self.path = os.path.join(workdir, f"lock.{index}")
    self.owner = {"pid": os.getpid(), "host": socket.gethostname()}

  def _holder(self) -> dict | None:
    try:
      with open(self.path) as f:
        return json.load(f)
    except FileNotFoundError:
      return None
    except ValueError:  # being written, or left half written
      return {}

  def __enter__(self) -> WorkdirLock:
    while True:
      try:
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
      except FileExistsError:
        holder = self._holder()
        if holder is None:  # released meanwhile
          continue
        pid, host = holder.get("pid"), holder.get("host")
        if host == self.owner["host"] and isinstance(pid, int) and not _alive(pid):
          logging.warning(
            "taking over %s: its pid %d on %s is no longer running", self.path, pid, host
          )
          os.remove(self.path)
          continue
        raise WorkdirInUseError(
          f"{os.path.dirname(self.path)} is in use by pid {pid} on host {host} "
          f"(lock file {self.path}); wait for that run to end, or remove the lock file if "
          "it is certainly not running"
        ) from None
      with os.fdopen(fd, "w") as f:
        json.dump(self.owner, f)
      return self

  def __exit__(self, *exc) -> None:
    if self._holder() == self.owner:
      os.remove(self.path)
