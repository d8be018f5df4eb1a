"""Hugging Face BART / mBART / T5 / mT5 directories <-> `models/seq2seq.Seq2Seq`.

One table per family names the Hugging Face tensors behind each stacked parameter and how
a tensor is laid out (`_LAYOUTS`); reading and writing both walk it, so a parameter the
table lacks fails in both directions. transformers keeps tied copies of the embeddings
(`encoder.embed_tokens`, `decoder.embed_tokens`, a tied `lm_head`) and writes at most one;
the LM head is untied exactly when the directory holds an `lm_head.weight` that differs
from the embeddings, which is transformers' own rule (mT5, T5 v1.1).
"""

from __future__ import annotations

import json
import os
from typing import Callable, Mapping

import jax.numpy as jnp
import numpy as np
from flax import nnx

from mrc_jax.models import hf, seq2seq_heads
from mrc_jax.models.seq2seq import MODEL_TYPES, Seq2Seq, Seq2SeqConfig

ARCHITECTURES = {
  "bart": "BartForConditionalGeneration",
  "mbart": "MBartForConditionalGeneration",
  "t5": "T5ForConditionalGeneration",
  "mt5": "MT5ForConditionalGeneration",
}
_TIED_COPIES = ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight")


def _layouts(n: int, h: int, e: int) -> dict[str, tuple[Callable, Callable, int]]:
  """Layout name -> (Hugging Face tensor -> ours, ours -> Hugging Face, stacking axis)."""
  return {
    # torch Linear weights are [out, in].
    "in_heads": (lambda w: w.T.reshape(e, n, h), lambda a: a.reshape(e, n * h).T, 1),
    "out_heads": (lambda w: w.T.reshape(n, h, e), lambda a: a.reshape(n * h, e).T, 0),
    "heads_bias": (lambda b: b.reshape(n, h), lambda a: a.reshape(n * h), 0),
    "linear": (lambda w: w.T, lambda a: a.T, 0),
    "vector": (lambda v: v, lambda a: a, 0),
  }


def _bart_layer_table(cross: bool) -> dict[str, tuple[tuple[str, ...], str]]:
  def attention(ours, theirs):
    proj = lambda k, kind: f"{theirs}.{k}_proj.{kind}"
    table = {
      f"{ours}_out_kernel": ((f"{theirs}.out_proj.weight",), "out_heads"),
      f"{ours}_out_bias": ((f"{theirs}.out_proj.bias",), "vector"),
    }
    if ours == "attn":
      table["attn_qkv_kernel"] = (tuple(proj(k, "weight") for k in "qkv"), "in_heads")
      table["attn_qkv_bias"] = (tuple(proj(k, "bias") for k in "qkv"), "heads_bias")
    else:
      table["cross_q_kernel"] = ((proj("q", "weight"),), "in_heads")
      table["cross_q_bias"] = ((proj("q", "bias"),), "heads_bias")
      table["cross_kv_kernel"] = (tuple(proj(k, "weight") for k in "kv"), "in_heads")
      table["cross_kv_bias"] = (tuple(proj(k, "bias") for k in "kv"), "heads_bias")
    return table

  table = attention("attn", "self_attn")
  norms = {"attn": "self_attn_layer_norm", "mlp": "final_layer_norm"}
  if cross:
    table |= attention("cross", "encoder_attn")
    norms["cross"] = "encoder_attn_layer_norm"
  for ours, theirs in norms.items():
    table[f"{ours}_norm_scale"] = ((f"{theirs}.weight",), "vector")
    table[f"{ours}_norm_bias"] = ((f"{theirs}.bias",), "vector")
  table["mlp_in_kernel"] = (("fc1.weight",), "linear")
  table["mlp_in_bias"] = (("fc1.bias",), "vector")
  table["mlp_out_kernel"] = (("fc2.weight",), "linear")
  table["mlp_out_bias"] = (("fc2.bias",), "vector")
  return table


