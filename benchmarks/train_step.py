r"""Speed of the multi-task train step next to the single-task encoder step.

  python benchmarks/train_step.py [--rounds=3] [--steps=3] [--length=128]

All three steps train the same encoder (6 layers, hidden 384, 12 heads, intermediate
1536, vocabulary 30522: the model of benchmarks/encoder_step.py) on the same token rows
(32 rows x LENGTH tokens) with dropout and an AdamW update, measured in interleaved rounds
so load from other processes hits all alike:

  single-task     encoder + multiple-choice head, plain jitted step (reference);
  multi-task MC   the trainer's step (rows + examples batch, head selection by mask,
                  1/log(n) scaling, metrics) with one multiple-choice head;
  heterogeneous   the trainer's step with 28 heads (multiple choice, span, regression,
                  25 classification heads) and a batch mixing all of them.

Prints ms/step, steps/s, tokens/s and MFU (model FLOPs from the config against a float32
matmul rate measured here), and the heterogeneous step's overhead over the reference.
"""

import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_integer("rounds", 3, "Interleaved measurement rounds.")
flags.DEFINE_integer("steps", 3, "Timed steps per variant per round.")
flags.DEFINE_integer("length", 128, "Tokens per row.")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from flax import nnx  # noqa: E402

from configs import smoke  # noqa: E402
from mrc_jax.models.encoder import Encoder, EncoderConfig  # noqa: E402
from mrc_jax.models.heads import MultipleChoiceHead  # noqa: E402
from mrc_jax.models.multitask import HeadSpec  # noqa: E402
from mrc_jax.train import metrics as metrics_lib  # noqa: E402
from mrc_jax.train import partitioning, trainer  # noqa: E402

MODEL = dict(
  model_type="bert",
  vocab_size=30522,
  hidden_size=384,
  num_layers=6,
  num_heads=12,
  intermediate_size=1536,
  max_position_embeddings=512,
  hidden_dropout=0.1,
  attention_dropout=0.1,
)
EXAMPLES, CHOICES = 8, 4
ROWS = EXAMPLES * CHOICES
NUM_CLASSIFICATION_HEADS = 25


def reference_step(ids: np.ndarray, labels: np.ndarray):
  """Single-task step: encoder + multiple-choice head on ``[examples, choices, length]``."""
  config = EncoderConfig(**MODEL)

  class MultipleChoiceModel(nnx.Module):
    def __init__(self, rngs):
      self.encoder = Encoder(config, rngs=rngs)
      self.head = MultipleChoiceHead(config, rngs=rngs)

  model = MultipleChoiceModel(nnx.Rngs(params=0))
  graphdef, params = nnx.split(model, nnx.Param)
  tx = optax.adamw(1e-5)
  rows = ids.reshape(ROWS, -1)

  def loss_fn(params, key):
    m = nnx.merge(graphdef, params)
    encoder_key, head_key = jax.random.split(key)
    hidden = m.encoder(
      rows, jnp.ones_like(rows), deterministic=False, dropout_key=encoder_key
    )  # [rows, length, hidden]
    pooled = m.encoder.pool(hidden[:, 0]).reshape(EXAMPLES, CHOICES, -1)
    scores = m.head(pooled, deterministic=False, dropout_key=head_key)  # [examples, choices]
    return optax.softmax_cross_entropy_with_integer_labels(scores, labels).mean()

  @jax.jit
  def step(params, count, opt_state):
    # A fresh dropout key per step, as the trainer's (seed, step) key.
    key = jax.random.fold_in(jax.random.key(1), count)
    loss, grads = jax.value_and_grad(loss_fn)(params, key)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), count + 1, opt_state, loss

  state = [params, jnp.zeros((), jnp.int32), tx.init(params)]

  def run():
    *new, loss = step(*state)
    state[:] = new
    loss.block_until_ready()

  return run


def _rows(ids: np.ndarray) -> dict:
  rows = ids.reshape(ROWS, -1)
  return dict(
    input_ids=rows,
    token_type_ids=np.zeros_like(rows),
    segment_ids=np.ones_like(rows),
    positions=np.broadcast_to(np.arange(rows.shape[1], dtype=np.int32), rows.shape).copy(),
  )


def _examples(num: int) -> dict:
  z = np.zeros(num, np.int32)
  return dict(
    example_mask=np.ones(num, np.float32),
    task_id=z.copy(),
    head_id=z.copy(),
    num_classes=np.full(num, 2, np.int32),
    pool_row=np.zeros((num, CHOICES), np.int32),
    pool_pos=np.zeros((num, CHOICES), np.int32),
    choice_mask=np.zeros((num, CHOICES), np.float32),
    label=z.copy(),
    span_start=z.copy(),
    span_end=z.copy(),
    target=np.zeros(num, np.float32),
  )


