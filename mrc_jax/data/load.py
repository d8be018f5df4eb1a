"""``load_examples(task, split, data_dir)``: unified examples of a clean or perturbed task
straight from its source files (no tokenisation).

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


def parse_task_name(task: str) -> tuple[catalog.CleanTask, str | None]:
  """(clean task, attack or None) for a clean or ``CLEAN.ATTACK`` task name."""
  tasks = catalog.clean_tasks()
  if task in tasks:
    return tasks[task], None
  base, _, attack = task.rpartition(".")
  if base in tasks:
    return tasks[base], attack
  return catalog.get_clean_task(task), None  # raises KeyError naming the datasets


def load_examples(
  task: str,
  split: str | None = None,
  data_dir: str | None = None,
  *,
  strict: bool = True,
  report: SkipReport | None = None,
  seed: int = PERTURB_SEED,
) -> Iterator[dict]:
  """Yield the unified examples of ``task`` (clean or perturbed).

  ``split=None`` reads every split whose files are present (train, validation, test
  order). ``strict`` (default) raises DataError naming file, record id and field at the
  first bad record; ``strict=False`` skips bad records, counts them in ``report.errors``
  (a SkipReport, created if not given) and prints the count when reading ends. In both
  modes, records an upstream quirk leaves out or corrects (EXAMS answerKey '@', XCOPA
  relations; docs/DATA.md) are counted in ``report.quirks`` and printed: pass ``report=``
  to show them next to the scores.
  """
  if task.startswith("muppet."):
    yield from _load_muppet(task, split, resolve_data_dir(data_dir), strict, report)
    return
  clean, attack = parse_task_name(task)
  data_dir = resolve_data_dir(data_dir)
  if split is None:
    splits = clean.present_splits(data_dir)
    if not splits:
      expected = sorted({p for paths in clean.files.values() for p in paths})
      raise FileNotFoundError(
        f"task {task}: no split present under {data_dir}; expected "
        f"{', '.join(os.path.join(data_dir, p) for p in expected)}; get them from "
        f"{clean.source} (or run launch/prepare_data.py)"
      )
  else:
    if split not in clean.files:
      raise ValueError(f"task {task} has no split {split!r}; it has {sorted(clean.files)}")
    splits = [split]
  for s in splits:
    catalog.files_for(clean, data_dir, s)
  report = report if report is not None else SkipReport()
  examples = _read_clean(clean, splits, data_dir, strict, report)
  if attack is not None:
    from mrc_jax import perturb  # imported here: clean tasks must not depend on it

    examples = _renamed(perturb.perturb_examples(examples, attack, clean.lang, seed), task)
  yield from examples


def _load_muppet(task, split, data_dir, strict, report) -> Iterator[dict]:
  from mrc_jax.data import muppet  # TFDS / Hugging Face backed; see muppet.py

  for s in [split] if split else list(muppet.get_dataset(task).splits):
    yield from muppet.load_muppet_examples(task, s, data_dir, strict=strict, report=report)


def _read_clean(clean, splits, data_dir, strict, report) -> Iterator[dict]:
  mark = report.mark()
  for s in splits:
    yield from clean.read_split(data_dir, s, strict, report)
  read = report.since(mark)  # this read's share: a report may be shared by several reads
  if not strict or read.quirks:
    read.print_summary(f"{clean.name} ({', '.join(splits)})")


def _renamed(examples, task: str) -> Iterator[dict]:
  for example in examples:
    yield {**example, "task": task}
