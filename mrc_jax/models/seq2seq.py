"""One flax.nnx encoder-decoder for BART, mBART, T5 and mT5.

The four share one Transformer encoder-decoder and differ in configuration only:
- BART: learned positions (offset 2), layer norm after each sublayer, biases everywhere,
  an embedding layer norm, the LM head tied to the embeddings plus `final_logits_bias`.
- mBART: BART with the layer norm before each sublayer and a final layer norm on both sides;
  mBART-50 checkpoints scale the embeddings by sqrt(d_model).
- T5: relative position buckets (one table per side, in the first layer, shared by all),
  RMS norm before each sublayer, no biases, unscaled attention logits; v1.0 ties the LM
  head and scales the decoder output by d_model ** -0.5, v1.1 unties it and gates its MLP
  (GELU); mT5 is v1.1.

Layers are stacked on a leading `layers` axis and run with `lax.scan`, as in
`models/encoder.py`. The decoder has two entry points: `decode` (every target position at
once, teacher forcing) and `decode_step` (one position against a fixed-size key/value
`Cache`, for `models/generation.py`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from mrc_jax.models.encoder import ACTIVATIONS, DTYPES, check_dropout_key, dropout, layer_norm

MODEL_TYPES = ("bart", "mbart", "t5", "mt5")
# BART's position table has two rows before position 0 (fairseq's padding offset).
BART_POSITION_OFFSET = 2
_NEG = jnp.finfo(jnp.float32).min


@dataclasses.dataclass(frozen=True)
class Seq2SeqConfig:
  """Architecture of one encoder-decoder; `dataclasses.asdict` gives its JSON form."""

  model_type: str = "bart"
  vocab_size: int = 50265
  d_model: int = 768
  encoder_layers: int = 6
  decoder_layers: int = 6
  num_heads: int = 12
  head_dim: int = 64
  d_ff: int = 3072
  activation: str = "gelu"
  gated_mlp: bool = False  # T5 v1.1 / mT5: act(x W_0) * (x W_1)
  max_position_embeddings: int = 1024  # BART's learned table (without its offset rows)
  relative_buckets: int = 32  # T5
  relative_max_distance: int = 128  # T5
  embed_scale: float = 1.0
  tie_word_embeddings: bool = True
  scale_decoder_outputs: bool = False  # T5 v1.0: decoder output * d_model ** -0.5
  layer_norm_eps: float = 1e-5
  pad_token_id: int = 1
  bos_token_id: int | None = 0
  eos_token_id: int = 2
  decoder_start_token_id: int = 2
  forced_bos_token_id: int | None = None
  forced_eos_token_id: int | None = None
  hidden_dropout: float = 0.1
  attention_dropout: float = 0.0
  activation_dropout: float = 0.0
  # BART's init_std, or T5's initializer_factor (see `init_std`); only fresh weights see it.
  initializer_range: float = 0.02
  dtype: str = "float32"
  param_dtype: str = "float32"

  def __post_init__(self):
    if self.model_type not in MODEL_TYPES:
      raise ValueError(f"model_type {self.model_type!r} is not one of {MODEL_TYPES}")
    if self.activation not in ACTIVATIONS:
      raise ValueError(f"activation {self.activation!r} is not one of {sorted(ACTIVATIONS)}")
    for field in ("dtype", "param_dtype"):
      if getattr(self, field) not in DTYPES:
        raise ValueError(f"{field} {getattr(self, field)!r} is not one of {sorted(DTYPES)}")

  @property
  def is_t5(self) -> bool:
    return self.model_type in ("t5", "mt5")

  @property
  def pre_norm(self) -> bool:
    return self.model_type != "bart"

  @property
  def inner_dim(self) -> int:
    return self.num_heads * self.head_dim

  @property
  def init_std(self) -> float:
    """Std of fresh weights: BART's init_std; for T5 its factor times d_model ** -0.5, the
    scale transformers gives its projections (one std for all of them here)."""
    if self.is_t5:
      return self.initializer_range * self.d_model**-0.5
    return self.initializer_range

  @classmethod
  def from_hf_config(cls, hf: Mapping[str, Any], **overrides) -> "Seq2SeqConfig":
    """Builds the config from a Hugging Face `config.json` dict (keyword overrides win)."""
    model_type = hf.get("model_type")
    if model_type not in MODEL_TYPES:
      raise ValueError(f"Hugging Face model_type {model_type!r} is not one of {MODEL_TYPES}")
    if model_type in ("t5", "mt5"):
      projection = str(hf.get("feed_forward_proj", "relu" if model_type == "t5" else "gated-gelu"))
      parts = projection.split("-")
      gated = parts[0] == "gated"
      # transformers maps "gated-gelu" to the tanh approximation T5 v1.1 was trained with.
      activation = "gelu_new" if projection == "gated-gelu" else parts[-1]
      rate = float(hf.get("dropout_rate", 0.1))
      bos = hf.get("bos_token_id")
      fields = dict(
        vocab_size=int(hf["vocab_size"]),
        d_model=int(hf["d_model"]),
        encoder_layers=int(hf["num_layers"]),
        decoder_layers=int(hf.get("num_decoder_layers") or hf["num_layers"]),
        num_heads=int(hf["num_heads"]),
        head_dim=int(hf["d_kv"]),
        d_ff=int(hf["d_ff"]),
        activation=activation,
        gated_mlp=gated,
        relative_buckets=int(hf.get("relative_attention_num_buckets", 32)),
        relative_max_distance=int(hf.get("relative_attention_max_distance", 128)),
        # transformers' rule: T5 scales the decoder output unless config.json unties the
        # head (v1.1); mT5 never does.
        scale_decoder_outputs=model_type == "t5" and hf.get("tie_word_embeddings") is not False,
        layer_norm_eps=float(hf.get("layer_norm_epsilon", 1e-6)),
        pad_token_id=int(hf.get("pad_token_id", 0)),
        eos_token_id=int(hf.get("eos_token_id", 1)),
        decoder_start_token_id=int(hf.get("decoder_start_token_id") or 0),
        hidden_dropout=rate,
        attention_dropout=rate,
        activation_dropout=rate,
        initializer_range=float(hf.get("initializer_factor", 1.0)),
      )
      fields["bos_token_id"] = None if bos is None else int(bos)
    else:
      heads = int(hf["encoder_attention_heads"])
      if int(hf["decoder_attention_heads"]) != heads:
        raise ValueError("encoder and decoder attention heads differ; not supported")
      if int(hf["encoder_ffn_dim"]) != int(hf["decoder_ffn_dim"]):
        raise ValueError("encoder and decoder ffn dims differ; not supported")
      d_model = int(hf["d_model"])
      bos = hf.get("bos_token_id", 0)
      start = hf.get("decoder_start_token_id")
      fields = dict(
        vocab_size=int(hf["vocab_size"]),
        d_model=d_model,
        encoder_layers=int(hf["encoder_layers"]),
        decoder_layers=int(hf["decoder_layers"]),
        num_heads=heads,
        head_dim=d_model // heads,
        d_ff=int(hf["encoder_ffn_dim"]),
        activation=str(hf.get("activation_function", "gelu")),
        max_position_embeddings=int(hf.get("max_position_embeddings", 1024)),
        embed_scale=math.sqrt(d_model) if hf.get("scale_embedding") else 1.0,
        layer_norm_eps=1e-5,  # torch.nn.LayerNorm's default; BART configs have no field
        pad_token_id=int(hf.get("pad_token_id", 1)),
        bos_token_id=None if bos is None else int(bos),
        eos_token_id=int(hf.get("eos_token_id", 2)),
        # transformers' generate falls back to bos when no start token is configured.
        decoder_start_token_id=int(start if start is not None else bos),
        forced_bos_token_id=hf.get("forced_bos_token_id"),
        forced_eos_token_id=hf.get("forced_eos_token_id"),
        hidden_dropout=float(hf.get("dropout", 0.1)),
        attention_dropout=float(hf.get("attention_dropout", 0.0)),
        activation_dropout=float(hf.get("activation_dropout", 0.0)),
        initializer_range=float(hf.get("init_std", 0.02)),
      )
    fields["model_type"] = model_type
    fields.update(overrides)
    return cls(**fields)

  def to_hf_config(self) -> dict[str, Any]:
    """The Hugging Face `config.json` fields that describe this model."""
    common = dict(
      model_type=self.model_type,
      vocab_size=self.vocab_size,
      d_model=self.d_model,
      pad_token_id=self.pad_token_id,
      eos_token_id=self.eos_token_id,
      bos_token_id=self.bos_token_id,
      decoder_start_token_id=self.decoder_start_token_id,
      is_encoder_decoder=True,
    )
    if self.is_t5:
      if self.gated_mlp:
        projection = "gated-gelu" if self.activation == "gelu_new" else f"gated-{self.activation}"
      else:
        projection = self.activation
      return common | dict(
        num_layers=self.encoder_layers,
        num_decoder_layers=self.decoder_layers,
        num_heads=self.num_heads,
        d_kv=self.head_dim,
        d_ff=self.d_ff,
        feed_forward_proj=projection,
        relative_attention_num_buckets=self.relative_buckets,
        relative_attention_max_distance=self.relative_max_distance,
        layer_norm_epsilon=self.layer_norm_eps,
        dropout_rate=self.hidden_dropout,
        initializer_factor=self.initializer_range,
        # transformers reads T5's output scaling from this field (see from_hf_config).
        tie_word_embeddings=self.scale_decoder_outputs
        if self.model_type == "t5"
        else self.tie_word_embeddings,
      )
    return common | dict(
      encoder_layers=self.encoder_layers,
      decoder_layers=self.decoder_layers,
      encoder_attention_heads=self.num_heads,
      decoder_attention_heads=self.num_heads,
      encoder_ffn_dim=self.d_ff,
      decoder_ffn_dim=self.d_ff,
      activation_function=self.activation,
      max_position_embeddings=self.max_position_embeddings,
      scale_embedding=self.embed_scale != 1.0,
      forced_bos_token_id=self.forced_bos_token_id,
      forced_eos_token_id=self.forced_eos_token_id,
      dropout=self.hidden_dropout,
      attention_dropout=self.attention_dropout,
      activation_dropout=self.activation_dropout,
      init_std=self.initializer_range,
      tie_word_embeddings=self.tie_word_embeddings,
    )


def param(rngs: nnx.Rngs, init, shape, names, dtype) -> nnx.Param:
  """A parameter with logical axis names; placement is left to a rules table."""
  return nnx.Param(init(rngs.params(), shape, dtype), sharding_names=names, eager_sharding=False)


_zeros = jax.nn.initializers.zeros
_ones = jax.nn.initializers.ones


def _layer_specs(config: Seq2SeqConfig, num_layers: int, cross: bool) -> dict[str, tuple]:
  """Parameter name -> (shape, logical axes, initialiser) of one side's stacked layers."""
  l, e, n, h, m = num_layers, config.d_model, config.num_heads, config.head_dim, config.d_ff
  normal = jax.nn.initializers.normal(config.init_std)
  biased = not config.is_t5
  specs = {}
  blocks = ("attn", "cross", "mlp") if cross else ("attn", "mlp")
  for block in blocks:
    specs[f"{block}_norm_scale"] = ((l, e), ("layers", "embed"), _ones)
    if biased:
      specs[f"{block}_norm_bias"] = ((l, e), ("layers", "embed"), _zeros)
  for block in blocks[:-1]:
    # Self-attention fuses query, key and value; cross-attention's query reads the decoder
    # and its key / value the encoder output, so they are two kernels.
    if block == "attn":
      specs["attn_qkv_kernel"] = ((l, e, 3, n, h), ("layers", "embed", None, "heads", "kv"), normal)
    else:
      specs["cross_q_kernel"] = ((l, e, n, h), ("layers", "embed", "heads", "kv"), normal)
      specs["cross_kv_kernel"] = ((l, e, 2, n, h), ("layers", "embed", None, "heads", "kv"), normal)
    specs[f"{block}_out_kernel"] = ((l, n, h, e), ("layers", "heads", "kv", "embed"), normal)
    if biased:
      if block == "attn":
        specs["attn_qkv_bias"] = ((l, 3, n, h), ("layers", None, "heads", "kv"), _zeros)
      else:
        specs["cross_q_bias"] = ((l, n, h), ("layers", "heads", "kv"), _zeros)
        specs["cross_kv_bias"] = ((l, 2, n, h), ("layers", None, "heads", "kv"), _zeros)
      specs[f"{block}_out_bias"] = ((l, e), ("layers", "embed"), _zeros)
  specs["mlp_in_kernel"] = ((l, e, m), ("layers", "embed", "mlp"), normal)
  if config.gated_mlp:
    specs["mlp_gate_kernel"] = ((l, e, m), ("layers", "embed", "mlp"), normal)
  specs["mlp_out_kernel"] = ((l, m, e), ("layers", "mlp", "embed"), normal)
  if biased:
    specs["mlp_in_bias"] = ((l, m), ("layers", "mlp"), _zeros)
    specs["mlp_out_bias"] = ((l, e), ("layers", "embed"), _zeros)
  return specs


