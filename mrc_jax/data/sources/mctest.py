r"""MCTest (``mc{160,500}.{train,dev,test}.{tsv,ans}``, as in the release's README.txt).

A ``.tsv`` line is one story: ``id <tab> properties <tab> story <tab> q1 .. q4`` with
``qN = question <tab> answer A <tab> B <tab> C <tab> D``; ``properties`` is a
semicolon-separated list of ``name: value`` pairs. Stories had their newlines and tabs
replaced by the two-character escapes ``\newline`` and ``\tab``, turned back here. Each
question starts with ``one: `` or ``multiple: `` (whether answering it needs one sentence of
the story or several); the prefix goes into ``meta["question_type"]``. The ``.ans`` file
has one line per story, in the same order, with the 4 gold letters tab-separated (the
released test ``.ans`` files end their lines with CRLF).

Example ids are ``{story id}#{question index}`` (``mc160.dev.0#3``).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator

from mrc_jax.data.schema import DataError, FieldError

QUESTIONS = 4
LETTERS = "ABCD"
COLUMNS = 3 + QUESTIONS * (1 + len(LETTERS))
ESCAPES = (("\\newline", "\n"), ("\\tab", "\t"))
QUESTION_TYPES = ("one", "multiple")


def _lines(path: str) -> list[str]:
  with open(path, encoding="utf-8-sig", newline="") as f:  # a byte order mark is dropped
    return [line.removesuffix("\n").removesuffix("\r") for line in f]


def unescape(text: str) -> str:
  for escape, character in ESCAPES:
    text = text.replace(escape, character)
  return text


def iter_mctest_records(tsv_path: str, ans_path: str) -> Iterator[tuple[str, Any]]:
  """One record ``(id, (columns, answer line, .ans location, question index))`` per question."""
  stories = [(n, line) for n, line in enumerate(_lines(tsv_path), start=1) if line.strip()]
  answers = [line for line in _lines(ans_path) if line.strip()]
  if len(answers) > len(stories):
    raise DataError(
      ans_path,
      None,
      "<file>",
      f"{len(answers)} answer lines for {len(stories)} stories in {tsv_path}",
    )
  for position, (number, line) in enumerate(stories):
    columns = line.split("\t")
    story_id = columns[0] if columns[0].strip() else f"line {number}"
    answer_line = answers[position] if position < len(answers) else None
    where = f"{os.path.basename(ans_path)} line {position + 1}"
    count = QUESTIONS if len(columns) == COLUMNS else 1
    for q in range(count):
      yield f"{story_id}#{q}", (columns, answer_line, where, q)


def _properties(text: str) -> dict[str, str]:
  pairs = [part.partition(":") for part in text.split(";") if part.strip()]
  return {name.strip(): value.strip() for name, _, value in pairs}


def mctest_converter(task: str, split: str, subset: str) -> Callable[[str, Any], dict]:
  def convert(record_id: str, record: Any) -> dict:
    columns, answer_line, where, q = record
    if len(columns) != COLUMNS:
      raise FieldError("<columns>", f"expected {COLUMNS} tab-separated columns, got {len(columns)}")
    if answer_line is None:
      raise FieldError(where, "is missing (fewer answer lines than stories)")
    if not columns[2].strip():
      raise FieldError("story", "is empty (the passage of the question)")
    letters = answer_line.split("\t")
    if len(letters) != QUESTIONS:
      raise FieldError(
        where, f"expected {QUESTIONS} tab-separated letters, got {answer_line!r:.80}"
      )
    letter = letters[q].strip()
    if letter not in LETTERS:
      raise FieldError(f"{where} column {q + 1}", f"{letter!r} is not one of {', '.join(LETTERS)}")
    first = 3 + q * (1 + len(LETTERS))
    kind, separator, question = columns[first].partition(":")
    if not separator or kind not in QUESTION_TYPES:
      raise FieldError(
        f"q{q + 1}", f"question {columns[first]!r:.80} does not start with 'one:' or 'multiple:'"
      )
    return {
      "id": record_id,
      "task": task,
      "lang": "en",
      "context": unescape(columns[2]),
      "question": question.strip(),
      "options": columns[first + 1 : first + 1 + len(LETTERS)],
      "label": LETTERS.index(letter),
      "meta": {
        "split": split,
        "subset": subset,
        "story_id": columns[0],
        "question_type": kind,
        "properties": _properties(columns[1]),
      },
    }

  return convert
