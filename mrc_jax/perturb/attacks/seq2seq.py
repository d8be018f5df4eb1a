"""Attacks that generate text with a sequence-to-sequence model (`perturb/seq2seq_model.py`).

- `dg` (AdvRACE's DG): a distractor generator reads the answer, the question and the
  passage and writes wrong options; its beams, best first, replace the wrong options
  after filtering (empty, equal to or containing the gold answer, equal to an option or an
  earlier beam). AdvRACE's generator was a UniLM trained on RACE distractors, decoded with
  50 beams and 20 tokens.
- `paraphrase` (AdvRACE's unused paraphrase set): the best beam that differs from the
  question replaces it.

Both are deterministic (beam search) and run batched: `perturb_examples` hands them
`batch_size` examples at a time. `dg_source` and `paraphrase_source` are the input
formats a generator is trained on; docs/ATTACKS.md says which public checkpoints to
start from.
"""

from __future__ import annotations

import re
import unicodedata

from mrc_jax.perturb.attacks.options import has_gold_label
from mrc_jax.perturb.registry import DEGRADED, PerturbationError, Support, register

DG_MODEL = "a distractor generator trained on RACE-format distractors"
PARAPHRASE_MODEL = "a question paraphraser"
_GENERATION_PARAMS = ("num_beams", "num_return_sequences", "max_new_tokens", "max_source_length")


class Seq2SeqCheckpointRequired(PerturbationError):
  """The attack ran without a usable seq2seq checkpoint."""


def dg_source(answer: str, question: str, context: str) -> str:
  """A distractor generator's input: the answer and question first, so truncation cuts
  the passage only."""
  return f"answer: {answer} question: {question} context: {context}"


def paraphrase_source(question: str) -> str:
  return f"paraphrase: {question}"


def _folded(text: str) -> str:
  """Case, width, spacing and outer punctuation folded, for comparing options."""
  text = unicodedata.normalize("NFKC", text).casefold()
  text = re.sub(r"\s+", " ", text).strip()
  return re.sub(r"^[\W_]+|[\W_]+$", "", text)


def same_option(a: str, b: str) -> bool:
  """Whether two options read the same once case, width, spacing and outer punctuation are
  folded (the dg filter's test, shared with the distractor-generation training data)."""
  return _folded(a) == _folded(b)


def _requirements(what: str):
  def requires(params):
    from mrc_jax.perturb.seq2seq_model import checkpoint_missing  # the model stack, when used

    return checkpoint_missing(params.get("checkpoint"), what)

  return requires


def _generate(sources: list[str], params: dict, attack: str, what: str) -> list[list[str]]:
  lacking = _requirements(what)(params)
  if lacking:
    raise Seq2SeqCheckpointRequired(f"{attack} needs {lacking[0]}")
  from mrc_jax.perturb.seq2seq_model import seq2seq_generator

  settings = {name: int(params[name]) for name in _GENERATION_PARAMS}
  settings["batch_size"] = int(params["batch_size"])
  return seq2seq_generator(str(params["checkpoint"]), **settings)(sources)


def _prepare_dg(examples, langs, params):
  wanted = [i for i, e in enumerate(examples) if has_gold_label(e)]
  sources = [
    dg_source(
      examples[i]["options"][examples[i]["label"]], examples[i]["question"], examples[i]["context"]
    )
    for i in wanted
  ]
  out = [None] * len(examples)
  for i, beams in zip(wanted, _generate(sources, params, "dg", DG_MODEL) if sources else []):
    out[i] = beams
  return out


def _prepare_paraphrase(examples, langs, params):
  return _generate(
    [paraphrase_source(e["question"]) for e in examples], params, "paraphrase", PARAPHRASE_MODEL
  )


def _support(what: str):
  # Never full without a checkpoint; with one, the languages are those of its model.
  def support(lang: str) -> Support:
    return Support(DEGRADED, f"needs checkpoint= ({what}) that reads and writes the language")

  return support


_COMMON = dict(checkpoint="", max_source_length=512, batch_size=8)


@register(
  "dg",
  advrace="DG",
  description="replace the wrong options with a seq2seq model's generated distractors",
  params=_COMMON | dict(num_beams=10, num_return_sequences=10, max_new_tokens=20),
  support=_support(DG_MODEL),
  kinds=("choice",),
  requires=_requirements(DG_MODEL),
  prepare=_prepare_dg,
)
def dg(example, step):
  if not has_gold_label(example):
    step.notes.append("no gold label: the wrong options are unknown, unchanged")
    return example
  options = list(example["options"])
  label = example["label"]
  gold = _folded(options[label])
  seen = {_folded(o) for o in options}
  chosen: list[str] = []
  for beam in step.prepared:
    folded = _folded(beam)
    if not folded or folded in seen or (gold and gold in folded):
      continue
    seen.add(folded)
    chosen.append(beam.strip())
  wanted = len(options) - 1
  if len(chosen) < wanted:
    step.notes.append(
      f"{wanted - len(chosen)} original distractor(s) kept: {len(chosen)} of "
      f"{len(step.prepared)} beams passed the filter"
    )
  replacements = iter(chosen)
  for i, old in enumerate(options):
    if i == label:
      continue
    new = next(replacements, None)
    if new is None:
      break
    options[i] = new
    step.edit(f"options[{i}]", 0, len(old), old, new, "generated distractor")
  example["options"] = options
  return example


@register(
  "paraphrase",
  advrace="paraphrase (unused set)",
  description="replace the question with a seq2seq model's paraphrase",
  params=_COMMON | dict(num_beams=5, num_return_sequences=5, max_new_tokens=64),
  support=_support(PARAPHRASE_MODEL),
  kinds=("span", "choice"),
  requires=_requirements(PARAPHRASE_MODEL),
  prepare=_prepare_paraphrase,
)
def paraphrase(example, step):
  question = example["question"]
  original = _folded(question)
  for beam in step.prepared:
    if _folded(beam) and _folded(beam) != original:
      new = beam.strip()
      step.edit("question", 0, len(question), question, new, "paraphrase")
      example["question"] = new
      return example
  step.notes.append(f"no beam of {len(step.prepared)} differs from the question: unchanged")
  return example
