r"""Training-step speed of the jitted encoder + multiple-choice head vs transformers + torch.

  python benchmarks/encoder_step.py [--rounds=3] [--steps=3]

Both frameworks run the same model (6 layers, hidden 384, 12 heads, intermediate 1536,
vocabulary 30522; a multiple-choice head) on the same batch (8 examples x 4 options x 256
tokens) in one process, measured in interleaved rounds (jax, torch, jax, torch, ...) so
that load from other processes on the machine hits both alike; the process CPU seconds
per step are printed too, as a second view when the machine is shared. Two workloads:
  full step:  forward with dropout, backward, AdamW update;
  fwd+bwd:    forward without dropout and backward (gradients only).
Prints tokens/s per framework, the jax/torch ratio, and achieved GFLOP/s (matmul FLOPs
of the model, 3x forward for training) against a float32 matmul peak measured here.
"""
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_integer("rounds", 3, "Interleaved measurement rounds.")
flags.DEFINE_integer("steps", 3, "Timed steps per framework per round.")
flags.DEFINE_integer("batch", 8, "Examples per batch.")
flags.DEFINE_integer("choices", 4, "Options per example.")
flags.DEFINE_integer("length", 256, "Tokens per option.")
flags.DEFINE_integer("scan_unroll", 6, "Layers per iteration of the jax layer scan "
                     "(6 = fully unrolled, as the CPU preset runs it; 1 = rolled).")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from flax import nnx  # noqa: E402

from mrc_jax.models.encoder import Encoder, EncoderConfig  # noqa: E402
from mrc_jax.models.heads import MultipleChoiceHead  # noqa: E402

CONFIG = dict(vocab_size=30522, hidden_size=384, num_layers=6, num_heads=12,
              intermediate_size=1536, max_position_embeddings=512)
LEARNING_RATE = 1e-5


class MultipleChoiceModel(nnx.Module):
  """Encoder + multiple-choice head, as BertForMultipleChoice."""

  def __init__(self, config, rngs):
    self.encoder = Encoder(config, rngs=rngs)
    self.head = MultipleChoiceHead(config, rngs=rngs)

  def __call__(self, ids, mask, deterministic):
    b, c, t = ids.shape
    hidden = self.encoder(ids.reshape(b * c, t), mask.reshape(b * c, t),
                          deterministic=deterministic)  # [batch * choices, length, hidden]
    pooled = self.encoder.pool(hidden[:, 0]).reshape(b, c, -1)
    return self.head(pooled, deterministic=deterministic)  # [batch, choices]


def jax_steps(ids, mask, labels):
  """(full training step, fwd+bwd) as callables that run one step each and block."""
  config = EncoderConfig(model_type="bert", scan_unroll=FLAGS.scan_unroll, **CONFIG)
  model = MultipleChoiceModel(config, nnx.Rngs(params=0, dropout=1))
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)
  tx = optax.adamw(LEARNING_RATE)

  def loss_and_rest(params, rest, deterministic):
    model = nnx.merge(graphdef, params, rest, copy=True)
    scores = model(ids, mask, deterministic)
    loss = optax.softmax_cross_entropy_with_integer_labels(scores, labels).mean()
    return loss, nnx.state(model, nnx.Not(nnx.Param))

  def train_step(params, rest, opt_state):
    (loss, rest), grads = jax.value_and_grad(loss_and_rest, has_aux=True)(params, rest, False)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), rest, opt_state, loss

  def grad_step(params, rest):
    return jax.grad(lambda p: loss_and_rest(p, rest, True)[0])(params)

  train = jax.jit(train_step, donate_argnums=(0, 1, 2))
  grad = jax.jit(grad_step)
  state = {"params": params, "rest": rest, "opt": tx.init(params)}

  def run_train():
    state["params"], state["rest"], state["opt"], loss = train(
        state["params"], state["rest"], state["opt"])
    loss.block_until_ready()

  def run_grad():
    jax.block_until_ready(grad(state["params"], state["rest"]))

  return run_train, run_grad


