"""Keyboard layouts for neighbour-key typos, from the X keyboard database.

``data/keyboards.json`` is written by ``launch/make_keyboards.py`` from xkeyboard-config (its
licence is in the file): the layout evdev.xml lists for each language, the characters of
every alphanumeric key on the first two shift levels, and the pc105 geometry's key centres.
Two keys are neighbours when their centres are at most 1.3 key pitches apart (the keys
beside, above and below a key on a staggered keyboard); a typo keeps the shift level, so
"a" becomes "s" and "A" becomes "S".
"""

from __future__ import annotations

import functools
import json
import math
import pathlib
import unicodedata

from mrc_jax.perturb.languages import best_key

DATA_FILE = pathlib.Path(__file__).parent / "data" / "keyboards.json"
# Latin-script text in a language no layout lists is typed on the US layout.
LATIN_FALLBACK = "us"
_PITCH = 19.0  # pc105: a NORM key is 18 units wide, 1 unit of gap
_NEIGHBOUR_DISTANCE = 1.3 * _PITCH


@functools.lru_cache(maxsize=1)
def data() -> dict:
  return json.loads(DATA_FILE.read_text(encoding="utf-8"))


def layout_for(lang: str) -> str | None:
  """The xkb layout (``FILE`` or ``FILE(VARIANT)``) of `lang`, None where none serves it."""
  chosen = data()["languages"]
  key = best_key(lang, chosen)
  return chosen[key]["layout"] if key else None


def description(layout: str) -> str:
  return data()["layouts"][layout]["description"]


def unserved_reason(lang: str) -> str:
  """Why no layout serves `lang` (the generator's reason for the closest listed language)."""
  unserved = data()["unserved"]
  key = best_key(lang, unserved)
  return unserved[key] if key else "not in the keyboard data file"


def _kind(char: str) -> str:
  """'L' for letters, 'M' for combining marks (vowel signs), '' for anything else."""
  category = unicodedata.category(char)[0]
  return category if category in "LM" else ""


@functools.lru_cache(maxsize=None)
def neighbours(layout: str) -> dict[str, tuple[str, ...]]:
  """Character -> characters of the neighbouring keys on the same shift level and of the
  same kind (a letter's neighbours are letters, a vowel sign's are vowel signs)."""
  geometry = {key: tuple(xy) for key, xy in data()["geometry"].items()}
  keys = data()["layouts"][layout]["keys"]
  adjacent: dict[str, dict[str, None]] = {}
  for key, levels in keys.items():
    if key not in geometry:
      continue
    near = [
      other
      for other in keys
      if other != key
      and other in geometry
      and math.dist(geometry[key], geometry[other]) <= _NEIGHBOUR_DISTANCE
    ]
    for level, char in enumerate(levels):
      if not char or not _kind(char):
        continue
      found = adjacent.setdefault(char, {})
      for other in near:
        typo = keys[other][level]
        if typo and typo != char and _kind(typo) == _kind(char):
          found[typo] = None
  return {char: tuple(found) for char, found in adjacent.items() if found}
