"""One flax.nnx Transformer encoder for BERT, RoBERTa and XLM-R.

The three architectures share one post-layer-norm Transformer; they differ only in
configuration (vocabulary, activation, layer-norm epsilon) and in how position ids are
formed: BERT counts from 0, RoBERTa and XLM-R count from `pad_token_id + 1` and give
padding tokens the position `pad_token_id`. `EncoderConfig.position_offset` carries that
difference.

Layers are stored stacked (leading `layers` axis) and run with `jax.lax.scan`, so a
24-layer model compiles one layer body, and the stack has the layout a sharding rules
table expects. The layer body is written with explicit einsums rather than nnx.Linear
modules because the fused query/key/value kernel `[embed, 3, heads, kv]` and the
head-major attention layout are where the CPU/TPU time goes.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

import jax
import jax.numpy as jnp
from flax import nnx

MODEL_TYPES = ("bert", "roberta", "xlm-roberta")
DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}
ACTIVATIONS = {
  "gelu": lambda x: jax.nn.gelu(x, approximate=False),
  "gelu_new": lambda x: jax.nn.gelu(x, approximate=True),
  "gelu_pytorch_tanh": lambda x: jax.nn.gelu(x, approximate=True),
  "relu": jax.nn.relu,
  "silu": jax.nn.silu,
  "swish": jax.nn.silu,
}

# Dropout masks come from a counter-based integer hash (two rounds of the MurmurHash3
# finalizer over element index and a per-call seed) rather than jax.random: XLA's CPU
# random-bit generators (threefry and rbg alike) cost about ten times a softmax over the
# same array, which made attention dropout the most expensive part of a training step. The
# hash is elementwise, fuses into the masking op, and its top 16 bits give the keep test.
_DROPOUT_BITS = 16
ATTENTION_INITS = ("normal", "mimetic")
POSITION_INITS = ("normal", "sinusoidal")
# Mimetic initialisation's weight on both the random and the identity part of W_q W_k^T.
_MIMETIC_ALPHA = 0.7


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
  """Architecture of one encoder; `dataclasses.asdict` gives its JSON form."""

  model_type: str = "bert"
  vocab_size: int = 30522
  hidden_size: int = 768
  num_layers: int = 12
  num_heads: int = 12
  intermediate_size: int = 3072
  hidden_act: str = "gelu"
  max_position_embeddings: int = 512
  type_vocab_size: int = 2
  pad_token_id: int = 0
  position_offset: int = 0  # 0 for BERT; pad_token_id + 1 for RoBERTa / XLM-R.
  layer_norm_eps: float = 1e-12
  hidden_dropout: float = 0.1
  attention_dropout: float = 0.1
  dtype: str = "float32"  # computation dtype
  param_dtype: str = "float32"
  with_pooler: bool = True
  # Std of the normal initialiser of fresh weights (Hugging Face's field; 0.02 for BERT,
  # RoBERTa and XLM-R). Only from-scratch training sees it: docs/RESULTS.md has a tiny
  # encoder that learns a synthetic task with 0.05 and stalls with 0.02.
  initializer_range: float = 0.02
  # Fresh query/key kernels: "normal" (as above) or "mimetic" (Trockman & Kolter, ICML
  # 2023: each head's W_q W_k^T starts near 0.7 (Z + I), so a token attends to copies of
  # itself from step 0). Only from-scratch training sees it: in docs/RESULTS.md a tiny
  # encoder matches options against short passages within 200 steps with it, and is at
  # 46% (chance 25%) after 400 without.
  attention_init: str = "normal"
  # Fresh position table: "normal" (as above) or "sinusoidal" (the sine/cosine table of
  # Vaswani et al., 2017, rescaled to std initializer_range, then learned): nearby
  # positions start similar, so with mimetic query/key kernels a token attends to its
  # neighbours from step 0. Only from-scratch training sees it: docs/RESULTS.md has a tiny
  # encoder that reads the option placed right after [CLS] with it and stalls without.
  position_init: str = "normal"
  # Layers unrolled per iteration of the layer scan (run-time only, not architecture):
  # 1 keeps one compiled layer body (fast compiles, for deep models on accelerators);
  # num_layers unrolls fully, which lets XLA fuse across layer boundaries and drop the
  # scan's parameter slicing: forward+backward ~12% faster on CPU (BENCHMARKS.md).
  scan_unroll: int = 1

  def __post_init__(self):
    if self.model_type not in MODEL_TYPES:
      raise ValueError(f"model_type {self.model_type!r} is not one of {MODEL_TYPES}")
    if self.hidden_size % self.num_heads:
      raise ValueError(
        f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}"
      )
    if self.hidden_act not in ACTIVATIONS:
      raise ValueError(f"hidden_act {self.hidden_act!r} is not one of {sorted(ACTIVATIONS)}")
    if self.attention_init not in ATTENTION_INITS:
      raise ValueError(f"attention_init {self.attention_init!r} is not one of {ATTENTION_INITS}")
    if self.position_init not in POSITION_INITS:
      raise ValueError(f"position_init {self.position_init!r} is not one of {POSITION_INITS}")
    if self.scan_unroll < 1:
      raise ValueError(f"scan_unroll must be >= 1, got {self.scan_unroll}")
    for field in ("dtype", "param_dtype"):
      if getattr(self, field) not in DTYPES:
        raise ValueError(f"{field} {getattr(self, field)!r} is not one of {sorted(DTYPES)}")

  @property
  def head_dim(self) -> int:
    return self.hidden_size // self.num_heads

  @classmethod
  def from_hf_config(cls, hf: Mapping[str, Any], **overrides) -> "EncoderConfig":
    """Builds the config from a Hugging Face `config.json` dict (keyword overrides win)."""
    model_type = hf.get("model_type")
    if model_type not in MODEL_TYPES:
      raise ValueError(f"Hugging Face model_type {model_type!r} is not one of {MODEL_TYPES}")
    position_type = hf.get("position_embedding_type", "absolute")
    if position_type != "absolute":
      raise ValueError(
        f"position_embedding_type {position_type!r} is not supported (only 'absolute')"
      )
    pad = int(
      hf.get("pad_token_id")
      if hf.get("pad_token_id") is not None
      else (0 if model_type == "bert" else 1)
    )
    fields = dict(
      model_type=model_type,
      vocab_size=int(hf["vocab_size"]),
      hidden_size=int(hf["hidden_size"]),
      num_layers=int(hf["num_hidden_layers"]),
      num_heads=int(hf["num_attention_heads"]),
      intermediate_size=int(hf["intermediate_size"]),
      hidden_act=str(hf.get("hidden_act", "gelu")),
      max_position_embeddings=int(hf.get("max_position_embeddings", 512)),
      type_vocab_size=int(hf.get("type_vocab_size", 2)),
      pad_token_id=pad,
      position_offset=0 if model_type == "bert" else pad + 1,
      layer_norm_eps=float(hf.get("layer_norm_eps", 1e-12)),
      hidden_dropout=float(hf.get("hidden_dropout_prob", 0.1)),
      attention_dropout=float(hf.get("attention_probs_dropout_prob", 0.1)),
      initializer_range=float(hf.get("initializer_range", 0.02)),
    )
    fields.update(overrides)
    return cls(**fields)

  def to_hf_config(self) -> dict[str, Any]:
    """The Hugging Face `config.json` fields that describe this encoder."""
    hf = dict(
      model_type=self.model_type,
      vocab_size=self.vocab_size,
      hidden_size=self.hidden_size,
      num_hidden_layers=self.num_layers,
      num_attention_heads=self.num_heads,
      intermediate_size=self.intermediate_size,
      hidden_act=self.hidden_act,
      max_position_embeddings=self.max_position_embeddings,
      type_vocab_size=self.type_vocab_size,
      pad_token_id=self.pad_token_id,
      layer_norm_eps=self.layer_norm_eps,
      hidden_dropout_prob=self.hidden_dropout,
      attention_probs_dropout_prob=self.attention_dropout,
      initializer_range=self.initializer_range,
      position_embedding_type="absolute",
    )
    if self.model_type != "bert":
      hf.update(bos_token_id=0, eos_token_id=2)
    return hf


def _param(rngs: nnx.Rngs, init, shape, names, dtype) -> nnx.Param:
  """A parameter with logical axis names; placement is left to a rules table."""
  return nnx.Param(init(rngs.params(), shape, dtype), sharding_names=names, eager_sharding=False)


def normal_init(config: "EncoderConfig"):
  """Hugging Face's weight initialiser: normal with std `initializer_range`."""
  return jax.nn.initializers.normal(config.initializer_range)