def torch_steps(ids, mask, labels):
  config = transformers.BertConfig(
      vocab_size=CONFIG["vocab_size"], hidden_size=CONFIG["hidden_size"],
      num_hidden_layers=CONFIG["num_layers"], num_attention_heads=CONFIG["num_heads"],
      intermediate_size=CONFIG["intermediate_size"])
  torch.manual_seed(0)
  model = transformers.BertForMultipleChoice(config)
  optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
  ids, mask = torch.as_tensor(ids, dtype=torch.long), torch.as_tensor(mask, dtype=torch.long)
  labels = torch.as_tensor(labels, dtype=torch.long)

  def run_train():
    model.train()
    optimizer.zero_grad(set_to_none=True)
    model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
    optimizer.step()

  def run_grad():
    model.eval()  # no dropout
    model.zero_grad(set_to_none=True)
    model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()

  return run_train, run_grad


def matmul_peak_gflops(n=2048, repeats=10):
  """Best float32 matmul rate of jax and torch on this machine."""
  a = jnp.asarray(np.random.default_rng(0).standard_normal((n, n), np.float32))
  mm = jax.jit(lambda x: x @ x)
  mm(a).block_until_ready()
  t = torch.randn(n, n)
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    mm(a).block_until_ready()
    best = min(best, time.perf_counter() - start)
    start = time.perf_counter()
    torch.mm(t, t)
    best = min(best, time.perf_counter() - start)
  return 2 * n**3 / best / 1e9


def training_flops_per_token(length):
  """Matmul FLOPs per token of forward + backward (3x forward)."""
  e, m, layers = CONFIG["hidden_size"], CONFIG["intermediate_size"], CONFIG["num_layers"]
  forward = layers * (2 * 4 * e * e + 2 * 2 * e * m + 2 * 2 * length * e)
  return 3 * forward


def timed(fn, steps):
  """[(wall seconds, process CPU seconds)] per step."""
  times = []
  for _ in range(steps):
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()
    times.append((time.perf_counter() - start, time.process_time() - start_cpu))
  return times


def main(argv):
  del argv
  b, c, t = FLAGS.batch, FLAGS.choices, FLAGS.length
  rng = np.random.default_rng(0)
  ids = rng.integers(1000, CONFIG["vocab_size"], (b, c, t)).astype(np.int32)
  mask = np.ones((b, c, t), np.int32)
  labels = rng.integers(0, c, (b,)).astype(np.int32)
  tokens = b * c * t

  frameworks = {"jax": jax_steps(ids, mask, labels), "torch": torch_steps(ids, mask, labels)}
  for train, grad in frameworks.values():  # compile / warm up
    train(), grad(), train(), grad()
  times = {(f, w): [] for f in frameworks for w in ("full step", "fwd+bwd")}
  for _ in range(FLAGS.rounds):
    for name, (train, grad) in frameworks.items():
      times[name, "full step"] += timed(train, FLAGS.steps)
      times[name, "fwd+bwd"] += timed(grad, FLAGS.steps)
  peak = matmul_peak_gflops()
  flops = training_flops_per_token(t)

  print(f"devices: jax {jax.devices()[0].device_kind} x{jax.device_count()}, "
        f"torch threads {torch.get_num_threads()}; batch {b}x{c}x{t} = {tokens} tokens; "
        f"jax scan_unroll {FLAGS.scan_unroll}")
  print(f"float32 matmul peak: {peak:.0f} GFLOP/s; model: {flops / 1e6:.1f} MFLOP/token "
        "(training)")
  print("| workload | framework | median s/step | tokens/s | GFLOP/s | % of peak | "
        "CPU s/step |")
  print("|---|---|---|---|---|---|---|")
  rates, cpu = {}, {}
  for (name, workload), values in sorted(times.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    median = float(np.median([wall for wall, _ in values]))
    cpu[name, workload] = float(np.median([c for _, c in values]))
    rates[name, workload] = tokens / median
    gflops = flops * tokens / median / 1e9
    print(f"| {workload} | {name} | {median:.3f} | {tokens / median:,.0f} | {gflops:.0f} | "
          f"{100 * gflops / peak:.0f}% | {cpu[name, workload]:.2f} |")
  for workload in ("full step", "fwd+bwd"):
    print(f"jax/torch tokens/s, {workload}: "
          f"{rates['jax', workload] / rates['torch', workload]:.2f}x "
          f"(CPU seconds per step, torch/jax: "
          f"{cpu['torch', workload] / cpu['jax', workload]:.2f}x)")


if __name__ == "__main__":
  app.run(main)
