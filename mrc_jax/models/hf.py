"""Hugging Face checkpoint directories <-> the flax.nnx encoder and heads; orbax form.

A Hugging Face directory holds `config.json` and `model.safetensors` (or a sharded
`model.safetensors.index.json`, or a torch `pytorch_model.bin`). Its `architectures`
entry says which class wrote it and so which task head, if any, it carries. The same
model can be kept as an orbax checkpoint (parameters via StandardSave plus a JSON spec
that rebuilds the modules), which is what `launch/convert_checkpoint.py` converts to and
from.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from typing import Mapping

import jax.numpy as jnp
import numpy as np
from absl import logging
from flax import nnx

from mrc_jax.models import head_kinds
from mrc_jax.models import heads as heads_lib
from mrc_jax.models import seq2seq as seq2seq_lib
from mrc_jax.models.encoder import Encoder, EncoderConfig

_PREFIXES = {"bert": "bert.", "roberta": "roberta.", "xlm-roberta": "roberta."}
_CLASS_PREFIX = {"bert": "Bert", "roberta": "Roberta", "xlm-roberta": "XLMRoberta"}
# Architecture suffix -> task head name; None = encoder only (a language-model head, if
# any, is not part of this library's model and its weights are skipped).
# (Regression shares ForSequenceClassification: one label tells it apart.)
_ARCHITECTURE_HEADS = {"Model": None, "ForMaskedLM": None, "ForPreTraining": None} | {
  kind.hf_suffix: kind.hf_name
  for kind in head_kinds.KINDS.values()
  if kind.module is not None and kind.name != "regression"
}
# Weights of language-model heads and buffers that are not parameters of this model.
_SKIPPED_PREFIXES = ("lm_head.", "cls.", "embeddings.position_ids", "embeddings.token_type_ids")


# ----------------------------------------------------------------------------- reading


def _read_config(path: str) -> dict:
  config_path = os.path.join(path, "config.json")
  if not os.path.exists(config_path):
    raise FileNotFoundError(f"{config_path}: no config.json in the checkpoint directory")
  with open(config_path) as f:
    return json.load(f)


def _to_numpy(value) -> np.ndarray:
  array = np.asarray(value)
  return array if array.dtype != jnp.bfloat16 else array.astype(np.float32)


def read_hf_weights(path: str) -> dict[str, np.ndarray]:
  """All tensors of a checkpoint directory as numpy arrays keyed by Hugging Face name."""
  single = os.path.join(path, "model.safetensors")
  index = os.path.join(path, "model.safetensors.index.json")
  torch_bin = os.path.join(path, "pytorch_model.bin")
  if os.path.exists(single) or os.path.exists(index):
    from safetensors.flax import load_file  # reads bfloat16 too

    if os.path.exists(single):
      files = [single]
    else:
      with open(index) as f:
        files = [
          os.path.join(path, name) for name in sorted(set(json.load(f)["weight_map"].values()))
        ]
    weights = {}
    for file in files:
      weights.update({k: _to_numpy(v) for k, v in load_file(file).items()})
    return weights
  if os.path.exists(torch_bin):
    try:
      import torch
    except ImportError as e:
      raise ImportError(
        f"{torch_bin}: reading pytorch_model.bin needs torch; install torch "
        "or convert the checkpoint to model.safetensors"
      ) from e
    state = torch.load(torch_bin, map_location="cpu", weights_only=True)
    return {k: v.detach().float().numpy() for k, v in state.items()}
  raise FileNotFoundError(
    f"{path}: no model.safetensors, model.safetensors.index.json or pytorch_model.bin"
  )


def _architecture(hf_config: Mapping, path: str) -> tuple[str, str | None]:
  """(architecture name, head name or None) from config.json's `architectures`."""
  model_type = hf_config.get("model_type")
  if model_type not in _CLASS_PREFIX:
    raise ValueError(
      f"{path}/config.json: model_type {model_type!r} is not one of {sorted(_CLASS_PREFIX)}"
    )
  names = hf_config.get("architectures") or [_CLASS_PREFIX[model_type] + "Model"]
  if len(names) != 1:
    raise ValueError(f"{path}/config.json: expected one architecture, got {names}")
  name = names[0]
  prefix = _CLASS_PREFIX[model_type]
  suffix = name[len(prefix) :] if name.startswith(prefix) else None
  if suffix not in _ARCHITECTURE_HEADS:
    raise ValueError(
      f"{path}/config.json: unknown architecture {name!r} for model_type "
      f"{model_type!r}; supported: "
      f"{sorted(prefix + s for s in _ARCHITECTURE_HEADS)}"
    )
  head = _ARCHITECTURE_HEADS[suffix]
  if head == "sequence_classification" and _num_labels(hf_config) == 1:
    head = "regression"
  return name, head


