"""AddSent beyond cased scripts: the wrong answer in the wh-phrase's place where the language
asks in situ, typed entity swaps (months, options, passage chunks) where nothing is
capitalised, a span scorer ranking fake answers, and the support table saying which parts
apply. Hand-written questions for the languages the shared data lacks, real XQuAD for the
rest."""

import random

import pytest

from mrc_jax import perturb
from mrc_jax.perturb import interrogatives, months, resources
from mrc_jax.perturb.attacks import addsent
from mrc_jax.perturb.registry import PerturbationError, Step

# (language, question, declarative sentence with the wrong answer at [X]); None where the
# question asks yes or no (Hindi's opening क्या) and AdvRACE's form stays.
IN_SITU = [
  ("ja", "東京タワーはどこにありますか", "東京タワーは[X]にあります"),
  ("ja", "どの国が優勝しましたか", "[X]が優勝しました"),
  ("ja", "何年に設立されましたか", "[X]に設立されました"),
  ("ko", "한국의 수도는 어디입니까", "한국의 수도는 [X]입니다"),
  ("ko", "어느 나라에서 열렸습니까", "[X]에서 열렸습니다"),
  ("ko", "몇 명이 참가했습니까", "[X] 명이 참가했습니다"),
  ("hi", "भारत की राजधानी क्या है", "भारत की राजधानी [X] है"),
  ("hi", "क्या भारत की राजधानी दिल्ली है", None),
  ("hi", "किस देश ने विश्व कप जीता", "[X] ने विश्व कप जीता"),
  ("hi", "मैच कब खेला गया था", "मैच [X] खेला गया था"),
  ("th", "ใครเป็นผู้ชนะ", "[X]เป็นผู้ชนะ"),
  ("th", "ทีมใดชนะการแข่งขัน", "ทีม[X]ชนะการแข่งขัน"),
  ("th", "มีผู้เล่นกี่คน", "มีผู้เล่น[X]คน"),
  ("zh", "哪个球员拦截次数最多", "[X]拦截次数最多"),
  ("zh", "几乎所有人都去了哪里", "几乎所有人都去了[X]"),
  ("zh", "他去哪儿了呢", "他去[X]了"),
  ("zh", "黑豹队的防守丢了多少分", "黑豹队的防守丢了[X]分"),
  ("zh-Hant", "哪個球員攔截次數最多", "[X]攔截次數最多"),
  ("zh-Hant", "幾乎所有人都去了哪裡", "幾乎所有人都去了[X]"),
  ("tr", "Hangi takım Super Bowl'u kazandı", "[X] Super Bowl'u kazandı"),
  ("tr", "Türkiye'nin başkenti neresidir", "Türkiye'nin başkenti [X]"),
  ("tr", "Maç ne zaman oynandı", "Maç [X] oynandı"),
  ("vi", "Cầu thủ nào ghi bàn", "Cầu thủ [X] ghi bàn"),
  ("vi", "Trận đấu kéo dài bao lâu", "Trận đấu kéo dài [X]"),
]


def _in_situ(question, lang):
  declared = interrogatives.declarative(question, lang)
  wh = interrogatives.wh_phrase(declared, lang)
  return None if wh is None else declared[: wh[0]] + "[X]" + declared[wh[1] :]


@pytest.mark.parametrize("lang,question,expected", IN_SITU)
def test_wh_phrase_gives_way_to_the_answer(lang, question, expected):
  assert _in_situ(question, lang) == expected


def test_every_in_situ_language_has_hand_checked_questions():
  assert set(interrogatives.WH_RULES) == {lang for lang, _, _ in IN_SITU}


@pytest.mark.parametrize("lang", ["en", "de", "ar", "es", "ru", "fr"])
def test_fronting_languages_keep_advrace_form(lang):
  assert interrogatives.rules(lang) is None
  assert interrogatives.wh_phrase("Who won what when", lang) is None


def _xquad(data_dir, lang, count=None):
  from mrc_jax.data import load_examples

  examples = list(load_examples(f"xquad.{lang}", split="test", data_dir=data_dir))
  return examples[:count] if count else examples


def _body(question):
  return question.strip().rstrip(resources.QUESTION_MARKS).rstrip()


