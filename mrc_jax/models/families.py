"""The two model families a run can train, told apart by their config's ``model_type``:
encoders (:class:`EncoderConfig`: BERT, RoBERTa, XLM-R) under
:class:`~mrc_jax.models.multitask.MultiTaskModel` and encoder-decoders
(:class:`Seq2SeqConfig`: BART, mBART, T5, mT5) under
:class:`~mrc_jax.models.seq2seq_multitask.Seq2SeqMultiTaskModel`.

Everything that builds a model from a config or a config from its JSON or Hugging Face form
goes through here, so the trainer, evaluation and workdir restores agree on the family.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence, Union

from flax import nnx

from mrc_jax.models import encoder as encoder_lib
from mrc_jax.models import hf, hf_seq2seq
from mrc_jax.models import seq2seq as seq2seq_lib
from mrc_jax.models.encoder import EncoderConfig
from mrc_jax.models.multitask import HeadSpec, MultiTaskModel
from mrc_jax.models.seq2seq import Seq2SeqConfig
from mrc_jax.models.seq2seq_multitask import Seq2SeqMultiTaskModel

ModelConfig = Union[EncoderConfig, Seq2SeqConfig]


def is_seq2seq(config: ModelConfig) -> bool:
  return isinstance(config, Seq2SeqConfig)


def config_class(model_type: str) -> type:
  if model_type in seq2seq_lib.MODEL_TYPES:
    return Seq2SeqConfig
  if model_type in encoder_lib.MODEL_TYPES:
    return EncoderConfig
  raise ValueError(
    f"model_type {model_type!r} is neither an encoder {encoder_lib.MODEL_TYPES} nor an "
    f"encoder-decoder {seq2seq_lib.MODEL_TYPES}"
  )


def from_fields(fields: Mapping[str, Any]) -> ModelConfig:
  """The config of ``fields`` (``config.model`` or a run specification's JSON form)."""
  return config_class(fields.get("model_type", "bert"))(**fields)


def to_fields(config: ModelConfig) -> dict:
  return dataclasses.asdict(config)


def from_hf_dir(path: str, **runtime) -> ModelConfig:
  """The config of a Hugging Face directory, as its loader builds it; ``runtime`` fields
  (dtypes, dropout, layer unrolling) apply where the family has them."""
  hf_config = hf._read_config(path)
  cls = config_class(hf_config.get("model_type"))
  names = {f.name for f in dataclasses.fields(cls)}
  runtime = {k: v for k, v in runtime.items() if k in names}
  if cls is Seq2SeqConfig:  # its untied LM head shows in the weights, not in config.json
    return hf_seq2seq.read_config(path, **runtime)
  return cls.from_hf_config(hf_config, **runtime)


def hidden_size(config: ModelConfig) -> int:
  return config.d_model if is_seq2seq(config) else config.hidden_size


def build(config: ModelConfig, head_specs: Sequence[HeadSpec], *, rngs: nnx.Rngs) -> nnx.Module:
  """The multi-task model of ``config``'s family with the heads of ``head_specs``."""
  if is_seq2seq(config):
    return Seq2SeqMultiTaskModel(config, head_specs, rngs=rngs)
  return MultiTaskModel(config, head_specs, rngs=rngs)