def qkv_init(config: "EncoderConfig"):
  """Initialiser of the fused `[layers, embed, 3, heads, kv]` query/key/value kernel.

  "mimetic" replaces each head's query and key kernels by the rank-`kv` truncated SVD of
  alpha (Z + I), Z ~ N(0, 1/embed) (U sqrt(S) and V sqrt(S)), so that q . k = x^T W_q W_k^T y
  is large for x = y; values keep the normal initialiser.
  """
  normal = normal_init(config)
  if config.attention_init == "normal":
    return normal

  def init(key, shape, dtype):
    layers, embed, _, heads, kv = shape
    normal_key, mimetic_key = jax.random.split(key)
    kernel = normal(normal_key, shape, jnp.float32)
    z = jax.random.normal(mimetic_key, (layers, heads, embed, embed)) / math.sqrt(embed)
    u, s, vt = jnp.linalg.svd(_MIMETIC_ALPHA * (z + jnp.eye(embed)))
    root = jnp.sqrt(s[..., None, :kv])  # [layers, heads, 1, kv]
    query = u[..., :kv] * root  # [layers, heads, embed, kv]
    key_ = jnp.swapaxes(vt[..., :kv, :], -1, -2) * root
    qk = jnp.stack([query, key_], axis=1).transpose(0, 3, 1, 2, 4)  # [layers, embed, 2, heads, kv]
    return kernel.at[:, :, :2].set(qk).astype(dtype)

  return init


