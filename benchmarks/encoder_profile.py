r"""Where the encoder's forward+backward time goes: one layer's parts, jax vs torch.

  python benchmarks/encoder_profile.py [--repeats=5]

Times forward+backward of each part of one Transformer layer of the benchmark model
(hidden 384, 12 heads of 32, intermediate 1536) on the `encoder_step.py` batch (32 rows x
256 tokens), in jax (jitted, as `mrc_jax.models.encoder` computes it) and in torch eager
(as transformers' BertLayer computes it), side by side in one process. Parts:
  projections   query/key/value, attention output and both MLP matmuls (+ biases)
  attention     scores, padding mask, softmax, probabilities x values; torch: SDPA and the
                eager matmul/softmax form
  elementwise   two residual layer norms and the GELU
  embeddings    word + position + token-type look-ups and layer norm (gradients w.r.t.
                the tables; vocabulary 30522)
  layer         the whole layer (mrc_jax's `transformer_layer` / BertLayer)
Variants of the jax attention are timed next to it, so the table shows what was tried.
Prints one markdown table: median milliseconds per part and the jax/torch time ratio.
"""

import math
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_integer("repeats", 5, "Timed calls per part (median reported).")
flags.DEFINE_integer("rows", 32, "Sequences per batch (8 examples x 4 options).")
flags.DEFINE_integer("length", 256, "Tokens per sequence.")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers  # noqa: E402
from flax import nnx  # noqa: E402

from mrc_jax.models import encoder as enc  # noqa: E402

HIDDEN, HEADS, INTERMEDIATE, VOCAB = 384, 12, 1536, 30522
HEAD_DIM = HIDDEN // HEADS


def median_ms(fn, repeats):
  fn()  # compile / warm up
  fn()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return 1e3 * float(np.median(times))


# --- jax parts ---------------------------------------------------------------------------


def _jax_grad_fn(f, *args):
  """jit(grad) of <f(args), cotangent> w.r.t. every argument; returns a blocking thunk."""
  out = jax.eval_shape(f, *args)
  cot = jnp.asarray(np.random.default_rng(1).standard_normal(out.shape, np.float32))
  grad = jax.jit(jax.grad(lambda *a: jnp.vdot(f(*a), cot), argnums=tuple(range(len(args)))))
  return lambda: jax.block_until_ready(grad(*args))


def _heads_first(x):
  return x.transpose(0, 2, 1, 3)  # [b, t, n, h] <-> [b, n, t, h]


def _attention_current(config, q, k, v, allowed):
  """mrc_jax's attention (`encoder.attention`) on the token-major inputs given here."""
  out = enc.attention(config, _heads_first(q), _heads_first(k), _heads_first(v), allowed, None)
  return _heads_first(out)


def _attention_token_major(q, k, v, allowed):
  """The same on token-major `[b, t, n, h]` operands (no transposes around it)."""
  scores = jnp.einsum("btnh,bsnh->bnts", q * (1.0 / math.sqrt(HEAD_DIM)), k)
  scores = jnp.where(allowed, scores, jnp.finfo(jnp.float32).min)
  return jnp.einsum("bnts,bsnh->btnh", jax.nn.softmax(scores, axis=-1), v)


def _attention_additive(q, k, v, allowed):
  """The current core with the mask as an additive bias instead of a select."""
  q, k, v = _heads_first(q), _heads_first(k), _heads_first(v)
  bias = jnp.where(allowed, 0.0, -1e9).astype(jnp.float32)
  scores = jnp.einsum("bnth,bnsh->bnts", q * (1.0 / math.sqrt(HEAD_DIM)), k) + bias
  return _heads_first(jnp.einsum("bnts,bnsh->bnth", jax.nn.softmax(scores, axis=-1), v))


def _attention_library(q, k, v, allowed):
  """jax.nn.dot_product_attention (XLA implementation; takes `[b, t, n, h]`)."""
  return jax.nn.dot_product_attention(q, k, v, mask=allowed, implementation="xla")


def _attention_chunked(config, q, k, v, allowed, rows):
  """The current core mapped over blocks of `rows` sequences (cache-sized working set)."""
  b = q.shape[0]
  split = lambda x: x.reshape(b // rows, rows, *x.shape[1:])
  mask = jnp.broadcast_to(allowed, (b,) + allowed.shape[1:])
  out = jax.lax.map(
    lambda a: _attention_current(config, *a), (split(q), split(k), split(v), split(mask))
  )
  return out.reshape(q.shape)


def _layer_token_major(config, p, x, allowed):
  """The encoder layer with token-major projections and attention operands."""
  qkv = jnp.einsum("bte,ecnh->btcnh", x, p["qkv_kernel"]) + p["qkv_bias"]
  context = _attention_token_major(qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2], allowed)
  attn = jnp.einsum("btnh,nhe->bte", context, p["attn_out_kernel"]) + p["attn_out_bias"]
  x = enc.layer_norm(x + attn, p["attn_norm_scale"], p["attn_norm_bias"], 1e-12)
  hidden = jax.nn.gelu(
    jnp.einsum("bte,em->btm", x, p["mlp_in_kernel"]) + p["mlp_in_bias"], approximate=False
  )
  out = jnp.einsum("btm,me->bte", hidden, p["mlp_out_kernel"]) + p["mlp_out_bias"]
  return enc.layer_norm(x + out, p["mlp_norm_scale"], p["mlp_norm_bias"], 1e-12)


