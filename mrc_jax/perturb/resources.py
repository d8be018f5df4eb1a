"""Per-language resources from pinned packages, and the stated way each one degrades.

Stopwords: `stopwordsiso` (the stopwords-iso collection, 57 languages). Lemmas: `simplemma`
(dictionary lemmatiser, ~50 languages, no download at run time). Negation words and
sentence-final punctuation are small tables written here because no maintained package
lists them across languages; each entry is the standard form in that language's grammar.
A resource serves a language code through `languages.best_key` (same script, CLDR distance
below 10): 'arb_Arab' gets the 'ar' lists, 'hin_Latn' none of the Devanagari 'hi' ones.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import unicodedata
from typing import Callable

import simplemma
import stopwordsiso
from simplemma.strategies.dictionaries.dictionary_factory import SUPPORTED_LANGUAGES

from mrc_jax.perturb.languages import best_key

log = logging.getLogger(__name__)

# Standalone negation words (particles or negative auxiliaries) whose removal flips a
# question's polarity. Affixal negation (Turkish -mA-, Swahili ha-, Japanese -nai) is not
# listed, nor words that are as often something else: Arabic ما ("what"), Turkish yok (yok
# olmak "to vanish"), Italian mai and Greek ποτέ ("ever" in questions), Estonian kunagi
# ("once"); French ne, pas and jamais negate only together (NEGATION_PAIRS). Not listed
# either: a negative auxiliary whose removal leaves no affirmative (Finnish ei + the
# connegative verb, Armenian չի + a participle without its auxiliary), a negation fused
# with the copula (Gujarati નથી, Slovenian ni, Croatian nije), and languages that negate
# with a verb prefix or suffix only (Czech and Slovak ne-, Persian na-, Telugu, Kannada,
# Malayalam, Japanese -nai).
NEGATION_WORDS: dict[str, frozenset[str]] = {
  "en": frozenset({"not", "never", "no"}),
  "de": frozenset({"nicht", "nie", "niemals", "kein", "keine", "keinen", "keinem", "keiner"}),
  "es": frozenset({"no", "nunca", "jamás"}),
  "it": frozenset({"non"}),
  "pt": frozenset({"não", "nunca", "jamais"}),
  "ru": frozenset({"не", "нет", "никогда"}),
  "bg": frozenset({"не", "няма", "никога"}),
  "pl": frozenset({"nie", "nigdy"}),
  "hu": frozenset({"nem", "ne", "soha", "sosem"}),
  "et": frozenset({"ei", "ära", "mitte"}),
  "tr": frozenset({"değil", "asla"}),
  "ar": frozenset({"لا", "لم", "لن", "ليس", "ليست"}),
  "he": frozenset({"לא", "אין"}),
  "el": frozenset({"δεν", "μην", "όχι"}),
  "zh": frozenset({"不", "没", "没有", "未", "非"}),
  "zh-Hant": frozenset({"不", "沒", "沒有", "未", "非"}),
  "vi": frozenset({"không", "chưa", "chẳng"}),
  "id": frozenset({"tidak", "bukan", "belum"}),
  "sw": frozenset({"si", "hapana", "sio"}),
  "ht": frozenset({"pa", "pat"}),
  "qu": frozenset({"mana", "ama"}),
  "hi": frozenset({"नहीं", "न", "मत"}),
  "th": frozenset({"ไม่", "มิ"}),
  "ta": frozenset({"இல்லை", "அல்ல"}),
  "am": frozenset({"አይደለም"}),
  "km": frozenset({"មិន"}),
  "ro": frozenset({"nu", "niciodată"}),
  "nl": frozenset({"niet", "nooit", "geen"}),
  "af": frozenset({"nie", "nooit", "geen"}),
  "sv": frozenset({"inte", "icke", "ej", "aldrig"}),
  "da": frozenset({"ikke", "aldrig"}),
  "nb": frozenset({"ikke", "aldri"}),
  "uk": frozenset({"не", "ніколи"}),
  "mk": frozenset({"не", "никогаш"}),
  "sr": frozenset({"не", "никад", "никада"}),
  "hr": frozenset({"ne", "nikad", "nikada"}),
  "bs": frozenset({"ne", "nikad", "nikada"}),
  "sl": frozenset({"ne", "nikoli"}),
  "sq": frozenset({"nuk", "mos"}),
  "ca": frozenset({"no"}),
  "gl": frozenset({"non", "nunca", "xamais"}),
  "tl": frozenset({"hindi"}),
  "kk": frozenset({"емес"}),
  "ko": frozenset({"안", "못"}),
  "ur": frozenset({"نہیں", "نہ", "مت"}),
  "bn": frozenset({"না", "নয়", "নি"}),
  "mr": frozenset({"नाही"}),
  "pa": frozenset({"ਨਹੀਂ", "ਨਾ"}),
  "gu": frozenset({"નહીં", "ન"}),
  "lo": frozenset({"ບໍ່"}),
  "ka": frozenset({"არ", "ვერ", "ნუ"}),
}
# Two-part negations, removed as a unit: an opener (French ne, or n' elided onto the verb)
# and a closer later in the same clause. A French opener without a closer is not a negation
# (restrictive "ne ... que", expletive "ne"): it is kept. Khmer មិន and Afrikaans nie negate
# alone too.
NEGATION_PAIRS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
  "fr": (
    frozenset({"ne", "n'", "n’"}),
    frozenset({"pas", "plus", "jamais", "rien", "personne", "guère", "point"}),
  ),
  "km": (frozenset({"មិន"}), frozenset({"ទេ"})),
  # Afrikaans closes a negated clause with a second nie ("Hy is nie hier nie"); a lone nie
  # ("Hy kom nie") negates alone.
  "af": (frozenset({"nie", "nooit", "geen"}), frozenset({"nie"})),
}
# Negation words that, next to these words, belong to another expression: Arabic لا يزال
# and لم يزل ("still"); Vietnamese không gian ("space"), không khí ("air"), không quân ("air
# force"), không trung ("the air"), hàng không ("aviation"). word -> (before, after).
_STILL = frozenset({"يزال", "تزال", "يزالون", "تزالون", "نزال", "أزال", "يزل", "تزل", "نزل", "أزل"})
NOT_NEGATION: dict[str, dict[str, tuple[frozenset[str], frozenset[str]]]] = {
  "ar": {"لا": (frozenset(), _STILL), "لم": (frozenset(), _STILL)},
  "vi": {"không": (frozenset({"hàng"}), frozenset({"gian", "khí", "quân", "trung"}))},
}
# "or": a negation word closing the question after it asks "... or not?" (an alternative,
# not a negated question), so it is kept.
DISJUNCTIONS: dict[str, frozenset[str]] = {
  "en": frozenset({"or"}),
  "de": frozenset({"oder"}),
  "es": frozenset({"o", "u"}),
  "pt": frozenset({"ou"}),
  "it": frozenset({"o"}),
  "ru": frozenset({"или"}),
  "bg": frozenset({"или"}),
  "pl": frozenset({"czy", "lub"}),
  "id": frozenset({"atau"}),
  "ar": frozenset({"أم", "أو"}),
  "vi": frozenset({"hay", "hoặc"}),
  "th": frozenset({"หรือ"}),
  "lo": frozenset({"ຫຼື"}),
  "ro": frozenset({"sau"}),
  "nl": frozenset({"of"}),
  "uk": frozenset({"чи", "або"}),
  "hr": frozenset({"ili"}),
  "sr": frozenset({"или"}),
  "mk": frozenset({"или"}),
}
# Negation words that close a yes/no question as its interrogative particle (Vietnamese
# "có ... không?", "phải không?", "đã ... chưa?"): kept there.
# Bengali "..., না?" (isn't it?) and Lao "... ບໍ່?" close questions the same way.
QUESTION_PARTICLES: dict[str, frozenset[str]] = {
  "vi": frozenset({"không", "chưa"}),
  "bn": frozenset({"না"}),
  "lo": frozenset({"ບໍ່"}),
}


@dataclasses.dataclass(frozen=True)
class Negation:
  """The negation rules of one language (the tables above)."""

  words: frozenset[str] = frozenset()
  openers: frozenset[str] = frozenset()
  closers: frozenset[str] = frozenset()
  not_negation: dict[str, tuple[frozenset[str], frozenset[str]]] = dataclasses.field(
    default_factory=dict
  )
  disjunctions: frozenset[str] = frozenset()
  particles: frozenset[str] = frozenset()

  def __bool__(self) -> bool:
    return bool(self.words or self.openers)


# Full stop closing an inserted sentence, by script family of the language.
SENTENCE_END: dict[str, str] = {
  "zh": "。",
  "ja": "。",
  "hi": "।",
  "mr": "।",
  "ne": "।",
  "bn": "।",
  "am": "።",
  "my": "။",
  "km": "។",
  "th": " ",
  "lo": " ",
  "ar": ".",
  "fa": ".",
  "ur": "۔",
}
QUESTION_MARKS = "?？؟;;՞፧"


@functools.lru_cache(maxsize=None)
def stopwords(lang: str) -> tuple[frozenset[str], str | None]:
  """(casefolded stopwords, degradation note or None)."""
  code = best_key(lang, stopwordsiso.langs())
  if code is not None:
    return frozenset(w.casefold() for w in stopwordsiso.stopwords(code)), None
  note = f"no stopword list for {lang!r}: every letter word is treated as a content word"
  log.warning(note)
  return frozenset(), note


def has_stopwords(lang: str) -> bool:
  return best_key(lang, stopwordsiso.langs()) is not None


def has_lemmatizer(lang: str) -> bool:
  return best_key(lang, SUPPORTED_LANGUAGES) is not None


@functools.lru_cache(maxsize=None)
def lemmatizer(lang: str) -> tuple[Callable[[str], str], str | None]:
  """(word -> casefolded lemma, degradation note or None)."""
  code = best_key(lang, SUPPORTED_LANGUAGES)
  if code is not None:
    lemma_of = functools.lru_cache(maxsize=65536)(
      lambda word: simplemma.lemmatize(word, lang=code).casefold()
    )
    return lemma_of, None
  note = f"no lemmatiser for {lang!r}: passage words match question words by exact casefolded form"
  log.warning(note)
  return str.casefold, note


def _nfc(words: frozenset[str]) -> frozenset[str]:
  """The forms as text is checked in (Bengali নয় keeps its nukta apart in NFC)."""
  return frozenset(unicodedata.normalize("NFC", w) for w in words)


@functools.lru_cache(maxsize=None)
def negation(lang: str) -> Negation:
  """The negation rules serving `lang` (falsy when it has none)."""
  words_key = best_key(lang, NEGATION_WORDS)
  pair_key = best_key(lang, NEGATION_PAIRS)
  openers, closers = NEGATION_PAIRS.get(pair_key, (frozenset(), frozenset()))
  key = words_key or pair_key
  return Negation(
    _nfc(NEGATION_WORDS.get(words_key, frozenset())),
    _nfc(openers),
    _nfc(closers),
    NOT_NEGATION.get(key, {}),
    DISJUNCTIONS.get(key, frozenset()),
    QUESTION_PARTICLES.get(key, frozenset()),
  )


def sentence_end(lang: str) -> str:
  return SENTENCE_END.get(best_key(lang, SENTENCE_END), ".")
