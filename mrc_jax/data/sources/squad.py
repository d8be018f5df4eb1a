"""SQuAD-format JSON: SQuAD v1.1 / v2.0, XQuAD, MLQA and TyDiQA-GoldP.

``{"version", "data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question",
"answers": [{"text", "answer_start"}], "is_impossible"?, "plausible_answers"?}]}]}]}``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from mrc_jax.data.schema import DataError, FieldError
from mrc_jax.data.sources.common import field, read_json


def iter_squad_records(path: str) -> Iterator[tuple[str, Any]]:
  """(qa id, (title, context, qa)) for every question in the file."""
  document = read_json(path)
  if not isinstance(document, dict) or not isinstance(document.get("data"), list):
    raise DataError(path, None, "data", "expected a SQuAD document with a 'data' list")
  for a, article in enumerate(document["data"]):
    paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
    if not isinstance(paragraphs, list):
      raise DataError(path, f"data[{a}]", "paragraphs", "is missing or not a list")
    for p, paragraph in enumerate(paragraphs):
      qas = paragraph.get("qas") if isinstance(paragraph, dict) else None
      if not isinstance(qas, list):
        raise DataError(path, f"data[{a}].paragraphs[{p}]", "qas", "is missing or not a list")
      for q, qa in enumerate(qas):
        qa_id = qa.get("id") if isinstance(qa, dict) else None
        record_id = (
          str(qa_id) if isinstance(qa_id, (str, int)) else f"data[{a}].paragraphs[{p}].qas[{q}]"
        )
        yield record_id, (article.get("title", ""), paragraph, qa)


def squad_converter(
  task: str, lang: str, split: str, keep: Callable[[str], bool] = lambda qa_id: True
) -> Callable[[str, Any], dict | None]:
  """Converter for records of :func:`iter_squad_records` (``keep`` filters by qa id)."""

  def convert(record_id: str, record: Any) -> dict | None:
    title, paragraph, qa = record
    qa_id = str(field(qa, "id", (str, int)))
    if not keep(qa_id):
      return None
    context = field(paragraph, "context")
    impossible = bool(qa.get("is_impossible", False))
    raw_answers = field(qa, "answers", list)
    answers = []
    for i, answer in enumerate(raw_answers):
      if not isinstance(answer, dict) or "text" not in answer or "answer_start" not in answer:
        raise FieldError(f"answers[{i}]", "needs 'text' and 'answer_start'")
      answers.append({"text": answer["text"], "start": answer["answer_start"]})
    if not answers and not impossible and split != "test_unlabelled":
      raise FieldError("answers", "is empty for a question not marked is_impossible")
    meta = {"title": title, "split": split}
    if impossible:
      meta["is_impossible"] = True
    return {
      "id": qa_id,
      "task": task,
      "lang": lang,
      "context": context,
      "question": field(qa, "question"),
      "answers": answers,
      "meta": meta,
    }

  return convert
