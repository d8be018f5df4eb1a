"""Which cells a validity report measures, and the report itself (Markdown and JSON).

By default: every XQuAD language present in the data directory with every attack on span
examples, and the XCOPA and EXAMS languages present with the attacks on options.
"""

from __future__ import annotations

import json
from typing import Callable, Iterable, Sequence

from mrc_jax.data import catalog
from mrc_jax.perturb import registry
from mrc_jax.perturb.core import parse_chain
from mrc_jax.perturb.validity import (
  Cell,
  encoder_missing,
  sample,
  validity_embedder,
  validity_markdown,
  validity_rows,
)

SPAN_DATASETS = ("xquad",)
CHOICE_DATASETS = ("xcopa", "exams")
SPLIT_PREFERENCE = ("validation", "test", "train")
DEFAULT_MAX_EXAMPLES = 100

# load(task, split) -> the clean unified examples of that split.
Load = Callable[[str, str], Iterable[dict]]


def present_tasks(datasets: Sequence[str], data_dir: str) -> list[str]:
  """Clean tasks of `datasets` whose files are under `data_dir`, in catalog order."""
  return [
    name
    for name, task in catalog.file_tasks().items()
    if task.dataset in datasets and task.present_splits(data_dir)
  ]


def default_attacks(kind: str) -> list[str]:
  """Span tasks: every attack on span examples; choice tasks: the attacks on options."""
  if kind == "span":
    return [a for a in registry.list_attacks() if "span" in registry.get(a).kinds]
  return [a for a in registry.list_attacks() if registry.get(a).kinds == ("choice",)]


def default_plan(data_dir: str) -> list[tuple[str, list[str]]]:
  """(task, attacks) for every shared span and multiple-choice task."""
  return [(t, default_attacks("span")) for t in present_tasks(SPAN_DATASETS, data_dir)] + [
    (t, default_attacks("choice")) for t in present_tasks(CHOICE_DATASETS, data_dir)
  ]


def split_of(task: str, data_dir: str, split: str | None = None) -> str:
  """`split`, else the task's validation split, else its test or train split."""
  present = catalog.file_tasks()[task].present_splits(data_dir)
  if split:
    return split
  if not present:
    raise FileNotFoundError(f"task {task}: no split present under {data_dir}")
  return next(s for s in SPLIT_PREFERENCE if s in present)


def build_cells(
  plan: Sequence[tuple[str, Sequence[str]]],
  load: Load,
  data_dir: str,
  *,
  max_examples: int | None = DEFAULT_MAX_EXAMPLES,
  seed: int = 0,
  split: str | None = None,
  params: dict | None = None,
) -> list[Cell]:
  """One cell per (task, attack): `max_examples` examples spread over the task's split."""
  for _, attacks in plan:  # a misspelt attack fails before any data is read
    for attack in attacks:
      parse_chain(attack)
  cells = []
  for task, attacks in plan:
    examples = sample(load(task, split_of(task, data_dir, split)), max_examples)
    lang = catalog.file_tasks()[task].lang
    cells += [Cell(task, lang, examples, a, seed, dict(params or {})) for a in attacks]
  return cells


def check_params(cells: Sequence[Cell]) -> None:
  """Each parameter must be one that some attack of the report declares."""
  declared = {k for c in cells for spec in parse_chain(c.attack) for k in spec.params}
  unknown = {k for c in cells for k in c.params} - declared
  if unknown:
    raise ValueError(f"no attack of this report takes parameter(s) {sorted(unknown)}")


def report(
  cells: Sequence[Cell],
  encoder: str | None = None,
  embed: bool = True,
  cos_examples: int | None = None,
) -> tuple[list[dict], str]:
  """(rows, markdown): the validity rows and their table; cosines need the encoder
  checkpoint, and the table says so when it is missing."""
  check_params(cells)
  lacking = encoder_missing(encoder) if embed else ["cosines not requested"]
  embedder = None if lacking else validity_embedder(encoder)
  rows = validity_rows(cells, embedder, cos_examples)
  markdown = validity_markdown(rows)
  if lacking:
    markdown += f"\nNo cosines (n/a): {lacking[0]}.\n"
  return rows, markdown


def write(rows: Sequence[dict], markdown: str, out: str) -> str:
  """Write `out` (Markdown) and the rows next to it as JSON; returns the JSON path."""
  json_path = (out[: -len(".md")] if out.endswith(".md") else out) + ".json"
  with open(out, "w", encoding="utf-8") as f:
    f.write(markdown)
  with open(json_path, "w", encoding="utf-8") as f:
    json.dump(list(rows), f, ensure_ascii=False, indent=1)
  return json_path