def _num_labels(hf_config: Mapping) -> int:
  if hf_config.get("id2label"):
    return len(hf_config["id2label"])
  return int(hf_config.get("num_labels") or 2)


class _Weights:
  """Hugging Face tensors of one checkpoint, consumed by name; leftovers are an error."""

  def __init__(self, weights: Mapping[str, np.ndarray], base_prefix: str, path: str):
    self.path = path
    self.base_prefix = base_prefix
    self.tensors = dict(weights)

  def has(self, name: str) -> bool:
    return name in self.tensors or self.base_prefix + name in self.tensors

  def take(self, name: str) -> np.ndarray:
    for key in (self.base_prefix + name, name):
      if key in self.tensors:
        return self.tensors.pop(key)
    raise KeyError(f"{self.path}: weight {self.base_prefix + name!r} is missing")

  def check_consumed(self):
    left = [
      k for k in self.tensors if not k.removeprefix(self.base_prefix).startswith(_SKIPPED_PREFIXES)
    ]
    if left:
      raise ValueError(f"{self.path}: weights not used by the model: {sorted(left)}")


def _assign(param: nnx.Param, value: np.ndarray, name: str, path: str):
  if tuple(param.shape) != tuple(value.shape):
    raise ValueError(
      f"{path}: weight {name!r} has shape {value.shape}, the config implies {tuple(param.shape)}"
    )
  param[...] = jnp.asarray(value, param.dtype)


def _load_encoder_weights(encoder: Encoder, w: _Weights):
  c = encoder.config
  e, n, h = c.hidden_size, c.num_heads, c.head_dim
  emb = encoder.embeddings

  def norm(prefix):
    # Old BERT checkpoints name the layer-norm parameters gamma/beta.
    scale = w.take(prefix + ".weight") if w.has(prefix + ".weight") else w.take(prefix + ".gamma")
    bias = w.take(prefix + ".bias") if w.has(prefix + ".bias") else w.take(prefix + ".beta")
    return scale, bias

  _assign(emb.word, w.take("embeddings.word_embeddings.weight"), "word_embeddings", w.path)
  _assign(
    emb.position, w.take("embeddings.position_embeddings.weight"), "position_embeddings", w.path
  )
  _assign(
    emb.token_type,
    w.take("embeddings.token_type_embeddings.weight"),
    "token_type_embeddings",
    w.path,
  )
  scale, bias = norm("embeddings.LayerNorm")
  _assign(emb.norm_scale, scale, "embeddings.LayerNorm", w.path)
  _assign(emb.norm_bias, bias, "embeddings.LayerNorm", w.path)

  stacked = {name: [] for name in encoder.layers.arrays()}
  for i in range(c.num_layers):
    p = f"encoder.layer.{i}."
    qkv = [
      w.take(p + f"attention.self.{k}.weight").T.reshape(e, n, h) for k in ("query", "key", "value")
    ]
    stacked["qkv_kernel"].append(np.stack(qkv, axis=1))  # [embed, 3, heads, kv]
    stacked["qkv_bias"].append(
      np.stack(
        [w.take(p + f"attention.self.{k}.bias").reshape(n, h) for k in ("query", "key", "value")]
      )
    )
    stacked["attn_out_kernel"].append(
      w.take(p + "attention.output.dense.weight").T.reshape(n, h, e)
    )
    stacked["attn_out_bias"].append(w.take(p + "attention.output.dense.bias"))
    scale, bias = norm(p + "attention.output.LayerNorm")
    stacked["attn_norm_scale"].append(scale)
    stacked["attn_norm_bias"].append(bias)
    stacked["mlp_in_kernel"].append(w.take(p + "intermediate.dense.weight").T)
    stacked["mlp_in_bias"].append(w.take(p + "intermediate.dense.bias"))
    stacked["mlp_out_kernel"].append(w.take(p + "output.dense.weight").T)
    stacked["mlp_out_bias"].append(w.take(p + "output.dense.bias"))
    scale, bias = norm(p + "output.LayerNorm")
    stacked["mlp_norm_scale"].append(scale)
    stacked["mlp_norm_bias"].append(bias)
  for name, values in stacked.items():
    _assign(getattr(encoder.layers, name), np.stack(values), f"encoder.layer.*.{name}", w.path)

  if c.with_pooler and w.has("pooler.dense.weight"):
    _assign(encoder.pooler_kernel, w.take("pooler.dense.weight").T, "pooler.dense", w.path)
    _assign(encoder.pooler_bias, w.take("pooler.dense.bias"), "pooler.dense", w.path)
  elif c.with_pooler:
    logging.warning(
      "%s: no pooler.dense weights; pooler_kernel and pooler_bias are freshly initialised", w.path
    )