@pytest.mark.integration
@pytest.mark.parametrize("lang", ["zh", "tr", "vi"])
def test_real_questions_find_their_wh_phrase(data_dir, lang):
  """Nearly every XQuAD question asks for something (a few are yes/no or 'name a ...')."""
  examples = _xquad(data_dir, lang)
  found = [
    interrogatives.wh_phrase(interrogatives.declarative(_body(e["question"]), lang), lang)
    for e in examples
  ]
  assert sum(f is not None for f in found) >= 0.9 * len(examples)


@pytest.mark.integration
@pytest.mark.parametrize("lang", ["zh", "tr", "vi"])
def test_real_distractors_are_declarative_and_answer_free(data_dir, lang):
  examples, in_situ = _xquad(data_dir, lang, 60), 0
  for example in examples:
    out = perturb.perturb(example, "addsent", lang, 0)
    record = out["meta"]["perturbation"][-1]
    ops = {op for edit in record["edits"] for op in edit["made_by"]}
    in_situ += any(op.startswith("wh-phrase") for op in ops)
    gold = [a["text"].casefold() for a in example["answers"]]
    for edit in record["edits"]:
      sentence = edit["new"]
      assert not any(g in sentence.casefold() for g in gold), (example["id"], sentence)
      assert not any(mark in sentence for mark in resources.QUESTION_MARKS), sentence
      replaced = [op for op in edit["made_by"] if op.startswith("wh-phrase")]
      if replaced:  # the phrase (of the mutated question) gave way to the answer
        phrase = replaced[0].split("'")[1]
        assert sentence.count(phrase) < max(1, example["question"].count(phrase)), sentence
  assert in_situ >= 0.9 * len(examples), in_situ


def _slots(context, chunk_text):
  """(word before, word after) of each place the passage has `chunk_text` as a chunk."""
  chunks = addsent.chunks(context, "zh")
  return [(c.before, c.after) for c in chunks if context[c.start : c.end] == chunk_text]


@pytest.mark.integration
def test_caseless_questions_swap_a_passage_chunk(data_dir):
  """Chinese: a chunk the question shares with the passage is replaced by another chunk of
  the passage, of as many words, sharing none of the question's words and standing in the
  passage next to a word the old one stands by. Where no chunk does, nothing is swapped:
  on the first 200 questions 31 swap (seed 1)."""
  swapped = 0
  examples = _xquad(data_dir, "zh", 200)
  for example in examples:
    out = perturb.perturb(example, "addsent", "zh", 1)
    ops = [op for e in out["meta"]["perturbation"][-1]["edits"] for op in e["made_by"]]
    chunk_ops = sorted({op for op in ops if op.startswith("passage span")})
    for op in chunk_ops:
      old, new = op.split("'")[1], op.split("'")[3]
      assert old in example["question"] and old in example["context"]
      assert new in example["context"] and new not in example["question"]
      befores = {b for b, _ in _slots(example["context"], old)} - {""}
      afters = {a for _, a in _slots(example["context"], old)} - {""}
      assert any(b in befores or a in afters for b, a in _slots(example["context"], new))
    swapped += bool(chunk_ops)
  assert 20 <= swapped <= 60, swapped


def test_a_chunk_is_swapped_for_one_in_the_same_slot():
  """Hindi: राहुल and अमित both stand before का, so one replaces the other; the verb रहता,
  a chunk of one word too, stands in no such slot."""
  context = "राहुल का घर दिल्ली में है। अमित का घर पटना में है। सीता वहाँ रहता है।"
  body, ops = addsent.mutate_question(
    "राहुल का घर कहाँ है?", context, _step("hi"), (), addsent.chunks(context, "hi")
  )
  assert ops == ["passage span 'राहुल'->'अमित'"] and body == "अमित का घर कहाँ है"


def _step(lang, **params):
  return Step("addsent", lang, random.Random(0), {"num_sentences": 2, **params})


