"""Keyboard layouts for neighbour-key typos.

No maintained PyPI package ships keyboard geometry for these layouts, so the letter rows are
written here, as printed on the standard national layouts (left to right, top letter row
first). Keys are space-separated; a key of two letters (Arabic lam-alef) is kept for the
geometry but never used as a substitute.
"""

from __future__ import annotations

import functools

from mrc_jax.perturb.languages import best_key

LAYOUTS: dict[str, tuple[str, ...]] = {
  "QWERTY": ("q w e r t y u i o p", "a s d f g h j k l", "z x c v b n m"),
  "QWERTZ": ("q w e r t z u i o p ü", "a s d f g h j k l ö ä", "y x c v b n m"),
  "AZERTY": ("a z e r t y u i o p", "q s d f g h j k l m", "w x c v b n"),
  "Russian": ("й ц у к е н г ш щ з х ъ", "ф ы в а п р о л д ж э", "я ч с м и т ь б ю"),
  "Greek": ("; ς ε ρ τ υ θ ι ο π", "α σ δ φ γ η ξ κ λ", "ζ χ ψ ω β ν μ"),
  "Arabic": ("ض ص ث ق ف غ ع ه خ ح ج د", "ش س ي ب ل ا ت ن م ك ط", "ئ ء ؤ ر لا ى ة و ز ظ"),
  "Hebrew": ("/ ' ק ר א ט ו ן ם פ", "ש ד ג כ ע י ח ל ך ף", "ז ס ב ה נ מ צ ת ץ"),
  "Turkish": ("q w e r t y u ı o p ğ ü", "a s d f g h j k l ş i", "z x c v b n m ö ç"),
}

# The national layout of each language (codes resolved by languages.best_key, so a layout
# never serves a language written in another script); other Latin-script text is typed on
# QWERTY.
LANGUAGE_LAYOUT: dict[str, str] = {
  "en": "QWERTY",
  "es": "QWERTY",
  "it": "QWERTY",
  "pt": "QWERTY",
  "pl": "QWERTY",
  "nl": "QWERTY",
  "id": "QWERTY",
  "vi": "QWERTY",
  "sw": "QWERTY",
  "et": "QWERTY",
  "ht": "QWERTY",
  "qu": "QWERTY",
  "ro": "QWERTY",
  "ms": "QWERTY",
  "tl": "QWERTY",
  "de": "QWERTZ",
  "hu": "QWERTZ",
  "cs": "QWERTZ",
  "sk": "QWERTZ",
  "hr": "QWERTZ",
  "sl": "QWERTZ",
  "fr": "AZERTY",
  "ru": "Russian",
  "bg": "Russian",
  "uk": "Russian",
  "be": "Russian",
  "el": "Greek",
  "ar": "Arabic",
  "he": "Hebrew",
  "tr": "Turkish",
}
# Languages typed on a layout that is close to, but not exactly, the one used here.
APPROXIMATE_LAYOUT = frozenset({"bg", "uk", "be", "hu", "cs", "sk", "hr", "sl", "et", "pl"})


@functools.lru_cache(maxsize=None)
def neighbours(layout: str) -> dict[str, tuple[str, ...]]:
  """Key -> adjacent keys on a staggered keyboard (same row +-1, row above c/c+1, below c-1/c)."""
  rows = [row.split() for row in LAYOUTS[layout]]
  adjacent: dict[str, tuple[str, ...]] = {}
  for r, row in enumerate(rows):
    for c, key in enumerate(row):
      if len(key) != 1 or not key.isalpha():
        continue
      spots = [(r, c - 1), (r, c + 1), (r - 1, c), (r - 1, c + 1), (r + 1, c - 1), (r + 1, c)]
      found = [rows[i][j] for i, j in spots if 0 <= i < len(rows) and 0 <= j < len(rows[i])]
      adjacent[key] = tuple(k for k in found if len(k) == 1 and k.isalpha())
  return adjacent


def layout_for(lang: str) -> str | None:
  return LANGUAGE_LAYOUT.get(best_key(lang, LANGUAGE_LAYOUT))


def is_approximate(lang: str) -> bool:
  return best_key(lang, LANGUAGE_LAYOUT) in APPROXIMATE_LAYOUT
