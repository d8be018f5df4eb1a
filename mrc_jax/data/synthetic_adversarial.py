"""Adversarial training pools over the built-in data: ``synthetic.LANG.ATTACK``.

The AdvRACE recipe adds perturbed copies of training examples to the training set. For the
synthetic multiple-choice tasks the registry serves, per (kind, language, attack), a finite
pool of ``POOL_SIZE`` examples perturbed by ``mrc_jax.perturb``, named by the contract's
``DATASET.LANG.ATTACK`` convention. The pool is drawn with a different generator seed from
the clean training stream, so it holds different passages; every split serves the same pool.
"""

from __future__ import annotations

import itertools
from typing import Iterator

from mrc_jax.data import synthetic

# Generator seed of the pools (the clean stream uses the run's seed).
POOL_SEED = 1
POOL_SIZE = 2000
PERTURB_SEED = 0
SOURCE = "built in: mrc_jax.data.synthetic examples perturbed by mrc_jax.perturb"


def pool(kind: str, lang: str, attack: str, size: int = POOL_SIZE) -> list[dict]:
  """``size`` synthetic multiple-choice examples of ``lang`` perturbed by ``attack``."""
  from mrc_jax import perturb  # imported when a pool is read: clean tasks never need it

  name = f"{synthetic.task_name(kind, lang)}.{attack}"
  clean = itertools.islice(synthetic.examples(kind, lang, "train", seed=POOL_SEED), size)
  return [
    {**example, "task": name, "id": f"{name}-{example['id']}"}
    for example in perturb.perturb_examples(clean, attack, lang, PERTURB_SEED)
  ]


def read(
  kind: str, lang: str, attack: str, split, data_dir, strict, report, seed
) -> Iterator[dict]:
  """A task reader (``tasks.Reader``): the pool, under every split name."""
  del split, data_dir, strict, report, seed  # procedural: no files, nothing to skip
  yield from pool(kind, lang, attack)
