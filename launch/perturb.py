"""Write perturbed examples of a task in the unified schema, one JSON object per line.

    python launch/perturb.py --task=xquad.de --attacks=charswap,addsent --data_dir=D \
        --seed=0 --out=/tmp/xquad.de.adv.jsonl
    python launch/perturb.py --task=xcopa.it --attacks='charswap|option_shuffle' ...
    python launch/perturb.py --task=xquad.de --attacks=codeswitch \
        --params='{"lexicon": "de-en.txt"}' ...
    python launch/perturb.py --list      # the language x attack support table
    python launch/perturb.py --docs=docs/ATTACKS.md --data_dir=D   # regenerate the docs

Each attack (or '|' chain) of --attacks is applied to every example; the output's 'task'
is TASK.ATTACK.
"""

import json
import sys

from absl import app, flags

from mrc_jax import perturb
from mrc_jax.data import load_examples
from mrc_jax.perturb.docs import attacks_markdown

FLAGS = flags.FLAGS
flags.DEFINE_string("task", None, "clean task name, e.g. xquad.de")
flags.DEFINE_list("attacks", None, "attacks, comma-separated; 'a|b' chains attacks")
flags.DEFINE_string("data_dir", None, "data directory (default: $MRC_JAX_DATA_DIR)")
flags.DEFINE_string("split", None, "split (default: every split present)")
flags.DEFINE_integer("seed", 0, "perturbation seed")
flags.DEFINE_string("out", None, "output .jsonl path")
flags.DEFINE_string("params", "{}", "JSON object of attack parameters")
flags.DEFINE_bool("list", False, "print the language x attack support table and exit")
flags.DEFINE_string("docs", None, "write the attack documentation (docs/ATTACKS.md) and exit")


def main(argv):
  del argv
  if FLAGS.list:
    print(perturb.support_markdown())
    return
  if FLAGS.docs:
    markdown = attacks_markdown(lambda task: load_examples(task, data_dir=FLAGS.data_dir))
    with open(FLAGS.docs, "w", encoding="utf-8") as f:
      f.write(markdown)
    return
  missing = [name for name in ("task", "attacks", "out") if not getattr(FLAGS, name)]
  if missing:
    raise app.UsageError(f"missing --{', --'.join(missing)}")
  params = json.loads(FLAGS.params)
  if not isinstance(params, dict):
    raise app.UsageError("--params must be a JSON object")
  for attack in FLAGS.attacks:  # fail on a misspelt attack before reading any data
    perturb.parse_chain(attack)
  examples = list(load_examples(FLAGS.task, split=FLAGS.split, data_dir=FLAGS.data_dir))
  counts = {}
  with open(FLAGS.out, "w", encoding="utf-8") as out:
    for attack in FLAGS.attacks:
      changed = 0
      for example in perturb.perturb_examples(examples, attack, None, FLAGS.seed, **params):
        example["task"] = f"{FLAGS.task}.{attack}"
        changed += any(r["changed"] for r in example["meta"]["perturbation"])
        out.write(json.dumps(example, ensure_ascii=False) + "\n")
      counts[attack] = changed
  for attack, changed in counts.items():
    print(
      f"{FLAGS.task}.{attack}: {len(examples)} examples, {changed} changed "
      f"({100.0 * changed / max(1, len(examples)):.1f}%) -> {FLAGS.out}",
      file=sys.stderr,
    )


if __name__ == "__main__":
  app.run(main)