def _load_dense(dense: heads_lib.Dense, w: _Weights, name: str):
  _assign(dense.kernel, w.take(name + ".weight").T, name, w.path)
  _assign(dense.bias, w.take(name + ".bias"), name, w.path)


def _load_head(
  head_name: str, config: EncoderConfig, hf_config: Mapping, w: _Weights, rngs: nnx.Rngs
) -> nnx.Module:
  rate = hf_config.get("classifier_dropout")
  if head_name in ("sequence_classification", "regression"):
    if head_name == "regression":
      head = heads_lib.RegressionHead(config, dropout_rate=rate, rngs=rngs)
    else:
      head = heads_lib.SequenceClassificationHead(
        config, _num_labels(hf_config), dropout_rate=rate, rngs=rngs
      )
    if head.dense is None:
      _load_dense(head.out, w, "classifier")
    else:
      _load_dense(head.dense, w, "classifier.dense")
      _load_dense(head.out, w, "classifier.out_proj")
  elif head_name == "multiple_choice":
    head = heads_lib.MultipleChoiceHead(config, dropout_rate=rate, rngs=rngs)
    _load_dense(head.out, w, "classifier")
  else:
    head = heads_lib.SpanHead(config, rngs=rngs)
    _load_dense(head.out, w, "qa_outputs")
  return head


def load_hf_model(
  path: str, *, with_pooler: bool | None = None, seed: int = 0, **config_overrides
) -> tuple[Encoder, EncoderConfig, dict[str, nnx.Module]]:
  """Loads a Hugging Face directory as (encoder, config, {head name: head}).

  Head names: 'sequence_classification', 'regression', 'multiple_choice',
  'question_answering'; the dict is empty for encoder-only architectures.
  `with_pooler=None` keeps a pooler exactly when the checkpoint or its task head has one;
  True adds a freshly initialised one when the checkpoint lacks it (as Hugging Face does).
  `config_overrides` set EncoderConfig fields such as dtype or dropout rates.
  """
  path = os.fspath(path)
  hf_config = _read_config(path)
  _, head_name = _architecture(hf_config, path)
  w = _Weights(read_hf_weights(path), _PREFIXES[hf_config["model_type"]], path)
  if with_pooler is None:
    pooled_head = head_name is not None and head_kinds.for_hf_name(head_name).hf_uses_pooler(
      hf_config["model_type"]
    )
    with_pooler = w.has("pooler.dense.weight") or pooled_head
  config = EncoderConfig.from_hf_config(hf_config, with_pooler=with_pooler, **config_overrides)
  rngs = nnx.Rngs(params=seed)
  encoder = Encoder(config, rngs=rngs)
  _load_encoder_weights(encoder, w)
  heads = {}
  if head_name is not None:
    heads[head_name] = _load_head(head_name, config, hf_config, w, rngs)
  w.check_consumed()
  return encoder, config, heads


