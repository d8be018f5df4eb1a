"""The unified example every reader produces, its validation, and bad-input reporting.

Multiple choice / classification:
    {"id", "task", "lang", "context", "question", "options": [str], "label": int, "meta": {...}}
    (classification: ``options`` is empty and ``label`` is the class; sentence pairs put the
    first sentence in ``context`` and the second in ``question``; regression adds a float
    ``"target"`` and sets ``label`` to 0).
Extractive QA:
    {"id", "task", "lang", "context", "question", "answers": [{"text", "start"}], "meta": {...}}
Generation (summarization, distractor generation; an encoder-decoder's decoder target):
    {"id", "task", "lang", "context", "question", "target_text": str, "meta": {...}}

``label == -1`` means the gold label is missing or withheld (public test sets without keys).
Such examples load, but evaluation refuses them through :func:`require_labels` instead of
scoring them as wrong. A record upstream flags as having no valid answer (EXAMS answerKey
'@') is left out by its reader and counted in :class:`SkipReport` instead.
"""

from __future__ import annotations

import collections
import dataclasses
import sys
from typing import Any, Iterable, Iterator, Mapping

MISSING_LABEL = -1


class FieldError(ValueError):
  """A problem with one field of one record (the reader adds file and record id)."""

  def __init__(self, field: str, problem: str):
    super().__init__(f"field {field!r}: {problem}")
    self.field = field
    self.problem = problem


class DataError(ValueError):
  """Bad input, located by file, record id and field."""

  def __init__(self, path: str, record_id: str | None, field: str, problem: str):
    super().__init__(f"{path}: record {record_id!r}, field {field!r}: {problem}")
    self.path = str(path)
    self.record_id = record_id
    self.field = field
    self.problem = problem


class Skip(Exception):
  """A record an upstream quirk makes us leave out in both modes (not an error)."""

  def __init__(self, reason: str):
    super().__init__(reason)
    self.reason = reason


@dataclasses.dataclass(frozen=True)
class Quirk:
  """One record an upstream quirk made us leave out or correct."""

  path: str
  record_id: str
  action: str  # "left out" | "corrected" | "kept" (flagged, unchanged)
  reason: str


@dataclasses.dataclass
class SkipReport:
  """Records skipped or corrected while reading; nothing is dropped without being counted here.

  ``errors`` are bad records skipped in lenient mode; ``quirks`` are records an upstream
  quirk made us leave out (e.g. EXAMS answerKey '@'), correct (XCOPA relations) or keep
  flagged (two options with the same text), in both modes.
  """

  errors: list[DataError] = dataclasses.field(default_factory=list)
  quirks: list[Quirk] = dataclasses.field(default_factory=list)

  @property
  def skipped(self) -> int:
    """Bad records skipped in lenient mode."""
    return len(self.errors)

  @property
  def left_out(self) -> int:
    return sum(q.action == "left out" for q in self.quirks)

  def add(self, error: DataError) -> None:
    self.errors.append(error)

  def add_quirk(self, quirk: Quirk) -> None:
    self.quirks.append(quirk)

  def quirk_counts(self, action: str | None = None) -> collections.Counter:
    """(path, action, reason) -> number of records, optionally for one action."""
    return collections.Counter(
      (q.path, q.action, q.reason) for q in self.quirks if action is None or q.action == action
    )

  def counts(self) -> dict[str, Any]:
    """JSON-ready totals for an evaluation report:
    ``{"bad records": N, "left out": {reason: N}, "corrected": {reason: N},
    "kept": {reason: N}}``."""
    totals = {"bad records": self.skipped, "left out": {}, "corrected": {}, "kept": {}}
    for q in self.quirks:
      totals[q.action][q.reason] = totals[q.action].get(q.reason, 0) + 1
    return totals

  def mark(self) -> tuple[int, int]:
    return len(self.errors), len(self.quirks)

  def since(self, mark: tuple[int, int]) -> "SkipReport":
    """What was added after ``mark()`` (one read's share of a report shared by several)."""
    return SkipReport(self.errors[mark[0] :], self.quirks[mark[1] :])

  def summary(self, what: str) -> str:
    lines = [f"{what}: skipped {self.skipped} bad record(s)"]
    if self.quirks:
      actions = collections.Counter(q.action for q in self.quirks)
      lines[0] += "; upstream quirks: " + ", ".join(
        f"{action} {actions[action]}" for action in ("left out", "corrected", "kept")
      )
    lines += [f"  {e}" for e in self.errors[:20]]
    if self.skipped > 20:
      lines.append(f"  ... and {self.skipped - 20} more")
    for (path, action, reason), count in sorted(self.quirk_counts().items()):
      lines.append(f"  {action} {count} record(s) ({reason}): {path}")
    return "\n".join(lines)

  def print_summary(self, what: str) -> None:
    print(self.summary(what), file=sys.stderr)