class LayerStack(nnx.Module):
  """One side's Transformer layers, every parameter stacked on a leading `layers` axis."""

  def __init__(self, config: Seq2SeqConfig, num_layers: int, cross: bool, *, rngs: nnx.Rngs):
    pdt = DTYPES[config.param_dtype]
    self.names = tuple(_layer_specs(config, num_layers, cross))
    for name, (shape, axes, init) in _layer_specs(config, num_layers, cross).items():
      setattr(self, name, param(rngs, init, shape, axes, pdt))

  def arrays(self, dtype) -> dict[str, jax.Array]:
    return {name: getattr(self, name)[...].astype(dtype) for name in self.names}


class Side(nnx.Module):
  """Everything of the encoder or the decoder besides the shared token embeddings."""

  def __init__(self, config: Seq2SeqConfig, num_layers: int, cross: bool, *, rngs: nnx.Rngs):
    pdt = DTYPES[config.param_dtype]
    e = config.d_model
    normal = jax.nn.initializers.normal(config.init_std)
    self.layers = LayerStack(config, num_layers, cross, rngs=rngs)
    if config.is_t5:
      shape = (config.relative_buckets, config.num_heads)
      self.relative_bias = param(rngs, normal, shape, (None, "heads"), pdt)
    else:
      shape = (config.max_position_embeddings + BART_POSITION_OFFSET, e)
      self.position = param(rngs, normal, shape, (None, "embed"), pdt)
      self.embed_norm_scale = param(rngs, _ones, (e,), ("embed",), pdt)
      self.embed_norm_bias = param(rngs, _zeros, (e,), ("embed",), pdt)
    if config.pre_norm:
      self.final_norm_scale = param(rngs, _ones, (e,), ("embed",), pdt)
      if not config.is_t5:
        self.final_norm_bias = param(rngs, _zeros, (e,), ("embed",), pdt)


