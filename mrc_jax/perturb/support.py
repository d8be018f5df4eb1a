"""The language x attack support table, generated from the registry."""

from __future__ import annotations

from mrc_jax.perturb import registry
from mrc_jax.perturb.languages import TABLE_LANGUAGES


def support_table(langs=TABLE_LANGUAGES) -> dict[str, dict[str, registry.Support]]:
  """{lang: {attack: Support}} for every registered attack."""
  return {
    lang: {name: registry.get(name).support(lang) for name in registry.list_attacks()}
    for lang in langs
  }


def support_markdown(langs=TABLE_LANGUAGES) -> str:
  """The table as Markdown: one row per language, one column per attack, and the notes."""
  table = support_table(langs)
  attacks = registry.list_attacks()
  notes: dict[str, int] = {}
  rows = ["| lang | " + " | ".join(attacks) + " |", "|---" * (len(attacks) + 1) + "|"]
  for lang in langs:
    cells = []
    for name in attacks:
      support = table[lang][name]
      if support.how:
        number = notes.setdefault(support.how, len(notes) + 1)
        cells.append(f"{support.status} [{number}]")
      else:
        cells.append(support.status)
    rows.append(f"| {lang} | " + " | ".join(cells) + " |")
  rows.append("")
  rows += [f"[{number}] {how}  " for how, number in notes.items()]
  return "\n".join(rows)
