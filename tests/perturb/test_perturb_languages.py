"""Language codes resolve (Belebele's FLORES codes included), and every claim of the support
table agrees with the resources that really serve the language."""

import pytest
import regex
import simplemma
from simplemma.strategies.dictionaries.dictionary_factory import SUPPORTED_LANGUAGES

from mrc_jax import perturb
from mrc_jax.data.languages import BELEBELE
from mrc_jax.perturb import homoglyphs, interrogatives, keyboards, languages, months, resources
from mrc_jax.perturb.languages import TABLE_LANGUAGES

# ISO 639-3 individual languages of Belebele whose macrolanguage has an ISO 639-1 code.
MACROLANGUAGE = {
  "arb_Arab": "ar",
  "swh_Latn": "sw",
  "pes_Arab": "fa",
  "npi_Deva": "ne",
  "zsm_Latn": "ms",
  "ekk_Latn": "et",
  "lvs_Latn": "lv",
  "als_Latn": "sq",
  "khk_Cyrl": "mn",
  "uzn_Latn": "uz",
  "azj_Latn": "az",
  "gaz_Latn": "om",
  "plt_Latn": "mg",
  "grn_Latn": "gn",
  "deu_Latn": "de",
  "zho_Hant": "zh",
}
ALL_LANGUAGES = sorted(set(BELEBELE) | set(TABLE_LANGUAGES))
WORD_ATTACKS = ("charswap", "typo_drop", "typo_repeat")
# Characters only Simplified Chinese writes (Traditional: 這 們 個 說 時 會 來 為 對).
SIMPLIFIED_ONLY = set("这们个说时会来为对")
UNICODE_SCRIPTS = {"Hans": ("Han",), "Hant": ("Han",), "Jpan": ("Han", "Hiragana", "Katakana")}


def _script(lang):
  """The script a text of `lang` is written in: the code's subtag, or CLDR's likely one."""
  return lang.split("_")[1] if "_" in lang else languages.script(lang)


def _written_in(words, lang):
  """Most letters of `words` are of the language's script (and Traditional for Hant)."""
  script = _script(lang)
  letters = [c for w in words for c in w if c.isalpha()]
  pattern = regex.compile(
    "[" + "".join(rf"\p{{sc={name}}}" for name in UNICODE_SCRIPTS.get(script, (script,))) + "]"
  )
  if script == "Hant" and SIMPLIFIED_ONLY & set(letters):
    return False
  return bool(letters) and sum(bool(pattern.match(c)) for c in letters) > len(letters) / 2


def _stopwords_serve(lang):
  words, note = resources.stopwords(lang)
  return note is None and len(words) >= 20 and _written_in(words, lang)


@pytest.mark.parametrize("lang", BELEBELE)
def test_belebele_codes_resolve_with_their_script(lang):
  resolved = languages.resolve(lang)
  assert resolved.script == lang.split("_")[1]  # the script subtag is kept
  assert regex.fullmatch(r"[a-z]{2,3}", resolved.language), resolved
  assert languages.base_language(lang) == resolved.language


@pytest.mark.parametrize("code,expected", sorted(MACROLANGUAGE.items()))
def test_macrolanguages_are_normalised(code, expected):
  assert languages.base_language(code) == expected


def test_script_decides_which_resources_serve():
  assert resources.has_stopwords("hin_Deva") and not resources.has_stopwords("hin_Latn")
  assert resources.has_stopwords("arb_Arab") and not resources.has_stopwords("arb_Latn")
  assert resources.has_stopwords("zho_Hans") and not resources.has_stopwords("zho_Hant")
  assert keyboards.layout_for("arb_Arab") == "ara" and keyboards.layout_for("arb_Latn") is None
  assert "沒有" in resources.negation("zho_Hant").words
  assert "没有" in resources.negation("zho_Hans").words
  # A dialect far from Modern Standard Arabic (CLDR distance >= 10) is not served by it.
  assert not resources.has_stopwords("arz_Arab")
  assert resources.has_lemmatizer("nob_Latn")  # nb ~ no: CLDR distance 1


def test_bad_code_names_itself():
  with pytest.raises(ValueError, match="'not a code!'"):
    languages.resolve("not a code!")


@pytest.mark.parametrize("lang", ALL_LANGUAGES)
def test_support_claims_agree_with_resources(lang):
  table = perturb.support_table([lang])[lang]
  script = _script(lang)
  stop_ok = _stopwords_serve(lang)
  lemma_ok = resources.lemmatizer(lang)[1] is None
  han = script in languages.HAN_SCRIPTS
  for name in WORD_ATTACKS:
    assert (table[name].status == "full") == (stop_ok and lemma_ok and not han), table[name]
    assert ("no stopword list" in table[name].how) == (not stop_ok), table[name]
  # The default scorer is lexical, not AdvRACE's span model: never full by default.
  assert table["distractor_extraction"].status == "degraded"
  assert "span_model=WORKDIR" in table["distractor_extraction"].how
  assert ("no stopword list" in table["distractor_extraction"].how) == (not stop_ok)
  negation = resources.negation(lang)
  negation_ok = bool(negation) and _written_in(negation.words | negation.openers, lang)
  cased = script in ("Latn", "Cyrl", "Grek", "Armn")
  has_months = bool(months.month_forms(lang))
  assert (table["addsent"].status == "full") == (negation_ok and cased and has_months)
  assert ("no negation word list" in table["addsent"].how) == (not negation_ok)
  assert ("in situ" in table["addsent"].how) == (interrogatives.rules(lang) is not None)
  if has_months:  # ICU's names are written in the language's script (or its digits)
    assert _written_in(months.month_forms(lang)[0], lang) or all(
      regex.search(r"\d", name) for name in months.month_forms(lang)[0]
    ), months.month_forms(lang)[0]
  layout = keyboards.layout_for(lang)
  if table["typo_keyboard"].status == "full":
    keys = keyboards.data()["layouts"][layout]["keys"]
    assert _written_in([c for levels in keys.values() for c in levels if c], lang), layout
    assert table["typo_insert"].status == table["charswap"].status
  if table["homoglyph"].status == "full":
    assert homoglyphs.letters_in_script(script) >= 20
  assert (table["diacritics"].status == "full") == (
    script in languages.DIACRITIC_SCRIPTS and script != "Hebr"
  )


@pytest.mark.slow
def test_claimed_lemmatisers_know_the_language():
  """Where a lemmatiser is claimed, its dictionary knows the language's stopwords (one of
  another language or script knows next to none; loads every dictionary: slow)."""
  for lang in BELEBELE:
    if not (resources.has_lemmatizer(lang) and _stopwords_serve(lang)):
      continue
    key = languages.best_key(lang, SUPPORTED_LANGUAGES)
    words = sorted(resources.stopwords(lang)[0])
    known = sum(simplemma.is_known(w, lang=key) for w in words)
    assert known >= min(20, len(words) // 2), (lang, key, known, len(words))


def test_belebele_coverage():
  """How many of Belebele's 122 variants each resource serves."""
  served = {
    "stopwords": sum(map(resources.has_stopwords, BELEBELE)),
    "lemmatizer": sum(map(resources.has_lemmatizer, BELEBELE)),
    "negation": sum(bool(resources.negation(l)) for l in BELEBELE),
    "keyboard": sum(keyboards.layout_for(l) is not None for l in BELEBELE),
  }
  assert served == {"stopwords": 52, "lemmatizer": 41, "negation": 49, "keyboard": 82}
