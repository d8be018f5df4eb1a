"""Belebele JSONL (``belebele/{FLORES_CODE}.jsonl``): link, question_number, flores_passage,
question, mc_answer1..4, correct_answer_num (1-based, a string), dialect, ds.

Upstream (github.com/facebookresearch/belebele, README "Formatting details"): a passage is
identified by ``link`` together with its FLORES ``split``, a question by the passage and
``question_number``; ``link#question_number`` alone may name two questions. Ids are
``link#split#question_number``, and files without a ``split`` field use a short hash of
``flores_passage`` in its place.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

from mrc_jax.data.schema import FieldError
from mrc_jax.data.sources.common import field, passage


def passage_key(record: Any) -> str:
  """The part of a passage's identity that ``link`` lacks: the FLORES split, else a hash."""
  if "split" in record:
    return field(record, "split")
  return hashlib.sha1(field(record, "flores_passage").encode("utf-8")).hexdigest()[:10]


def belebele_converter(task: str, lang: str, split: str) -> Callable[[str, Any], dict]:
  def convert(record_id: str, record: Any) -> dict:
    options = [field(record, f"mc_answer{i}") for i in range(1, 5)]
    answer = str(field(record, "correct_answer_num", (str, int))).strip()
    if answer not in ("1", "2", "3", "4"):
      raise FieldError("correct_answer_num", f"{answer!r} is not 1..4")
    link = field(record, "link")
    number = field(record, "question_number", (str, int))
    return {
      "id": f"{link}#{passage_key(record)}#{number}",
      "task": task,
      "lang": lang,
      "context": passage(record, "flores_passage"),
      "question": field(record, "question"),
      "options": options,
      "label": int(answer) - 1,
      "meta": {
        "split": split,
        "dialect": record.get("dialect", lang),
        "link": link,
        "question_number": number,
      },
    }

  return convert
