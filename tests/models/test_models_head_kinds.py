"""The head-kind table: each kind's module, example kind, Hugging Face names and spec round
trip, looked up every way the code looks them up."""

import numpy as np
import pytest
from flax import nnx

from mrc_jax.models import head_kinds
from mrc_jax.models.multitask import HEAD_KINDS, HeadSpec, head_kind, make_head
from tests.train import helpers


ENCODER_KINDS = tuple(k for k, kind in head_kinds.KINDS.items() if kind.module is not None)


@pytest.mark.parametrize("name", ENCODER_KINDS)
def test_every_kind_builds_its_module_and_is_found_from_it(name):
  config = helpers.encoder_config(helpers.tiny_config())
  spec = HeadSpec(name, name, num_labels=3 if name == "classification" else 0)
  head = make_head(config, spec, rngs=nnx.Rngs(0))
  kind = head_kinds.get(name)
  assert type(head) is kind.module and head_kind(head) == name
  assert head_kinds.for_example_kind(kind.example_kind) is kind
  assert head_kinds.for_hf_name(kind.hf_name) is kind
  rebuilt = head_kinds.build_module(config, head_kinds.module_spec(head), rngs=nnx.Rngs(1))
  assert head_kinds.module_spec(rebuilt) == head_kinds.module_spec(head)
  assert type(rebuilt) is type(head)


def test_the_table_is_the_head_vocabulary():
  assert HEAD_KINDS == ("classification", "multiple_choice", "span", "regression", "generation")
  assert ENCODER_KINDS == HEAD_KINDS[:-1]  # generation is the encoder-decoder's LM head
  assert {k.example_kind for k in head_kinds.KINDS.values()} == {
    "classification",
    "choice",
    "span",
    "regression",
    "generation",
  }
  config = helpers.encoder_config(helpers.tiny_config())
  with pytest.raises(ValueError, match="a generation head needs an encoder-decoder"):
    make_head(config, HeadSpec("g", "generation"), rngs=nnx.Rngs(0))
  # Regression is classification's subclass, yet its own kind.
  assert head_kinds.get("regression").module.__mro__[1] is head_kinds.get("classification").module
  assert {k.name: k.hf_uses_pooler("bert") for k in head_kinds.KINDS.values()} == {
    "classification": True,
    "multiple_choice": True,
    "span": False,
    "regression": True,
    "generation": False,
  }
  assert not head_kinds.get("classification").hf_uses_pooler("xlm-roberta")
  with pytest.raises(ValueError, match="head kind 'ranking' is not one of"):
    head_kinds.get("ranking")
  with pytest.raises(ValueError, match="unknown head class 'RankingHead'"):
    head_kinds.build_module(None, {"kind": "RankingHead"}, rngs=nnx.Rngs(0))


def test_losses_and_divergences_by_kind():
  batch = dict(
    label=np.array([1, 0]),
    choice_mask=np.array([[1, 1, 0], [1, 1, 1]], np.float32),
    span_start=np.array([2, 0]),
    span_end=np.array([3, 0]),
    target=np.array([0.5, -1.0], np.float32),
  )
  scores = np.array([[0.0, 2.0, 50.0], [1.0, 0.0, 0.0]], np.float32)  # [E, C]
  loss, correct = head_kinds.get("multiple_choice").loss(scores, batch)
  # The padding choice's 50 is masked out of example 0's softmax.
  np.testing.assert_allclose(loss[0], -np.log(np.exp(2) / (1 + np.exp(2))), rtol=1e-5)
  assert list(np.asarray(correct)) == [True, True]
  loss, _ = head_kinds.get("regression").loss(np.array([1.0, -1.0], np.float32), batch)
  np.testing.assert_allclose(loss, [0.25, 0.0])
  same = head_kinds.get("span").divergence((scores, scores), (scores, scores), batch)
  np.testing.assert_allclose(same, 0.0, atol=1e-6)