def load_hf_encoder(path: str, **kwargs) -> tuple[Encoder, EncoderConfig]:
  """Loads the encoder of a Hugging Face directory (any task head is left out)."""
  encoder, config, _ = load_hf_model(path, **kwargs)
  return encoder, config


# ----------------------------------------------------------------------------- writing


def _dense_to_hf(dense: heads_lib.Dense, name: str) -> dict[str, np.ndarray]:
  return {
    name + ".weight": np.asarray(dense.kernel[...]).T,
    name + ".bias": np.asarray(dense.bias[...]),
  }


def _encoder_to_hf(encoder: Encoder, with_pooler: bool) -> dict[str, np.ndarray]:
  c = encoder.config
  e = c.hidden_size
  a = lambda x: np.asarray(x[...])
  emb = encoder.embeddings
  out = {
    "embeddings.word_embeddings.weight": a(emb.word),
    "embeddings.position_embeddings.weight": a(emb.position),
    "embeddings.token_type_embeddings.weight": a(emb.token_type),
    "embeddings.LayerNorm.weight": a(emb.norm_scale),
    "embeddings.LayerNorm.bias": a(emb.norm_bias),
  }
  layers = {name: np.asarray(value) for name, value in encoder.layers.arrays().items()}
  for i in range(c.num_layers):
    p = f"encoder.layer.{i}."
    for j, k in enumerate(("query", "key", "value")):
      out[p + f"attention.self.{k}.weight"] = layers["qkv_kernel"][i][:, j].reshape(e, e).T
      out[p + f"attention.self.{k}.bias"] = layers["qkv_bias"][i][j].reshape(e)
    out[p + "attention.output.dense.weight"] = layers["attn_out_kernel"][i].reshape(e, e).T
    out[p + "attention.output.dense.bias"] = layers["attn_out_bias"][i]
    out[p + "attention.output.LayerNorm.weight"] = layers["attn_norm_scale"][i]
    out[p + "attention.output.LayerNorm.bias"] = layers["attn_norm_bias"][i]
    out[p + "intermediate.dense.weight"] = layers["mlp_in_kernel"][i].T
    out[p + "intermediate.dense.bias"] = layers["mlp_in_bias"][i]
    out[p + "output.dense.weight"] = layers["mlp_out_kernel"][i].T
    out[p + "output.dense.bias"] = layers["mlp_out_bias"][i]
    out[p + "output.LayerNorm.weight"] = layers["mlp_norm_scale"][i]
    out[p + "output.LayerNorm.bias"] = layers["mlp_norm_bias"][i]
  if with_pooler:
    out["pooler.dense.weight"] = a(encoder.pooler_kernel).T
    out["pooler.dense.bias"] = a(encoder.pooler_bias)
  return out


