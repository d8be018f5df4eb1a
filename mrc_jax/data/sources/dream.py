"""DREAM (github.com/nlpdata/dream) and C3 (github.com/nlpdata/c3): one JSON list per file,
each item ``[[passage lines], [{"question", "choice": [str], "answer"}], item id]``.

DREAM's lines are dialogue turns with their speaker prefix ("M: ...", "W: ..."); C3's are
the turns of a dialogue (``c3-d-*``) or the one document of a mixed-genre item
(``c3-m-*``). The passage is the lines joined by newlines. The gold answer is given as text:
the label is its position among the choices, and an answer that is not among them, or is
there more than once, leaves the label undefined (a bad record). DREAM has 3 choices per
question; C3 has 2 to 4.

Example ids are ``{item id}#{question index}``. C3's two files of a split reuse item ids
(dev: 26 ids are in both), so C3 ids carry the file's subset first: ``m/{item id}#{q}``,
``d/{item id}#{q}``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from mrc_jax.data.schema import DataError, FieldError
from mrc_jax.data.sources.common import read_json


def iter_items(path: str) -> Iterator[tuple[int, Any]]:
  """(position, item) for every item of a DREAM / C3 file."""
  document = read_json(path)
  if not isinstance(document, list):
    raise DataError(
      path, None, "<file>", f"expected a JSON list of items, got {type(document).__name__}"
    )
  yield from enumerate(document)


def question_records(path: str, id_prefix: str = "") -> Iterator[tuple[str, Any]]:
  """One record ``(id, (item, question index))`` per question of the file."""
  for position, item in iter_items(path):
    if not (
      isinstance(item, list)
      and len(item) == 3
      and isinstance(item[1], list)
      and isinstance(item[2], (str, int))
    ):
      yield f"{id_prefix}item {position}", (item, None)
      continue
    for q in range(len(item[1])):
      yield f"{id_prefix}{item[2]}#{q}", (item, q)


def dream_converter(task: str, lang: str, split: str, **meta: Any) -> Callable[[str, Any], dict]:
  """Converter for :func:`question_records`; ``meta`` goes into every example's meta."""

  def convert(record_id: str, record: Any) -> dict:
    item, q = record
    if q is None:
      raise FieldError("<item>", "expected [[passage lines], [questions], id]")
    lines, questions, item_id = item
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
      raise FieldError("[0]", "expected a list of passage lines (strings)")
    if not "".join(lines).strip():
      raise FieldError("[0]", "is empty (the passage of the question)")
    question = questions[q]
    where = f"[1][{q}]"
    if not isinstance(question, dict):
      raise FieldError(where, "expected a question object")
    for name in ("question", "choice", "answer"):
      if name not in question:
        raise FieldError(f"{where}.{name}", "is missing")
    choices, answer = question["choice"], question["answer"]
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
      raise FieldError(f"{where}.choice", "expected a list of strings")
    if not isinstance(question["question"], str):
      raise FieldError(f"{where}.question", "expected a string")
    if choices.count(answer) != 1:
      found = "not among" if answer not in choices else f"{choices.count(answer)} times in"
      raise FieldError(f"{where}.answer", f"{answer!r:.80} is {found} the choices {choices!r:.200}")
    return {
      "id": record_id,
      "task": task,
      "lang": lang,
      "context": "\n".join(lines),
      "question": question["question"],
      "options": list(choices),
      "label": choices.index(answer),
      "meta": {"split": split, "item_id": str(item_id), **meta},
    }

  return convert
