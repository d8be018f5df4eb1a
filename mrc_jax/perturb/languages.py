"""The languages the support table lists, and the script each is written in.

The table covers every language of the shared evaluation data plus one language for each
further script the attacks are tested on (Devanagari, Thai, Tamil, Greek, Hebrew, Ethiopic,
Khmer) and a few widely used ones; attacks themselves accept any language code.
"""
from __future__ import annotations

LANGUAGE_SCRIPT: dict[str, str] = {
    "ar": "ARABIC", "bg": "CYRILLIC", "de": "LATIN", "en": "LATIN", "es": "LATIN",
    "et": "LATIN", "fr": "LATIN", "ht": "LATIN", "hu": "LATIN", "id": "LATIN", "it": "LATIN",
    "pl": "LATIN", "pt": "LATIN", "qu": "LATIN", "ru": "CYRILLIC", "sw": "LATIN",
    "tr": "LATIN", "vi": "LATIN", "zh": "HAN", "ja": "HAN", "hi": "DEVANAGARI", "th": "THAI",
    "ta": "TAMIL", "el": "GREEK", "he": "HEBREW", "am": "ETHIOPIC", "km": "KHMER",
}
TABLE_LANGUAGES: tuple[str, ...] = tuple(sorted(LANGUAGE_SCRIPT))
# Scripts whose combining marks are optional diacritics (accents, tone marks, vowel points).
# Elsewhere (Devanagari, Thai, Tamil, Khmer, Ethiopic) marks are vowels: stripping them would
# not be a diacritics attack but a different word.
DIACRITIC_SCRIPTS = frozenset({"LATIN", "GREEK", "CYRILLIC", "ARABIC", "HEBREW"})
