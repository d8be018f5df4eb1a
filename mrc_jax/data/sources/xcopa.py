"""XCOPA JSONL (``xcopa/LANG/{val,test}.LANG.jsonl``): premise, choice1, choice2,
question ("cause" | "effect"), label (0/1), idx."""
from __future__ import annotations

from typing import Any, Callable

from mrc_jax.data.schema import FieldError
from mrc_jax.data.sources.common import field

# Natural-language prompts for the two COPA relations, so the encoder sees a question.
QUESTION_TEXT = {"cause": "What was the cause?", "effect": "What happened as a result?"}


def xcopa_converter(task: str, lang: str, split: str) -> Callable[[str, Any], dict]:
    def convert(record_id: str, record: Any) -> dict:
        relation = field(record, "question")
        if relation not in QUESTION_TEXT:
            raise FieldError("question", f"expected 'cause' or 'effect', got {relation!r}")
        label = field(record, "label", int)
        if label not in (0, 1):
            raise FieldError("label", f"{label} is out of range [0, 2)")
        idx = field(record, "idx", int)
        return {"id": f"{task}.{split}.{idx}", "task": task, "lang": lang,
                "context": field(record, "premise"), "question": QUESTION_TEXT[relation],
                "options": [field(record, "choice1"), field(record, "choice2")], "label": label,
                "meta": {"relation": relation, "idx": idx, "split": split,
                         "changed": bool(record.get("changed", False))}}

    return convert
