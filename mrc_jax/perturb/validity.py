"""Attack validity per (attack, language): how far an attack moves the text, whether the
encoder still reads the same meaning, and whether inserted text or new options give the
answer away.

    cells = [Cell("xquad.de", "de", examples, "charswap"), Cell("xquad.de", "de", examples, "addsent")]
    rows = validity_rows(cells, embedder=validity_embedder())
    print(validity_markdown(rows))

Edit rates are Levenshtein distances divided by the clean text's length, in code points
(characters) and in ICU words (`text.word_spans`). Cosines compare E5 sentence vectors of the
clean and the attacked text (unit length, so cosine = dot). An insertion is an edit whose
`old` is empty; it leaks when its text contains a gold answer (casefolded, as whole words
where the script separates words). A new option leaks when it equals or contains the
correct option's text in the same way.
"""

from __future__ import annotations

import dataclasses
import functools
import unicodedata
from typing import Any, Callable, Iterable, Sequence

import editdistance
import numpy as np
import regex

from mrc_jax.data.schema import example_kind
from mrc_jax.perturb import registry, text
from mrc_jax.perturb.core import parse_chain, perturb_examples
from mrc_jax.perturb.embedder import TextEmbedder, checkpoint_missing, default_checkpoint

FIELDS = {"question": "question", "passage": "context"}
# The whole passage must fit: an appended distractor cut off by a 256-token window would
# read as a cosine of 1.0. 512 is the E5 position limit.
ENCODER_MAX_LENGTH = 512

Embed = Callable[[Sequence[str]], np.ndarray]
LEAK_COUNTS = ("inserted", "insert_leaks", "insert_substring_leaks", "new_options", "option_leaks")
_WORD_CHAR = regex.compile(r"[\p{L}\p{M}\p{N}]")


@dataclasses.dataclass
class Cell:
  """One attack (or '|' chain) on the clean examples of one task, in one language."""

  task: str
  lang: str
  examples: list[dict]
  attack: str
  seed: int = 0
  params: dict[str, Any] = dataclasses.field(default_factory=dict)


@functools.lru_cache(maxsize=2)
def validity_embedder(path: str | None = None) -> TextEmbedder:
  """One encoder per process, with a window long enough for attacked passages."""
  return TextEmbedder(path or default_checkpoint(), max_length=ENCODER_MAX_LENGTH)


def encoder_missing(path: str | None = None) -> list[str]:
  return checkpoint_missing(path)


