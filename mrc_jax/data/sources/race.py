"""RACE: one JSON per passage, ``RACE/{train,dev,test}/{high,middle}/*.txt`` with ``article``,
``questions``, ``options`` (a 4-list per question), ``answers`` (letters), ``id``.

Example ids are ``RACE/test/high/1001.txt-0`` (file path from ``RACE/`` plus question index),
the ids AdvRACE uses, so clean and attacked examples pair up.
"""

from __future__ import annotations

import glob
import os
from typing import Any, Callable, Iterator

from mrc_jax.data.schema import FieldError
from mrc_jax.data.sources.common import field, read_json
from mrc_jax.data.sources.common import passage as passage_text

LETTERS = "ABCDEFGH"


def iter_race_records(
  race_dir: str, upstream_split: str, level: str
) -> Iterator[tuple[str, str, Any]]:
  """(path, passage id, parsed passage) for every file of one split and level, sorted."""
  pattern = os.path.join(race_dir, upstream_split, level, "*.txt")
  for path in sorted(glob.glob(pattern), key=_numeric_key):
    relative = os.path.relpath(path, os.path.dirname(race_dir.rstrip("/")))
    yield path, relative.replace(os.sep, "/"), read_json(path)


def _numeric_key(path: str) -> tuple:
  stem = os.path.splitext(os.path.basename(path))[0]
  return (0, int(stem), "") if stem.isdigit() else (1, 0, stem)


def race_passage_records(passage_id: str, passage: Any) -> Iterator[tuple[str, Any]]:
  """Split one passage into per-question records ``(id, (passage, question index))``."""
  questions = passage.get("questions") if isinstance(passage, dict) else None
  count = len(questions) if isinstance(questions, list) else 1
  for q in range(count):
    yield f"{passage_id}-{q}", (passage, q)


def race_converter(task: str, split: str, level: str) -> Callable[[str, Any], dict]:
  def convert(record_id: str, record: Any) -> dict:
    passage, q = record
    article = passage_text(passage, "article")
    questions = field(passage, "questions", list)
    all_options = field(passage, "options", list)
    answers = field(passage, "answers", list)
    if not (len(questions) == len(all_options) == len(answers)):
      raise FieldError(
        "questions/options/answers",
        f"lengths differ: {len(questions)}/{len(all_options)}/{len(answers)}",
      )
    options = all_options[q]
    if not isinstance(options, list):
      raise FieldError(f"options[{q}]", "expected a list")
    answer = answers[q]
    if not isinstance(answer, str) or answer not in LETTERS[: len(options)]:
      raise FieldError(f"answers[{q}]", f"{answer!r} is not a letter for {len(options)} options")
    return {
      "id": record_id,
      "task": task,
      "lang": "en",
      "context": article,
      "question": questions[q],
      "options": list(options),
      "label": LETTERS.index(answer),
      "meta": {"split": split, "level": level, "passage_id": passage.get("id")},
    }

  return convert