def homogeneous_batch(ids, labels) -> dict:
  """All examples multiple choice: example e's choices in rows 4e..4e+3."""
  batch = dict(_rows(ids), **_examples(EXAMPLES))
  batch["pool_row"] = np.arange(ROWS, dtype=np.int32).reshape(EXAMPLES, CHOICES)
  batch["choice_mask"][:] = 1
  batch["num_classes"][:] = CHOICES
  batch["label"] = labels.astype(np.int32)
  return batch


def heterogeneous_batch(ids, rng) -> tuple[dict, list[HeadSpec]]:
  """The same rows shared by 2 multiple-choice, 16 classification (over 25 heads),
  4 span and 4 regression examples."""
  heads = [
    HeadSpec("multiple_choice", "multiple_choice"),
    HeadSpec("span", "span"),
    HeadSpec("regression", "regression"),
  ] + [HeadSpec(f"cls{i}", "classification", 2 + i % 3) for i in range(NUM_CLASSIFICATION_HEADS)]
  kinds = ["mc"] * 2 + ["cls"] * 16 + ["span"] * 4 + ["reg"] * 4
  batch = dict(_rows(ids), **_examples(len(kinds)))
  row = 0
  for e, kind in enumerate(kinds):
    if kind == "mc":
      batch["pool_row"][e] = np.arange(row, row + CHOICES)
      batch["choice_mask"][e] = 1
      batch["num_classes"][e], batch["label"][e] = CHOICES, rng.integers(CHOICES)
      row += CHOICES
      continue
    batch["pool_row"][e, 0], batch["choice_mask"][e, 0] = row, 1
    row += 1
    if kind == "cls":
      h = 3 + int(rng.integers(NUM_CLASSIFICATION_HEADS))
      batch["head_id"][e], batch["num_classes"][e] = h, heads[h].num_labels
      batch["label"][e] = rng.integers(heads[h].num_labels)
    elif kind == "span":
      batch["head_id"][e], batch["num_classes"][e] = 1, ids.shape[-1]
      batch["span_start"][e] = batch["span_end"][e] = rng.integers(ids.shape[-1])
    else:
      batch["head_id"][e], batch["num_classes"][e] = 2, 1
      batch["target"][e] = rng.normal()
  assert row == ROWS
  return batch, heads


def trainer_step(batch: dict, heads: list[HeadSpec]):
  config = smoke.get_config("")
  config.model.update(MODEL)
  config.mesh = (("data", 1), ("fsdp", 1), ("tensor", 1))
  config.total_steps = 1000
  mesh = partitioning.make_mesh(config.mesh)
  setup = trainer.make_setup(config, mesh, heads, EncoderConfig(**config.model), ("task",))
  stacked = {k: v[None] for k, v in batch.items()}  # [accum=1, ...]
  with jax.set_mesh(mesh):
    state = [setup.fresh_state()]
    step = setup.jit_step({k: v.ndim for k, v in stacked.items()})
    device_batch = jax.device_put(stacked)

  def run():
    with jax.set_mesh(mesh):
      state[0], metrics = step(state[0], device_batch)
    metrics["loss_sum"].block_until_ready()

  return run


def main(argv):
  del argv
  rng = np.random.default_rng(0)
  ids = rng.integers(1000, MODEL["vocab_size"], (EXAMPLES, CHOICES, FLAGS.length)).astype(np.int32)
  labels = rng.integers(CHOICES, size=EXAMPLES)
  hetero, hetero_heads = heterogeneous_batch(ids, rng)
  variants = {
    "single-task (reference)": reference_step(ids, labels),
    "multi-task, 1 MC head": trainer_step(
      homogeneous_batch(ids, labels), [HeadSpec("multiple_choice", "multiple_choice")]
    ),
    f"heterogeneous, {len(hetero_heads)} heads": trainer_step(hetero, hetero_heads),
  }
  for run in variants.values():  # compile and warm up
    run()
  times = {name: [] for name in variants}
  for _ in range(FLAGS.rounds):
    for name, run in variants.items():
      for _ in range(FLAGS.steps):
        start = time.perf_counter()
        run()
        times[name].append(time.perf_counter() - start)

  peak, source = metrics_lib.peak_flops_per_device()
  flops = metrics_lib.encoder_train_flops(EncoderConfig(**MODEL), ROWS, FLAGS.length)
  tokens = ROWS * FLAGS.length
  print(
    f"device: {jax.devices()[0].device_kind}; MFU reference {peak / 1e9:.1f} GFLOP/s "
    f"({source}); rows {ROWS} x {FLAGS.length} tokens; "
    f"{FLAGS.rounds} rounds x {FLAGS.steps} steps, median"
  )
  print("| step | ms/step | steps/s | tokens/s | MFU | vs reference |")
  print("|---|---|---|---|---|---|")
  reference = float(np.median(times["single-task (reference)"]))
  for name, ts in times.items():
    t = float(np.median(ts))
    print(
      f"| {name} | {1000 * t:.0f} | {1 / t:.2f} | {tokens / t:.0f} | "
      f"{100 * flops / t / peak:.1f}% | {t / reference:.3f}x |"
    )


if __name__ == "__main__":
  app.run(main)
