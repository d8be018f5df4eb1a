"""Adversarial training tasks over the built-in synthetic data: ``synthetic.LANG.ATTACK``.

The AdvRACE recipe adds perturbed copies of training examples to the training set. For the
synthetic tasks this module registers, per (language, attack), a finite pool of synthetic
multiple-choice examples (either choice kind of mrc_jax.data.synthetic) perturbed by
``mrc_jax.perturb`` as a data-catalog task named by the contract's ``DATASET.LANG.ATTACK``
convention, so the trainer reads it like any other task. The pool is drawn with a different
generator seed from the clean training stream, so it holds different passages. A helper of
the configs (not a config): the registration runs in whichever process loads a config that
calls :func:`register`.
"""

from __future__ import annotations

import itertools

from mrc_jax import perturb
from mrc_jax.data import catalog, synthetic

# Generator seed of the adversarial pools (the clean stream uses the run's seed).
POOL_SEED = 1
PERTURB_SEED = 0
SOURCE = "built in: mrc_jax.data.synthetic examples perturbed by mrc_jax.perturb"


def task_name(lang: str, attack: str, kind: str = "mc") -> str:
  """``synthetic.LANG.ATTACK`` (``synthetic_lookup.LANG.ATTACK`` for the lookup kind)."""
  return f"{synthetic.task_name(kind, lang)}.{attack}"


def pool(lang: str, attack: str, size: int, split: str = "train", kind: str = "mc") -> list[dict]:
  """``size`` synthetic multiple-choice examples of ``lang`` perturbed by ``attack``."""
  name = task_name(lang, attack, kind)
  clean = itertools.islice(synthetic.examples(kind, lang, split, seed=POOL_SEED), size)
  return [
    {**example, "task": name, "id": f"{name}-{example['id']}"}
    for example in perturb.perturb_examples(clean, attack, lang, PERTURB_SEED)
  ]


def _reader(lang: str, attack: str, size: int, kind: str):
  def read_split(data_dir, split, strict, report):
    del data_dir, strict, report  # Procedural: no files, nothing to skip.
    yield from pool(lang, attack, size, split, kind)

  return read_split


def register(lang: str, attacks, size: int, kind: str = "mc") -> tuple[str, ...]:
  """Registers ``task_name(lang, attack, kind)`` per attack (idempotent); returns the names."""
  if kind not in synthetic.CHOICE_KINDS:
    raise ValueError(f"kind {kind!r} is not a multiple-choice kind {synthetic.CHOICE_KINDS}")
  names = []
  for attack in attacks:
    perturb.require_runnable(attack)  # unknown or unrunnable attacks fail here, named
    name = task_name(lang, attack, kind)
    catalog.register_derived(
      catalog.CleanTask(
        name=name,
        dataset=synthetic.TASK_PREFIX[kind],
        lang=lang,
        kind="choice",
        files={"train": ()},
        source=SOURCE,
        read_split=_reader(lang, attack, size, kind),
        num_choices=synthetic.NUM_CHOICES,
      )
    )
    names.append(name)
  return tuple(names)
