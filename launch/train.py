r"""Trains a config in a workdir; running the same command again resumes it.

    python launch/train.py --config=configs/smoke.py --workdir=/tmp/smoke \
        [--config.total_steps=100 --config.mesh="(('data',2),('fsdp',2),('tensor',2))"]

One of several processes (README, "Launch recipes") when the environment says so:
JAX_COORDINATOR_ADDRESS (host:port of process 0), JAX_NUM_PROCESSES and JAX_PROCESS_ID, or
a TPU pod slice's, SLURM's or Open MPI's own variables; every process runs this same
command and reads only its share of each batch.

SIGTERM or SIGINT (preemption, Ctrl-C) stops the run after its current step with a
checkpoint at that step; the exit status is then 75 (``train.PREEMPTED_EXIT_CODE``,
sysexits' EX_TEMPFAIL), so a scheduler can tell "rerun me" from a failure (1). A second
signal stops it at once, unsaved. A workdir in use by another run is refused.
"""

import logging as std_logging
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from mrc_jax import train

_CONFIG = config_flags.DEFINE_config_file("config", None, "Training config file.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints and metrics.")
flags.mark_flags_as_required(["config", "workdir"])


def _quiet_checkpoint_library(record: std_logging.LogRecord) -> bool:
  """Keeps orbax's warnings but not its per-save INFO lines, which bury the progress."""
  return record.levelno >= std_logging.WARNING or "/orbax/" not in record.pathname


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  logging.get_absl_handler().addFilter(_quiet_checkpoint_library)
  train.initialize_distributed()
  try:
    train.train_and_evaluate(_CONFIG.value, _WORKDIR.value)
  except train.Preempted as stopped:
    logging.warning("exiting with status %d: %s", train.PREEMPTED_EXIT_CODE, stopped)
    sys.exit(train.PREEMPTED_EXIT_CODE)


if __name__ == "__main__":
  app.run(main)