def sample(examples: Sequence[dict], count: int | None) -> list[dict]:
  """`count` examples evenly spread over the set (a file's first ones share one article)."""
  examples = list(examples)
  if count is None or count >= len(examples):
    return examples
  return [examples[i * len(examples) // count] for i in range(count)]


def levenshtein(a: Sequence, b: Sequence) -> int:
  """Levenshtein distance; the common prefix and suffix are cut first (the distance is the
  same), since editdistance is quadratic and EXAMS passages run to 10,000 characters."""
  start = 0
  while start < min(len(a), len(b)) and a[start] == b[start]:
    start += 1
  end = 0
  while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
    end += 1
  return editdistance.eval(a[start : len(a) - end], b[start : len(b) - end])


def char_edit_rate(clean: str, attacked: str) -> float:
  """Levenshtein distance in code points over the clean length (1 edit in 10 chars: 0.1)."""
  return levenshtein(clean, attacked) / max(1, len(clean))


def word_edit_rate(clean: str, attacked: str, lang: str) -> float:
  """Word-level Levenshtein distance over the clean word count (ICU words)."""
  clean_words = [clean[a:b] for a, b in text.word_spans(clean, lang)]
  attacked_words = [attacked[a:b] for a, b in text.word_spans(attacked, lang)]
  return levenshtein(clean_words, attacked_words) / max(1, len(clean_words))


def gold_texts(example: dict) -> list[str]:
  """The gold answers, casefolded: span texts, or the correct option's text."""
  kind = example_kind(example)
  if kind == "span":
    found = [a["text"] for a in example.get("answers", [])]
  elif kind == "choice" and 0 <= example.get("label", -1) < len(example["options"]):
    found = [example["options"][example["label"]]]
  else:
    found = []
  return [g.casefold() for g in found if g.strip()]


def _nfc(value: str) -> str:
  return unicodedata.normalize("NFC", value)


def _new_records(clean: dict, attacked: dict) -> list[dict]:
  # Examples of a perturbed task already carry records: only this attack's count.
  before = len((clean.get("meta") or {}).get("perturbation", []))
  return attacked["meta"]["perturbation"][before:]


def contains_answer(haystack: str, gold: str, lang: str) -> bool:
  """Whether casefolded `haystack` holds casefolded `gold` as whole words (in scripts
  written with spaces: 'War' is not in 'Khwarezmids', 'Ren' not in 'hücrenin'); in
  unspaced scripts, anywhere."""
  haystack, gold = haystack.casefold(), gold.casefold()
  if not text.uses_spaces(lang):
    return gold in haystack
  start = haystack.find(gold)
  while start >= 0:
    end = start + len(gold)
    before = (
      start == 0 or not _WORD_CHAR.match(haystack[start - 1]) or not _WORD_CHAR.match(gold[0])
    )
    after = (
      end == len(haystack) or not _WORD_CHAR.match(haystack[end]) or not _WORD_CHAR.match(gold[-1])
    )
    if before and after:
      return True
    start = haystack.find(gold, start + 1)
  return False


def answer_leaks(clean: dict, attacked: dict, lang: str) -> dict[str, int]:
  """For one example: whether it has insertions and whether one contains a gold answer
  (and whether one does so at least as a substring of a longer word); how many new
  options it has and how many equal or contain the correct option."""
  gold = gold_texts(clean)
  edits = [e for r in _new_records(clean, attacked) for e in r["edits"]]
  inserted = [e["new"] for e in edits if e["old"] == "" and e["new"]]
  options = [e["new"] for e in edits if e["field"].startswith("options[") and e["new"]]
  return {
    "inserted": int(bool(inserted)),
    "insert_leaks": int(any(contains_answer(p, g, lang) for p in inserted for g in gold)),
    "insert_substring_leaks": int(any(g in p.casefold() for p in inserted for g in gold)),
    "new_options": len(options),
    "option_leaks": sum(any(contains_answer(o, g, lang) for g in gold) for o in options),
  }


def _cannot_run(cell: Cell) -> str:
  lacking = []
  for spec in parse_chain(cell.attack):
    lacking += registry.missing(
      spec.name, **{k: v for k, v in cell.params.items() if k in spec.params}
    )
  return "; and ".join(lacking)


def _chain_params(cell: Cell) -> dict[str, Any]:
  accepted = set().union(*(spec.params for spec in parse_chain(cell.attack)))
  return {k: v for k, v in cell.params.items() if k in accepted}


def _mean(values: Sequence[float]) -> float | None:
  return float(np.mean(values)) if len(values) else None


def _means(row: dict, key: str, values: Sequence[float], changed: Sequence[bool]) -> None:
  row[f"{key}_changed"] = _mean([v for v, was in zip(values, changed) if was])
  row[f"{key}_all"] = _mean(values)


def _measure(cell: Cell, attacked: list[dict], cosine, cos_examples: int | None) -> dict:
  lang = cell.lang
  records = [_new_records(c, a) for c, a in zip(cell.examples, attacked)]
  changed = [any(r["changed"] for r in rs) for rs in records]
  row: dict[str, Any] = {
    "task": cell.task,
    "lang": lang,
    "attack": cell.attack,
    "seed": cell.seed,
    "examples": len(attacked),
    "changed": sum(changed),
    "change_rate": _mean(changed),
    "degraded": sum(any(r["degraded"] for r in rs) for rs in records),
  }
  for name, field in FIELDS.items():
    pairs = [(_nfc(c[field]), a[field]) for c, a in zip(cell.examples, attacked)]
    _means(row, f"{name}_chars", [char_edit_rate(c, a) for c, a in pairs], changed)
    _means(row, f"{name}_words", [word_edit_rate(c, a, lang) for c, a in pairs], changed)
    if cosine is not None:
      values = [cosine(c, a) for c, a in pairs[:cos_examples]]
      _means(row, f"{name}_cos", values, changed)
      row[f"{name}_cos_min"] = min(values) if values else None
  if cosine is not None:
    row["cos_examples"] = len(pairs[:cos_examples])
  leaks = [answer_leaks(c, a, lang) for c, a in zip(cell.examples, attacked)]
  for key in LEAK_COUNTS:
    row[key] = sum(leak[key] for leak in leaks)
  row["insert_leak_share"] = row["insert_leaks"] / row["inserted"] if row["inserted"] else None
  row["option_leak_share"] = (
    row["option_leaks"] / row["new_options"] if row["new_options"] else None
  )
  return row


def validity_rows(
  cells: Iterable[Cell],
  embedder: Embed | TextEmbedder | None = None,
  cos_examples: int | None = None,
) -> list[dict]:
  """One row (a dict) per cell. Cells whose attack lacks something to run are a row with
  `missing` saying what. Without an embedder the cosines are left out; with one, they are
  measured on the first `cos_examples` examples of each cell (None: all), since on a CPU
  the encoder costs far more than every other measure.

  Every changed text of every cell is embedded in one call (clean texts once), so the
  encoder pads and compiles as little as possible.
  """
  if isinstance(embedder, TextEmbedder):
    embedder = embedder.sentence_vectors
  runs = []
  for cell in cells:
    lacking = _cannot_run(cell)
    if lacking:
      runs.append((cell, None, lacking))
      continue
    attacked = list(
      perturb_examples(cell.examples, cell.attack, cell.lang, cell.seed, **_chain_params(cell))
    )
    runs.append((cell, attacked, ""))
  cosine = None
  if embedder is not None:
    texts = {}  # an identical pair is 1.0 by definition: only differing pairs are embedded
    for cell, attacked, _ in runs:
      for clean, after in zip(cell.examples[:cos_examples], (attacked or [])[:cos_examples]):
        for field in FIELDS.values():
          if _nfc(clean[field]) != after[field]:
            texts.setdefault(_nfc(clean[field]), len(texts))
            texts.setdefault(after[field], len(texts))
    vectors = embedder(list(texts)) if texts else np.zeros((0, 0), np.float32)

    def cosine(clean: str, attacked: str) -> float:
      if clean == attacked:
        return 1.0
      return float(vectors[texts[clean]] @ vectors[texts[attacked]])

  rows = []
  for cell, attacked, lacking in runs:
    if attacked is None:
      rows.append(
        {
          "task": cell.task,
          "lang": cell.lang,
          "attack": cell.attack,
          "examples": len(cell.examples),
          "missing": lacking,
        }
      )
    else:
      rows.append(_measure(cell, attacked, cosine, cos_examples))
  return rows


def measure(
  examples: Sequence[dict],
  attack: str,
  lang: str,
  seed: int = 0,
  *,
  task: str | None = None,
  embedder: Embed | TextEmbedder | None = None,
  cos_examples: int | None = None,
  **params,
) -> dict:
  """The validity row of one attack on `examples` of language `lang` (task: theirs)."""
  examples = list(examples)
  task = task or (examples[0].get("task") if examples else None) or lang
  cell = Cell(task, lang, examples, attack, seed, params)
  (row,) = validity_rows([cell], embedder, cos_examples)
  return row


def _pair(row: dict, key: str) -> str:
  changed, overall = row.get(f"{key}_changed"), row.get(f"{key}_all")
  if overall is None:
    return "n/a"
  return f"{changed:.3f} / {overall:.3f}" if changed is not None else f"- / {overall:.3f}"


def _count(leaks: int, total: int) -> str:
  return f"**{leaks}** / {total}" if leaks else (f"0 / {total}" if total else "-")


HEADER = (
  "| task | attack | n | changed | question chars | question words | question cos "
  "| passage chars | passage words | passage cos | answer in insertions | answer in new options |"
)


def validity_markdown(rows: Sequence[dict]) -> str:
  """The rows as a Markdown table, by attack (rates: over changed examples / over all),
  then the cells that could not run, once per attack and reason."""
  lines = [HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
  not_run: dict[tuple[str, str], list[str]] = {}
  cos_subsets = set()
  for row in sorted(rows, key=lambda r: r["attack"]):
    if row.get("missing"):
      not_run.setdefault((row["attack"], row["missing"]), []).append(row["task"])
      continue
    cells = [
      f"`{row['task']}`",
      f"`{row['attack']}`",
      str(row["examples"]),
      f"{row['change_rate']:.2f}" if row["change_rate"] is not None else "-",
      *(_pair(row, f"{f}_{m}") for f in FIELDS for m in ("chars", "words", "cos")),
      _count(row["insert_leaks"], row["inserted"]),
      _count(row["option_leaks"], row["new_options"]),
    ]
    lines.append("| " + " | ".join(cells) + " |")
    if row.get("cos_examples", row["examples"]) < row["examples"]:
      cos_subsets.add(row["cos_examples"])
  if cos_subsets:
    counts = ", ".join(str(c) for c in sorted(cos_subsets))
    lines += ["", f"cos: on the first {counts} examples of each cell (n: every other measure)."]
  for (attack, reason), tasks in not_run.items():
    lines.append("")
    lines.append(
      f"Not measured: `{attack}` on {', '.join(f'`{t}`' for t in tasks)}: needs {reason}."
    )
  return "\n".join(lines) + "\n"
