r"""Encoder-decoder speed, jax (models/seq2seq.py, models/generation.py) vs transformers + torch.

  python benchmarks/seq2seq.py [--model=t5-small] [--rounds=3] [--steps=2]
      [--batch=8] [--source=256] [--target=64] [--new_tokens=32]

Both frameworks run the same model (random weights written by transformers and loaded
into jax) in one process, in interleaved rounds (jax, torch, jax, torch, ...) so that
load from other processes hits both alike. Workloads:
  train step:    forward with dropout, teacher-forced cross-entropy over the target,
                 backward, AdamW update (batch x source -> batch x target tokens);
  greedy decode: `generate` with a key/value cache, `new_tokens` new tokens per input
                 (min_new_tokens = new_tokens, so both decode every step), greedy.
Models (``--model``): t5-small (T5 v1.0: 6 + 6 layers, d_model 512, 8 heads, relu MLP 2048,
vocabulary 32,128), bart-base (6 + 6 layers, d_model 768, 12 heads, MLP 3072, vocabulary
50,265), mt5-small (8 + 8 layers, d_model 512, 6 heads, gated-GELU MLP 1024, vocabulary
250,112), tiny (for tests). Prints seconds per step, tokens/s, the jax/torch
ratio overall and per round, and whether the two decodes gave the same tokens.
"""

import tempfile
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_enum("model", "t5-small", ["t5-small", "bart-base", "mt5-small", "tiny"], "Shape.")
flags.DEFINE_integer("rounds", 3, "Interleaved measurement rounds.")
flags.DEFINE_integer("steps", 2, "Timed steps per framework, workload and round.")
flags.DEFINE_integer("batch", 8, "Examples per batch.")
flags.DEFINE_integer("source", 256, "Source tokens per example.")
flags.DEFINE_integer("target", 64, "Target tokens per example (train step).")
flags.DEFINE_integer("new_tokens", 32, "Generated tokens per example (decode).")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from flax import nnx  # noqa: E402

from mrc_jax.models import generation, hf  # noqa: E402

MODELS = {
  "t5-small": (
    "T5Config",
    "T5ForConditionalGeneration",
    dict(vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6, num_heads=8),
  ),
  "mt5-small": (
    "MT5Config",
    "MT5ForConditionalGeneration",
    dict(vocab_size=250112, d_model=512, d_kv=64, d_ff=1024, num_layers=8, num_heads=6),
  ),
  "bart-base": (
    "BartConfig",
    "BartForConditionalGeneration",
    dict(
      vocab_size=50265,
      d_model=768,
      encoder_layers=6,
      decoder_layers=6,
      encoder_attention_heads=12,
      decoder_attention_heads=12,
      encoder_ffn_dim=3072,
      decoder_ffn_dim=3072,
    ),
  ),
  "tiny": (
    "BartConfig",
    "BartForConditionalGeneration",
    dict(
      vocab_size=128,
      d_model=32,
      encoder_layers=2,
      decoder_layers=2,
      encoder_attention_heads=4,
      decoder_attention_heads=4,
      encoder_ffn_dim=64,
      decoder_ffn_dim=64,
    ),
  ),
}


def make_models(directory):
  config_class, model_class, fields = MODELS[FLAGS.model]
  torch.manual_seed(0)
  config = getattr(transformers, config_class)(
    **fields, decoder_start_token_id=0 if "T5" in config_class else 2
  )
  reference = getattr(transformers, model_class)(config)
  reference.save_pretrained(directory)
  model, _ = hf.load_hf_seq2seq(directory)
  return model, reference


def batch(model):
  c = model.config
  rng = np.random.default_rng(0)
  low = 4
  ids = rng.integers(low, c.vocab_size, (FLAGS.batch, FLAGS.source)).astype(np.int32)
  mask = np.ones_like(ids)
  labels = rng.integers(low, c.vocab_size, (FLAGS.batch, FLAGS.target)).astype(np.int32)
  decoder_ids = np.concatenate(
    [np.full((FLAGS.batch, 1), c.decoder_start_token_id, np.int32), labels[:, :-1]], axis=1
  )
  return ids, mask, decoder_ids, labels