def save_hf_encoder(
  encoder: Encoder, config: EncoderConfig, path: str, heads: Mapping[str, nnx.Module] | None = None
):
  """Writes config.json + model.safetensors that transformers loads to the same outputs.

  Without heads the directory is a `*Model`; with one head it is the matching
  `*ForSequenceClassification` / `*ForMultipleChoice` / `*ForQuestionAnswering`. A Hugging
  Face directory holds at most one task head.
  """
  from safetensors.numpy import save_file

  heads = dict(heads or {})
  if len(heads) > 1:
    raise ValueError(f"a Hugging Face directory holds one task head, got {sorted(heads)}")
  class_prefix = _CLASS_PREFIX[config.model_type]
  hf_config = config.to_hf_config()
  tensors: dict[str, np.ndarray] = {}
  if not heads:
    architecture = class_prefix + "Model"
    tensors.update(_encoder_to_hf(encoder, config.with_pooler))
  else:
    (head,) = heads.values()
    kind = head_kinds.of_module(head)
    name = kind.hf_name
    if getattr(head, "pooling", "first") != "first":
      raise ValueError(
        f"a {head.pooling}-pooled {name} head has no transformers class (theirs read the "
        "first token); export the encoder alone or start from the training workdir"
      )
    architecture = class_prefix + kind.hf_suffix
    # Only the classes that use the pooler have one (BertFor*, RobertaForMultipleChoice).
    base = _encoder_to_hf(encoder, config.with_pooler and kind.hf_uses_pooler(config.model_type))
    tensors.update({_PREFIXES[config.model_type] + k: v for k, v in base.items()})
    if name in ("sequence_classification", "regression"):
      if head.dense is None:
        tensors.update(_dense_to_hf(head.out, "classifier"))
      else:
        tensors.update(_dense_to_hf(head.dense, "classifier.dense"))
        tensors.update(_dense_to_hf(head.out, "classifier.out_proj"))
      hf_config["id2label"] = {str(i): f"LABEL_{i}" for i in range(head.num_labels)}
      hf_config["label2id"] = {f"LABEL_{i}": i for i in range(head.num_labels)}
      hf_config["classifier_dropout"] = head.dropout.rate
      if name == "regression":
        hf_config["problem_type"] = "regression"
    elif name == "multiple_choice":
      tensors.update(_dense_to_hf(head.out, "classifier"))
      hf_config["classifier_dropout"] = head.dropout.rate
    else:
      tensors.update(_dense_to_hf(head.out, "qa_outputs"))
  hf_config["architectures"] = [architecture]
  hf_config["dtype"] = config.param_dtype
  os.makedirs(path, exist_ok=True)
  with open(os.path.join(path, "config.json"), "w") as f:
    json.dump(hf_config, f, indent=2, sort_keys=True)
  save_file(
    {k: np.ascontiguousarray(v) for k, v in tensors.items()},
    os.path.join(path, "model.safetensors"),
    metadata={"format": "pt"},
  )


# ----------------------------------------------------------------------------- orbax


class EncoderWithHeads(nnx.Module):
  """An encoder and its named heads as one module, the unit an orbax checkpoint holds."""

  def __init__(self, encoder: Encoder, heads: Mapping[str, nnx.Module]):
    self.encoder = encoder
    self.heads = nnx.Dict(dict(heads))


def _model_spec(config: EncoderConfig, heads: Mapping[str, nnx.Module]) -> dict:
  return {
    "encoder_config": dataclasses.asdict(config),
    "heads": {name: head_kinds.module_spec(head) for name, head in heads.items()},
  }


def save_orbax(
  path: str, encoder: Encoder, config: EncoderConfig, heads: Mapping[str, nnx.Module] | None = None
):
  """Writes the parameters (StandardSave of nnx.state) and a JSON spec to rebuild them."""
  import orbax.checkpoint as ocp

  heads = dict(heads or {})
  state = nnx.state(EncoderWithHeads(encoder, heads), nnx.Param)
  with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as checkpointer:
    checkpointer.save(
      os.path.abspath(path),
      args=ocp.args.Composite(
        params=ocp.args.StandardSave(state), spec=ocp.args.JsonSave(_model_spec(config, heads))
      ),
    )


def restore_orbax(
  path: str, *, seed: int = 0
) -> tuple[Encoder, EncoderConfig, dict[str, nnx.Module]]:
  """Reads a checkpoint written by `save_orbax` as (encoder, config, heads)."""
  import orbax.checkpoint as ocp

  path = os.path.abspath(path)
  with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as checkpointer:
    spec = checkpointer.restore(path, args=ocp.args.Composite(spec=ocp.args.JsonRestore()))["spec"]
    config = EncoderConfig(**spec["encoder_config"])
    rngs = nnx.Rngs(params=seed)
    model = EncoderWithHeads(
      Encoder(config, rngs=rngs),
      {
        name: head_kinds.build_module(config, head_spec, rngs=rngs)
        for name, head_spec in spec["heads"].items()
      },
    )
    target = nnx.state(model, nnx.Param)
    params = checkpointer.restore(
      path, args=ocp.args.Composite(params=ocp.args.StandardRestore(target))
    )["params"]
  nnx.update(model, params)
  return model.encoder, config, dict(model.heads)