def position_init(config: "EncoderConfig"):
  """Initialiser of the `[max_positions, embed]` position table (`config.position_init`).

  "sinusoidal": row p holds sin(p w_i) and cos(p w_i) interleaved, w_i = 10000^(-2i/embed),
  rescaled to std `initializer_range` so positions weigh as much as fresh word embeddings.
  """
  if config.position_init == "normal":
    return normal_init(config)

  def init(key, shape, dtype):
    del key  # deterministic
    positions, embed = shape
    pairs = (embed + 1) // 2
    angle = jnp.arange(positions, dtype=jnp.float32)[:, None] * 10000.0 ** (
      -2.0 * jnp.arange(pairs, dtype=jnp.float32) / embed
    )  # [P, pairs]
    table = jnp.stack([jnp.sin(angle), jnp.cos(angle)], -1).reshape(positions, 2 * pairs)
    table = table[:, :embed]  # [P, embed]
    return (table / table.std() * config.initializer_range).astype(dtype)

  return init


_zeros = jax.nn.initializers.zeros
_ones = jax.nn.initializers.ones


def layer_norm(x, scale, bias, eps):
  """Layer norm over the last axis with float32 statistics."""
  x32 = x.astype(jnp.float32)
  mean = x32.mean(-1, keepdims=True)
  centred = x32 - mean
  var = jnp.mean(centred * centred, -1, keepdims=True)
  y = centred * jax.lax.rsqrt(var + eps)
  return (y * scale.astype(jnp.float32) + bias.astype(jnp.float32)).astype(x.dtype)


def _mix32(h: jax.Array) -> jax.Array:
  """MurmurHash3's 32-bit finalizer: every input bit flips each output bit with p ~ 1/2."""
  h = h ^ (h >> 16)
  h = h * jnp.uint32(0x85EBCA6B)
  h = h ^ (h >> 13)
  h = h * jnp.uint32(0xC2B2AE35)
  return h ^ (h >> 16)


def dropout(x: jax.Array, rate: float, seed: jax.Array) -> jax.Array:
  """Inverted dropout; `seed` is a `uint32[2]` array, one per independent mask.

  The element index is 32-bit, so arrays beyond 2**32 elements would repeat their mask.
  """
  if rate <= 0.0:
    return x
  levels = 1 << _DROPOUT_BITS
  threshold = round(rate * levels)
  index = jax.lax.iota(jnp.uint32, x.size).reshape(x.shape)
  h = _mix32(_mix32(index * jnp.uint32(0x9E3779B9) ^ seed[0]) ^ seed[1])
  keep = (h >> (32 - _DROPOUT_BITS)) >= threshold
  scale = jnp.asarray(levels / (levels - threshold), x.dtype)
  return jnp.where(keep, x * scale, jnp.zeros((), x.dtype))


