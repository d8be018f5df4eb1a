"""Examples per second of each attack over every shared XQuAD language, on one core, and the
change rate per language.

    python benchmarks/perturb.py --data_dir=$MRC_JAX_DATA_DIR [--per_lang=300]

Multiple-choice-only attacks are timed on the EXAMS and XCOPA sets instead (XQuAD has no
options). Prints two Markdown tables: throughput per attack, and the change rate (share of
examples changed) of every task x attack.
"""

import collections
import itertools
import random
import os
import time

from absl import app, flags

os.environ.setdefault("OMP_NUM_THREADS", "1")

from mrc_jax import perturb  # noqa: E402
from mrc_jax.data import load_examples  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("data_dir", None, "data directory (default: $MRC_JAX_DATA_DIR)")
flags.DEFINE_integer("per_lang", 300, "examples per language")
flags.DEFINE_list("attacks", None, "attacks to time (default: all but dg, paraphrase, codeswitch)")

XQUAD = "ar de en es ru tr vi zh".split()
CHOICE_TASKS = [
  "exams.bg",
  "exams.hu",
  "exams.it",
  "exams.pl",
  "exams.pt",
  "exams.tr",
  "xcopa.et",
  "xcopa.it",
  "xcopa.zh",
  "xcopa.sw",
]
CHARACTER_LEVEL = {
  "charswap",
  "typo_drop",
  "typo_insert",
  "typo_repeat",
  "typo_keyboard",
  "diacritics",
  "homoglyph",
}


def advrace_style_charswap(example, rng):
  """The reference: AdvRACE's English recipe (whitespace words, code-point swaps), which
  splits combining marks and cannot segment zh; timed only to show what the
  script-aware version costs."""
  tokens = example["question"].split(" ")
  for i, token in enumerate(tokens):
    if len(token) >= 4 and token.isalpha():
      j = rng.randrange(1, len(token) - 2)
      tokens[i] = token[:j] + token[j + 1] + token[j] + token[j + 2 :]
  return dict(example, question=" ".join(tokens))


def _sample(task, count, data_dir):
  return list(itertools.islice(load_examples(task, data_dir=data_dir), count))


def main(argv):
  del argv
  attacks = FLAGS.attacks or [
    a for a in perturb.list_attacks() if a not in ("dg", "paraphrase", "codeswitch")
  ]
  span_sets = {f"xquad.{l}": _sample(f"xquad.{l}", FLAGS.per_lang, FLAGS.data_dir) for l in XQUAD}
  choice_sets = {t: _sample(t, FLAGS.per_lang, FLAGS.data_dir) for t in CHOICE_TASKS}
  # Warm the per-language resources (ICU breakers, stopword lists, lemma dictionaries).
  for sets in (span_sets, choice_sets):
    for task, examples in sets.items():
      list(
        perturb.perturb_examples(
          examples[:2], "charswap|addsent", None, 0, scope="passage_keywords"
        )
      )
  rows, rates = [], collections.defaultdict(dict)
  rng = random.Random(0)
  everything = [e for examples in span_sets.values() for e in examples]
  start = time.process_time()
  for example in everything:
    advrace_style_charswap(example, rng)
  reference_speed = len(everything) / (time.process_time() - start)
  for attack in attacks:
    kinds = perturb.get(attack).kinds
    sets = choice_sets if kinds == ("choice",) else span_sets
    count, elapsed = 0, 0.0
    for task, examples in {**span_sets, **choice_sets}.items():
      if task in span_sets and kinds == ("choice",):
        continue
      start = time.process_time()
      outs = list(perturb.perturb_examples(examples, attack, None, 0))
      if task in sets:  # throughput over the sets named in the table
        elapsed += time.process_time() - start
        count += len(outs)
      changed = sum(o["meta"]["perturbation"][-1]["changed"] for o in outs)
      rates[task][attack] = changed / len(outs)
    target = 2000 if attack in CHARACTER_LEVEL else 500 if attack == "addsent" else None
    rows.append((attack, ", ".join(sets), count, count / elapsed, target))
  print("| attack | sets | examples | examples/s (1 core, CPU time) | target |")
  print("|---|---|---|---|---|")
  for attack, sets, count, speed, target in rows:
    verdict = "" if target is None else (f">= {target} " + ("met" if speed >= target else "MISSED"))
    print(f"| {attack} | {sets} | {count} | {speed:,.0f} | {verdict} |")
  ours = next(speed for attack, _, _, speed, _ in rows if attack == "charswap")
  print(
    f"\nreference (AdvRACE-style code-point charswap on whitespace words): "
    f"{reference_speed:,.0f} examples/s; charswap here: {ours:,.0f} "
    f"({ours / reference_speed:.2f}x the reference)\n"
  )
  print("| task | " + " | ".join(attacks) + " |")
  print("|---" * (len(attacks) + 1) + "|")
  for task in [*span_sets, *choice_sets]:
    cells = [f"{100 * rates[task][a]:.0f}%" if a in rates[task] else "n/a" for a in attacks]
    print(f"| {task} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
  app.run(main)