def example_kind(example: Mapping[str, Any]) -> str:
  """'span', 'generation' (a target text), 'regression', 'choice' (options present) or
  'classification'."""
  if "answers" in example:
    return "span"
  if "target_text" in example:
    return "generation"
  if "target" in example:
    return "regression"
  return "choice" if example.get("options") else "classification"


def _require_str(example: Mapping[str, Any], field: str, allow_empty: bool = True) -> None:
  value = example.get(field)
  if not isinstance(value, str):
    raise FieldError(field, f"expected a string, got {type(value).__name__}")
  if not allow_empty and not value.strip():
    raise FieldError(field, "is empty")


def validate_example(example: Mapping[str, Any], num_classes: int | None = None) -> None:
  """Raise FieldError unless ``example`` follows the unified schema.

  ``num_classes`` bounds the label of classification examples (choices bound their own).
  """
  for field in ("id", "task", "lang"):
    _require_str(example, field, allow_empty=False)
  _require_str(example, "context")
  _require_str(example, "question")
  if not isinstance(example.get("meta", {}), dict):
    raise FieldError("meta", "expected a dict")
  kind = example_kind(example)
  if kind == "span":
    answers = example["answers"]
    if not isinstance(answers, list):
      raise FieldError("answers", "expected a list")
    context = example["context"]
    if not context.strip():
      raise FieldError("context", "is empty")
    for i, answer in enumerate(answers):
      text, start = answer.get("text"), answer.get("start")
      if not isinstance(text, str) or not text.strip():
        raise FieldError(f"answers[{i}].text", "is missing or empty")
      if not isinstance(start, int) or isinstance(start, bool):
        raise FieldError(f"answers[{i}].start", f"expected an int, got {start!r}")
      if context[start : start + len(text)] != text:
        raise FieldError(
          f"answers[{i}].start",
          f"answer {text!r} does not match the context at {start} "
          f"(context there: {context[start : start + len(text)]!r})",
        )
    return
  if kind == "generation":
    _require_str(example, "target_text", allow_empty=False)
    return
  label = example.get("label")
  if not isinstance(label, int) or isinstance(label, bool):
    raise FieldError("label", f"expected an int, got {label!r}")
  if kind == "regression":
    if not isinstance(example["target"], (int, float)):
      raise FieldError("target", f"expected a number, got {example['target']!r}")
    return
  options = example.get("options", [])
  if not isinstance(options, list):
    raise FieldError("options", "expected a list")
  for i, option in enumerate(options):
    if not isinstance(option, str) or not option.strip():
      raise FieldError(f"options[{i}]", "is missing or empty")
  bound = len(options) if options else num_classes
  if label != MISSING_LABEL and (label < 0 or (bound is not None and label >= bound)):
    raise FieldError("label", f"{label} is out of range [0, {bound})")


def is_labelled(example: Mapping[str, Any]) -> bool:
  kind = example_kind(example)
  if kind == "span":
    return not example.get("meta", {}).get("answers_withheld", False)
  if kind == "generation":
    return True  # validated: a target text is never empty
  return example.get("label", MISSING_LABEL) != MISSING_LABEL


def require_labels(examples: Iterable[Mapping[str, Any]], what: str) -> Iterator[Mapping[str, Any]]:
  """Pass examples through, refusing (ValueError) any without a gold label.

  Evaluation goes through this so that a split whose labels are withheld is an error, not
  a score of zero.
  """
  for example in examples:
    if not is_labelled(example):
      raise ValueError(
        f"{what}: example {example['id']!r} has no gold label "
        f"({example.get('meta', {}).get('label_missing', 'label withheld')}); "
        "refusing to evaluate on it"
      )
    yield example
