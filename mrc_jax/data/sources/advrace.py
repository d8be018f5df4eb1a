"""AdvRACE JSON: one object mapping ``RACE/test/high/1001.txt-0`` to ``{"question",
"context", "options": [4 str], "label": 0..3}`` (test sets and train-format files alike)."""
from __future__ import annotations

from typing import Any, Callable, Iterator

from mrc_jax.data.schema import DataError, FieldError
from mrc_jax.data.sources.common import read_json, field


def iter_advrace_records(path: str) -> Iterator[tuple[str, Any]]:
    document = read_json(path)
    if not isinstance(document, dict):
        raise DataError(path, None, "<file>", "expected one JSON object mapping ids to questions")
    for record_id, record in document.items():
        yield record_id, record


def advrace_converter(task: str, split: str, attack: str) -> Callable[[str, Any], dict]:
    def convert(record_id: str, record: Any) -> dict:
        options = field(record, "options", list)
        label = field(record, "label", int)
        if not 0 <= label < len(options):
            raise FieldError("label", f"{label} is out of range [0, {len(options)})")
        return {"id": record_id, "task": task, "lang": "en", "context": field(record, "context"),
                "question": field(record, "question"), "options": options, "label": label,
                "meta": {"split": split, "attack": attack}}

    return convert
