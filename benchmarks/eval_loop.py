r"""Eval loop throughput next to the raw forward pass of the same model and shapes.

  python benchmarks/eval_loop.py [--model=smoke|minilm] [--batches=N] [--kind=multiple_choice|span]

Both sides get the same host numpy batches ("rows + examples"). The raw forward is
`jax.jit(model(batch)[head])` on batches already on the device (the faster of queueing all
batches and blocking on each); the
loop is `Evaluator.evaluate` over several cells (languages x attacks of one padded shape):
transfer, forward, on-device decoding and totals, one fetch per cell, per-example results.
Prints a table with examples/s of both and the loop's overhead in percent.
"""

import argparse
import itertools
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from mrc_jax.eval import evaluator as evaluator_lib
from mrc_jax.models.encoder import EncoderConfig
from mrc_jax.models.multitask import HeadSpec, MultiTaskModel

MODELS = {
  # configs/smoke.py's encoder.
  "smoke": dict(
    hidden_size=64,
    num_layers=2,
    num_heads=4,
    intermediate_size=128,
    vocab_size=1000,
    max_position_embeddings=128,
  ),
  # all-MiniLM-L6-v2's shape (the repository's real checkpoint).
  "minilm": dict(
    hidden_size=384,
    num_layers=6,
    num_heads=12,
    intermediate_size=1536,
    vocab_size=30522,
    max_position_embeddings=512,
  ),
}


def make_batch(rng, kind, examples, choices, length, vocab_size):
  """Random token rows; one row per choice (multiple choice) or per window (span)."""
  per_example = choices if kind == "multiple_choice" else 1
  rows = examples * per_example
  batch = {
    "input_ids": rng.integers(5, vocab_size, (rows, length)).astype(np.int32),
    "token_type_ids": np.zeros((rows, length), np.int32),
    "segment_ids": np.ones((rows, length), np.int32),
    "positions": np.tile(np.arange(length, dtype=np.int32), (rows, 1)),
    "example_mask": np.ones(examples, np.float32),
    "pool_row": np.arange(rows, dtype=np.int32).reshape(examples, per_example),
    "pool_pos": np.zeros((examples, per_example), np.int32),
    "choice_mask": np.ones((examples, per_example), np.float32),
    "label": rng.integers(0, per_example, examples).astype(np.int32),
  }
  meta = [{"id": f"e{rng.integers(1 << 40)}"} for _ in range(examples)]
  if kind == "span":
    offsets = np.stack([np.arange(length), np.arange(length) + 1], -1)  # [L, 2]
    offsets[: length // 4] = -1  # the question part
    for slot_meta in meta:
      slot_meta.update(token_offsets=offsets, context="x" * (length + 1), answers=["xx"])
  return batch, meta


def raw_forward(model, head, device_batches):
  graphdef, state = nnx.split(model)

  @jax.jit
  def forward(state, batch):
    return nnx.merge(graphdef, state)(batch, deterministic=True)[head]

  jax.block_until_ready(forward(state, device_batches[0]))  # compile
  begin = time.perf_counter()
  outputs = [forward(state, batch) for batch in device_batches]
  jax.block_until_ready(outputs)
  queued = time.perf_counter() - begin
  # Blocking on each batch is faster on a busy CPU (no queue of pending executions);
  # the faster of the two is the reference.
  begin = time.perf_counter()
  for batch in device_batches:
    jax.block_until_ready(forward(state, batch))
  return min(queued, time.perf_counter() - begin)


def eval_loop(model, head, kind, host_batches, cells):
  evaluator = evaluator_lib.Evaluator(model)
  per_cell = len(host_batches) // cells
  warm = evaluator_lib.EvalCell("warm", "en", "clean", kind, head, host_batches[:1])
  evaluator.evaluate([warm])  # compile
  names = itertools.product(("en", "de", "zh", "ar"), ("clean", "charswap", "addsent"))
  work = [
    evaluator_lib.EvalCell(
      "bench", lang, attack, kind, head, host_batches[i * per_cell : (i + 1) * per_cell]
    )
    for i, (lang, attack) in zip(range(cells), names)
  ]
  begin = time.perf_counter()
  evaluator.evaluate(work)
  return time.perf_counter() - begin, evaluator.num_compilations


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--model", default="smoke", choices=sorted(MODELS))
  parser.add_argument("--kind", default="multiple_choice", choices=["multiple_choice", "span"])
  parser.add_argument("--examples", type=int, default=16, help="example slots per batch")
  parser.add_argument("--length", type=int, default=96)
  parser.add_argument("--batches", type=int, default=48)
  parser.add_argument("--cells", type=int, default=6)
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args()
  config = EncoderConfig(**MODELS[args.model], hidden_dropout=0.0, attention_dropout=0.0)
  head = "head"
  model = MultiTaskModel(config, [HeadSpec(head, args.kind)], rngs=nnx.Rngs(0))
  rng = np.random.default_rng(0)
  host_batches = [
    make_batch(rng, args.kind, args.examples, 4, args.length, config.vocab_size)
    for _ in range(args.batches)
  ]
  device_batches = [
    jax.device_put({k: jnp.asarray(v) for k, v in b.items()}) for b, _ in host_batches
  ]
  examples = args.batches * args.examples
  raw_times, loop_times = [], []
  for _ in range(args.repeats):  # interleaved, best of N: the machine is shared
    raw_times.append(raw_forward(model, head, device_batches))
    seconds, compilations = eval_loop(model, head, args.kind, host_batches, args.cells)
    loop_times.append(seconds)
  raw, loop = min(raw_times), min(loop_times)
  print(
    f"device: {jax.devices()[0].device_kind}; model {args.model}, kind {args.kind}, "
    f"{args.batches} batches x {args.examples} examples, length {args.length}, "
    f"{args.cells} cells"
  )
  print("| path | seconds | examples/s |")
  print("|---|---|---|")
  print(f"| raw forward (jit, batches on device) | {raw:.3f} | {examples / raw:.1f} |")
  print(f"| eval loop (Evaluator.evaluate) | {loop:.3f} | {examples / loop:.1f} |")
  print(f"overhead: {100 * (loop / raw - 1):+.1f}%  compilations in the loop: {compilations}")


if __name__ == "__main__":
  main()
