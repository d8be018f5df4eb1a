"""XQuAD as multiple choice (``xquad_mc.LANG``), derived from ``xquad/xquad.LANG.json``.

Each question gets 4 options: its gold answer (the first answer text) and 3 distractors,
the gold answers of other questions. XQuAD is parallel (every language has the same
articles, paragraphs and question ids), so the distractors are chosen as question ids from
the English file's structure and each language then uses its own answer texts for them:
every language has the same distractor ids, in the same order, and the same labels.

The rule, for a question with id ``q``:

1. Candidates are the other questions of ``q``'s paragraph, ordered by
   ``sha256("xquad_mc distractor|{q}|{candidate id}")``; then, if fewer than 3 were taken,
   the questions of the article's other paragraphs in the same order.
2. A candidate is taken when its answer differs from the gold answer and from each
   distractor already taken. Two answers are the same when their English texts are equal
   after collapsing whitespace and casefolding, or when the pair is in
   :data:`ANSWER_CLASHES` (answers that differ in English but coincide in some other XQuAD
   language), so the options are distinct in every language.
3. The gold answer goes to position ``int(sha256("xquad_mc label|{q}")[:8]) % 4`` (the
   first 8 bytes of the digest, big-endian); the distractors fill the other positions in
   the order they were taken.

``meta["distractor_ids"]`` lists the distractors' question ids and
``meta["distractor_source"]`` is ``"paragraph"`` when all three come from the question's
paragraph, ``"article"`` when the fallback to other paragraphs of the article was needed.
A question whose article has fewer than 4 distinct answers is a bad record.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, Callable, Iterator

from mrc_jax.data.schema import FieldError
from mrc_jax.data.sources import squad
from mrc_jax.data.sources.common import read_json

NUM_OPTIONS = 4
# Question-id pairs of one article whose first answers differ in English but are the same
# text (whitespace collapsed, casefolded) in at least one language of the 12 XQuAD files
# (sha256 pinned in mrc_jax/data/download.py); the languages are noted.
ANSWER_CLASHES = frozenset(
  frozenset(pair)
  for pair in (
    ("56bf3fd53aeaaa14008c9595", "56d9992fdc89441400fdb5a0"),  # de ro tr: two / two.
    ("56d704430d65d214001982de", "56d9992fdc89441400fdb5a0"),  # de ro tr: two / two.
    ("56dfb5777aa994140058e024", "56e0bb9f7aa994140058e6cb"),  # th: patents / His patents
    ("5725edfe38643c19005acea3", "5725fcbe271a42140099d3b0"),  # th vi: West Side / west
    ("5726660d5951b619008f71b3", "572671e55951b619008f72d9"),  # de ro ru: 2,000 / 2000
    (
      "5726eb8bf1498d1400e8efe2",
      "5728f2e26aef051400154897",
    ),  # hi: autoimmune diseases / autoimmunity
    (
      "5728202c4b864d19001644ef",
      "5728d63c4b864d1900164f1b",
    ),  # ar es ro ru th vi: Gandhi's / Gandhi
    (
      "5728d63c4b864d1900164f1b",
      "5728e07e3acd2414000e00ed",
    ),  # ar es ro ru th vi: Gandhi / Gandhi's
    (
      "5729582b1d046914007792e6",
      "5729582b1d046914007792e7",
    ),  # 7 languages: (the) green chloroplast lineage
    ("572ff932a23a5019007fcbd6", "572ffe6fb2c2fd14005686ef"),  # th vi: Islam / Islamist
    ("572ff932a23a5019007fcbd6", "57302700a23a5019007fce89"),  # th vi: Islam / Islamist
  )
)


def normalise(text: str) -> str:
  return " ".join(text.split()).casefold()


def _digest(text: str) -> bytes:
  return hashlib.sha256(text.encode("utf-8")).digest()


def gold_position(question_id: str) -> int:
  return int.from_bytes(_digest(f"xquad_mc label|{question_id}")[:8], "big") % NUM_OPTIONS


@dataclasses.dataclass(frozen=True)
class Plan:
  """One question's distractor ids (in order), gold position and where they came from."""

  distractor_ids: tuple[str, ...]
  label: int
  source: str  # "paragraph" | "article"


