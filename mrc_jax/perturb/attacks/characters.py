"""Character-level attacks on content words: charswap (AdvRACE), the typo family, diacritics
stripping and homoglyphs. Every edit moves whole grapheme clusters, and each result is
re-segmented to prove that no cluster was split or merged."""

from __future__ import annotations

import unicodedata

import regex

from mrc_jax.perturb import homoglyphs, keyboards, languages, resources, text, words
from mrc_jax.perturb.languages import DIACRITIC_SCRIPTS, HAN_SCRIPTS
from mrc_jax.perturb.registry import DEGRADED, FULL, UNSUPPORTED, Support, register

WORD_PARAMS = {"scope": "question", "rate": 1.0, "min_clusters": 4}


def word_support(lang: str) -> Support:
  """Shared by the word-level attacks: stopwords, lemmas and segmentation of `lang`."""
  problems = []
  if not resources.has_stopwords(lang):
    problems.append("no stopword list: every letter word of >= 4 clusters is eligible")
  if not resources.has_lemmatizer(lang):
    problems.append("passage_keywords matches exact forms (no lemmatiser)")
  if languages.script(lang) in HAN_SCRIPTS:
    problems.append("Han words of >= 2 characters, any adjacent pair")
  how = "; ".join(problems)
  if not text.uses_spaces(lang):
    how = "ICU dictionary word segmentation" + ("; " + how if how else "")
  return Support(DEGRADED if problems else FULL, how)


def _clusters_ok(new_word: str, expected: list[str]) -> bool:
  """The edited word re-segments into exactly the intended clusters (none split or merged)."""
  return text.graphemes(new_word) == expected


def _positions(first: int, last: int, step) -> list[int]:
  """Cluster indices first..last in seeded order (every one is tried before giving up)."""
  positions = list(range(first, last + 1))
  step.rng.shuffle(positions)
  return positions


def _inner_range(word: str, clusters: list[str]) -> tuple[int, int]:
  """Indices of editable clusters: inner ones, or all for Han/Kana words."""
  if text.is_han_or_kana(word):
    return 0, len(clusters) - 1
  return 1, len(clusters) - 2


def _run(example, step, edit_word, skip_stopwords=True):
  found = words.targets(example, step, int(step.params["min_clusters"]), skip_stopwords)
  picked = words.choose(found, step)
  return words.rewrite(example, step, picked, edit_word)


# ----------------------------------------------------------------------------- charswap
def swap_clusters(word: str, step) -> tuple[str, str] | None:
  clusters = text.graphemes(word)
  first, last = _inner_range(word, clusters)
  for i in _positions(first, last - 1, step):
    if clusters[i] == clusters[i + 1]:
      continue  # AdvRACE retries when the two are equal; here every position is tried
    swapped = clusters[:i] + [clusters[i + 1], clusters[i]] + clusters[i + 2 :]
    new = "".join(swapped)
    if _clusters_ok(new, swapped) and text.is_nfc(new):
      return new, f"swap clusters {i},{i + 1}"
  return None


@register(
  "charswap",
  advrace="CharSwap",
  description="swap two adjacent inner grapheme clusters of every content word of the "
  "question (scope=passage_keywords: also passage words sharing a lemma "
  "with question or option words)",
  params=WORD_PARAMS,
  support=word_support,
)
def charswap(example, step):
  return _run(example, step, swap_clusters)


# ------------------------------------------------------------------------------- typos
def _drop(word, step):
  clusters = text.graphemes(word)
  first, last = _inner_range(word, clusters)
  for i in _positions(first, last, step):
    kept = clusters[:i] + clusters[i + 1 :]
    new = "".join(kept)
    if _clusters_ok(new, kept) and text.is_nfc(new):
      return new, f"drop cluster {i}"
  return None


def _insert_cluster(word, step, make_cluster):
  clusters = text.graphemes(word)
  for i in _positions(1, len(clusters) - 1, step):
    cluster = make_cluster(clusters, i)
    if cluster is None:
      continue
    grown = clusters[:i] + [cluster] + clusters[i:]
    new = "".join(grown)
    if _clusters_ok(new, grown) and text.is_nfc(new):
      return new, f"insert {cluster!r} at {i}"
  return None


