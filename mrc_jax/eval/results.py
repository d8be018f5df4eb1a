"""Per-example evaluation results of one (task, language, attack) cell, and their JSONL I/O."""

from __future__ import annotations

import dataclasses
import json
import pathlib
from collections.abc import Iterable, Sequence

import numpy as np

CLEAN = "clean"
# Metrics whose per-example values are 0/1, so "correct" and flip rates are defined.
BINARY_METRICS = ("accuracy", "exact_match")


@dataclasses.dataclass
class CellResult:
  """Predictions of one evaluation cell: task (dataset) x language x attack.

  `scores` maps each metric name to its per-example values in [0, 1] ([n] float64, in
  the order of `ids`); the first metric is the cell's primary one and decides `correct`
  in the predictions file.
  """

  task: str
  lang: str
  attack: str
  ids: list[str]
  predicted: list
  gold: list
  scores: dict[str, np.ndarray]
  # SQuAD v2.0 cells: per example, null score minus best span score (evaluate-v2.0.py's
  # na_prob; "" was predicted where it exceeds the threshold); None for other cells.
  na_probs: list[float] | None = None

  def __post_init__(self):
    n = len(self.ids)
    if len(set(self.ids)) != n:
      duplicates = sorted({i for i in self.ids if self.ids.count(i) > 1})[:5]
      raise ValueError(f"{self.key}: duplicate example ids {duplicates}")
    if len(self.predicted) != n or len(self.gold) != n:
      raise ValueError(
        f"{self.key}: {n} ids, {len(self.predicted)} predictions, {len(self.gold)} golds"
      )
    if not self.scores:
      raise ValueError(f"{self.key}: no metric scores")
    self.scores = {
      name: np.asarray(values, dtype=np.float64) for name, values in self.scores.items()
    }
    for name, values in self.scores.items():
      if values.shape != (n,):
        raise ValueError(f"{self.key}: metric {name} has shape {values.shape}, want ({n},)")
    if self.na_probs is not None and len(self.na_probs) != n:
      raise ValueError(f"{self.key}: {n} ids but {len(self.na_probs)} na_probs")

  @property
  def key(self) -> tuple[str, str, str]:
    return (self.task, self.lang, self.attack)

  def correct(self) -> np.ndarray:
    """[n] bool: exact correctness (accuracy, or exact match for spans)."""
    binary = [name for name in self.scores if name in BINARY_METRICS]
    if not binary:
      raise ValueError(f"{self.key}: no binary metric among {list(self.scores)}")
    return self.scores[binary[0]] > 0.5

  def records(self) -> Iterable[dict]:
    """One JSON-serialisable dict per example, for error analysis."""
    correct = self.correct()
    for index, example_id in enumerate(self.ids):
      record = {
        "id": example_id,
        "task": self.task,
        "lang": self.lang,
        "attack": self.attack,
        "predicted": _plain(self.predicted[index]),
        "gold": _plain(self.gold[index]),
        "correct": bool(correct[index]),
      }
      record.update({name: float(values[index]) for name, values in self.scores.items()})
      if self.na_probs is not None:
        record["na_prob"] = float(self.na_probs[index])
      yield record


def _plain(value):
  """numpy scalars and arrays to JSON-native values."""
  if isinstance(value, np.generic):
    return value.item()
  if isinstance(value, np.ndarray):
    return value.tolist()
  return value


def evaluation_path(path: str | pathlib.Path) -> pathlib.Path:
  """The file beside a predictions file that says which evaluation made them."""
  path = pathlib.Path(path)
  return path.with_name(path.stem + ".evaluation.json")


def write_predictions(
  cells: Sequence[CellResult], path: str | pathlib.Path, evaluation: dict | None = None
) -> None:
  """Per-example predictions of every cell, one JSON object per line.

  `evaluation` (the settings that decided them and their fingerprint) goes to
  `evaluation_path(path)`, written last, so a file of predictions never sits beside the
  description of an earlier evaluation.
  """
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  evaluation_path(path).unlink(missing_ok=True)
  with path.open("w", encoding="utf-8") as handle:
    for cell in cells:
      for record in cell.records():
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
  if evaluation is not None:
    evaluation_path(path).write_text(json.dumps(evaluation, indent=1, sort_keys=True))


def read_evaluation(path: str | pathlib.Path) -> dict | None:
  """What `write_predictions` recorded about the evaluation of a predictions file."""
  source = evaluation_path(path)
  return json.loads(source.read_text()) if source.is_file() else None


def read_predictions(path: str | pathlib.Path) -> list[CellResult]:
  """Inverse of `write_predictions`: cells in first-seen order."""
  path = pathlib.Path(path)
  grouped: dict[tuple[str, str, str], list[dict]] = {}
  with path.open(encoding="utf-8") as handle:
    for line_number, line in enumerate(handle, start=1):
      try:
        record = json.loads(line)
        key = (record["task"], record["lang"], record["attack"])
      except (json.JSONDecodeError, KeyError) as error:
        raise ValueError(f"{path}:{line_number}: bad prediction record ({error})") from error
      grouped.setdefault(key, []).append(record)
  cells = []
  reserved = {"id", "task", "lang", "attack", "predicted", "gold", "correct", "na_prob"}
  for (task, lang, attack), records in grouped.items():
    metric_names = [name for name in records[0] if name not in reserved]
    cells.append(
      CellResult(
        task=task,
        lang=lang,
        attack=attack,
        ids=[r["id"] for r in records],
        predicted=[r["predicted"] for r in records],
        gold=[r["gold"] for r in records],
        scores={name: [r[name] for r in records] for name in metric_names},
        na_probs=[r["na_prob"] for r in records] if "na_prob" in records[0] else None,
      )
    )
  return cells
