"""File-level helpers shared by the readers: JSON / JSONL / tar.gz parsing and the
strict-or-lenient conversion loop that turns raw records into validated examples."""

from __future__ import annotations

import json
import tarfile
from typing import Any, Callable, Iterable, Iterator

from mrc_jax.data.schema import DataError, FieldError, Quirk, Skip, SkipReport, validate_example


# Upstream releases hold a few questions with two options of the same text (EXAMS, DREAM):
# kept as they are (the label stays the file's) and counted.
DUPLICATE_OPTIONS = "options: two options have the same text"


class _UnparsableLine:
  """Stands in for a JSONL line that is not valid JSON, so lenient mode can skip it."""

  def __init__(self, error: json.JSONDecodeError):
    self.error = error


def read_json(path: str) -> Any:
  """One JSON document; a truncated or invalid file is an error naming the position. A
  leading UTF-8 byte order mark is dropped."""
  with open(path, encoding="utf-8-sig") as f:
    text = f.read()
  try:
    return json.loads(text)
  except json.JSONDecodeError as e:
    raise DataError(
      path,
      None,
      "<file>",
      f"not valid JSON (truncated?) at line {e.lineno} column {e.colno}: {e.msg}",
    ) from None


def parse_jsonl_lines(lines: Iterable[str]) -> Iterator[tuple[str, Any]]:
  """(``line N``, record) per non-blank line; unparsable lines come as _UnparsableLine.

  ``lines`` must be split at line feeds only (JSON Lines): strings may hold U+2028 /
  U+2029, which ``str.splitlines()`` treats as line ends, and JSON whitespace may hold a
  lone carriage return, where universal newlines split; either cuts a record in two.
  """
  for number, line in enumerate(lines, start=1):
    line = line.removesuffix("\n").removesuffix("\r")
    if not line.strip():
      continue
    try:
      yield f"line {number}", json.loads(line)
    except json.JSONDecodeError as e:
      yield f"line {number}", _UnparsableLine(e)


def read_jsonl(path: str) -> Iterator[tuple[str, Any]]:
  # Lines end at "\n" only; a leading UTF-8 byte order mark is dropped.
  with open(path, encoding="utf-8-sig", newline="\n") as f:
    yield from parse_jsonl_lines(f)


def read_jsonl_tar_gz(path: str) -> Iterator[tuple[str, Any]]:
  """The JSONL members of an EXAMS-style ``.jsonl.tar.gz`` archive, in archive order."""
  try:
    with tarfile.open(path, "r:gz") as archive:
      members = [m for m in archive.getmembers() if m.isfile()]
      if not members:
        raise DataError(path, None, "<file>", "archive holds no file")
      for member in members:
        text = archive.extractfile(member).read().decode("utf-8-sig")
        for line_id, record in parse_jsonl_lines(text.split("\n")):
          yield f"{member.name} {line_id}", record
  except (tarfile.TarError, EOFError, OSError) as e:
    raise DataError(path, None, "<file>", f"not a readable .tar.gz archive: {e}") from None


def record_id_of(record: Any, fallback: str, key: str = "id") -> str:
  if isinstance(record, dict) and isinstance(record.get(key), (str, int)):
    return str(record[key])
  return fallback


def field(record: Any, name: str, kind: type | tuple[type, ...] = str) -> Any:
  """``record[name]`` checked for presence and type (FieldError otherwise)."""
  if isinstance(record, _UnparsableLine):
    raise FieldError("<json>", f"line is not valid JSON: {record.error.msg}")
  if not isinstance(record, dict):
    raise FieldError("<record>", f"expected a JSON object, got {type(record).__name__}")
  if name not in record:
    raise FieldError(name, "is missing")
  value = record[name]
  if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
    raise FieldError(name, f"expected {getattr(kind, '__name__', kind)}, got {value!r:.80}")
  return value


def passage(record: Any, name: str) -> str:
  """The passage field ``record[name]``: a string that is not blank (FieldError otherwise)."""
  value = field(record, name)
  if not value.strip():
    raise FieldError(name, "is empty (the passage of the question)")
  return value


def convert_records(
  path: str,
  records: Iterable[tuple[str, Any]],
  convert: Callable[[str, Any], dict | None],
  *,
  strict: bool,
  report: SkipReport,
  num_classes: int | None = None,
  unique_ids: bool = True,
) -> Iterator[dict]:
  """Validated examples from raw records.

  ``convert(record_id, record)`` returns an example (or None for a record the format says
  to leave out, e.g. another language in a multilingual file) and raises FieldError on bad
  input, or Skip for a record an upstream quirk leaves without a usable example (counted
  in ``report.quirks`` in both modes). Fields it corrected are listed as reasons in
  ``meta["corrections"]`` and counted there too, as are examples with two options of the
  same text (kept). Strict mode raises DataError(path,
  record id, field); lenient mode counts the record in ``report.errors`` and goes on. An
  example id already yielded from this file is a bad record (field ``id``): the later one
  is refused, never silently merged with the first (``unique_ids=False`` keeps both).
  """
  seen: dict[str, str] = {}  # example id -> record id of its first occurrence
  for fallback_id, record in records:
    record_id = record_id_of(record, fallback_id)
    try:
      example = convert(record_id, record)
      if example is None:
        continue
      validate_example(example, num_classes)
      if unique_ids and example["id"] in seen:
        raise FieldError("id", f"{example['id']!r} repeats record {seen[example['id']]!r}")
    except Skip as e:
      report.add_quirk(Quirk(str(path), record_id, "left out", e.reason))
      continue
    except FieldError as e:
      error = DataError(path, record_id, e.field, e.problem)
      if strict:
        raise error from None
      report.add(error)
      continue
    seen[example["id"]] = record_id
    for reason in example["meta"].get("corrections", ()):
      report.add_quirk(Quirk(str(path), record_id, "corrected", reason))
    options = [option.strip() for option in example.get("options", ())]
    if len(set(options)) < len(options):
      report.add_quirk(Quirk(str(path), record_id, "kept", DUPLICATE_OPTIONS))
    yield example
