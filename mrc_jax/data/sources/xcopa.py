"""XCOPA JSONL (``xcopa/LANG/{val,test}.LANG.jsonl``): premise, choice1, choice2,
question ("cause" | "effect"), label (0/1), idx.

Upstream's ``question`` field is wrong in parts of some languages' files (counts in
docs/DATA.md), while the items are parallel translations of the COPA validation/test sets,
matched by ``idx``, with the same ``label`` in every language. The relation of an item is
therefore the strict majority of its ``question`` over every language file of the split
present (:func:`consensus_relations`): any one translation may carry the quirk, and XCOPA's
data/ has no English file. Without a strict majority the file's own field stands. A corrected
record keeps the upstream value in ``meta["relation_upstream"]`` and is counted in the
SkipReport.
"""

from __future__ import annotations

import collections
import glob
import os
from typing import Any, Callable, Mapping

from mrc_jax.data.schema import FieldError
from mrc_jax.data.sources.common import field, read_jsonl, passage

# Natural-language prompts for the two COPA relations, so the encoder sees a question.
QUESTION_TEXT = {"cause": "What was the cause?", "effect": "What happened as a result?"}
RELATION_CORRECTED = "question: disagrees with the majority of the XCOPA language files"


def consensus_relations(xcopa_dir: str, upstream_split: str) -> dict[int, str]:
  """idx -> majority relation over the files ``LANG/SPLIT.LANG.jsonl`` under ``xcopa_dir``.

  Lines that do not parse, or lack a valid idx / relation, do not vote; they are reported
  when their own language is read.
  """
  votes: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
  for path in sorted(glob.glob(os.path.join(xcopa_dir, "*", f"{upstream_split}.*.jsonl"))):
    for _, record in read_jsonl(path):
      if (
        isinstance(record, dict)
        and record.get("question") in QUESTION_TEXT
        and type(record.get("idx")) is int
      ):
        votes[record["idx"]][record["question"]] += 1
  consensus = {}
  for idx, counts in votes.items():
    (relation, count), *rest = counts.most_common()
    if not rest or count > rest[0][1]:
      consensus[idx] = relation
  return consensus


def xcopa_converter(
  task: str, lang: str, split: str, consensus: Mapping[int, str] | None = None
) -> Callable[[str, Any], dict]:
  """``consensus`` (from :func:`consensus_relations`) overrides a disagreeing ``question``."""

  def convert(record_id: str, record: Any) -> dict:
    upstream = field(record, "question")
    if upstream not in QUESTION_TEXT:
      raise FieldError("question", f"expected 'cause' or 'effect', got {upstream!r}")
    label = field(record, "label", int)
    if label not in (0, 1):
      raise FieldError("label", f"{label} is out of range [0, 2)")
    idx = field(record, "idx", int)
    relation = (consensus or {}).get(idx, upstream)
    meta = {
      "relation": relation,
      "idx": idx,
      "split": split,
      "changed": bool(record.get("changed", False)),
    }
    if relation != upstream:
      meta["relation_upstream"] = upstream
      meta["corrections"] = [RELATION_CORRECTED]
    return {
      "id": f"{task}.{split}.{idx}",
      "task": task,
      "lang": lang,
      "context": passage(record, "premise"),
      "question": QUESTION_TEXT[relation],
      "options": [field(record, "choice1"), field(record, "choice2")],
      "label": label,
      "meta": meta,
    }

  return convert
