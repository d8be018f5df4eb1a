r"""How much multiple choice a checkpoint's frozen features hold: a linear probe per pooling.

    python benchmarks/linear_probe.py --checkpoint=$MRC_JAX_CKPT_DIR/multilingual-e5-small \
        --train=dream.en:train:900 \
        --eval=dream.en:validation:300,xquad_mc.en:test:300 --length=160

Encodes every option of the examples with the frozen encoder (the batch builder's rows,
packed as in training), pools each option's sequence as a head would (``first``: the raw
first-token state; ``mean``: the mean of its tokens, ``MultiTaskModel``'s mean pooling),
fits one linear scorer per pooling on the training examples (softmax over each example's
options, features standardised, L2, full-batch gradient descent) and prints its accuracy
on every evaluation set with a 95% bootstrap interval beside chance. It bounds what a
fresh multiple-choice head can learn before the encoder itself moves (the first phase of
LP-FT, Kumar et al. 2022, "Fine-Tuning can Distort Pretrained Features and Underperform
Out-of-Distribution"), at the cost of forward passes only: docs/RESULTS.md uses it to say
why a short fine-tuning on this CPU stays at chance.

Sets are ``TASK:SPLIT:N`` (the first N examples; N=0 for all).
"""

import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from mrc_jax.data import load_examples
from mrc_jax.data.features import make_batches
from mrc_jax.data.vocab import load_tokenizer
from mrc_jax.eval import bootstrap
from mrc_jax.eval.linear_probe import correct, fit_probe
from mrc_jax.models import hf
from mrc_jax.models.multitask import mean_of_segments

FLAGS = flags.FLAGS
flags.DEFINE_string("checkpoint", None, "Hugging Face directory of the encoder.")
flags.DEFINE_string("data_dir", "", "Data directory (default $MRC_JAX_DATA_DIR).")
flags.DEFINE_string("train", "dream.en:train:900", "TASK:SPLIT:N the probe is fitted on.")
flags.DEFINE_list("eval", ["dream.en:validation:300"], "TASK:SPLIT:N sets it is scored on.")
flags.DEFINE_integer("length", 160, "Row length (passages truncated to fit).")
flags.DEFINE_list("poolings", ["first", "mean"], "Poolings compared.")
flags.DEFINE_float("l2", 1e-2, "L2 penalty on the standardised weights.")
flags.DEFINE_integer("steps", 500, "Full-batch Adam steps.")
flags.DEFINE_float("lr", 0.05, "Adam learning rate.")
flags.DEFINE_integer("batch", 8, "Examples per encoder call.")

POOLINGS = ("first", "mean")


def parse_set(text: str) -> tuple[str, str, int]:
  task, split, count = text.split(":")
  return task, split, int(count)


def features(encode, examples, tokenizer, length, batch):
  """{pooling: [N, C, H]} option features, the choice mask [N, C] and labels [N]."""
  choices = max(len(e["options"]) for e in examples)
  pooled = {p: [] for p in POOLINGS}
  masks, labels = [], []
  for arrays, _ in make_batches(
    examples,
    tokenizer,
    task_index={e["task"]: 0 for e in examples},
    head_index={e["task"]: 0 for e in examples},
    examples_per_batch=batch,
    rows_per_batch=batch * choices,
    lengths=(length,),
    max_choices=choices,
    skip_overlong=True,
  ):
    first, mean = encode(arrays)
    real = arrays["example_mask"] > 0
    pooled["first"].append(np.asarray(first)[real])
    pooled["mean"].append(np.asarray(mean)[real])
    masks.append(arrays["choice_mask"][real])
    labels.append(arrays["label"][real])
  return (
    {p: np.concatenate(v) for p, v in pooled.items()},
    np.concatenate(masks),
    np.concatenate(labels),
  )


def main(_):
  data_dir = FLAGS.data_dir or os.environ.get("MRC_JAX_DATA_DIR", "")
  checkpoint = FLAGS.checkpoint
  tokenizer = load_tokenizer(checkpoint)
  encoder, _, _ = hf.load_hf_model(checkpoint, with_pooler=False)

  @jax.jit
  def encode(arrays):
    segments = arrays["segment_ids"]
    hidden = encoder(
      arrays["input_ids"],
      (segments > 0).astype(jnp.int32),
      arrays["token_type_ids"],
      True,
      segment_ids=segments,
      positions=arrays["positions"],
    )  # [R, L, H]
    return hidden[arrays["pool_row"], arrays["pool_pos"]], mean_of_segments(hidden, arrays)

  sets = {}
  started = time.perf_counter()
  for text in [FLAGS.train, *FLAGS.eval]:
    task, split, count = parse_set(text)
    examples = list(load_examples(task, split, data_dir))[: count or None]
    sets[text] = features(encode, examples, tokenizer, FLAGS.length, FLAGS.batch)
  seconds = time.perf_counter() - started
  print(
    f"{os.path.basename(checkpoint.rstrip('/'))}, length {FLAGS.length}: features of "
    f"{sum(len(s[2]) for s in sets.values())} examples in {seconds:.0f} s; probe fitted "
    f"on {FLAGS.train} (l2 {FLAGS.l2:g}, {FLAGS.steps} Adam steps at {FLAGS.lr:g})\n"
  )
  print("| pooling | set | examples | chance | accuracy [95% interval] |")
  print("|---|---|---|---|---|")
  for pooling in FLAGS.poolings:
    if pooling not in POOLINGS:
      raise ValueError(f"--poolings: {pooling!r} is not one of {POOLINGS}")
    x, mask, labels = sets[FLAGS.train]
    probe = fit_probe(x[pooling], mask, labels, FLAGS.l2, FLAGS.steps, FLAGS.lr)
    for text, (x, mask, labels) in sets.items():
      hits = correct(probe, x[pooling], mask, labels)
      mean, low, high = bootstrap.mean_interval(hits)
      chance = float(np.mean(1.0 / mask.sum(1)))
      name = f"{text} (fit)" if text == FLAGS.train else text
      print(
        f"| {pooling} | {name} | {len(hits)} | {100 * chance:.1f} | "
        f"{100 * mean:.1f} [{100 * low:.1f}, {100 * high:.1f}] |"
      )


if __name__ == "__main__":
  flags.mark_flag_as_required("checkpoint")
  app.run(main)