def check_dropout_key(deterministic: bool, dropout_key: jax.Array | None) -> None:
  if not deterministic and dropout_key is None:
    raise ValueError("deterministic=False needs a dropout_key")


def dropout_keys(deterministic: bool, dropout_key: jax.Array | None, num: int) -> tuple:
  """`num` independent keys from `dropout_key` (one per dropout site), Nones when deterministic."""
  check_dropout_key(deterministic, dropout_key)
  if deterministic:
    return (None,) * num
  return tuple(jax.random.split(dropout_key, num))


class Embeddings(nnx.Module):
  """Word + position + token-type embeddings, then layer norm."""

  def __init__(self, config: EncoderConfig, *, rngs: nnx.Rngs):
    pdt = DTYPES[config.param_dtype]
    e = config.hidden_size
    init = normal_init(config)
    self.word = _param(rngs, init, (config.vocab_size, e), ("vocab", "embed"), pdt)
    self.position = _param(
      rngs, position_init(config), (config.max_position_embeddings, e), (None, "embed"), pdt
    )
    self.token_type = _param(rngs, init, (config.type_vocab_size, e), (None, "embed"), pdt)
    self.norm_scale = _param(rngs, _ones, (e,), ("embed",), pdt)
    self.norm_bias = _param(rngs, _zeros, (e,), ("embed",), pdt)


class LayerStack(nnx.Module):
  """All Transformer layers' parameters, stacked on a leading `layers` axis."""

  def __init__(self, config: EncoderConfig, *, rngs: nnx.Rngs):
    pdt = DTYPES[config.param_dtype]
    l, e, n, h, m = (
      config.num_layers,
      config.hidden_size,
      config.num_heads,
      config.head_dim,
      config.intermediate_size,
    )
    p = lambda init, shape, names: _param(rngs, init, shape, names, pdt)
    normal = normal_init(config)
    self.qkv_kernel = p(qkv_init(config), (l, e, 3, n, h), ("layers", "embed", None, "heads", "kv"))
    self.qkv_bias = p(_zeros, (l, 3, n, h), ("layers", None, "heads", "kv"))
    self.attn_out_kernel = p(normal, (l, n, h, e), ("layers", "heads", "kv", "embed"))
    self.attn_out_bias = p(_zeros, (l, e), ("layers", "embed"))
    self.attn_norm_scale = p(_ones, (l, e), ("layers", "embed"))
    self.attn_norm_bias = p(_zeros, (l, e), ("layers", "embed"))
    self.mlp_in_kernel = p(normal, (l, e, m), ("layers", "embed", "mlp"))
    self.mlp_in_bias = p(_zeros, (l, m), ("layers", "mlp"))
    self.mlp_out_kernel = p(normal, (l, m, e), ("layers", "mlp", "embed"))
    self.mlp_out_bias = p(_zeros, (l, e), ("layers", "embed"))
    self.mlp_norm_scale = p(_ones, (l, e), ("layers", "embed"))
    self.mlp_norm_bias = p(_zeros, (l, e), ("layers", "embed"))

  def arrays(self) -> dict[str, jax.Array]:
    return {
      name: getattr(self, name)[...]
      for name in (
        "qkv_kernel",
        "qkv_bias",
        "attn_out_kernel",
        "attn_out_bias",
        "attn_norm_scale",
        "attn_norm_bias",
        "mlp_in_kernel",
        "mlp_in_bias",
        "mlp_out_kernel",
        "mlp_out_bias",
        "mlp_norm_scale",
        "mlp_norm_bias",
      )
    }


