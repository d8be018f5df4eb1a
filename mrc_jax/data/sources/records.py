"""Record converters for TFDS / Hugging Face datasets: one raw record (a dict, bytes already
decoded to str) -> the fields of a unified example (without id/task/lang).

Each factory returns ``convert(record) -> dict``; bad records raise FieldError.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from mrc_jax.data.schema import FieldError
from mrc_jax.data.sources.common import field

Converter = Callable[[Mapping[str, Any]], dict]


def decode_record(record: Any) -> Any:
  """TFDS numpy records -> plain Python (bytes -> str, arrays -> lists)."""
  if isinstance(record, bytes):
    return record.decode("utf-8")
  if isinstance(record, Mapping):
    return {k: decode_record(v) for k, v in record.items()}
  if hasattr(record, "tolist"):
    return decode_record(record.tolist())
  if isinstance(record, (list, tuple)):
    return [decode_record(v) for v in record]
  return record


def _label(record, key: str, num_classes: int | None, names: Sequence[str] | None = None) -> int:
  value = record.get(key)
  if names is not None and isinstance(value, str):
    if value not in names:
      raise FieldError(key, f"{value!r} is not one of {list(names)}")
    value = names.index(value)
  if isinstance(value, str) and value.strip().lstrip("-").isdigit():
    value = int(value)
  if not isinstance(value, int) or isinstance(value, bool):
    raise FieldError(key, f"expected an int label, got {value!r}")
  if value < 0 or (num_classes is not None and value >= num_classes):
    raise FieldError(key, f"{value} is out of range [0, {num_classes})")
  return value


def classification(
  first: str,
  second: str | None = None,
  *,
  label: str = "label",
  num_classes: int,
  names: Sequence[str] | None = None,
  context_parts: Sequence[str] = (),
) -> Converter:
  """Single sentence or sentence pair -> ``context`` (+ ``question``), ``label``.

  ``context_parts`` prepends other fields (e.g. a title) to the first sentence.
  """

  def convert(record):
    context = " ".join([*(field(record, k) for k in context_parts), field(record, first)]).strip()
    question = field(record, second) if second else ""
    return {
      "context": context,
      "question": question,
      "options": [],
      "label": _label(record, label, num_classes, names),
      "meta": {},
    }

  return convert


def regression(first: str, second: str, *, target: str = "label") -> Converter:
  def convert(record):
    value = record.get(target)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
      raise FieldError(target, f"expected a number, got {value!r}")
    return {
      "context": field(record, first),
      "question": field(record, second),
      "options": [],
      "label": 0,
      "target": float(value),
      "meta": {},
    }

  return convert


def multiple_choice(
  context: str | None,
  question: str | None,
  options: Sequence[str] | str,
  *,
  label: str = "label",
  label_offset: int = 0,
  choice_text: str = "text",
  choice_labels: str | None = None,
) -> Converter:
  """``options`` names one field per option, or one field holding the options: a list of
  strings, or a column dict (``{"text": [...], "label": [...]}``) whose ``choice_text``
  holds the texts. With ``choice_labels`` the gold ``label`` is matched against that
  column (e.g. letters); otherwise it is an index (``label_offset`` = 1 for 1-based).
  """

  def convert(record):
    if isinstance(options, str):
      raw = field(record, options, (list, dict))
      texts = list(raw.get(choice_text) or []) if isinstance(raw, dict) else list(raw)
    else:
      raw, texts = None, [field(record, k) for k in options]
    if choice_labels is not None:
      keys = list(raw.get(choice_labels) or []) if isinstance(raw, dict) else []
      if record.get(label) not in keys:
        raise FieldError(label, f"{record.get(label)!r} is not one of {keys}")
      value = keys.index(record[label])
    else:
      value = _label(record, label, None) - label_offset
    if not 0 <= value < len(texts):
      raise FieldError(label, f"{value} is out of range [0, {len(texts)})")
    return {
      "context": field(record, context) if context else "",
      "question": field(record, question) if question else "",
      "options": texts,
      "label": value,
      "meta": {},
    }

  return convert


def span(
  context: str,
  question: str,
  answers: str,
  *,
  text_key: str = "text",
  start_key: str | None = "answer_start",
) -> Converter:
  """SQuAD-style answers: ``{"text": [...], "answer_start": [...]}`` or a list of dicts;
  without ``start_key`` the answer is located as its first occurrence in the context."""

  def convert(record):
    ctx = field(record, context)
    raw = field(record, answers, (dict, list))
    if isinstance(raw, dict):
      texts = raw.get(text_key) or []
      starts = raw.get(start_key) if start_key else None
    else:
      texts = [a[text_key] if isinstance(a, dict) else a for a in raw]
      starts = (
        [a[start_key] for a in raw] if start_key and raw and isinstance(raw[0], dict) else None
      )
    result = []
    for i, text in enumerate(texts):
      start = starts[i] if starts is not None else ctx.find(text)
      if start < 0:
        raise FieldError(f"{answers}[{i}]", f"answer {text!r} does not occur in the context")
      result.append({"text": text, "start": int(start)})
    return {
      "context": ctx,
      "question": field(record, question),
      "answers": result,
      "meta": {"is_impossible": True} if not result else {},
    }

  return convert


def summarization(document: str, summary: str) -> Converter:
  """Document -> context, reference summary -> ``target_text`` (a generation example)."""

  def convert(record):
    return {
      "context": field(record, document),
      "question": "",
      "target_text": field(record, summary),
    }

  return convert