def jax_parts(rows, length):
  rng = np.random.default_rng(0)
  arr = lambda *shape: jnp.asarray(0.02 * rng.standard_normal(shape, np.float32))
  x = jnp.asarray(rng.standard_normal((rows, length, HIDDEN), np.float32))
  qkv = [
    jnp.asarray(rng.standard_normal((rows, length, HEADS, HEAD_DIM), np.float32)) for _ in range(3)
  ]
  allowed = jnp.ones((rows, 1, 1, length), bool)
  config = enc.EncoderConfig(
    hidden_size=HIDDEN, num_heads=HEADS, intermediate_size=INTERMEDIATE, num_layers=1
  )
  layer = enc.LayerStack(config, rngs=nnx.Rngs(0))
  params = {k: v[0] for k, v in layer.arrays().items()}

  def projections_token_major(x, p):
    """The same matmuls with token-major outputs (heads minor)."""
    qkv = jnp.einsum("bte,ecnh->btcnh", x, p["qkv_kernel"]) + p["qkv_bias"]
    ctx = qkv.sum(2)  # stands in for attention; keeps every projection live
    attn = jnp.einsum("btnh,nhe->bte", ctx, p["attn_out_kernel"]) + p["attn_out_bias"]
    hidden = jnp.einsum("bte,em->btm", attn, p["mlp_in_kernel"]) + p["mlp_in_bias"]
    return jnp.einsum("btm,me->bte", hidden, p["mlp_out_kernel"]) + p["mlp_out_bias"]

  def projections(x, p):
    """As the encoder computes them: emitting and consuming head-major `[b, n, t, h]`."""
    qkv = jnp.einsum("bte,ecnh->cbnth", x, p["qkv_kernel"]) + p["qkv_bias"][:, None, :, None]
    ctx = qkv.sum(0)
    attn = jnp.einsum("bnth,nhe->bte", ctx, p["attn_out_kernel"]) + p["attn_out_bias"]
    hidden = jnp.einsum("bte,em->btm", attn, p["mlp_in_kernel"]) + p["mlp_in_bias"]
    return jnp.einsum("btm,me->bte", hidden, p["mlp_out_kernel"]) + p["mlp_out_bias"]

  def elementwise(x, s1, b1, s2, b2, h):
    y = enc.layer_norm(x + x, s1, b1, 1e-12)
    act = jax.nn.gelu(h, approximate=False)
    return enc.layer_norm(y + act[..., :HIDDEN], s2, b2, 1e-12) + act[..., HIDDEN:].sum(
      -1, keepdims=True
    )

  ones, zeros = jnp.ones((HIDDEN,)), jnp.zeros((HIDDEN,))
  h = arr(rows, length, INTERMEDIATE) * 50
  layer_fn = lambda x, p: enc.transformer_layer(config, p, x, allowed, None)
  ids = jnp.asarray(rng.integers(1000, VOCAB, (rows, length)), jnp.int32)
  tables = (arr(VOCAB, HIDDEN), arr(512, HIDDEN), arr(2, HIDDEN))

  def embeddings(word, position, token_type):
    x = word[ids] + position[jnp.arange(length)][None] + token_type[jnp.zeros_like(ids)]
    return enc.layer_norm(x, ones, zeros, 1e-12)

  return {
    "projections": _jax_grad_fn(projections, x, params),
    "projections (token-major outputs)": _jax_grad_fn(projections_token_major, x, params),
    "attention": _jax_grad_fn(lambda q, k, v: _attention_current(config, q, k, v, allowed), *qkv),
    "attention (token-major operands)": _jax_grad_fn(
      lambda q, k, v: _attention_token_major(q, k, v, allowed), *qkv
    ),
    "attention (additive mask)": _jax_grad_fn(
      lambda q, k, v: _attention_additive(q, k, v, allowed), *qkv
    ),
    "attention (jax.nn.dot_product_attention)": _jax_grad_fn(
      lambda q, k, v: _attention_library(q, k, v, allowed), *qkv
    ),
    "attention (lax.map over blocks of 4 rows)": _jax_grad_fn(
      lambda q, k, v: _attention_chunked(config, q, k, v, allowed, 4), *qkv
    ),
    "elementwise": _jax_grad_fn(elementwise, x, ones, zeros, ones, zeros, h),
    "embeddings": _jax_grad_fn(embeddings, *tables),
    "layer": _jax_grad_fn(layer_fn, x, params),
    "layer (token-major projections and attention)": _jax_grad_fn(
      lambda x, p: _layer_token_major(config, p, x, allowed), x, params
    ),
  }