def _insert(word, step):
  adjacent = keyboards.neighbours(keyboards.layout_for(step.lang) or keyboards.LATIN_FALLBACK)

  def neighbour_key(clusters, i):
    keys = adjacent.get(clusters[i - 1][-1])
    if not keys:
      return None  # the previous letter is not a key: another position is tried
    return step.rng.choice(keys)  # a neighbouring key hit together with the previous letter

  result = _insert_cluster(word, step, neighbour_key)
  if result is not None:
    return result
  step.degrade("no keyboard key for this letter: a cluster of the same word is inserted")
  return _insert_cluster(word, step, lambda clusters, i: step.rng.choice(clusters))


def _repeat(word, step):
  clusters = text.graphemes(word)
  first, last = _inner_range(word, clusters)
  for i in _positions(first, last, step):
    grown = clusters[: i + 1] + [clusters[i]] + clusters[i + 1 :]
    new = "".join(grown)
    if _clusters_ok(new, grown) and text.is_nfc(new):
      return new, f"repeat cluster {i}"
  return None


def _keyboard(word, step):
  code = text.base_language(step.lang)
  layout = keyboards.layout_for(step.lang)
  if layout is None and regex.search(r"\p{Latin}", word):
    layout = keyboards.LATIN_FALLBACK
  adjacent = keyboards.neighbours(layout) if layout else {}
  clusters = text.graphemes(word)
  first, last = _inner_range(word, clusters)
  for i in _positions(first, last, step):
    cluster = clusters[i]
    # The first code point of the cluster that is a key (a consonant before its vowel sign).
    j = next((j for j, char in enumerate(cluster) if char in adjacent), None)
    if j is None:
      continue
    typed = cluster[:j] + step.rng.choice(adjacent[cluster[j]]) + cluster[j + 1 :]
    changed = clusters[:i] + [typed] + clusters[i + 1 :]
    new = "".join(changed)
    if _clusters_ok(new, changed) and text.is_nfc(new):
      return new, f"keyboard {layout} {cluster!r}->{typed!r} at {i}"
  # No key of this word is on a layout for the language: the stated fallback.
  step.degrade(f"no keyboard layout covers these letters ({code}): drop/insert instead")
  fallback = _drop if step.rng.random() < 0.5 else _insert
  result = fallback(word, step)
  return None if result is None else (result[0], "fallback " + result[1])


def _no_stopwords(support: Support, lang: str) -> Support:
  """Word attacks edit every letter word where no stopword list serves the language."""
  if resources.has_stopwords(lang):
    return support
  note = "no stopword list: every letter word is eligible"
  return Support(DEGRADED, "; ".join(h for h in (support.how, note) if h))


def keyboard_support(lang: str) -> Support:
  return _no_stopwords(_keyboard_layout_support(lang), lang)


def _keyboard_layout_support(lang: str) -> Support:
  layout = keyboards.layout_for(lang)
  if layout and languages.script(lang) in languages.HAN_SCRIPTS:
    return Support(
      DEGRADED,
      f"{layout} ({keyboards.description(layout)}) types the kana; kanji come from an input "
      "method, so words without kana use drop/insert",
    )
  if layout:
    return Support(FULL, f"{layout} ({keyboards.description(layout)})")
  why = keyboards.unserved_reason(lang)
  if languages.script(lang) == "Latn":
    return Support(DEGRADED, f"no layout for the language ({why}): us assumed")
  return Support(DEGRADED, f"no keyboard layout ({why}): character drop/insert")


def insert_support(lang: str) -> Support:
  words_ok = word_support(lang)
  if keyboards.layout_for(lang):
    return words_ok
  missing = (
    "no layout for the language: us neighbours"
    if languages.script(lang) == "Latn"
    else "no keyboard layout: inserts a cluster of the same word"
  )
  return Support(DEGRADED, "; ".join(h for h in (words_ok.how, missing) if h))


for _name, _fn, _support, _what in [
  ("typo_drop", _drop, word_support, "drop one inner grapheme cluster"),
  (
    "typo_insert",
    _insert,
    insert_support,
    "insert a keyboard neighbour of the previous "
    "letter (scripts without a layout: a cluster of the same word)",
  ),
  ("typo_repeat", _repeat, word_support, "repeat one inner grapheme cluster"),
]:
  register(
    _name,
    advrace="CharSwap variant (disabled in the released code)",
    description=_what + " in every content word of the question",
    params=WORD_PARAMS,
    support=_support,
  )(lambda example, step, _fn=_fn: _run(example, step, _fn))

