"""Month names of a language from ICU's CLDR data, to swap one month for another (a date
of the same type) in AddSent's questions and fake answers."""

from __future__ import annotations

import datetime
import functools

import regex
from icu4py.messageformat import MessageFormat

from mrc_jax.perturb import languages, text

# Stand-alone (LLLL), in-date (MMMM) and, where a day is written beside it, the in-date form
# taken from "d MMMM" (Russian "15 января" against stand-alone "январь").
_SKELETONS = ("::LLLL", "::MMMM", "::dMMMM")
_DAY = 15
# A code ISO 639 reserves for local use: ICU has no data for it and falls back exactly as it
# does for any language it lacks.
_NO_DATA = "qaa"


def _locale(lang: str) -> str:
  """ICU locale: the language, with its script only where that is not the likely one
  (zh_Hant), on the Gregorian calendar (Persian and Pashto default to the solar one)."""
  resolved = languages.resolve(lang)
  likely = languages.resolve(resolved.language).script
  tag = resolved.language if resolved.script == likely else f"{resolved.language}_{resolved.script}"
  return f"{tag}@calendar=gregorian"


@functools.lru_cache(maxsize=None)
def _formatted(locale: str) -> tuple[tuple[str, ...], ...]:
  forms = []
  for skeleton in _SKELETONS:
    formatter = MessageFormat(f"{{d, date, {skeleton}}}", locale)
    names = []
    for month in range(1, 13):
      written = formatter.format({"d": datetime.datetime(2001, month, _DAY)})
      names.append(written.replace(str(_DAY), "").strip(" ,.") if "d" in skeleton else written)
    # A day that could not be cut out (5月15日) or a repeated name: not a month form.
    day_left = "d" in skeleton and any(regex.search(r"\p{Nd}", n) for n in names)
    if len(set(names)) == 12 and not day_left:
      forms.append(tuple(names))
  return tuple(dict.fromkeys(forms))


@functools.lru_cache(maxsize=None)
def month_forms(lang: str) -> tuple[tuple[str, ...], ...]:
  """One 12-tuple of names (January first) per distinct form the language writes; none
  where ICU has no data for the language (it would give the fallback locale's)."""
  forms = _formatted(_locale(lang))
  if languages.base_language(lang) != "en" and forms == _formatted(_locale(_NO_DATA)):
    return ()
  script = languages.script(lang)
  return tuple(f for f in forms if script is None or _in_script("".join(f), script))


def _in_script(names: str, script: str) -> bool:
  """Most letters of `names` are of `script` (ICU writes some languages' months in Latin)."""
  letters = regex.findall(r"\p{L}", names)
  try:
    pattern = languages.letter_pattern(script)
  except ValueError:
    return True
  return not letters or 2 * sum(bool(pattern.match(c)) for c in letters) > len(letters)


@functools.lru_cache(maxsize=None)
def _pattern(lang: str) -> regex.Pattern:
  names = sorted({n for form in month_forms(lang) for n in form}, key=len, reverse=True)
  # Unspaced scripts write a month against the next word (2015年5月): only digits bound it.
  edge = r"\p{Nd}" if not text.uses_spaces(lang) else r"\p{L}\p{M}\p{Nd}"
  alternatives = "|".join(map(regex.escape, names))
  return regex.compile(rf"(?<![{edge}])(?:{alternatives})(?![{edge}])", regex.IGNORECASE)


def month_spans(text: str, lang: str) -> list[tuple[int, int, int, int]]:
  """(start, end, form index, month index) of every month name written in `text`."""
  forms = month_forms(lang)
  if not forms:
    return []
  found = []
  for match in _pattern(lang).finditer(text):
    folded = match.group().casefold()
    form, month = next(
      (f, m) for f, names in enumerate(forms) for m, n in enumerate(names) if n.casefold() == folded
    )
    found.append((*match.span(), form, month))
  return found


def other_month(lang: str, form: int, month: int, rng) -> str:
  """A different month, in the same form."""
  choice = rng.choice([m for m in range(12) if m != month])
  return month_forms(lang)[form][choice]
