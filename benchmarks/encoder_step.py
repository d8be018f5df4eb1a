r"""Training-step speed of the jitted encoder + multiple-choice head vs transformers + torch.

  python benchmarks/encoder_step.py [--rounds=3] [--steps=3] [--model=minilm6]
      [--freeze=embeddings/word] [--checkpoint=DIR]

Both frameworks run the same model on the same batch (8 examples x 4 options x 256
tokens) in one process, measured in interleaved rounds (jax, torch, jax, torch, ...) so
that load from other processes on the machine hits both alike; the process CPU seconds
per step are printed too, as a second view when the machine is shared. Models
(``--model``): minilm6 (6 layers, hidden 384, 12 heads, intermediate 1536, vocabulary
30522), me5-small (multilingual-e5-small's shape: 12 such layers, vocabulary 250,037),
tiny (2 x 32, for tests); random weights, or ``--checkpoint`` (a Hugging Face BERT
directory of that shape, e.g. multilingual-e5-small) for both. Two workloads:
  full step:  forward with dropout, backward, AdamW update;
  fwd+bwd:    forward without dropout and backward (gradients only).
``--freeze`` (a regex on "/"-joined parameter paths, as ``optimizer.freeze``: jax
"encoder/embeddings/word", torch "bert/embeddings/word_embeddings/weight") adds frozen
variants: jax differentiating and updating only the other parameters (the trainer's
``Freeze`` split), jax with ``stop_gradient`` on the frozen ones and ``set_to_zero``
updates (full step only), and torch with ``requires_grad=False`` on them.
Prints tokens/s per variant, ratios (overall and per round), and achieved GFLOP/s
(matmul FLOPs of the model, 3x forward for training) against a float32 matmul peak
measured here.
"""

import re
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_integer("rounds", 3, "Interleaved measurement rounds.")
flags.DEFINE_integer("steps", 3, "Timed steps per framework per round.")
flags.DEFINE_integer("batch", 8, "Examples per batch.")
flags.DEFINE_integer("choices", 4, "Options per example.")
flags.DEFINE_integer("length", 256, "Tokens per option.")
flags.DEFINE_enum("model", "minilm6", ["minilm6", "me5-small", "tiny"], "Model shape.")
flags.DEFINE_string(
  "checkpoint", "", "Hugging Face BERT directory to load weights from (empty: random weights)."
)
flags.DEFINE_string("freeze", "", "Regex of parameters to freeze in extra variants.")
flags.DEFINE_integer(
  "scan_unroll",
  0,
  "Layers per iteration of the jax layer scan "
  "(0 = all, fully unrolled, as the CPU preset runs it; 1 = rolled).",
)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from flax import nnx, traverse_util  # noqa: E402

from mrc_jax.models import hf  # noqa: E402
from mrc_jax.models.encoder import Encoder, EncoderConfig, dropout_keys  # noqa: E402
from mrc_jax.models.heads import MultipleChoiceHead  # noqa: E402
from mrc_jax.train.optimizer import Freeze  # noqa: E402

MODELS = {
  "minilm6": dict(
    vocab_size=30522,
    hidden_size=384,
    num_layers=6,
    num_heads=12,
    intermediate_size=1536,
    max_position_embeddings=512,
  ),
  "me5-small": dict(
    vocab_size=250037,
    hidden_size=384,
    num_layers=12,
    num_heads=12,
    intermediate_size=1536,
    max_position_embeddings=512,
  ),
  "tiny": dict(
    vocab_size=1000,
    hidden_size=32,
    num_layers=2,
    num_heads=4,
    intermediate_size=64,
    max_position_embeddings=64,
  ),
}
LEARNING_RATE = 1e-5


class MultipleChoiceModel(nnx.Module):
  """Encoder + multiple-choice head, as BertForMultipleChoice."""

  def __init__(self, config, rngs, encoder=None):
    self.encoder = encoder or Encoder(config, rngs=rngs)
    self.head = MultipleChoiceHead(config, rngs=rngs)

  def __call__(self, ids, mask, deterministic=True, *, dropout_key=None):
    b, c, t = ids.shape
    encoder_key, head_key = dropout_keys(deterministic, dropout_key, 2)
    hidden = self.encoder(
      ids.reshape(b * c, t), mask.reshape(b * c, t), deterministic, dropout_key=encoder_key
    )  # [batch * choices, length, hidden]
    pooled = self.encoder.pool(hidden[:, 0]).reshape(b, c, -1)
    return self.head(pooled, deterministic, dropout_key=head_key)  # [batch, choices]


