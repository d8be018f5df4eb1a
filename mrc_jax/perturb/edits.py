"""Applying non-overlapping span replacements to text and moving answer offsets with them."""

from __future__ import annotations

Replacement = tuple[int, int, str]  # (start, end, new text); start == end inserts


def replace_spans(text: str, replacements: list[Replacement]) -> str:
  """`text` with each [start, end) replaced; replacements must not overlap."""
  parts, position = [], 0
  for start, end, new in sorted(replacements, key=lambda r: (r[0], r[1])):
    if start < position:
      raise ValueError(f"overlapping replacements at {start}")
    parts += [text[position:start], new]
    position = end
  parts.append(text[position:])
  return "".join(parts)


def shift_offset(offset: int, replacements: list[Replacement]) -> int:
  """Where `offset` lands after the replacements (those ending at or before it move it)."""
  return offset + sum(len(new) - (end - start) for start, end, new in replacements if end <= offset)


def overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
  """Whether [start, end) touches the inside of any span (insertions at its edges do not)."""
  return any(start < b and a < end or a < start < b for a, b in spans)
