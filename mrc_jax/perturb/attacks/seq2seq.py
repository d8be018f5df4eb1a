"""Attacks that generate text with a sequence-to-sequence model. They are registered so that
task names and the support table list them, and fail clearly until that model family exists."""

from __future__ import annotations

from mrc_jax.perturb.registry import UNSUPPORTED, PerturbationError, Support, register


class Seq2SeqCheckpointRequired(PerturbationError):
  """The attack needs a seq2seq checkpoint, which this project does not provide yet."""


def _checkpoint_missing(what: str):
  def requires(params):
    return [
      f"a seq2seq checkpoint ({what}): mrc_jax has no sequence-to-sequence model "
      "family yet, and this attack produces no output without one"
    ]

  return requires


def _needs_checkpoint(name: str, what: str):
  def apply(example, step):
    raise Seq2SeqCheckpointRequired(f"{name} needs " + _checkpoint_missing(what)({})[0])

  return apply


DG_MODEL = "a distractor generator trained on RACE"
PARAPHRASE_MODEL = "a paraphrase generator"
register(
  "dg",
  advrace="DG",
  description="generate new wrong options with a seq2seq model",
  params={},
  support=lambda lang: Support(UNSUPPORTED, "needs a seq2seq checkpoint"),
  requires=_checkpoint_missing(DG_MODEL),
)(_needs_checkpoint("dg", DG_MODEL))
register(
  "paraphrase",
  advrace="paraphrase (unused set)",
  description="paraphrase the question with a seq2seq model",
  params={},
  support=lambda lang: Support(UNSUPPORTED, "needs a seq2seq checkpoint"),
  requires=_checkpoint_missing(PARAPHRASE_MODEL),
)(_needs_checkpoint("paraphrase", PARAPHRASE_MODEL))
