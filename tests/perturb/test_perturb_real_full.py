"""Whole XQuAD languages (1,190 questions each) under the AdvRACE attacks: the invariants are
checked in code on every example, and the change rate stays above 90%."""

import os

import pytest

from mrc_jax import perturb
from mrc_jax.data import load_examples

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.parametrize("attack", ["charswap", "addsent", "charswap|addsent"])
@pytest.mark.parametrize("lang", "ar de en es ru tr vi zh".split())
def test_full_language(lang, attack, data_dir):
  examples = list(load_examples(f"xquad.{lang}", data_dir=os.environ["MRC_JAX_DATA_DIR"]))
  outs = list(
    perturb.perturb_examples(examples, attack, lang, 7, scope="passage_keywords")
    if attack.startswith("charswap")
    else perturb.perturb_examples(examples, attack, lang, 7)
  )
  assert len(outs) == len(examples) == 1190
  changed = sum(all(r["changed"] for r in o["meta"]["perturbation"]) for o in outs)
  assert changed >= 0.9 * len(outs), f"{lang} {attack}: {changed} of {len(outs)} changed"
  for before, after in zip(examples, outs):
    for answer in after["answers"]:
      assert after["context"][answer["start"] :][: len(answer["text"])] == answer["text"]
