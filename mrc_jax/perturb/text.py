"""Script-aware text units: grapheme clusters, words and sentences.

Grapheme clusters come from the `regex` module's `\\X` (Unicode extended grapheme clusters),
so a combining mark, a virama conjunct or a Thai vowel sign always travels with its base.
Words and sentences come from ICU break iteration (icu4py), which segments languages written
without spaces (zh, ja, th, lo, km, my) with its dictionaries instead of splitting on spaces.
"""

from __future__ import annotations

import functools
import unicodedata

import regex
from icu4py.breakers import SentenceBreaker, WordBreaker
from icu4py.locale import Locale

from mrc_jax.perturb.languages import base_language

_CLUSTER = regex.compile(r"\X")
# A word that can carry a character-level edit: letters (with their marks) only.
_LETTERS_ONLY = regex.compile(r"^[\p{L}\p{M}]+$")
_HAS_LETTER = regex.compile(r"\p{L}")
_DIGITS = regex.compile(r"\p{Nd}+")
_HAN_OR_KANA = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}]")

# Languages whose ICU word break uses a dictionary because words are not separated by spaces.
UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo"})


@functools.lru_cache(maxsize=None)
def _locale(lang: str) -> Locale:
  return Locale(base_language(lang))


def graphemes(text: str) -> list[str]:
  """Extended grapheme clusters of `text`."""
  return _CLUSTER.findall(text)


def is_nfc(text: str) -> bool:
  return unicodedata.is_normalized("NFC", text)


def is_letter_word(word: str) -> bool:
  """Letters and combining marks only: no digits, punctuation, symbols or spaces."""
  return bool(_LETTERS_ONLY.match(word))


def has_letter(text: str) -> bool:
  return bool(_HAS_LETTER.search(text))


def is_han_or_kana(word: str) -> bool:
  return bool(_HAN_OR_KANA.search(word))


def uses_spaces(lang: str) -> bool:
  return base_language(lang) not in UNSPACED_LANGUAGES


def _utf16_to_str_offsets(text: str) -> dict[int, int] | None:
  """ICU reports UTF-16 offsets; map them to Python string offsets (only astral text differs)."""
  if not text or max(text) <= "\uffff":
    return None
  mapping = {}
  unit = 0
  for index, char in enumerate(text):
    mapping[unit] = index
    unit += 2 if char > "\uffff" else 1
  mapping[unit] = len(text)
  return mapping


def _segments(breaker_cls, text: str, lang: str) -> list[tuple[int, int]]:
  if not text:
    return []
  spans = list(breaker_cls(text, _locale(lang)).segments())
  mapping = _utf16_to_str_offsets(text)
  if mapping is not None:
    spans = [(mapping[a], mapping[b]) for a, b in spans]
  return spans


def word_spans(text: str, lang: str) -> list[tuple[int, int]]:
  """(start, end) of every ICU word segment that contains a letter."""
  return [(a, b) for a, b in _segments(WordBreaker, text, lang) if has_letter(text[a:b])]


def sentence_spans(text: str, lang: str) -> list[tuple[int, int]]:
  """(start, end) of every ICU sentence segment (trailing spaces included, as ICU gives them)."""
  return _segments(SentenceBreaker, text, lang)


def digit_runs(text: str) -> list[tuple[int, int]]:
  return [m.span() for m in _DIGITS.finditer(text)]