def attention(
  config: EncoderConfig,
  q: jax.Array,
  k: jax.Array,
  v: jax.Array,
  allowed: jax.Array,
  seed: jax.Array | None,
) -> jax.Array:
  """Scaled dot-product attention on head-major `[batch, heads, length, kv]` operands.

  Scores and softmax are float32; `seed` (`uint32[2]`) drops attention probabilities,
  None is deterministic. Returns the context `[batch, heads, length, kv]`.
  """
  dt = q.dtype
  q = q * jnp.asarray(1.0 / math.sqrt(config.head_dim), dt)
  scores = jnp.einsum("bnth,bnsh->bnts", q, k).astype(jnp.float32)  # [batch, heads, t, s]
  scores = jnp.where(allowed, scores, jnp.finfo(jnp.float32).min)
  probs = jax.nn.softmax(scores, axis=-1).astype(dt)
  if seed is not None:
    probs = dropout(probs, config.attention_dropout, seed)
  return jnp.einsum("bnts,bnsh->bnth", probs, v)


def transformer_layer(
  config: EncoderConfig,
  p: Mapping[str, jax.Array],
  x: jax.Array,
  allowed: jax.Array,
  seeds: jax.Array | None,
) -> jax.Array:
  """One post-layer-norm Transformer layer.

  Args:
    config: the encoder architecture.
    p: this layer's parameters (one slice of `LayerStack`), in the computation dtype.
    x: hidden states `[batch, length, embed]`.
    allowed: which keys each query may attend to, `[batch, 1, length or 1, length]` bool.
    seeds: `uint32[3, 2]` dropout seeds (attention probabilities, attention output, MLP
      output), or None for deterministic.
  """
  qkv = jnp.einsum("bte,ecnh->cbnth", x, p["qkv_kernel"])  # [3, batch, heads, length, kv]
  qkv = qkv + p["qkv_bias"][:, None, :, None, :]
  context = attention(
    config, qkv[0], qkv[1], qkv[2], allowed, None if seeds is None else seeds[0]
  )  # [batch, heads, length, kv]
  attn = jnp.einsum("bnth,nhe->bte", context, p["attn_out_kernel"]) + p["attn_out_bias"]
  if seeds is not None:
    attn = dropout(attn, config.hidden_dropout, seeds[1])
  x = layer_norm(x + attn, p["attn_norm_scale"], p["attn_norm_bias"], config.layer_norm_eps)

  hidden = ACTIVATIONS[config.hidden_act](
    jnp.einsum("bte,em->btm", x, p["mlp_in_kernel"]) + p["mlp_in_bias"]
  )
  out = jnp.einsum("btm,me->bte", hidden, p["mlp_out_kernel"]) + p["mlp_out_bias"]
  if seeds is not None:
    out = dropout(out, config.hidden_dropout, seeds[2])
  return layer_norm(x + out, p["mlp_norm_scale"], p["mlp_norm_bias"], config.layer_norm_eps)


def segment_positions(segment_ids: jax.Array) -> jax.Array:
  """Position of each token within its packed segment, `[batch, length]` from 0."""
  length = segment_ids.shape[-1]
  index = jnp.broadcast_to(jnp.arange(length, dtype=jnp.int32), segment_ids.shape)
  starts = jnp.concatenate(
    [
      jnp.ones_like(segment_ids[..., :1], dtype=bool),
      segment_ids[..., 1:] != segment_ids[..., :-1],
    ],
    axis=-1,
  )
  segment_start = jax.lax.cummax(jnp.where(starts, index, 0), axis=segment_ids.ndim - 1)
  return index - segment_start


