"""Per-language resources from pinned packages, and the stated way each one degrades.

Stopwords: `stopwordsiso` (the stopwords-iso collection, 57 languages). Lemmas: `simplemma`
(dictionary lemmatiser, ~50 languages, no download at run time). Negation words and
sentence-final punctuation are small tables written here because no maintained package
lists them across languages; each entry is the standard form in that language's grammar.
"""
from __future__ import annotations

import functools
import logging
from typing import Callable

import simplemma
import stopwordsiso
from simplemma.strategies.dictionaries.dictionary_factory import SUPPORTED_LANGUAGES

from mrc_jax.perturb.text import base_language

log = logging.getLogger(__name__)

# Standalone negation words (particles or negative auxiliaries) that can be removed from a
# question to flip its polarity. Affixal negation (Turkish -mA-, Swahili ha-) is not listed.
NEGATION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset({"not", "never", "no"}),
    "de": frozenset({"nicht", "nie", "niemals", "kein", "keine", "keinen", "keinem", "keiner"}),
    "es": frozenset({"no", "nunca", "jamás"}),
    "fr": frozenset({"ne", "pas", "jamais", "n'"}),
    "it": frozenset({"non", "mai"}),
    "pt": frozenset({"não", "nunca", "jamais"}),
    "ru": frozenset({"не", "нет", "никогда"}),
    "bg": frozenset({"не", "няма", "никога"}),
    "pl": frozenset({"nie", "nigdy"}),
    "hu": frozenset({"nem", "ne", "soha", "sosem"}),
    "et": frozenset({"ei", "ära", "mitte", "kunagi"}),
    "tr": frozenset({"değil", "yok", "asla"}),
    "ar": frozenset({"لا", "لم", "لن", "ليس", "ليست", "ما"}),
    "he": frozenset({"לא", "אין", "אף פעם"}),
    "el": frozenset({"δεν", "μην", "όχι", "ποτέ"}),
    "zh": frozenset({"不", "没", "没有", "未", "非"}),
    "ja": frozenset({"ない", "ません"}),
    "vi": frozenset({"không", "chưa", "chẳng"}),
    "id": frozenset({"tidak", "bukan", "belum"}),
    "sw": frozenset({"si", "hapana", "sio"}),
    "ht": frozenset({"pa", "pat"}),
    "qu": frozenset({"mana", "ama"}),
    "hi": frozenset({"नहीं", "न", "मत"}),
    "th": frozenset({"ไม่", "มิ"}),
    "ta": frozenset({"இல்லை", "அல்ல"}),
    "am": frozenset({"አይደለም"}),
    "km": frozenset({"មិន", "ទេ"}),
}

# Full stop closing an inserted sentence, by script family of the language.
SENTENCE_END: dict[str, str] = {
    "zh": "。", "ja": "。", "hi": "।", "mr": "।", "ne": "।", "bn": "।", "am": "።",
    "my": "။", "km": "។", "th": " ", "lo": " ", "ar": ".", "fa": ".", "ur": "۔",
}
QUESTION_MARKS = "?？؟;;՞፧"


@functools.lru_cache(maxsize=None)
def stopwords(lang: str) -> tuple[frozenset[str], str | None]:
    """(casefolded stopwords, degradation note or None)."""
    code = base_language(lang)
    if stopwordsiso.has_lang(code):
        return frozenset(w.casefold() for w in stopwordsiso.stopwords(code)), None
    note = f"no stopword list for {code!r}: every letter word is treated as a content word"
    log.warning(note)
    return frozenset(), note


def has_stopwords(lang: str) -> bool:
    return stopwordsiso.has_lang(base_language(lang))


def has_lemmatizer(lang: str) -> bool:
    return base_language(lang) in SUPPORTED_LANGUAGES


@functools.lru_cache(maxsize=None)
def lemmatizer(lang: str) -> tuple[Callable[[str], str], str | None]:
    """(word -> casefolded lemma, degradation note or None)."""
    code = base_language(lang)
    if code in SUPPORTED_LANGUAGES:
        lemma_of = functools.lru_cache(maxsize=65536)(
            lambda word: simplemma.lemmatize(word, lang=code).casefold())
        return lemma_of, None
    note = (f"no lemmatiser for {code!r}: passage words match question words by exact "
            "casefolded form")
    log.warning(note)
    return str.casefold, note


def negation_words(lang: str) -> frozenset[str]:
    return NEGATION_WORDS.get(base_language(lang), frozenset())


def sentence_end(lang: str) -> str:
    return SENTENCE_END.get(base_language(lang), ".")
