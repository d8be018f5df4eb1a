"""EXAMS JSONL inside ``.jsonl.tar.gz``: ``{"id", "question": {"stem", "choices": [{"text",
"label", "para"?}]}, "answerKey", "info": {"language", "subject", "grade"}}``.

With paragraphs, each choice carries a retrieved paragraph in ``para``; the context is the
choices' distinct paragraphs joined by blank lines, and ``meta["option_contexts"]`` keeps
each choice's own paragraph. Without paragraphs the context is empty. The upstream answer
key ``@`` marks a question whose gold answer is not among its choices; upstream's loaders
skip such questions, and so do we (in both modes), counting each in the SkipReport under
:data:`NO_VALID_ANSWER_REASON` so the log and the evaluation report show how many.
"""

from __future__ import annotations

from typing import Any, Callable

from mrc_jax.data.schema import FieldError, Skip
from mrc_jax.data.sources.common import field

# info.language as written in the EXAMS files -> ISO 639-1 code.
LANGUAGE_CODES = {
  "Albanian": "sq",
  "Arabic": "ar",
  "Bulgarian": "bg",
  "Croatian": "hr",
  "French": "fr",
  "German": "de",
  "Hungarian": "hu",
  "Italian": "it",
  "Lithuanian": "lt",
  "Macedonian": "mk",
  "North Macedonian": "mk",
  "Polish": "pl",
  "Portuguese": "pt",
  "Serbian": "sr",
  "Spanish": "es",
  "Turkish": "tr",
  "Vietnamese": "vi",
}
NO_VALID_ANSWER_KEY = "@"
NO_VALID_ANSWER_REASON = "unlabelled: answerKey '@'"


def exams_converter(
  task: str, lang: str, split: str, *, with_paragraphs: bool, filter_language: bool
) -> Callable[[str, Any], dict | None]:
  """``filter_language`` keeps only records whose info.language is ``lang`` (multilingual files)."""

  def convert(record_id: str, record: Any) -> dict | None:
    info = field(record, "info", dict)
    language = info.get("language")
    if language not in LANGUAGE_CODES:
      raise FieldError("info.language", f"unknown language {language!r}")
    if filter_language and LANGUAGE_CODES[language] != lang:
      return None
    question = field(record, "question", dict)
    stem = field(question, "stem")
    choices = field(question, "choices", list)
    if not choices:
      raise FieldError("question.choices", "is empty")
    labels, options, paragraphs = [], [], []
    for i, choice in enumerate(choices):
      if not isinstance(choice, dict):
        raise FieldError(f"question.choices[{i}]", "expected an object")
      if not isinstance(choice.get("text"), str) or not choice["text"].strip():
        raise FieldError(f"question.choices[{i}].text", "is missing or empty")
      labels.append(choice.get("label"))
      options.append(choice["text"].strip())
      if with_paragraphs:
        if not isinstance(choice.get("para"), str):
          raise FieldError(f"question.choices[{i}].para", "is missing (file with paragraphs)")
        paragraphs.append(choice["para"])
    key = field(record, "answerKey")
    if key == NO_VALID_ANSWER_KEY:
      raise Skip(NO_VALID_ANSWER_REASON)
    if key not in labels:
      raise FieldError("answerKey", f"{key!r} is not one of the choice labels {labels}")
    label = labels.index(key)
    meta = {
      "split": split,
      "subject": info.get("subject"),
      "grade": info.get("grade"),
      "choice_labels": labels,
    }
    context = ""
    if with_paragraphs:
      distinct = list(dict.fromkeys(p for p in paragraphs if p.strip()))
      context = "\n\n".join(distinct)
      meta["option_contexts"] = paragraphs
    return {
      "id": str(field(record, "id")),
      "task": task,
      "lang": lang,
      "context": context,
      "question": stem,
      "options": options,
      "label": label,
      "meta": meta,
    }

  return convert