register(
  "typo_keyboard",
  advrace="CharSwap keyboard variant (disabled in the released code)",
  description="replace one letter of every content word with a neighbouring key of the "
  "language's keyboard layout",
  params=WORD_PARAMS,
  support=keyboard_support,
)(lambda example, step: _run(example, step, _keyboard))


# -------------------------------------------------------------------------- diacritics
_DIACRITIC_BASE = regex.compile(r"[\p{Latin}\p{Greek}\p{Cyrillic}\p{Arabic}\p{Hebrew}]")
# Letters whose diacritic is fused into the code point (no decomposition), mapped to the base
# letter people type without it.
_FUSED = {"đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ħ": "h", "Ħ": "H"}


def strip_cluster(cluster: str) -> str:
  if cluster in _FUSED:
    return _FUSED[cluster]
  if not _DIACRITIC_BASE.match(cluster):
    return cluster
  decomposed = unicodedata.normalize("NFD", cluster)
  base = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
  return unicodedata.normalize("NFC", base) if base else cluster


def _strip_word(word, step):
  clusters = text.graphemes(word)
  stripped = [strip_cluster(c) for c in clusters]
  new = "".join(stripped)
  if new == word or not _clusters_ok(new, stripped):
    return None
  return new, "strip diacritics"


# Scripts whose running text is normally written without their optional marks (modern
# Hebrew prints niqqud only in poetry, children's books and dictionaries).
_MOSTLY_UNPOINTED = {"Hebr": "Hebrew text is mostly unpointed: only niqqud present are stripped"}


def diacritics_support(lang: str) -> Support:
  script = languages.script(lang)
  if script in _MOSTLY_UNPOINTED:
    return Support(DEGRADED, _MOSTLY_UNPOINTED[script])
  if script in DIACRITIC_SCRIPTS:
    return Support(FULL, "")
  if script is None:
    return Support(
      DEGRADED, "script unknown: marks of Latin, Greek, Cyrillic, Arabic and Hebrew letters only"
    )
  return Support(
    UNSUPPORTED,
    f"the {script} script has no optional diacritics (its marks, if any, are vowel signs)",
  )


@register(
  "diacritics",
  advrace="none (new)",
  description="strip accents, tone marks, harakat and niqqud from every word of the "
  "question (scripts where they are optional diacritics)",
  params={**WORD_PARAMS, "min_clusters": 1},
  support=diacritics_support,
)
def diacritics(example, step):
  # Accents are dropped from every word when typing without them, function words included.
  return _run(example, step, _strip_word, skip_stopwords=False)


# --------------------------------------------------------------------------- homoglyph
def _homoglyph(word, step):
  table = homoglyphs.table()
  clusters = text.graphemes(word)
  options = [i for i, c in enumerate(clusters) if c in table]
  step.rng.shuffle(options)
  for i in options:
    glyph = step.rng.choice(table[clusters[i]])
    changed = clusters[:i] + [glyph] + clusters[i + 1 :]
    new = "".join(changed)
    if _clusters_ok(new, changed) and text.is_nfc(new):
      return new, f"homoglyph {clusters[i]!r}->{glyph!r} (U+{ord(glyph):04X}) at {i}"
  return None


def homoglyph_support(lang: str) -> Support:
  return _no_stopwords(_homoglyph_letters_support(lang), lang)


def _homoglyph_letters_support(lang: str) -> Support:
  script = languages.script(lang)
  if script is None:
    return Support(DEGRADED, "script unknown: letters with a Unicode confusable")
  count = homoglyphs.letters_in_script(script)
  if script == "Arab":
    return Support(DEGRADED, "3 Arabic/Persian letter pairs (Unicode lists none)")
  if count >= 20:
    return Support(FULL, f"{count} letters with a look-alike")
  if count:
    return Support(DEGRADED, f"only {count} letters of the {script} script have a look-alike")
  return Support(UNSUPPORTED, f"no letter of the {script} script has a single-letter look-alike")


@register(
  "homoglyph",
  advrace="none (new)",
  description="replace one letter of every content word of the question with a "
  "look-alike from another script (Unicode confusables)",
  params={**WORD_PARAMS, "min_clusters": 2},
  support=homoglyph_support,
)
def homoglyph(example, step):
  return _run(example, step, _homoglyph)
