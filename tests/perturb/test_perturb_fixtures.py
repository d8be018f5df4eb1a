"""The hand-written fixture file: one extractive example per support-table language, written in
the language's script, with exact answer offsets and a question marked as the language marks
questions."""

import collections
import unicodedata

import pytest

from mrc_jax.perturb import languages, resources, text
from mrc_jax.perturb.languages import TABLE_LANGUAGES

# Examples kept as multiple choice under their `LANG-1` id; the extractive example of the
# language is `LANG-2`.
CHOICE_FIRST = {"ta", "he", "km"}
# Questions not closed by a question mark: Thai closes them with a question word or particle
# alone, Burmese and Tibetan with their full stops (။, །) after a question particle, and
# Armenian puts ՞ on the stressed vowel of the question word, ending with the full stop ։.
QUESTION_END = {"th": "", "my": "။", "bo": "།", "hy": "։"}
MARK_INSIDE = {"hy": "՞"}
# The question word each fixture question asks with.
QUESTION_WORDS = {
  "en": "When",
  "de": "welches",
  "fr": "Combien",
  "es": "¿Por qué",
  "it": "quale",
  "pt": "Em que ano",
  "pl": "Ile",
  "hu": "Melyik",
  "et": "Mitu",
  "ht": "ki lane",
  "id": "pulau mana",
  "qu": "Maypitaq",
  "sw": "ngapi",
  "tr": "hangi",
  "vi": "nào",
  "ro": "Ce râu",
  "nl": "welk",
  "cs": "Která",
  "fi": "Kuinka",
  "sv": "Vilket",
  "ru": "Сколько",
  "bg": "коя",
  "uk": "якій",
  "kk": "қай",
  "mk": "која",
  "ar": "كم",
  "fa": "کدام",
  "ur": "کون",
  "zh": "哪座",
  "zh-Hant": "哪一年",
  "ja": "何メートル",
  "ko": "무엇",
  "hi": "किस नदी",
  "mr": "कोणत्या",
  "ne": "कुन",
  "bn": "কোন",
  "as": "কোন",
  "pa": "ਕਿਸ",
  "gu": "કઈ",
  "or": "କେଉଁ",
  "ta": "எந்த",
  "te": "ఏ సంవత్సరంలో",
  "kn": "ಯಾರು",
  "ml": "ഏതാണ്",
  "si": "කුමක්ද",
  "th": "ใด",
  "lo": "ໃດ",
  "km": "ណា",
  "my": "မည်သည့်",
  "am": "ማን",
  "el": "Ποιο",
  "he": "איזה",
  "hy": "Ո՞ր",
  "ka": "რამდენი",
  "bo": "གང་གི",
}
# Examples written before the fixture file had one per table language, without a number.
WITHOUT_NUMBER = {"hi-1", "th-1", "el-1", "am-1"}
# Scripts whose words are short in code points (Ethiopic and Hangul letters are syllables) or
# not spaced (Han, Kana, Thai, Lao, Khmer, Burmese, Tibetan): shorter shared words count there.
SHORT_WORD_SCRIPTS = {
  "Hans",
  "Hant",
  "Jpan",
  "Hang",
  "Ethi",
  "Thai",
  "Laoo",
  "Khmr",
  "Mymr",
  "Tibt",
}


def _extractive(examples, lang):
  wanted = f"{lang}-2" if lang in CHOICE_FIRST else f"{lang}-1"
  return next(e for e in examples if e["id"] == wanted)


def test_one_first_example_per_table_language(script_examples):
  ids = collections.Counter(e["id"] for e in script_examples)
  assert all(count == 1 for count in ids.values()), ids.most_common(3)
  for lang in TABLE_LANGUAGES:
    assert ids[f"{lang}-1"] == 1, lang
  assert {e["lang"] for e in script_examples} == set(TABLE_LANGUAGES)
  for example in script_examples:
    assert example["task"] == f"fixture.{example['lang']}", example["id"]
    assert example["id"].startswith(example["lang"] + "-"), example["id"]


@pytest.mark.parametrize("lang", TABLE_LANGUAGES)
def test_each_language_has_an_extractive_example(script_examples, lang):
  example = _extractive(script_examples, lang)
  assert example["lang"] == lang
  assert "options" not in example and len(example["answers"]) == 1


def test_answer_offsets_are_exact_spans(script_examples):
  for example in script_examples:
    for answer in example.get("answers", []):
      start, answer_text = answer["start"], answer["text"]
      assert answer_text and 0 <= start <= len(example["context"]) - len(answer_text)
      assert example["context"][start : start + len(answer_text)] == answer_text, example["id"]
      assert answer_text not in example["question"], example["id"]


def test_text_is_nfc(script_examples):
  for example in script_examples:
    strings = [example["context"], example["question"]]
    strings += [a["text"] for a in example.get("answers", [])] + example.get("options", [])
    assert all(unicodedata.is_normalized("NFC", s) for s in strings), example["id"]


def _share_of_script(string, lang):
  pattern = languages.letter_pattern(languages.script(lang))
  letters = [c for c in string if unicodedata.category(c)[0] in "LM"]
  return sum(bool(pattern.match(c)) for c in letters) / len(letters) if letters else 0.0


@pytest.mark.parametrize("lang", TABLE_LANGUAGES)
def test_written_in_the_language_script(script_examples, lang):
  for example in (e for e in script_examples if e["lang"] == lang):
    assert _share_of_script(example["context"], lang) >= 0.9, example["id"]
    assert _share_of_script(example["question"], lang) >= 0.9, example["id"]
  if lang == "zh-Hant":
    example = _extractive(script_examples, lang)
    assert not set("这们个说时会来为对国长东台湾楼于经区") & set(
      example["context"] + example["question"]
    )


@pytest.mark.parametrize("lang", TABLE_LANGUAGES)
def test_question_is_marked_as_the_language_marks_questions(script_examples, lang):
  for example in (e for e in script_examples if e["lang"] == lang):
    question = example["question"]
    if lang in QUESTION_END:
      assert question.endswith(QUESTION_END[lang]) or not QUESTION_END[lang], example["id"]
      assert not question.endswith(tuple(resources.QUESTION_MARKS)), example["id"]
    else:
      assert question[-1] in resources.QUESTION_MARKS, example["id"]
    if lang in MARK_INSIDE:
      assert MARK_INSIDE[lang] in question and MARK_INSIDE[lang] in resources.QUESTION_MARKS


@pytest.mark.parametrize("lang", TABLE_LANGUAGES)
def test_question_asks_with_a_question_word_about_the_context(script_examples, lang):
  example = _extractive(script_examples, lang)
  assert QUESTION_WORDS[lang] in example["question"], example["id"]
  shortest = 2 if languages.script(lang) in SHORT_WORD_SCRIPTS else 4

  def words(string):
    return {string[a:b].casefold() for a, b in text.word_spans(string, lang) if b - a >= shortest}

  shared = words(example["question"]) & words(example["context"])
  assert len(shared) >= 2, (example["id"], shared)


@pytest.mark.parametrize("lang", TABLE_LANGUAGES)
def test_context_has_two_or_three_sentences_and_a_number(script_examples, lang):
  example = _extractive(script_examples, lang)
  context = example["context"]
  if example["id"] not in WITHOUT_NUMBER:
    assert text.digit_runs(context), example["id"]
  if lang == "bo":
    assert 2 <= context.count("།") <= 3
  elif lang not in ("th", "lo"):  # sentences separated by spaces, which ICU does not split at
    assert 2 <= len(text.sentence_spans(context, lang)) <= 3, example["id"]