def rms_norm(x, scale, eps):
  """T5's norm: scale only, no mean subtraction, float32 statistics."""
  x32 = x.astype(jnp.float32)
  y = x32 * jax.lax.rsqrt(jnp.mean(x32 * x32, -1, keepdims=True) + eps)
  return (y * scale.astype(jnp.float32)).astype(x.dtype)


def relative_buckets(relative: jax.Array, bidirectional: bool, buckets: int, max_distance: int):
  """T5's bucket of each (key - query) distance: exact up to buckets / 2, then log-spaced."""
  out = jnp.zeros_like(relative)
  if bidirectional:
    buckets //= 2
    out = out + (relative > 0).astype(relative.dtype) * buckets
    relative = jnp.abs(relative)
  else:
    relative = -jnp.minimum(relative, 0)
  exact = buckets // 2
  safe = jnp.maximum(relative, 1).astype(jnp.float32)
  large = exact + (
    jnp.log(safe / exact) / math.log(max_distance / exact) * (buckets - exact)
  ).astype(relative.dtype)
  large = jnp.minimum(large, buckets - 1)
  return out + jnp.where(relative < exact, relative, large)


def shift_right(config: Seq2SeqConfig, ids: jax.Array) -> jax.Array:
  """Decoder inputs that read `ids` `[batch, length]` one position late: BART and T5 put
  the decoder start token first, mBART the last real token (its language id or </s>), as
  transformers' `shift_tokens_right` / `_shift_right` do."""
  if config.model_type == "mbart":
    last = jnp.sum(ids != config.pad_token_id, axis=-1) - 1  # [batch]
    first = jnp.take_along_axis(ids, last[:, None], axis=-1)
  else:
    first = jnp.full_like(ids[:, :1], config.decoder_start_token_id)
  return jnp.concatenate([first, ids[:, :-1]], axis=-1)