def jax_workloads(model, ids, mask, decoder_ids, labels):
  graphdef, params = nnx.split(model, nnx.Param)
  optimizer = optax.adamw(1e-4)
  opt_state = optimizer.init(params)
  state = {"params": params, "opt": opt_state, "step": 0}

  def loss_fn(params, key):
    logits = nnx.merge(graphdef, params)(
      ids, mask, decoder_ids, deterministic=False, dropout_key=key
    )
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

  @jax.jit
  def train_step(params, opt_state, step):
    key = jax.random.fold_in(jax.random.key(0), step)
    loss, grads = jax.value_and_grad(loss_fn)(params, key)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  def train():
    state["params"], state["opt"], loss = train_step(state["params"], state["opt"], state["step"])
    state["step"] += 1
    jax.block_until_ready(loss)

  def decode():
    out = generation.generate(
      model,
      ids,
      mask,
      max_new_tokens=FLAGS.new_tokens,
      min_new_tokens=FLAGS.new_tokens,
      forced_eos_token_id=None,
    )
    state["decoded"] = np.asarray(out)

  return {"train step": train, "greedy decode": decode}, state


def torch_workloads(reference, ids, mask, decoder_ids, labels):
  optimizer = torch.optim.AdamW(reference.parameters(), lr=1e-4)
  tensors = [torch.tensor(x, dtype=torch.long) for x in (ids, mask, decoder_ids, labels)]
  state = {}

  def train():
    reference.train()
    optimizer.zero_grad()
    logits = reference(
      input_ids=tensors[0], attention_mask=tensors[1], decoder_input_ids=tensors[2]
    ).logits
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), tensors[3].flatten())
    loss.backward()
    optimizer.step()

  def decode():
    reference.eval()
    with torch.no_grad():
      out = reference.generate(
        input_ids=tensors[0],
        attention_mask=tensors[1],
        do_sample=False,
        max_new_tokens=FLAGS.new_tokens,
        min_new_tokens=FLAGS.new_tokens,
        forced_eos_token_id=None,
      )
    state["decoded"] = out.numpy()

  return {"train step": train, "greedy decode": decode}, state


def timed(fn, steps):
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return times


def main(argv):
  del argv
  with tempfile.TemporaryDirectory() as directory:
    model, reference = make_models(directory)
  ids, mask, decoder_ids, labels = batch(model)
  # Decode first, before either framework's training changes the weights.
  jax_fns, jax_state = jax_workloads(model, ids, mask, decoder_ids, labels)
  torch_fns, torch_state = torch_workloads(reference, ids, mask, decoder_ids, labels)
  jax_fns["greedy decode"]()
  torch_fns["greedy decode"]()
  same = bool(np.array_equal(jax_state["decoded"], torch_state["decoded"]))
  variants = {"jax": jax_fns, "torch": torch_fns}
  for fns in variants.values():  # compile / warm up
    fns["train step"]()
  workloads = ("train step", "greedy decode")
  tokens = {
    "train step": FLAGS.batch * (FLAGS.source + FLAGS.target),
    "greedy decode": FLAGS.batch * FLAGS.new_tokens,
  }
  times = {(v, w): [] for v in variants for w in workloads}
  rounds = []
  for _ in range(FLAGS.rounds):
    medians = {}
    for workload in workloads:
      for name, fns in variants.items():
        values = timed(fns[workload], FLAGS.steps)
        times[name, workload] += values
        medians[name, workload] = float(np.median(values))
    rounds.append(medians)

  print(
    f"devices: jax {jax.devices()[0].device_kind} x{jax.device_count()}, torch threads "
    f"{torch.get_num_threads()}; model {FLAGS.model} (random weights); batch {FLAGS.batch}, "
    f"source {FLAGS.source}, target {FLAGS.target}, new tokens {FLAGS.new_tokens}"
  )
  print(f"greedy outputs identical (before training): {same}")
  print("| workload | variant | median s/step | tokens/s |")
  print("|---|---|---|---|")
  rates = {}
  for workload in workloads:
    for name in variants:
      median = float(np.median(times[name, workload]))
      rates[name, workload] = tokens[workload] / median
      print(f"| {workload} | {name} | {median:.3f} | {rates[name, workload]:,.0f} |")
  for workload in workloads:
    per_round = [r["torch", workload] / r["jax", workload] for r in rounds]
    print(
      f"jax/torch tokens/s, {workload}: {rates['jax', workload] / rates['torch', workload]:.2f}x "
      f"(per round: {', '.join(f'{x:.2f}' for x in per_round)})"
    )


if __name__ == "__main__":
  app.run(main)