def _ordered(question_id: str, candidates) -> list[str]:
  return sorted(candidates, key=lambda c: _digest(f"xquad_mc distractor|{question_id}|{c}"))


def first_answers(path: str) -> dict[str, str]:
  """Question id -> first answer text, for the questions of a SQuAD-format file that have one."""
  answers = {}
  for record_id, (_, _, qa) in squad.iter_squad_records(path):
    texts = qa.get("answers") if isinstance(qa, dict) else None
    if texts and isinstance(texts[0], dict) and isinstance(texts[0].get("text"), str):
      answers[record_id] = texts[0]["text"]
  return answers


def plan_options(english_path: str) -> dict[str, Plan | str]:
  """Question id -> its Plan, or the reason it has none, from the English file's structure."""
  answers = first_answers(english_path)  # also checks the file's structure
  document = read_json(english_path)
  plans: dict[str, Plan | str] = {}

  def same(a: str, b: str) -> bool:
    return normalise(answers[a]) == normalise(answers[b]) or frozenset((a, b)) in ANSWER_CLASHES

  for article in document["data"]:
    paragraphs = [
      [
        str(qa["id"])
        for qa in paragraph["qas"]
        if isinstance(qa, dict) and isinstance(qa.get("id"), (str, int))
      ]
      for paragraph in article["paragraphs"]
    ]
    for own in paragraphs:
      others = [i for p in paragraphs if p is not own for i in p if i in answers]
      for q in own:
        if q not in answers:
          plans[q] = "has no gold answer in the English file"
          continue
        chosen, source = [], "paragraph"
        for pool, name in (
          (_ordered(q, (c for c in own if c != q and c in answers)), "paragraph"),
          (_ordered(q, others), "article"),
        ):
          for candidate in pool:
            if len(chosen) == NUM_OPTIONS - 1:
              break
            if not same(candidate, q) and not any(same(candidate, d) for d in chosen):
              chosen.append(candidate)
              source = name
        if len(chosen) < NUM_OPTIONS - 1:
          plans[q] = (
            f"its article has {len(chosen) + 1} distinct answers in the English "
            f"file, fewer than {NUM_OPTIONS}"
          )
        else:
          plans[q] = Plan(tuple(chosen), gold_position(q), source)
  return plans


def iter_xquad_mc_records(path: str, english_path: str) -> Iterator[tuple[str, Any]]:
  """Records ``(qa id, (title, paragraph, qa, plans, answers))`` of one language's file."""
  plans = plan_options(english_path)
  answers = first_answers(path)
  for record_id, (title, paragraph, qa) in squad.iter_squad_records(path):
    yield record_id, (title, paragraph, qa, plans, answers)


def xquad_mc_converter(task: str, lang: str, split: str) -> Callable[[str, Any], dict]:
  def convert(record_id: str, record: Any) -> dict:
    title, paragraph, qa, plans, answers = record
    plan = plans.get(record_id)
    if plan is None:
      raise FieldError("id", "is not a question of the English file (XQuAD is parallel)")
    if isinstance(plan, str):
      raise FieldError("answers", plan)
    if record_id not in answers:
      raise FieldError("answers", "is missing or empty")
    missing = [i for i in plan.distractor_ids if i not in answers]
    if missing:
      raise FieldError("distractor_ids", f"questions {missing} have no answer in this file")
    options = [answers[i] for i in plan.distractor_ids]
    options.insert(plan.label, answers[record_id])
    if len({normalise(o) for o in options}) < len(options):
      raise FieldError(
        "options", f"two options are the same text in this language: {options!r:.200}"
      )
    context = paragraph.get("context") if isinstance(paragraph, dict) else None
    if not isinstance(context, str):
      raise FieldError("context", "is missing")
    question = qa.get("question")
    if not isinstance(question, str):
      raise FieldError("question", "is missing")
    return {
      "id": record_id,
      "task": task,
      "lang": lang,
      "context": context,
      "question": question,
      "options": options,
      "label": plan.label,
      "meta": {
        "split": split,
        "title": title,
        "distractor_ids": list(plan.distractor_ids),
        "distractor_source": plan.source,
      },
    }

  return convert