def jax_model(shape):
  unroll = FLAGS.scan_unroll or shape["num_layers"]
  if FLAGS.checkpoint:
    encoder, config, _ = hf.load_hf_model(FLAGS.checkpoint, with_pooler=True, scan_unroll=unroll)
    return MultipleChoiceModel(config, nnx.Rngs(params=0), encoder)
  config = EncoderConfig(model_type="bert", scan_unroll=unroll, **shape)
  return MultipleChoiceModel(config, nnx.Rngs(params=0))


def jax_steps(shape, ids, mask, labels, freeze=(), mode="split"):
  """(full training step, fwd+bwd) as callables that run one step each and block.

  ``mode`` "split" differentiates and updates only the parameters ``freeze`` leaves
  trainable; "stop_gradient" differentiates all of them, the frozen ones through
  ``stop_gradient``, and gives those ``set_to_zero`` updates.
  """
  graphdef, params = nnx.split(jax_model(shape), nnx.Param)
  params = params.to_pure_dict()
  split = Freeze(freeze, params)
  tx = optax.adamw(LEARNING_RATE)
  if mode == "stop_gradient":
    labels_tree = traverse_util.unflatten_dict(
      {k: "frozen" if k in split.frozen else "train" for k in traverse_util.flatten_dict(params)}
    )
    tx = optax.multi_transform({"train": tx, "frozen": optax.set_to_zero()}, labels_tree)
    trainable, frozen = params, {}
  else:
    trainable, frozen = split.split(params)

  def loss(trainable, frozen, deterministic, dropout_key=None):
    if mode == "stop_gradient":
      train, held = split.split(trainable)
      params = split.merge(train, jax.lax.stop_gradient(held))
    else:
      params = split.merge(trainable, frozen)
    scores = nnx.merge(graphdef, params)(ids, mask, deterministic, dropout_key=dropout_key)
    return optax.softmax_cross_entropy_with_integer_labels(scores, labels).mean()

  def train_step(trainable, frozen, step, opt_state):
    # A fresh dropout key per step, as the trainer's (seed, step) key.
    key = jax.random.fold_in(jax.random.key(1), step)
    value, grads = jax.value_and_grad(loss)(trainable, frozen, False, key)
    updates, opt_state = tx.update(grads, opt_state, trainable)
    return optax.apply_updates(trainable, updates), step + 1, opt_state, value

  def grad_step(trainable, frozen):
    return jax.grad(loss)(trainable, frozen, True)

  train = jax.jit(train_step, donate_argnums=(0, 3))
  grad = jax.jit(grad_step)
  step = jnp.zeros((), jnp.int32)
  state = {"params": trainable, "frozen": frozen, "step": step, "opt": tx.init(trainable)}

  def run_train():
    state["params"], state["step"], state["opt"], value = train(
      state["params"], state["frozen"], state["step"], state["opt"]
    )
    value.block_until_ready()

  def run_grad():
    jax.block_until_ready(grad(state["params"], state["frozen"]))

  return run_train, run_grad


def torch_steps(shape, ids, mask, labels, freeze=()):
  torch.manual_seed(0)
  if FLAGS.checkpoint:
    model = transformers.BertForMultipleChoice.from_pretrained(FLAGS.checkpoint)
  else:
    model = transformers.BertForMultipleChoice(
      transformers.BertConfig(
        vocab_size=shape["vocab_size"],
        hidden_size=shape["hidden_size"],
        num_hidden_layers=shape["num_layers"],
        num_attention_heads=shape["num_heads"],
        intermediate_size=shape["intermediate_size"],
        max_position_embeddings=shape["max_position_embeddings"],
      )
    )
  names = [name for name, _ in model.named_parameters()]
  for name, param in model.named_parameters():
    if any(re.search(p, name.replace(".", "/")) for p in freeze):
      param.requires_grad_(False)
  if freeze and all(p.requires_grad for p in model.parameters()):
    raise ValueError(f"--freeze {list(freeze)} matches no torch parameter: {names[:6]}")
  optimizer = torch.optim.AdamW(
    [p for p in model.parameters() if p.requires_grad], lr=LEARNING_RATE
  )
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