# --- torch parts -------------------------------------------------------------------------


def _torch_grad_fn(f, *args):
  args = [a.detach().clone().requires_grad_(True) for a in args]
  out = f(*args)
  cot = torch.randn_like(out)

  def run():
    for a in args:
      a.grad = None
    f(*args).backward(cot)

  return run


def _first(output):
  """BertLayer returns a tuple in some transformers versions, a tensor in others."""
  return output[0] if isinstance(output, tuple) else output


def torch_parts(rows, length):
  torch.manual_seed(0)
  x = torch.randn(rows, length, HIDDEN)
  q, k, v = (torch.randn(rows, HEADS, length, HEAD_DIM) for _ in range(3))
  mask = torch.zeros(rows, 1, 1, length)
  lin = lambda i, o: torch.nn.Linear(i, o)
  qkv_l, out_l, in_l, down_l = (
    lin(HIDDEN, 3 * HIDDEN),
    lin(HIDDEN, HIDDEN),
    lin(HIDDEN, INTERMEDIATE),
    lin(INTERMEDIATE, HIDDEN),
  )

  def projections(x):
    ctx = qkv_l(x).reshape(rows, length, 3, HIDDEN).sum(2)
    return down_l(in_l(out_l(ctx)))

  def eager_attention(q, k, v):
    scores = q @ k.transpose(-1, -2) / math.sqrt(HEAD_DIM) + mask
    return torch.softmax(scores, -1) @ v

  norm1, norm2 = torch.nn.LayerNorm(HIDDEN, eps=1e-12), torch.nn.LayerNorm(HIDDEN, eps=1e-12)
  h = torch.randn(rows, length, INTERMEDIATE)

  def elementwise(x, h):
    act = F.gelu(h)
    return norm2(norm1(x + x) + act[..., :HIDDEN]) + act[..., HIDDEN:].sum(-1, keepdim=True)

  config = transformers.BertConfig(
    vocab_size=VOCAB,
    hidden_size=HIDDEN,
    num_attention_heads=HEADS,
    intermediate_size=INTERMEDIATE,
    num_hidden_layers=1,
  )
  bert = transformers.BertModel(config).eval()
  bert_layer = bert.encoder.layer[0]
  ids = torch.randint(1000, VOCAB, (rows, length))
  bert.embeddings.requires_grad_(True)

  def embeddings():
    bert.embeddings.zero_grad(set_to_none=True)
    out = bert.embeddings(input_ids=ids)
    out.backward(torch.ones_like(out))

  return {
    "projections": _torch_grad_fn(projections, x),
    "attention": _torch_grad_fn(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), q, k, v),
    "attention (eager matmul/softmax)": _torch_grad_fn(eager_attention, q, k, v),
    "elementwise": _torch_grad_fn(elementwise, x, h),
    "embeddings": embeddings,
    "layer": _torch_grad_fn(lambda x: _first(bert_layer(x)), x),
  }


def main(argv):
  del argv
  rows, length = FLAGS.rows, FLAGS.length
  jax_fns, torch_fns = jax_parts(rows, length), torch_parts(rows, length)
  results = {}
  for name, fn in list(jax_fns.items()) + [(f"torch:{n}", f) for n, f in torch_fns.items()]:
    results[name] = median_ms(fn, FLAGS.repeats)
  print(
    f"one layer, forward+backward, {rows} x {length} tokens; jax {jax.__version__} "
    f"(CPU), torch {torch.__version__} ({torch.get_num_threads()} threads)"
  )
  print("| part | jax ms | torch ms | jax/torch time |")
  print("|---|---|---|---|")
  for name in jax_fns:
    base = name.split(" (")[0]
    ref = results.get(f"torch:{base}")
    ratio = f"{results[name] / ref:.2f}x" if ref else ""
    print(
      f"| {name} | {results[name]:.1f} | {ref:.1f} | {ratio} |"
      if ref
      else f"| {name} | {results[name]:.1f} | | |"
    )
  for name in torch_fns:
    if " (" in name:
      print(f"| {name} (torch) | | {results[f'torch:{name}']:.1f} | |")


if __name__ == "__main__":
  app.run(main)