class Cache(NamedTuple):
  """Decoder state for generation: self-attention keys / values up to `max_length`
  positions, and the cross-attention keys / values of the encoder output."""

  self_kv: jax.Array  # [layers, 2, batch, heads, max_length, kv]
  cross_kv: jax.Array  # [layers, 2, batch, heads, source_length, kv]
  source_mask: jax.Array  # [batch, source_length] bool


class Seq2Seq(nnx.Module):
  """BART / mBART / T5 / mT5: shared token embeddings, encoder, decoder, LM head."""

  def __init__(self, config: Seq2SeqConfig, *, rngs: nnx.Rngs):
    self.config = config
    pdt = DTYPES[config.param_dtype]
    normal = jax.nn.initializers.normal(config.init_std)
    v, e = config.vocab_size, config.d_model
    self.shared = param(rngs, normal, (v, e), ("vocab", "embed"), pdt)
    self.encoder = Side(config, config.encoder_layers, cross=False, rngs=rngs)
    self.decoder = Side(config, config.decoder_layers, cross=True, rngs=rngs)
    if not config.tie_word_embeddings:
      self.lm_head = param(rngs, normal, (e, v), ("embed", "vocab"), pdt)
    if not config.is_t5:
      # A buffer in transformers (zeros for BART, trained for Marian); a parameter here so
      # that nnx.split(model, nnx.Param) is the whole model.
      self.final_logits_bias = param(rngs, _zeros, (v,), ("vocab",), pdt)

  # ---------------------------------------------------------------------------- pieces

  @property
  def _dtype(self):
    return DTYPES[self.config.dtype]

  def _norm(self, p, block, x):
    c = self.config
    if c.is_t5:
      return rms_norm(x, p[f"{block}_norm_scale"], c.layer_norm_eps)
    return layer_norm(x, p[f"{block}_norm_scale"], p[f"{block}_norm_bias"], c.layer_norm_eps)

  def _final_norm(self, side: Side, x):
    c = self.config
    if not c.pre_norm:
      return x
    if c.is_t5:
      return rms_norm(x, side.final_norm_scale[...], c.layer_norm_eps)
    return layer_norm(x, side.final_norm_scale[...], side.final_norm_bias[...], c.layer_norm_eps)

  def _attend(self, q, k, v, allowed, bias, seed):
    """`[batch, heads, t, kv]` queries over `[batch, heads, s, kv]` keys; `allowed`
    broadcasts to `[batch, heads, t, s]`; `bias` (T5's positions) to the same or is None."""
    c = self.config
    scores = jnp.einsum("bnth,bnsh->bnts", q, k).astype(jnp.float32)
    if not c.is_t5:
      scores = scores * (c.head_dim**-0.5)
    if bias is not None:
      scores = scores + bias
    scores = jnp.where(allowed, scores, _NEG)
    probs = jax.nn.softmax(scores, axis=-1).astype(q.dtype)
    if seed is not None:
      probs = dropout(probs, c.attention_dropout, seed)
    return jnp.einsum("bnts,bnsh->bnth", probs, v)

  def _sublayer(self, p, block, x, fn, seed):
    """Residual around `fn` with the norm before (pre-LN) or after (BART) it."""
    c = self.config
    y = fn(self._norm(p, block, x) if c.pre_norm else x)
    if seed is not None:
      y = dropout(y, c.hidden_dropout, seed)
    x = x + y
    return x if c.pre_norm else self._norm(p, block, x)

  def _out(self, p, block, context):
    y = jnp.einsum("bnth,nhe->bte", context, p[f"{block}_out_kernel"])
    return y + p[f"{block}_out_bias"] if f"{block}_out_bias" in p else y

  def _qkv(self, p, x):
    qkv = jnp.einsum("bte,ecnh->cbnth", x, p["attn_qkv_kernel"])  # [3, batch, heads, t, kv]
    if "attn_qkv_bias" in p:
      qkv = qkv + p["attn_qkv_bias"][:, None, :, None, :]
    return qkv

  def _cross_kv(self, p, encoded):
    kv = jnp.einsum("bse,ecnh->cbnsh", encoded, p["cross_kv_kernel"])  # [2, batch, heads, s, kv]
    if "cross_kv_bias" in p:
      kv = kv + p["cross_kv_bias"][:, None, :, None, :]
    return kv

  def _cross_q(self, p, x):
    q = jnp.einsum("bte,enh->bnth", x, p["cross_q_kernel"])
    return q + p["cross_q_bias"][None, :, None, :] if "cross_q_bias" in p else q

  def _mlp(self, p, x, seed):
    c = self.config
    act = ACTIVATIONS[c.activation]
    hidden = jnp.einsum("bte,em->btm", x, p["mlp_in_kernel"])
    if "mlp_in_bias" in p:
      hidden = hidden + p["mlp_in_bias"]
    if c.gated_mlp:
      # transformers' T5DenseGatedActDense: act(x wi_0) * (x wi_1); wi_0 is the gate here.
      hidden = act(jnp.einsum("bte,em->btm", x, p["mlp_gate_kernel"])) * hidden
    else:
      hidden = act(hidden)
    if seed is not None:
      hidden = dropout(hidden, c.activation_dropout, seed)
    out = jnp.einsum("btm,me->bte", hidden, p["mlp_out_kernel"])
    return out + p["mlp_out_bias"] if "mlp_out_bias" in p else out

  def _check_length(self, length: int, what: str):
    # jnp.take clamps out-of-range indices: a longer input would reuse the last position.
    c = self.config
    if not c.is_t5 and length > c.max_position_embeddings:
      raise ValueError(
        f"{what} of {length} tokens exceeds the {c.max_position_embeddings} positions of "
        f"this {c.model_type} model"
      )

  def _embed(self, side: Side, ids, positions, seed, noise=None):
    c = self.config
    tokens = jnp.take(self.shared[...], ids, axis=0)
    if noise is not None:
      # As the encoder's R3F: the noised pass sends no gradient into the token table.
      tokens = jax.lax.stop_gradient(tokens)
    x = tokens.astype(self._dtype)
    if not c.is_t5:
      x = x * jnp.asarray(c.embed_scale, x.dtype)
      x = x + jnp.take(side.position[...], positions + BART_POSITION_OFFSET, axis=0).astype(x.dtype)
    if noise is not None:
      x = x + noise.astype(x.dtype)
    if not c.is_t5:
      x = layer_norm(x, side.embed_norm_scale[...], side.embed_norm_bias[...], c.layer_norm_eps)
    if seed is not None:
      x = dropout(x, c.hidden_dropout, seed)
    return x

  def _position_bias(self, side: Side, queries, keys, bidirectional):
    """T5's `[1, heads, t, s]` bias for query positions `[t]` and key positions `[s]`."""
    c = self.config
    bucket = relative_buckets(
      keys[None, :] - queries[:, None], bidirectional, c.relative_buckets, c.relative_max_distance
    )  # [t, s]
    bias = jnp.take(side.relative_bias[...].astype(jnp.float32), bucket, axis=0)  # [t, s, heads]
    return jnp.transpose(bias, (2, 0, 1))[None]

  @staticmethod
  def _seeds(deterministic, dropout_key, layers, sites):
    check_dropout_key(deterministic, dropout_key)
    if deterministic:
      return None, None
    # [layers + 1, sites, 2]: row 0 seeds the embedding dropout, row i + 1 layer i.
    seeds = jax.random.bits(dropout_key, (layers + 1, sites, 2), jnp.uint32)
    return seeds[0, 0], seeds[1:]

  # ------------------------------------------------------------------------- encoder

  def encode(
    self,
    input_ids,
    attention_mask,
    deterministic=True,
    *,
    dropout_key=None,
    embedding_noise=None,
  ):
    """`[batch, source]` ids -> encoder output `[batch, source, d_model]`.

    `embedding_noise` `[batch, source, d_model]` is added to the embedded inputs (before
    BART's embedding layer norm): R3F's perturbation of the encoder input, as fairseq's
    R3F criteria perturb BART's.
    """
    c = self.config
    side = self.encoder
    length = input_ids.shape[-1]
    self._check_length(length, "an input")
    embed_seed, seeds = self._seeds(deterministic, dropout_key, c.encoder_layers, 4)
    positions = jnp.arange(length, dtype=jnp.int32)
    x = self._embed(side, input_ids[...], positions[None], embed_seed, embedding_noise)
    allowed = attention_mask.astype(bool)[:, None, None, :]  # [batch, 1, 1, source]
    bias = self._position_bias(side, positions, positions, True) if c.is_t5 else None

    def layer(x, ps):
      p, s = ps
      s = (None,) * 4 if s is None else tuple(s)

      def attn(h):
        qkv = self._qkv(p, h)
        return self._out(p, "attn", self._attend(qkv[0], qkv[1], qkv[2], allowed, bias, s[0]))

      x = self._sublayer(p, "attn", x, attn, s[1])
      x = self._sublayer(p, "mlp", x, lambda h: self._mlp(p, h, s[2]), s[3])
      return x, None

    x, _ = jax.lax.scan(layer, x, (side.layers.arrays(self._dtype), seeds))
    return self._final_norm(side, x)

  # ------------------------------------------------------------------------- decoder

  def decode(
    self,
    decoder_input_ids,
    encoded,
    attention_mask,
    decoder_attention_mask=None,
    deterministic=True,
    *,
    dropout_key=None,
  ):
    """Teacher-forced decoder states `[batch, target, d_model]` for `[batch, target]` ids."""
    c = self.config
    side = self.decoder
    length = decoder_input_ids.shape[-1]
    self._check_length(length, "a decoder input")
    embed_seed, seeds = self._seeds(deterministic, dropout_key, c.decoder_layers, 6)
    positions = jnp.arange(length, dtype=jnp.int32)
    x = self._embed(side, decoder_input_ids, positions[None], embed_seed)
    causal = positions[None, :] <= positions[:, None]  # [target, target]
    allowed = causal[None, None]
    if decoder_attention_mask is not None:
      allowed = allowed & decoder_attention_mask.astype(bool)[:, None, None, :]
    source_allowed = attention_mask.astype(bool)[:, None, None, :]
    bias = self._position_bias(side, positions, positions, False) if c.is_t5 else None

    def layer(x, ps):
      p, s = ps
      s = (None,) * 6 if s is None else tuple(s)

      def attn(h):
        qkv = self._qkv(p, h)
        return self._out(p, "attn", self._attend(qkv[0], qkv[1], qkv[2], allowed, bias, s[0]))

      def cross(h):
        kv = self._cross_kv(p, encoded)
        context = self._attend(self._cross_q(p, h), kv[0], kv[1], source_allowed, None, s[2])
        return self._out(p, "cross", context)

      x = self._sublayer(p, "attn", x, attn, s[1])
      x = self._sublayer(p, "cross", x, cross, s[3])
      x = self._sublayer(p, "mlp", x, lambda h: self._mlp(p, h, s[4]), s[5])
      return x, None

    x, _ = jax.lax.scan(layer, x, (side.layers.arrays(self._dtype), seeds))
    return self._final_norm(side, x)

  def logits(self, states):
    """Decoder states `[..., d_model]` -> float32 vocabulary logits `[..., vocab]`."""
    c = self.config
    if c.scale_decoder_outputs:
      states = states * jnp.asarray(c.d_model**-0.5, states.dtype)
    if c.tie_word_embeddings:
      out = jnp.einsum("...e,ve->...v", states, self.shared[...].astype(states.dtype))
    else:
      out = jnp.einsum("...e,ev->...v", states, self.lm_head[...].astype(states.dtype))
    out = out.astype(jnp.float32)
    if not c.is_t5:
      out = out + self.final_logits_bias[...].astype(jnp.float32)
    return out

  def __call__(
    self,
    input_ids,
    attention_mask,
    decoder_input_ids,
    decoder_attention_mask=None,
    deterministic=True,
    *,
    dropout_key=None,
  ):
    """Logits `[batch, target, vocab]` of the teacher-forced decoder."""
    check_dropout_key(deterministic, dropout_key)
    keys = (None, None) if deterministic else tuple(jax.random.split(dropout_key))
    encoded = self.encode(input_ids, attention_mask, deterministic, dropout_key=keys[0])
    states = self.decode(
      decoder_input_ids,
      encoded,
      attention_mask,
      decoder_attention_mask,
      deterministic,
      dropout_key=keys[1],
    )
    return self.logits(states)

  # ---------------------------------------------------------------------- generation

  def init_cache(self, encoded, attention_mask, max_length: int) -> Cache:
    """An empty self-attention cache of `max_length` positions and the cross-attention
    keys / values of `encoded` `[batch, source, d_model]`."""
    c = self.config
    self._check_length(max_length, "a generation")
    params = self.decoder.layers.arrays(self._dtype)
    cross_kv = jax.vmap(lambda p: self._cross_kv(p, encoded))(
      {k: params[k] for k in ("cross_kv_kernel", "cross_kv_bias") if k in params}
    )  # [layers, 2, batch, heads, source, kv]
    batch = encoded.shape[0]
    self_kv = jnp.zeros(
      (c.decoder_layers, 2, batch, c.num_heads, max_length, c.head_dim), self._dtype
    )
    return Cache(self_kv, cross_kv, attention_mask.astype(bool))

  def decode_step(self, token_ids, position, cache: Cache):
    """One decoder position: `[batch]` ids at scalar `position` -> (logits `[batch, vocab]`,
    the cache with this position's keys / values written)."""
    c = self.config
    side = self.decoder
    max_length = cache.self_kv.shape[-2]
    x = self._embed(side, token_ids[:, None], jnp.reshape(position, (1, 1)), None)
    keys = jnp.arange(max_length, dtype=jnp.int32)
    allowed = (keys <= position)[None, None, None, :]  # [1, 1, 1, max_length]
    bias = self._position_bias(side, jnp.reshape(position, (1,)), keys, False) if c.is_t5 else None
    source_allowed = cache.source_mask[:, None, None, :]

    def layer(x, ps):
      p, self_kv, cross_kv = ps

      def attn(h):
        qkv = self._qkv(p, h)  # [3, batch, heads, 1, kv]
        kv = jax.lax.dynamic_update_slice_in_dim(self_kv, qkv[1:], position, axis=3)
        context = self._attend(qkv[0], kv[0], kv[1], allowed, bias, None)
        return self._out(p, "attn", context), kv

      h = self._norm(p, "attn", x) if c.pre_norm else x
      y, new_kv = attn(h)
      x = x + y
      if not c.pre_norm:
        x = self._norm(p, "attn", x)

      def cross(h):
        q = self._cross_q(p, h)
        return self._out(
          p, "cross", self._attend(q, cross_kv[0], cross_kv[1], source_allowed, None, None)
        )

      x = self._sublayer(p, "cross", x, cross, None)
      x = self._sublayer(p, "mlp", x, lambda h: self._mlp(p, h, None), None)
      return x, new_kv

    params = side.layers.arrays(self._dtype)
    x, self_kv = jax.lax.scan(layer, x, (params, cache.self_kv, cache.cross_kv))
    logits = self.logits(self._final_norm(side, x))[:, 0]
    return logits, cache._replace(self_kv=self_kv)