def _t5_layer_table(cross: bool, gated: bool) -> dict[str, tuple[tuple[str, ...], str]]:
  sa = "0.SelfAttention"
  table = {
    "attn_qkv_kernel": (tuple(f"{sa}.{k}.weight" for k in "qkv"), "in_heads"),
    "attn_out_kernel": ((f"{sa}.o.weight",), "out_heads"),
    "attn_norm_scale": (("0.layer_norm.weight",), "vector"),
  }
  ff = 1
  if cross:
    ca = "1.EncDecAttention"
    table |= {
      "cross_q_kernel": ((f"{ca}.q.weight",), "in_heads"),
      "cross_kv_kernel": ((f"{ca}.k.weight", f"{ca}.v.weight"), "in_heads"),
      "cross_out_kernel": ((f"{ca}.o.weight",), "out_heads"),
      "cross_norm_scale": (("1.layer_norm.weight",), "vector"),
    }
    ff = 2
  dense = f"{ff}.DenseReluDense"
  if gated:
    # wi_0 goes through the activation (the gate), wi_1 is linear.
    table["mlp_gate_kernel"] = ((f"{dense}.wi_0.weight",), "linear")
    table["mlp_in_kernel"] = ((f"{dense}.wi_1.weight",), "linear")
  else:
    table["mlp_in_kernel"] = ((f"{dense}.wi.weight",), "linear")
  table["mlp_out_kernel"] = ((f"{dense}.wo.weight",), "linear")
  table["mlp_norm_scale"] = ((f"{ff}.layer_norm.weight",), "vector")
  return table


def _sides(config: Seq2SeqConfig):
  """(name, has cross-attention, layers) of the encoder and the decoder."""
  return (("encoder", False, config.encoder_layers), ("decoder", True, config.decoder_layers))


def _layer_prefix(config: Seq2SeqConfig, side: str, i: int) -> str:
  return f"{side}.block.{i}.layer." if config.is_t5 else f"{side}.layers.{i}."


def _side_table(config: Seq2SeqConfig, side: str) -> dict[str, str]:
  """Side-level parameter -> Hugging Face name (vectors and tables, no reshaping)."""
  if config.is_t5:
    table = {
      "relative_bias": f"{side}.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
      "final_norm_scale": f"{side}.final_layer_norm.weight",
    }
  else:
    table = {
      "position": f"{side}.embed_positions.weight",
      "embed_norm_scale": f"{side}.layernorm_embedding.weight",
      "embed_norm_bias": f"{side}.layernorm_embedding.bias",
    }
    if config.pre_norm:
      table["final_norm_scale"] = f"{side}.layer_norm.weight"
      table["final_norm_bias"] = f"{side}.layer_norm.bias"
  return table


def _layer_table(config: Seq2SeqConfig, cross: bool):
  if config.is_t5:
    return _t5_layer_table(cross, config.gated_mlp)
  return _bart_layer_table(cross)