# A Hugging Face directory's tokenizer files, copied beside each exported head.
_TOKENIZER_FILES = (
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "vocab.txt",
  "sentencepiece.bpe.model",
)


def export_heads(
  encoder: Encoder,
  config: EncoderConfig,
  heads: Mapping[str, nnx.Module],
  directory: str,
  tokenizer_dir: str,
) -> list[str]:
  """``DIRECTORY/NAME`` per head: encoder + that head (`save_hf_encoder`) + the tokenizer's
  files, so every head of a multi-task model is loadable by transformers."""
  paths = []
  for name, head in heads.items():
    path = os.path.join(directory, name)
    save_hf_encoder(encoder, config, path, heads={name: head})
    _copy_tokenizer(tokenizer_dir, path)
    paths.append(path)
  return paths


def _copy_tokenizer(tokenizer_dir: str, path: str) -> None:
  for file_name in _TOKENIZER_FILES:
    if os.path.isfile(os.path.join(tokenizer_dir, file_name)):
      shutil.copy(os.path.join(tokenizer_dir, file_name), path)


# Head kind -> the transformers head name its BART / mBART class carries ('generation': the
# generation class itself); multiple-choice and regression heads have no such class.
_SEQ2SEQ_EXPORTS = {
  "generation": None,
  "classification": "sequence_classification",
  "span": "question_answering",
}


def export_seq2seq_heads(model, names, directory: str, tokenizer_dir: str) -> list[str]:
  """``DIRECTORY/NAME`` per named head of a ``Seq2SeqMultiTaskModel``: the generation class
  for a 'generation' head, `*ForSequenceClassification` / `*ForQuestionAnswering` for
  classification and span heads (BART, mBART), each with the tokenizer's files. Heads no
  transformers class carries (multiple choice, regression, T5's task heads) are logged and
  stay in the checkpoint."""
  paths = []
  kinds = {spec.name: spec.kind for spec in model.head_specs}
  for name in names:
    kind = kinds[name]
    bart = model.config.model_type in ("bart", "mbart")
    if kind not in _SEQ2SEQ_EXPORTS or (kind != "generation" and not bart):
      logging.warning(
        "export: head %r (%s) has no transformers %s class; it is kept in the checkpoint only",
        name,
        kind,
        model.config.model_type,
      )
      continue
    head = None if kind == "generation" else (_SEQ2SEQ_EXPORTS[kind], model.heads[name])
    path = os.path.join(directory, name)
    save_hf_seq2seq(model.seq2seq, path, head)
    _copy_tokenizer(tokenizer_dir, path)
    paths.append(path)
  return paths


# ----------------------------------------------------------------------------- seq2seq


def load_hf_seq2seq(path: str, **kwargs):
  """Loads a BART / mBART / T5 / mT5 directory as (model, config); `models/hf_seq2seq.py`."""
  from mrc_jax.models import hf_seq2seq  # imported here: it reads files through this module

  return hf_seq2seq.load(path, **kwargs)


def load_hf_seq2seq_with_heads(path: str, **kwargs):
  """(model, config, {head name: head}) of a seq2seq directory; `models/hf_seq2seq.py`."""
  from mrc_jax.models import hf_seq2seq

  return hf_seq2seq.load_with_heads(path, **kwargs)


def save_hf_seq2seq(model, path: str, head=None):
  """Writes a seq2seq model (and optionally one task head) as a directory its transformers
  class loads; `models/hf_seq2seq.py`."""
  from mrc_jax.models import hf_seq2seq

  hf_seq2seq.save(model, path, head)


def is_seq2seq_dir(path: str) -> bool:
  """Whether a Hugging Face directory holds an encoder-decoder (BART, mBART, T5, mT5)."""
  return _read_config(path).get("model_type") in seq2seq_lib.MODEL_TYPES
