r"""Evaluates the latest checkpoint of a training workdir: the robustness report and scalars.

  python launch/eval.py --config=configs/smoke.py --workdir=/tmp/smoke

runs every `config.evals` entry on the checkpoint with the evaluators training runs
(mrc_jax.eval.evaluators): "robustness" entries clean and under each attack, into
/tmp/smoke/report/robustness.{json,csv,md,png} and predictions.jsonl; the other entries
("accuracy") into report/scalars.{json,md}; TensorBoard scalars of both under
report/tensorboard. An entry of missing or unknown type, or with a field its type does not
read, is an error before the checkpoint is read. Compare mode,

  python launch/eval.py --config=configs/smoke.py --workdir=/tmp/a --compare=/tmp/b

also evaluates both workdirs, or reuses a workdir's report/predictions.jsonl when
report/predictions.evaluation.json shows the same evaluation made it (same entries,
lengths, seeds and checkpoint step), and writes
/tmp/a/report/compare/comparison.{json,csv,md,png}: the paired differences b - a with
their significance.
"""

from absl import app, flags
from ml_collections import config_flags

from mrc_jax import train
from mrc_jax.eval import run

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Training/eval config file.", lock_config=False)
flags.DEFINE_string(
  "workdir", None, "Training workdir whose latest checkpoint is evaluated.", required=True
)
flags.DEFINE_string("compare", None, "Second workdir to compare against --workdir.")
flags.DEFINE_integer("step", None, "Checkpoint step to evaluate (default: latest).")
flags.DEFINE_string(
  "data_dir", None, "Data directory (default: config.data.data_dir or $MRC_JAX_DATA_DIR)."
)
flags.DEFINE_integer("num_resamples", 1000, "Bootstrap resamples per interval.")
flags.DEFINE_integer("seed", 0, "Seed of the bootstrap resampling.")


def main(argv):
  del argv
  # One of several processes (pod slice, SLURM, JAX_COORDINATOR_ADDRESS): join the run; the
  # evaluation is data parallel over every process's devices and process 0 writes the report.
  train.initialize_distributed()
  options = run.ReportOptions(
    step=FLAGS.step, data_dir=FLAGS.data_dir, num_resamples=FLAGS.num_resamples, seed=FLAGS.seed
  )
  if FLAGS.compare:
    run.compare_workdirs(FLAGS.config, FLAGS.workdir, FLAGS.compare, options)
  else:
    run.evaluate_workdir(FLAGS.config, FLAGS.workdir, options)


if __name__ == "__main__":
  flags.mark_flag_as_required("config")
  app.run(main)