class Encoder(nnx.Module):
  """BERT / RoBERTa / XLM-R encoder returning the last hidden states."""

  def __init__(self, config: EncoderConfig, *, rngs: nnx.Rngs):
    self.config = config
    self.embeddings = Embeddings(config, rngs=rngs)
    self.layers = LayerStack(config, rngs=rngs)
    if config.with_pooler:
      pdt = DTYPES[config.param_dtype]
      e = config.hidden_size
      self.pooler_kernel = _param(rngs, normal_init(config), (e, e), ("embed", "mlp"), pdt)
      self.pooler_bias = _param(rngs, _zeros, (e,), ("mlp",), pdt)

  def _positions(self, input_ids, segment_ids, positions):
    c = self.config
    if positions is not None:
      return positions + c.position_offset
    if segment_ids is not None:
      return segment_positions(segment_ids) + c.position_offset
    if c.position_offset == 0:
      return jnp.broadcast_to(jnp.arange(input_ids.shape[-1], dtype=jnp.int32), input_ids.shape)
    # RoBERTa's rule: non-padding tokens count up from pad_token_id + 1, padding keeps
    # pad_token_id.
    not_pad = (input_ids != c.pad_token_id).astype(jnp.int32)
    return jnp.cumsum(not_pad, axis=-1) * not_pad + c.pad_token_id

  def __call__(
    self,
    input_ids: jax.Array,
    attention_mask: jax.Array,
    token_type_ids: jax.Array | None = None,
    deterministic: bool = True,
    *,
    dropout_key: jax.Array | None = None,
    segment_ids: jax.Array | None = None,
    positions: jax.Array | None = None,
    embedding_noise: jax.Array | None = None,
  ) -> jax.Array:
    """Encodes `[batch, length]` token ids into `[batch, length, hidden]` states.

    `attention_mask` is 1 for real tokens and 0 for padding. With `segment_ids`
    (0 = padding, k > 0 = the k-th sequence packed into the row) a token attends only
    inside its own segment, and positions restart at 0 per segment unless `positions`
    is given. With `deterministic=False` dropout masks are a function of `dropout_key`
    alone (the module holds no rng state), so a caller that derives it from (seed, step)
    gets the same masks on resume. `embedding_noise`
    `[batch, length, hidden]` is added to the embedded inputs in the computation dtype,
    before the embedding layer norm (R3F's perturbation, one draw per token position);
    the token embeddings of such a pass are constants to the gradient.
    """
    c = self.config
    dt = DTYPES[c.dtype]
    emb = self.embeddings
    check_dropout_key(deterministic, dropout_key)
    if token_type_ids is None:
      token_type_ids = jnp.zeros_like(input_ids)
    pos = self._positions(input_ids, segment_ids, positions)
    tokens = jnp.take(emb.word[...], input_ids, axis=0)
    if embedding_noise is not None:
      # fairseq's R3F noises a detached copy of the token embeddings: the noised pass
      # sends no gradient into the word table.
      tokens = jax.lax.stop_gradient(tokens)
    x = (
      tokens
      + jnp.take(emb.position[...], pos, axis=0)
      + jnp.take(emb.token_type[...], token_type_ids, axis=0)
    ).astype(dt)
    if embedding_noise is not None:
      x = x + embedding_noise.astype(dt)
    x = layer_norm(x, emb.norm_scale[...], emb.norm_bias[...], c.layer_norm_eps)

    keys_valid = attention_mask.astype(bool)[:, None, None, :]  # [batch, 1, 1, length]
    if segment_ids is not None:
      same = segment_ids[:, :, None] == segment_ids[:, None, :]  # [batch, length, length]
      allowed = keys_valid & same[:, None]
    else:
      allowed = keys_valid

    params = jax.tree.map(lambda a: a.astype(dt), self.layers.arrays())
    if deterministic or (c.hidden_dropout <= 0 and c.attention_dropout <= 0):
      body = lambda h, p: (transformer_layer(c, p, h, allowed, None), None)
      x, _ = jax.lax.scan(body, x, params, unroll=c.scan_unroll)
    else:
      # [layers + 1, 3, 2]: row 0 seeds the embedding dropout, row i + 1 layer i.
      seeds = jax.random.bits(dropout_key, (c.num_layers + 1, 3, 2), jnp.uint32)
      x = dropout(x, c.hidden_dropout, seeds[0, 0])
      body = lambda h, ps: (transformer_layer(c, ps[0], h, allowed, ps[1]), None)
      x, _ = jax.lax.scan(body, x, (params, seeds[1:]), unroll=c.scan_unroll)
    return x

  def pool(self, x: jax.Array) -> jax.Array:
    """The checkpoint's pooler, dense + tanh: `[..., hidden] -> [..., hidden]`."""
    if not self.config.with_pooler:
      raise ValueError("this encoder has no pooler (EncoderConfig.with_pooler=False)")
    dt = DTYPES[self.config.dtype]
    return jnp.tanh(
      x.astype(dt) @ self.pooler_kernel[...].astype(dt) + self.pooler_bias[...].astype(dt)
    )