def test_months_swap_within_their_form_and_keep_their_digits():
  body, ops = addsent.mutate_question("What happened in May 2015?", "", _step("en"))
  (month,) = [op for op in ops if op.startswith("month")]
  new = month.split("'")[3]
  assert new in months.month_forms("en")[0] and new != "May" and "numbers shifted" in ops
  # Russian writes the in-date (genitive) form: it is swapped for another genitive.
  body, ops = addsent.mutate_question("Что случилось 5 мая?", "", _step("ru"))
  new = [op for op in ops if op.startswith("month")][0].split("'")[3]
  assert new in months.month_forms("ru")[1] and new in body
  # Japanese writes the month with a digit: the month changes, no number is shifted apart.
  body, ops = addsent.mutate_question("5月に何が起きたか", "", _step("ja"))
  assert [op for op in ops if op.startswith("month")] and "numbers shifted" not in ops
  assert body.endswith("に何が起きたか") and body[:-7] in months.month_forms("ja")[0]


def test_month_names_come_from_icu_and_only_where_icu_has_them():
  assert months.month_forms("de")[0][2] == "März"
  assert months.month_forms("th")[0][0] == "มกราคม"
  assert months.month_forms("gn") == ()  # no CLDR data: not the fallback locale's names


def test_a_date_answer_gets_dates_with_other_months_as_fake_answers():
  example = {
    "id": "d1",
    "lang": "en",
    "meta": {},
    "context": "The bridge was opened in May 1905. It is long.",
    "question": "When was the bridge opened?",
    "answers": [{"text": "May 1905", "start": 25}],
  }
  out = perturb.perturb(example, "addsent", "en", 0)
  edits = out["meta"]["perturbation"][-1]["edits"]
  assert len(edits) == 2
  for edit in edits:
    assert edit["new"].startswith("When was the bridge opened ") and edit["new"].endswith(" 1905.")
    assert "May" not in edit["new"]
    assert any(f" {name} 1905." in edit["new"] for name in months.month_forms("en")[0])


def test_an_option_the_question_names_is_swapped_for_another():
  example = {
    "id": "o1",
    "lang": "hi",
    "meta": {},
    "context": "राम ने सेब खाया। सीता ने आम खाया।",
    "question": "राम ने सेब के बाद क्या खाया?",
    "options": ["आम", "सेब", "केला"],
    "label": 2,
  }
  body, ops = addsent.mutate_question(
    example["question"], example["context"], _step("hi"), example["options"]
  )
  assert ops[0] in ("option 'सेब'->'आम'", "option 'सेब'->'केला'")
  assert "सेब" not in body


ZH = {
  "id": "z1",
  "lang": "zh",
  "meta": {},
  "context": "黑豹队的防守在本赛季丢了308分。丹佛野马队赢得了超级碗。最佳球员是卡万·肖特。",
  "question": "谁赢得了超级碗？",
}
ZH["answers"] = [{"text": "丹佛野马队", "start": ZH["context"].index("丹佛野马队")}]


def test_a_span_scorer_ranks_the_fake_answers():
  """With scorer= (or span_model=) the best-ranked passage chunk is the first fake answer."""

  def prefers(example, spans, lang):
    return [1.0 if "肖特" in example["context"][a:b] else 0.0 for a, b in spans]

  out = perturb.perturb(ZH, "addsent", "zh", 0, scorer=prefers, num_sentences=1)
  (edit,) = out["meta"]["perturbation"][-1]["edits"]
  assert edit["new"] == "卡万·肖特赢得了超级碗。"
  assert edit["made_by"] == ["wh-phrase '谁' replaced by the answer"]


@pytest.mark.parametrize(
  "answer,numeric", [("四次", True), ("24 次", True), ("十二", True), ("卡万·肖特", False)]
)
def test_numeric_answers_by_digits_or_numeral_letters(answer, numeric):
  assert addsent.is_numeric(answer) == numeric


def test_span_model_must_be_a_workdir(tmp_path):
  with pytest.raises(PerturbationError, match="not a training workdir"):
    perturb.require_runnable("addsent", span_model=str(tmp_path))


@pytest.mark.parametrize("lang", ["zh", "ja", "ko", "hi", "th", "tr", "vi", "en", "ar", "de"])
def test_support_says_which_parts_apply(lang):
  support = perturb.support_table([lang])[lang]["addsent"]
  assert ("in situ" in support.how) == (interrogatives.rules(lang) is not None)
  caseless = not addsent.is_cased(lang)
  assert ("no capitalisation" in support.how) == caseless
  assert (support.status == "full") == (
    not caseless and bool(resources.negation(lang)) and bool(months.month_forms(lang))
  )
