"""The head-kind table: for each kind of task head, everything any part of the code needs to
know about it, in one place.

A kind (``HeadSpec.kind``) names its module class on an encoder (:mod:`mrc_jax.models.heads`)
and how it is made on an encoder-decoder (:mod:`mrc_jax.models.seq2seq_heads`), the
example kind it serves (``schema.example_kind``), its Hugging Face name and class suffix
and whether that class carries the encoder's pooler, its training loss and correctness,
R3F's divergence between clean and noised outputs and how evaluation decodes it. Adding a
head kind is one :class:`HeadKind` entry (and its module).

The 'generation' kind is the encoder-decoder's own language-model head: it has no module
of its own and no encoder form; its output is the decoder's logits over each example's row
with that row's labels.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from mrc_jax.models import heads as heads_lib
from mrc_jax.models import seq2seq_heads
from mrc_jax.models import teacher_forcing

_NEG = -1e9  # score of a padding choice slot (finite, so KL and softmax stay finite)


def cross_entropy(logits: jax.Array, label: jax.Array) -> jax.Array:
  """``-log softmax(logits)[label]``; labels out of range (other heads' slots) clip."""
  label = jnp.clip(label, 0, logits.shape[-1] - 1)
  logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
  return -jnp.take_along_axis(logp, label[..., None], axis=-1)[..., 0]


def masked_choices(scores: jax.Array, choice_mask: jax.Array) -> jax.Array:
  """Choice scores ``[E, C]`` with padding slots pushed out of the softmax."""
  return jnp.where(choice_mask > 0, scores.astype(jnp.float32), _NEG)


def symmetric_kl(p_logits: jax.Array, q_logits: jax.Array) -> jax.Array:
  """``KL(p||q) + KL(q||p)`` over the last axis."""
  logp = jax.nn.log_softmax(p_logits.astype(jnp.float32), -1)
  logq = jax.nn.log_softmax(q_logits.astype(jnp.float32), -1)
  return jnp.sum((jnp.exp(logp) - jnp.exp(logq)) * (logp - logq), -1)


# --- Losses (each: output, batch -> loss [E], correct [E]) ------------------------------


def _classification_loss(logits, batch):
  label = batch["label"]
  return cross_entropy(logits, label), jnp.argmax(logits, -1) == label


def _choice_loss(scores, batch):
  scores = masked_choices(scores, batch["choice_mask"])
  return cross_entropy(scores, batch["label"]), jnp.argmax(scores, -1) == batch["label"]


def _span_loss(output, batch):
  start, end = output  # each [E, L]
  loss = 0.5 * (cross_entropy(start, batch["span_start"]) + cross_entropy(end, batch["span_end"]))
  correct = (jnp.argmax(start, -1) == batch["span_start"]) & (
    jnp.argmax(end, -1) == batch["span_end"]
  )
  return loss, correct


def _regression_loss(prediction, batch):
  error = prediction.astype(jnp.float32) - batch["target"]
  return error * error, jnp.abs(error) < 0.5


def _generation_loss(output, batch):
  """Mean token cross-entropy of each example's target; correct when every target token is
  the argmax under teacher forcing."""
  del batch
  logits, labels = output  # [E, T, V], [E, T]
  losses, mask = teacher_forcing.token_losses(logits, labels)  # [E, T] each
  loss = losses.sum(-1) / jnp.maximum(mask.sum(-1), 1.0)
  right = (jnp.argmax(logits, -1) == labels) | (mask == 0)
  return loss, jnp.all(right, -1)


# --- R3F divergences (each: clean output, noised output, batch -> [E]) ------------------


def _classification_divergence(a, b, batch):
  del batch
  return symmetric_kl(a, b)


def _choice_divergence(a, b, batch):
  return symmetric_kl(
    masked_choices(a, batch["choice_mask"]), masked_choices(b, batch["choice_mask"])
  )


def _span_divergence(a, b, batch):
  del batch
  return 0.5 * (symmetric_kl(a[0], b[0]) + symmetric_kl(a[1], b[1]))


def _regression_divergence(a, b, batch):
  del batch
  return jnp.square(a.astype(jnp.float32) - b.astype(jnp.float32))


def _generation_divergence(a, b, batch):
  del batch
  (a_logits, labels), (b_logits, _) = a, b
  mask = (labels != teacher_forcing.IGNORE).astype(jnp.float32)  # [E, T]
  return (symmetric_kl(a_logits, b_logits) * mask).sum(-1) / jnp.maximum(mask.sum(-1), 1.0)


@dataclasses.dataclass(frozen=True)
class HeadKind:
  """One kind of task head (the fields are documented in the module docstring)."""

  name: str
  module: type | None  # on an encoder; None: no encoder form
  # (Seq2SeqConfig, HeadSpec, rngs) -> the head on an encoder-decoder; None: no module.
  seq2seq_make: Callable | None
  example_kind: str
  hf_name: str
  hf_suffix: str
  # Whether transformers' class for this kind has the encoder's pooler, by model_type.
  hf_uses_pooler: Callable[[str], bool]
  loss: Callable
  divergence: Callable
  # "argmax" (of class logits or masked choice scores), "span" (best start/end pair), or
  # None: the robustness evaluation has no step for it.
  decoding: str | None

  def make(self, config, spec, *, rngs: nnx.Rngs) -> nnx.Module:
    """A fresh head of ``spec`` (a ``HeadSpec`` of this kind) on an encoder."""
    if self.module is None:
      raise ValueError(f"head {spec.name!r}: a {self.name} head needs an encoder-decoder model")
    if self.name == "classification":
      return self.module(config, spec.num_labels, pooling=spec.pooling, rngs=rngs)
    if self.name == "span":
      return self.module(config, rngs=rngs)
    return self.module(config, pooling=spec.pooling, rngs=rngs)


def _bert_only(model_type: str) -> bool:
  return model_type == "bert"


KINDS = {
  kind.name: kind
  for kind in (
    HeadKind(
      "classification",
      heads_lib.SequenceClassificationHead,
      lambda config, spec, rngs: seq2seq_heads.Seq2SeqClassificationHead(
        config, spec.num_labels, rngs=rngs
      ),
      "classification",
      hf_name="sequence_classification",
      hf_suffix="ForSequenceClassification",
      hf_uses_pooler=_bert_only,
      loss=_classification_loss,
      divergence=_classification_divergence,
      decoding="argmax",
    ),
    HeadKind(
      "multiple_choice",
      heads_lib.MultipleChoiceHead,
      # One score per choice: the classification head with a single output, as
      # *ForMultipleChoice classes put one linear output on each choice's pooled state.
      lambda config, spec, rngs: seq2seq_heads.Seq2SeqClassificationHead(config, 1, rngs=rngs),
      "choice",
      hf_name="multiple_choice",
      hf_suffix="ForMultipleChoice",
      hf_uses_pooler=lambda model_type: True,
      loss=_choice_loss,
      divergence=_choice_divergence,
      decoding="argmax",
    ),
    HeadKind(
      "span",
      heads_lib.SpanHead,
      lambda config, spec, rngs: seq2seq_heads.Seq2SeqSpanHead(config, rngs=rngs),
      "span",
      hf_name="question_answering",
      hf_suffix="ForQuestionAnswering",
      hf_uses_pooler=lambda model_type: False,
      loss=_span_loss,
      divergence=_span_divergence,
      decoding="span",
    ),
    HeadKind(
      "regression",
      heads_lib.RegressionHead,
      lambda config, spec, rngs: seq2seq_heads.Seq2SeqClassificationHead(config, 1, rngs=rngs),
      "regression",
      hf_name="regression",
      hf_suffix="ForSequenceClassification",
      hf_uses_pooler=_bert_only,
      loss=_regression_loss,
      divergence=_regression_divergence,
      decoding=None,
    ),
    HeadKind(
      "generation",
      None,
      None,
      "generation",
      hf_name="generation",
      hf_suffix="ForConditionalGeneration",
      hf_uses_pooler=lambda model_type: False,
      loss=_generation_loss,
      divergence=_generation_divergence,
      decoding=None,
    ),
  )
}


def get(name: str) -> HeadKind:
  if name not in KINDS:
    raise ValueError(f"head kind {name!r} is not one of {tuple(KINDS)}")
  return KINDS[name]


def of_module(head: nnx.Module) -> HeadKind:
  """The kind of a head module (its exact class: RegressionHead is not classification)."""
  for kind in KINDS.values():
    if type(head) is kind.module:
      return kind
  raise TypeError(f"unknown head type {type(head).__name__}")


def for_example_kind(example_kind: str) -> HeadKind:
  """The head kind that serves examples of ``schema.example_kind`` ``example_kind``."""
  for kind in KINDS.values():
    if kind.example_kind == example_kind:
      return kind
  raise ValueError(f"no head kind serves {example_kind!r} examples")


def for_hf_name(hf_name: str) -> HeadKind:
  """The kind of a Hugging Face head name ('sequence_classification', ...)."""
  for kind in KINDS.values():
    if kind.hf_name == hf_name:
      return kind
  raise ValueError(f"no head kind has the Hugging Face name {hf_name!r}")


def module_spec(head: nnx.Module) -> dict:
  """The JSON-serialisable constructor arguments that rebuild ``head`` (:func:`build_module`)."""
  kind = of_module(head)
  spec = {"kind": kind.module.__name__}
  if kind.name == "classification":
    spec["num_labels"] = head.num_labels
  if kind.name != "span":
    spec.update(dropout_rate=head.dropout.rate, pooling=head.pooling)
  return spec


def build_module(config, spec: dict, *, rngs: nnx.Rngs) -> nnx.Module:
  """A freshly initialised head from a :func:`module_spec` dict."""
  kwargs = dict(spec)
  name = kwargs.pop("kind")
  classes = {kind.module.__name__: kind.module for kind in KINDS.values() if kind.module}
  if name not in classes:
    raise ValueError(f"unknown head class {name!r}; known: {sorted(classes)}")
  return classes[name](config, **kwargs, rngs=rngs)
