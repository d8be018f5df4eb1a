r"""Learning curve of a from-scratch encoder on one synthetic multiple-choice kind.

    python benchmarks/synthetic_learning.py --kind=lookup --heads=2 --layers=2 --options_first \
        --position_init=sinusoidal --initializer_range=0.05

Trains the multiple-choice head and a fresh encoder on ``synthetic_{kind}`` examples of the
given languages (fresh examples every step, so training accuracy is held-out accuracy) and
prints a table: every ``--every`` steps, the mean loss and accuracy over those steps. It
isolates the question docs/RESULTS.md asks about the quickstart: how many steps a tiny
encoder needs before it matches options against the passage (``lookup``) or binds values
to people (``mc``), and which encoder initialisation and input layout shorten that plateau
(docs/RESULTS.md, "Third round"). The optimizer is AdamW with warm-up and cosine decay (optax's default
eps), not the trainer's; single task, so no loss scaling. Phase transitions vary with the
seed: compare settings over several ``--seed`` values.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import app, flags
from flax import nnx

from mrc_jax.data import synthetic
from mrc_jax.models.encoder import ATTENTION_INITS, POSITION_INITS, EncoderConfig
from mrc_jax.models.multitask import HeadSpec, MultiTaskModel
from mrc_jax.train import input_pipeline
from mrc_jax.train.step import example_losses

FLAGS = flags.FLAGS
flags.DEFINE_enum("kind", "lookup", list(synthetic.CHOICE_KINDS), "Synthetic choice kind.")
flags.DEFINE_list("langs", list(synthetic.LANGS), "Languages, used in turn.")
flags.DEFINE_integer("steps", 600, "Training steps.")
flags.DEFINE_integer("batch", 16, "Examples per step.")
flags.DEFINE_integer("hidden", 64, "Hidden size (intermediate size is twice this).")
flags.DEFINE_integer("layers", 4, "Layers.")
flags.DEFINE_integer("heads", 2, "Attention heads.")
flags.DEFINE_enum("attention_init", "mimetic", list(ATTENTION_INITS), "Query/key initialiser.")
flags.DEFINE_enum("position_init", "normal", list(POSITION_INITS), "Position table initialiser.")
flags.DEFINE_float("initializer_range", 0.02, "Std of the other fresh weights.")
flags.DEFINE_float("lr", 1e-3, "Peak learning rate.")
flags.DEFINE_integer("warmup", 50, "Warm-up steps.")
flags.DEFINE_bool(
  "options_first",
  False,
  "Multiple-choice layout [CLS] option+question "
  "[SEP] passage [SEP] instead of [CLS] passage [SEP] question+option [SEP].",
)
flags.DEFINE_integer("seed", 0, "Parameter seed.")
flags.DEFINE_integer("every", 100, "Steps per table row.")
flags.DEFINE_string(
  "tokenizer_dir", "/tmp/mrc_jax_synthetic_tokenizer", "Where the synthetic tokenizer is written."
)

MAX_LENGTH = 96  # the quickstart's


def main(_):
  synthetic.save_tokenizer(FLAGS.tokenizer_dir)
  tasks = [synthetic.task_name(FLAGS.kind, lang) for lang in FLAGS.langs]
  heads = [HeadSpec("multiple_choice", "multiple_choice")]
  convert = input_pipeline.make_converter(
    FLAGS.tokenizer_dir,
    tasks,
    [0] * len(tasks),
    heads,
    num_examples=FLAGS.batch,
    max_length=MAX_LENGTH,
    max_choices=synthetic.NUM_CHOICES,
    options_first=FLAGS.options_first,
  )
  config = EncoderConfig(
    vocab_size=synthetic.vocab_size(),
    hidden_size=FLAGS.hidden,
    num_layers=FLAGS.layers,
    num_heads=FLAGS.heads,
    intermediate_size=2 * FLAGS.hidden,
    max_position_embeddings=128,
    hidden_dropout=0.0,
    attention_dropout=0.0,
    initializer_range=FLAGS.initializer_range,
    attention_init=FLAGS.attention_init,
    position_init=FLAGS.position_init,
    scan_unroll=FLAGS.layers,
  )
  model = MultiTaskModel(config, heads, rngs=nnx.Rngs(FLAGS.seed))
  schedule = optax.warmup_cosine_decay_schedule(0.0, FLAGS.lr, FLAGS.warmup, FLAGS.steps)
  optimizer = nnx.Optimizer(
    model,
    optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(schedule, b2=0.999, weight_decay=0.01)),
    wrt=nnx.Param,
  )

  @nnx.jit
  def train_step(model, optimizer, batch):
    def loss_fn(model):
      loss, correct = example_losses(model(batch, deterministic=True), batch, heads)
      mask = batch["example_mask"]
      return (loss * mask).sum() / mask.sum(), (correct * mask).sum() / mask.sum()

    (loss, accuracy), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model)
    optimizer.update(model, grads)
    return loss, accuracy

  print(
    f"kind={FLAGS.kind} langs={','.join(FLAGS.langs)} encoder {FLAGS.layers}x"
    f"{FLAGS.hidden}, {FLAGS.heads} heads, {FLAGS.attention_init} q/k, "
    f"{FLAGS.position_init} positions, init {FLAGS.initializer_range}, "
    f"{'options' if FLAGS.options_first else 'passage'} first, lr {FLAGS.lr}, "
    f"batch {FLAGS.batch}, seed {FLAGS.seed}; chance accuracy "
    f"{1 / synthetic.NUM_CHOICES:.2f}"
  )
  print(f"{'step':>6} {'loss':>7} {'accuracy':>9} {'seconds':>8}")
  start, history, index = time.time(), [], 0
  for step in range(1, FLAGS.steps + 1):
    examples = [
      synthetic.make_example(
        FLAGS.kind, FLAGS.langs[(index + i) % len(FLAGS.langs)], "train", index + i
      )
      for i in range(FLAGS.batch)
    ]
    index += FLAGS.batch
    batch, _ = convert(examples)
    loss, accuracy = train_step(model, optimizer, jax.tree.map(jnp.asarray, batch))
    history.append((float(loss), float(accuracy)))
    if step % FLAGS.every == 0:
      loss_mean, accuracy_mean = np.mean(history[-FLAGS.every :], axis=0)
      print(
        f"{step:>6} {loss_mean:>7.3f} {accuracy_mean:>9.3f} {time.time() - start:>8.1f}", flush=True
      )


if __name__ == "__main__":
  app.run(main)
