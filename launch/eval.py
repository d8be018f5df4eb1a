r"""Evaluates the latest checkpoint of a training workdir and writes the robustness report.

  python launch/eval.py --config=configs/smoke.py --workdir=/tmp/smoke

writes /tmp/smoke/report/robustness.{json,csv,md,png}, predictions.jsonl and TensorBoard
scalars under report/tensorboard. Every `config.evals` entry of type "robustness" is
evaluated clean and under each attack ("accuracy" entries ran during training; any other
type is an error). Compare mode,

  python launch/eval.py --config=configs/smoke.py --workdir=/tmp/a --compare=/tmp/b

also evaluates both workdirs, or reuses a workdir's report/predictions.jsonl when
report/predictions.evaluation.json shows the same evaluation made it (same entries,
lengths, seeds and checkpoint step), and writes
/tmp/a/report/compare/comparison.{json,csv,md,png}: the paired differences b - a with
their significance.
"""

from absl import app, flags
from ml_collections import config_flags

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
