"""Write perturbed examples of a task in the unified schema, one JSON object per line.

    python launch/perturb.py --task=xquad.de --attacks=charswap,addsent --data_dir=D \
        --seed=0 --out=/tmp/xquad.de.adv.jsonl
    python launch/perturb.py --task=xcopa.it --attacks='charswap|option_shuffle' ...
    python launch/perturb.py --task=xquad.de --attacks=codeswitch \
        --params='{"lexicon": "de-en.txt"}' ...
    python launch/perturb.py --list      # the language x attack support table
    python launch/perturb.py --docs=docs/ATTACKS.md --data_dir=D   # regenerate the docs
    python launch/perturb.py --validity --tasks=xquad.de,xquad.zh --attacks=charswap,addsent \
        --max_examples=100 --seed=0 --out=validity.md --data_dir=D
    python launch/perturb.py --validity --dataset=xquad --langs=de,zh --out=validity.md ...

--validity measures how far each attack moves the text, the encoder's clean-vs-attacked
cosine and whether inserted text or new options contain the answer, per (attack, task); it
prints the table and writes it (--out, Markdown) with the rows beside it (.json). Without
--tasks or --dataset: every shared XQuAD language with the span attacks, and XCOPA and EXAMS
with the option attacks.

Each attack (or '|' chain) of --attacks is applied to every example; the output's 'task'
is TASK.ATTACK.
"""

import json
import os
import sys
import time

from absl import app, flags

from mrc_jax import perturb
from mrc_jax.data import catalog, load_examples
from mrc_jax.perturb import validity_report
from mrc_jax.perturb.docs import attacks_markdown

FLAGS = flags.FLAGS
flags.DEFINE_string("task", None, "clean task name, e.g. xquad.de")
flags.DEFINE_list("attacks", None, "attacks, comma-separated; 'a|b' chains attacks")
flags.DEFINE_string("data_dir", None, "data directory (default: $MRC_JAX_DATA_DIR)")
flags.DEFINE_string(
  "split", None, "split (default: every split present; --validity: validation, else test)"
)
flags.DEFINE_integer("seed", 0, "perturbation seed")
flags.DEFINE_string("out", None, "output .jsonl path (--validity: the .md table)")
flags.DEFINE_string("params", "{}", "JSON object of attack parameters")
flags.DEFINE_bool("list", False, "print the language x attack support table and exit")
flags.DEFINE_string("docs", None, "write the attack documentation (docs/ATTACKS.md) and exit")
flags.DEFINE_bool("validity", False, "measure attack validity and write the table to --out")
flags.DEFINE_list("tasks", None, "--validity: clean tasks, e.g. xquad.de,xquad.zh")
flags.DEFINE_string("dataset", None, "--validity: a dataset whose --langs to measure")
flags.DEFINE_list("langs", None, "--validity: languages of --dataset (default: all present)")
flags.DEFINE_integer("max_examples", 100, "--validity: examples per cell, spread over the split")
flags.DEFINE_string("encoder", None, "--validity: encoder checkpoint (default: multilingual-e5)")
flags.DEFINE_bool("embed", True, "--validity: measure encoder cosines")
flags.DEFINE_integer(
  "cos_examples", None, "--validity: cosines on each cell's first N examples (default: all)"
)


def _data_dir() -> str:
  data_dir = FLAGS.data_dir or os.environ.get("MRC_JAX_DATA_DIR")
  if not data_dir:
    raise app.UsageError("no data directory: pass --data_dir or set MRC_JAX_DATA_DIR")
  return data_dir


def _load(task: str, split: str | None = None):
  return load_examples(task, split=split, data_dir=FLAGS.data_dir)


def _validity_plan(data_dir: str) -> list[tuple[str, list[str]]]:
  if FLAGS.tasks and FLAGS.dataset:
    raise app.UsageError("pass --tasks or --dataset, not both")
  if FLAGS.langs and not FLAGS.dataset:
    raise app.UsageError("--langs needs --dataset")
  if FLAGS.dataset:
    present = validity_report.present_tasks([FLAGS.dataset], data_dir)
    tasks = [f"{FLAGS.dataset}.{lang}" for lang in FLAGS.langs] if FLAGS.langs else present
    absent = [t for t in tasks if t not in present]
    if absent:
      raise app.UsageError(f"not under {data_dir}: {', '.join(absent)}")
  elif FLAGS.tasks:
    tasks = FLAGS.tasks
    unknown = [t for t in tasks if t not in catalog.file_tasks()]
    if unknown:
      raise app.UsageError(f"not clean file tasks: {', '.join(unknown)}")
  else:
    plan = validity_report.default_plan(data_dir)
    return [(t, FLAGS.attacks or attacks) for t, attacks in plan]
  kinds = {t: catalog.file_tasks()[t].kind for t in tasks}
  return [(t, FLAGS.attacks or validity_report.default_attacks(kinds[t])) for t in tasks]


def _validity(params: dict) -> None:
  if not FLAGS.out:
    raise app.UsageError("--validity needs --out (the Markdown table; rows go beside it)")
  data_dir = _data_dir()
  started = time.time()
  cells = validity_report.build_cells(
    _validity_plan(data_dir),
    _load,
    data_dir,
    max_examples=FLAGS.max_examples,
    seed=FLAGS.seed,
    split=FLAGS.split,
    params=params,
  )
  rows, markdown = validity_report.report(
    cells, FLAGS.encoder, embed=FLAGS.embed, cos_examples=FLAGS.cos_examples
  )
  json_path = validity_report.write(rows, markdown, FLAGS.out)
  print(markdown)
  print(
    f"{len(rows)} cells in {time.time() - started:.0f} s -> {FLAGS.out}, {json_path}",
    file=sys.stderr,
  )


def main(argv):
  del argv
  if FLAGS.list:
    print(perturb.support_markdown())
    return
  if FLAGS.docs:
    markdown = attacks_markdown(_load, data_dir=_data_dir())
    with open(FLAGS.docs, "w", encoding="utf-8") as f:
      f.write(markdown)
    return
  params = json.loads(FLAGS.params)
  if not isinstance(params, dict):
    raise app.UsageError("--params must be a JSON object")
  if FLAGS.validity:
    _validity(params)
    return
  missing = [name for name in ("task", "attacks", "out") if not getattr(FLAGS, name)]
  if missing:
    raise app.UsageError(f"missing --{', --'.join(missing)}")
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
