"""``load_examples(task, split, data_dir)``: unified examples of any registered task, and the
readers the registry (``tasks``) gives file-backed and Muppet tasks.

Perturbed tasks are ``CLEAN_TASK.ATTACK`` (``xquad.de.charswap``): the clean examples go
through ``mrc_jax.perturb.perturb_examples(examples, attack, lang, seed)`` with
``PERTURB_SEED`` unless a seed is given.
"""

from __future__ import annotations

import os
from typing import Iterator

from mrc_jax.data import catalog
from mrc_jax.data.schema import SkipReport

DATA_DIR_ENV = "MRC_JAX_DATA_DIR"
PERTURB_SEED = 0


def resolve_data_dir(data_dir: str | None) -> str:
  data_dir = data_dir or os.environ.get(DATA_DIR_ENV)
  if not data_dir:
    raise ValueError(
      f"no data directory: pass data_dir or set {DATA_DIR_ENV} (see docs/DATA.md for the layout)"
    )
  if not os.path.isdir(data_dir):
    raise FileNotFoundError(f"data directory {data_dir} does not exist")
  return data_dir


def load_examples(
  task: str,
  split: str | None = None,
  data_dir: str | None = None,
  *,
  strict: bool = True,
  report: SkipReport | None = None,
  seed: int = PERTURB_SEED,
) -> Iterator[dict]:
  """Yield the unified examples of ``task`` (any registered task: clean, perturbed,
  derived, synthetic or Muppet).

  ``split=None`` reads every split whose files are present (train, validation, test
  order). ``strict`` (default) raises DataError naming file, record id and field at the
  first bad record; ``strict=False`` skips bad records, counts them in ``report.errors``
  (a SkipReport, created if not given) and prints the count when reading ends. In both
  modes, records an upstream quirk leaves out or corrects (EXAMS answerKey '@', XCOPA
  relations; docs/DATA.md) are counted in ``report.quirks`` and printed: pass ``report=``
  to show them next to the scores.
  """
  from mrc_jax.data import tasks  # the registry is built on first use (it imports seqio)

  return tasks.get(task).examples(split, data_dir, strict=strict, report=report, seed=seed)


def file_reader(clean: catalog.CleanTask):
  """The registry's reader (``tasks.Reader``) of a file-backed task: split checks, a
  FileNotFoundError naming every missing file and where it comes from, then the records."""

  def read(split, data_dir, strict, report, seed) -> Iterator[dict]:
    del seed  # clean: nothing is perturbed
    data_dir = resolve_data_dir(data_dir)
    if split is None:
      splits = clean.present_splits(data_dir)
      if not splits:
        expected = sorted({p for paths in clean.files.values() for p in paths})
        raise FileNotFoundError(
          f"task {clean.name}: no split present under {data_dir}; expected "
          f"{', '.join(os.path.join(data_dir, p) for p in expected)}; get them from "
          f"{clean.source} (or run launch/prepare_data.py)"
        )
    else:
      if split not in clean.files:
        raise ValueError(f"task {clean.name} has no split {split!r}; it has {sorted(clean.files)}")
      splits = [split]
    for s in splits:
      catalog.files_for(clean, data_dir, s)
    mark = report.mark()
    for s in splits:
      yield from clean.read_split(data_dir, s, strict, report)
    read = report.since(mark)  # this read's share: a report may be shared by several reads
    if not strict or read.quirks:
      read.print_summary(f"{clean.name} ({', '.join(splits)})")

  return read


def muppet_reader(task: str):
  """The registry's reader of a Muppet dataset (TFDS / Hugging Face backed; muppet.py)."""

  def read(split, data_dir, strict, report, seed) -> Iterator[dict]:
    del seed
    from mrc_jax.data import muppet  # imported when read: the loaders pull in TFDS

    data_dir = resolve_data_dir(data_dir)
    for s in [split] if split else list(muppet.get_dataset(task).splits):
      yield from muppet.load_muppet_examples(task, s, data_dir, strict=strict, report=report)

  return read
