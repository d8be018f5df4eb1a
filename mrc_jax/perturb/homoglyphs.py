"""Cross-script homoglyphs from the Unicode confusables table (`confusable_homoglyphs`)."""

from __future__ import annotations

import functools
import unicodedata

from confusable_homoglyphs import categories, confusables

from mrc_jax.perturb import languages

# Unicode's confusables list Arabic look-alikes only as multi-letter sequences. These
# single-letter pairs (Arabic and Persian code points that render identically inside a word)
# are the Arabic-script homoglyphs seen in real text.
ARABIC_SUPPLEMENT = {"ي": ("ی",), "ك": ("ک",), "ه": ("ہ",)}


@functools.lru_cache(maxsize=None)
def table() -> dict[str, tuple[str, ...]]:
  """Letter -> single-letter look-alikes in another script.

  Mathematical, full-width and other compatibility forms are left out (their NFKC differs):
  they are styling, not a different script, and normalisers undo them.
  """
  result: dict[str, tuple[str, ...]] = {}
  for char, entries in confusables.confusables_data.items():
    if len(char) != 1 or not char.isalpha():
      continue
    script = categories.alias(char)
    found = []
    for entry in entries:
      other = entry["c"]
      if (
        len(other) == 1
        and other.isalpha()
        and other != char
        and categories.alias(other) not in (script, "COMMON", "INHERITED")
        and unicodedata.normalize("NFKC", other) == other
      ):
        found.append(other)
    if found:
      result[char] = tuple(sorted(set(found)))
  result.update(ARABIC_SUPPLEMENT)
  return result


@functools.lru_cache(maxsize=None)
def letters_in_script(script: str) -> int:
  """How many letters of an ISO 15924 script have a cross-script homoglyph."""
  pattern = languages.letter_pattern(script)
  return sum(1 for c in table() if pattern.match(c))