def training_flops_per_token(shape, length):
  """Matmul FLOPs per token of forward + backward (3x forward)."""
  e, m, layers = shape["hidden_size"], shape["intermediate_size"], shape["num_layers"]
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
  shape = MODELS[FLAGS.model]
  b, c, t = FLAGS.batch, FLAGS.choices, FLAGS.length
  rng = np.random.default_rng(0)
  ids = rng.integers(1000 % shape["vocab_size"], shape["vocab_size"], (b, c, t)).astype(np.int32)
  mask = np.ones((b, c, t), np.int32)
  labels = rng.integers(0, c, (b,)).astype(np.int32)
  tokens = b * c * t
  freeze = (FLAGS.freeze,) if FLAGS.freeze else ()

  variants = {"jax": jax_steps(shape, ids, mask, labels)}
  if freeze:
    variants["jax frozen"] = jax_steps(shape, ids, mask, labels, freeze)
    variants["jax stop_gradient"] = jax_steps(shape, ids, mask, labels, freeze, "stop_gradient")[:1]
  variants["torch"] = torch_steps(shape, ids, mask, labels)
  if freeze:
    variants["torch frozen"] = torch_steps(shape, ids, mask, labels, freeze)
  workloads = ("full step", "fwd+bwd")
  for steps in variants.values():  # compile / warm up
    for fn in steps + steps:
      fn()
  times = {(v, w): [] for v, steps in variants.items() for w in workloads[: len(steps)]}
  rounds = []  # per round: {(variant, workload): median wall seconds}
  for _ in range(FLAGS.rounds):
    medians = {}
    for name, steps in variants.items():
      for workload, fn in zip(workloads, steps):
        values = timed(fn, FLAGS.steps)
        times[name, workload] += values
        medians[name, workload] = float(np.median([wall for wall, _ in values]))
    rounds.append(medians)
  peak = matmul_peak_gflops()
  flops = training_flops_per_token(shape, t)

  print(
    f"devices: jax {jax.devices()[0].device_kind} x{jax.device_count()}, "
    f"torch threads {torch.get_num_threads()}; model {FLAGS.model} "
    f"({'weights of ' + FLAGS.checkpoint if FLAGS.checkpoint else 'random weights'}); "
    f"batch {b}x{c}x{t} = {tokens} tokens; jax scan_unroll "
    f"{FLAGS.scan_unroll or shape['num_layers']}; freeze {list(freeze)}"
  )
  print(f"float32 matmul peak: {peak:.0f} GFLOP/s; model: {flops / 1e6:.1f} MFLOP/token (training)")
  print("| workload | variant | median s/step | tokens/s | GFLOP/s | % of peak | CPU s/step |")
  print("|---|---|---|---|---|---|---|")
  rates, cpu = {}, {}
  for (name, workload), values in sorted(times.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    median = float(np.median([wall for wall, _ in values]))
    cpu[name, workload] = float(np.median([c for _, c in values]))
    rates[name, workload] = tokens / median
    gflops = flops * tokens / median / 1e9
    print(
      f"| {workload} | {name} | {median:.3f} | {tokens / median:,.0f} | {gflops:.0f} | "
      f"{100 * gflops / peak:.0f}% | {cpu[name, workload]:.2f} |"
    )
  pairs = [("jax", "torch")]
  if freeze:
    pairs += [
      ("jax frozen", "torch frozen"),
      ("jax frozen", "jax"),
      ("torch frozen", "torch"),
      ("jax frozen", "jax stop_gradient"),
      ("jax stop_gradient", "jax"),
    ]
  for workload in workloads:
    for a, z in pairs:
      if (a, workload) not in rates or (z, workload) not in rates:
        continue
      per_round = [r[z, workload] / r[a, workload] for r in rounds]
      print(
        f"{a}/{z} tokens/s, {workload}: {rates[a, workload] / rates[z, workload]:.2f}x "
        f"(per round: {', '.join(f'{x:.2f}' for x in per_round)}; CPU seconds per step, "
        f"{z}/{a}: {cpu[z, workload] / cpu[a, workload]:.2f}x)"
      )


if __name__ == "__main__":
  app.run(main)
