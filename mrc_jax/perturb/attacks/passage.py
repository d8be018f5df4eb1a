"""distractor_passage: an unrelated passage of the same dataset and language is added to the
context."""

from __future__ import annotations

import unicodedata

from mrc_jax.perturb.registry import FULL, PerturbationError, Support, register

SEPARATOR = "\n"


@register(
  "distractor_passage",
  advrace="none (long-context distraction)",
  description="append or prepend (placement=append|prepend|random) another passage of "
  "the same dataset and language that does not contain the gold answer",
  params={"placement": "random"},
  support=lambda lang: Support(FULL, ""),
  needs_pool=True,
)
def distractor_passage(example, step):
  pool = step.params.get("pool")
  if not pool:
    raise PerturbationError(
      "distractor_passage draws another passage of the dataset: call perturb_examples, "
      "or pass pool=[passages] to perturb"
    )
  context = example["context"]
  # Casefolded: "War" must not come back as "a war that lasted" in the inserted passage.
  gold = [a["text"].casefold() for a in example.get("answers", [])]
  order = list(range(len(pool)))
  step.rng.shuffle(order)
  passage = None
  for index in order:  # the first passage, in seeded order, that is usable
    candidate = unicodedata.normalize("NFC", pool[index])
    folded = candidate.casefold()
    if candidate != context and candidate.strip() and not any(g in folded for g in gold):
      passage = candidate
      break
  if passage is None:
    step.notes.append("no other passage without the gold answer in the pool: unchanged")
    return example
  placement = step.params["placement"]
  if placement == "random":
    placement = step.rng.choice(["append", "prepend"])
  if placement == "prepend":
    example["context"] = passage + SEPARATOR + context
    for answer in example.get("answers", []):
      answer["start"] += len(passage) + len(SEPARATOR)
    step.edit("context", 0, 0, "", passage, "prepend passage")
  elif placement == "append":
    example["context"] = context + SEPARATOR + passage
    step.edit("context", len(context), len(context), "", passage, "append passage")
  else:
    raise PerturbationError(
      f"distractor_passage: placement must be append, prepend or random, got {placement!r}"
    )
  return example