def _strip_prefix(weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
  # BART classes keep the encoder-decoder under `model.`; T5 classes at the top.
  return {k.removeprefix("model."): v for k, v in weights.items()}


def _take(weights: dict, name: str, path: str) -> np.ndarray:
  if name not in weights:
    raise KeyError(f"{path}: weight {name!r} is missing")
  return weights.pop(name)


def _assign(param: nnx.Param, value: np.ndarray, name: str, path: str):
  if tuple(param.shape) != tuple(value.shape):
    raise ValueError(
      f"{path}: weight {name!r} has shape {value.shape}, the config implies {tuple(param.shape)}"
    )
  param[...] = jnp.asarray(value, param.dtype)


_EMBEDDING_NAMES = (
  "shared.weight",
  "model.shared.weight",
  "encoder.embed_tokens.weight",
  "model.encoder.embed_tokens.weight",
)


def _lm_head_untied(path: str) -> bool:
  """Whether the directory keeps an `lm_head.weight` other than its embeddings (only those
  two tensors are read from safetensors files)."""
  single = os.path.join(path, "model.safetensors")
  index = os.path.join(path, "model.safetensors.index.json")
  if os.path.exists(single):
    from safetensors import safe_open

    with safe_open(single, "flax") as f:
      files = dict.fromkeys(f.keys(), single)
  elif os.path.exists(index):
    with open(index) as f:
      files = {k: os.path.join(path, v) for k, v in json.load(f)["weight_map"].items()}
  else:  # pytorch_model.bin: no lazy reader
    weights = hf.read_hf_weights(path)
    files = None

  def tensor(name):
    if files is None:
      return weights[name]
    from safetensors import safe_open

    with safe_open(files[name], "flax") as f:
      return np.asarray(f.get_tensor(name))

  names = set(files if files is not None else weights)
  if "lm_head.weight" not in names:
    return False
  shared = next((n for n in _EMBEDDING_NAMES if n in names), None)
  return shared is None or not np.array_equal(tensor("lm_head.weight"), tensor(shared))


def read_config(path: str, **config_overrides) -> Seq2SeqConfig:
  """The config :func:`load` builds for a directory, without loading the model."""
  hf_config = hf._read_config(os.fspath(path))
  untied = _lm_head_untied(os.fspath(path))
  return Seq2SeqConfig.from_hf_config(
    hf_config, **({"tie_word_embeddings": not untied} | config_overrides)
  )


def load(path: str, *, seed: int = 0, **config_overrides) -> tuple[Seq2Seq, Seq2SeqConfig]:
  """Loads a BART / mBART / T5 / mT5 directory as (model, config), without any task head.

  `config_overrides` set Seq2SeqConfig fields such as dtype or dropout rates.
  """
  model, config, _ = load_with_heads(path, seed=seed, **config_overrides)
  return model, config


def _head_name(hf_config: Mapping, path: str) -> str | None:
  """The task head config.json's `architectures` names, or None (an LM head or none)."""
  names = hf_config.get("architectures") or [ARCHITECTURES[hf_config["model_type"]]]
  (name,) = names
  for suffix, head in seq2seq_heads.HEAD_CLASSES.items():
    if name.endswith(suffix):
      if hf_config["model_type"] not in ("bart", "mbart"):
        raise ValueError(f"{path}/config.json: {name} is not supported (BART and mBART heads only)")
      return head
  return None


# Task head parameter -> (transformers tensor, stored transposed), per head name.
_HEAD_TENSORS = {
  "sequence_classification": {
    "dense_kernel": ("classification_head.dense.weight", True),
    "dense_bias": ("classification_head.dense.bias", False),
    "out_kernel": ("classification_head.out_proj.weight", True),
    "out_bias": ("classification_head.out_proj.bias", False),
  },
  "question_answering": {"kernel": ("qa_outputs.weight", True), "bias": ("qa_outputs.bias", False)},
}
_HEAD_SUFFIX = {head: suffix for suffix, head in seq2seq_heads.HEAD_CLASSES.items()}


def _load_head(name: str, config: Seq2SeqConfig, hf_config: Mapping, weights: dict, path, rngs):
  if name == "sequence_classification":
    labels = len(hf_config.get("id2label") or {}) or int(hf_config.get("num_labels") or 3)
    head = seq2seq_heads.Seq2SeqClassificationHead(
      config, labels, dropout_rate=hf_config.get("classifier_dropout"), rngs=rngs
    )
  else:
    head = seq2seq_heads.Seq2SeqSpanHead(config, rngs=rngs)
  for ours, (theirs, transpose) in _HEAD_TENSORS[name].items():
    value = _take(weights, theirs, path)
    _assign(getattr(head, ours), value.T if transpose else value, theirs, path)
  return head


def load_with_heads(path: str, *, seed: int = 0, **config_overrides):
  """(model, config, {head name: head}) of a directory; a `*ForSequenceClassification` or
  `*ForQuestionAnswering` BART / mBART directory carries its head ('sequence_classification',
  'question_answering'), other classes none."""
  path = os.fspath(path)
  hf_config = hf._read_config(path)
  if hf_config.get("model_type") not in MODEL_TYPES:
    raise ValueError(
      f"{path}/config.json: model_type {hf_config.get('model_type')!r} is not one of "
      f"{MODEL_TYPES} (encoders load with load_hf_model)"
    )
  head_name = _head_name(hf_config, path)
  weights = _strip_prefix(hf.read_hf_weights(path))
  shared = weights.get("shared.weight")
  if shared is None:
    shared = weights.get("encoder.embed_tokens.weight")
  if shared is None:
    raise KeyError(f"{path}: no shared.weight or encoder.embed_tokens.weight")
  weights["shared.weight"] = shared
  lm_head = weights.pop("lm_head.weight", None)
  untied = lm_head is not None and not np.array_equal(lm_head, shared)
  config = Seq2SeqConfig.from_hf_config(
    hf_config, **({"tie_word_embeddings": not untied} | config_overrides)
  )
  model = Seq2Seq(config, rngs=nnx.Rngs(seed))
  for name in _TIED_COPIES:
    weights.pop(name, None)
  _assign(model.shared, _take(weights, "shared.weight", path), "shared.weight", path)
  if untied:
    _assign(model.lm_head, lm_head.T, "lm_head.weight", path)
  if not config.is_t5:
    bias = weights.pop("final_logits_bias", None)
    if bias is not None:  # transformers leaves it out of some checkpoints (zeros)
      _assign(model.final_logits_bias, bias.reshape(-1), "final_logits_bias", path)
    else:
      model.final_logits_bias[...] = jnp.zeros_like(model.final_logits_bias[...])

  layouts = _layouts(config.num_heads, config.head_dim, config.d_model)
  for side_name, cross, num_layers in _sides(config):
    side = getattr(model, side_name)
    for ours, theirs in _side_table(config, side_name).items():
      _assign(getattr(side, ours), _take(weights, theirs, path), theirs, path)
    for ours, (names, layout) in _layer_table(config, cross).items():
      to_ours, _, axis = layouts[layout]
      per_layer = []
      for i in range(num_layers):
        prefix = _layer_prefix(config, side_name, i)
        parts = [to_ours(_take(weights, prefix + n, path)) for n in names]
        per_layer.append(parts[0] if len(parts) == 1 else np.stack(parts, axis=axis))
      _assign(getattr(side.layers, ours), np.stack(per_layer), f"{side_name}.*.{ours}", path)
  heads = {}
  if head_name is not None:
    heads[head_name] = _load_head(head_name, config, hf_config, weights, path, nnx.Rngs(seed + 1))
  if weights:
    raise ValueError(f"{path}: weights not used by the model: {sorted(weights)}")
  return model, config, heads


def to_hf_tensors(model: Seq2Seq) -> dict[str, np.ndarray]:
  """The model's parameters under the names of its transformers class."""
  config = model.config
  a = lambda x: np.asarray(x[...], np.float32)
  prefix = "" if config.is_t5 else "model."
  out = {prefix + "shared.weight": a(model.shared)}
  if not config.tie_word_embeddings:
    out["lm_head.weight"] = a(model.lm_head).T
  if not config.is_t5:
    out["final_logits_bias"] = a(model.final_logits_bias)[None]
  layouts = _layouts(config.num_heads, config.head_dim, config.d_model)
  for side_name, cross, num_layers in _sides(config):
    side = getattr(model, side_name)
    for ours, theirs in _side_table(config, side_name).items():
      out[prefix + theirs] = a(getattr(side, ours))
    for ours, (names, layout) in _layer_table(config, cross).items():
      _, to_hf, axis = layouts[layout]
      stacked = a(getattr(side.layers, ours))
      for i in range(num_layers):
        layer = _layer_prefix(config, side_name, i)
        parts = [stacked[i]] if len(names) == 1 else np.moveaxis(stacked[i], axis, 0)
        for name, part in zip(names, parts):
          out[prefix + layer + name] = to_hf(part)
  return out


def save(model: Seq2Seq, path: str, head: tuple[str, nnx.Module] | None = None):
  """Writes config.json + model.safetensors that transformers loads to the same outputs.

  ``head`` (a head name of `seq2seq_heads.HEAD_CLASSES` and its module; BART and mBART)
  writes the `*ForSequenceClassification` / `*ForQuestionAnswering` class instead of the
  generation class.
  """
  from safetensors.numpy import save_file

  config = model.config
  hf_config = config.to_hf_config()
  hf_config["architectures"] = [ARCHITECTURES[config.model_type]]
  hf_config["dtype"] = config.param_dtype
  tensors = to_hf_tensors(model)
  if head is not None:
    name, module = head
    if config.model_type not in ("bart", "mbart") or name not in _HEAD_TENSORS:
      raise ValueError(f"no transformers class carries a {name!r} head on {config.model_type}")
    prefix = ARCHITECTURES[config.model_type].removesuffix("ForConditionalGeneration")
    hf_config["architectures"] = [prefix + _HEAD_SUFFIX[name]]
    # Those classes have no language-model head.
    tensors = {k: v for k, v in tensors.items() if k not in ("lm_head.weight", "final_logits_bias")}
    for ours, (theirs, transpose) in _HEAD_TENSORS[name].items():
      value = np.asarray(getattr(module, ours)[...], np.float32)
      tensors[theirs] = value.T if transpose else value
    if name == "sequence_classification":
      hf_config["id2label"] = {str(i): f"LABEL_{i}" for i in range(module.num_labels)}
      hf_config["label2id"] = {f"LABEL_{i}": i for i in range(module.num_labels)}
      hf_config["classifier_dropout"] = module.dropout_rate
  os.makedirs(path, exist_ok=True)
  with open(os.path.join(path, "config.json"), "w") as f:
    json.dump(hf_config, f, indent=2, sort_keys=True)
  save_file(
    {k: np.ascontiguousarray(v) for k, v in tensors.items()},
    os.path.join(path, "model.safetensors"),
    metadata={"format": "pt"},
  )
