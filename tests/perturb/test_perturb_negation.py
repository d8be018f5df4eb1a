"""AddSent's negation removal deletes real negations only, and both parts of a French one."""

import os
import random

import pytest

from mrc_jax import perturb
from mrc_jax.perturb import resources, text
from mrc_jax.perturb.attacks import addsent
from mrc_jax.perturb.registry import Step


def _mutated(question, lang):
  """The question body AddSent builds its distractors from (no passage: no entity swap)."""
  return addsent.mutate_question(question, "", Step("addsent", lang, random.Random(0), {}))


def _removed(question, lang):
  body = question.strip().rstrip(resources.QUESTION_MARKS).rstrip()
  return [body[a:b] for a, b, _ in addsent.negation_spans(body, lang)]


# French questions written after XQuAD's English ones, with the expected body.
FRENCH = [
  (
    "Quel joueur a été critiqué pour ne pas avoir sauté dans la mêlée ?",
    "Quel joueur a été critiqué pour avoir sauté dans la mêlée",
  ),
  (
    "Où les châtiments corporels ne sont-ils plus pratiqués ?",
    "Où les châtiments corporels sont-ils pratiqués",
  ),
  ("Qu'est-ce que le Parlement ne peut pas faire ?", "Qu'est-ce que le Parlement peut faire"),
  ("Pourquoi n'a-t-il pas lancé le ballon ?", "Pourquoi a-t-il lancé le ballon"),
  ("Pourquoi n’est-il jamais revenu à Denver ?", "Pourquoi est-il revenu à Denver"),
  ("Quel pays ne l’a pas signé ?", "Quel pays l’a signé"),
  ("Qui n'a rien vu du match ?", "Qui a vu du match"),
]
# "ne" without a closer in its clause is not a negation: restrictive ne ... que, expletive ne.
FRENCH_KEPT = [
  "Quelle équipe ne joue que le dimanche ?",
  "Que craignait-on avant qu'il ne parte, pas à pas ?",
  "Qui a jamais gagné le Super Bowl trois fois ?",
  "Combien de pas fait-il ?",
]


@pytest.mark.parametrize("question,expected", FRENCH)
def test_french_negation_is_removed_as_a_unit(question, expected):
  body, ops = _mutated(question, "fr")
  assert body == expected
  assert ops == ["negation removed"]


@pytest.mark.parametrize("question", FRENCH_KEPT)
def test_french_non_negations_are_kept(question):
  body, ops = _mutated(question, "fr")
  assert body == question.rstrip(" ?")
  assert ops == []


def test_addsent_sentences_lose_both_parts_of_the_french_negation():
  example = {
    "id": "fr-1",
    "lang": "fr",
    "meta": {},
    "context": "Les Broncos ont gagné le match. Peyton Manning a lancé le ballon.",
    "question": "Qui ne lança pas le ballon ?",
    "options": ["Manning", "Miller", "Elway"],
    "label": 0,
  }
  out = perturb.perturb(example, "addsent", "fr", 0)
  inserted = [e["new"] for e in out["meta"]["perturbation"][-1]["edits"]]
  assert len(inserted) == 2
  for sentence in inserted:
    words = {sentence[a:b].casefold() for a, b in text.word_spans(sentence, "fr")}
    assert sentence.startswith("Qui lança le ballon ") and not words & {"ne", "pas"}


def test_interrogative_ma_is_not_a_negation():
  assert _removed("ما هو الفريق الذي فاز في السوبر بول 33؟", "ar") == []
  assert _removed("ما الدولة التي لا يزال يسمح فيها بالعقاب البدني؟", "ar") == []
  assert _removed("من لم يرمي على الإطلاق؟", "ar") == ["لم"]


def _questions(lang):
  from mrc_jax.data import load_examples

  return [
    e["question"] for e in load_examples(f"xquad.{lang}", data_dir=os.environ["MRC_JAX_DATA_DIR"])
  ]


@pytest.mark.integration
def test_arabic_xquad_removes_only_negation_particles(data_dir):
  questions = _questions("ar")
  removed = [(q, _removed(q, "ar")) for q in questions]
  assert sum("ما" in {q[a:b] for a, b in text.word_spans(q, "ar")} for q in questions) == 472
  assert all(words in ([], ["لا"], ["لم"], ["لن"], ["ليس"], ["ليست"]) for _, words in removed)
  # لا يزال / لا تزال ("still") twice, "... أم لا؟" ("or not") once: kept.
  assert sum(bool(words) for _, words in removed) == 24
  assert not any(words == ["لا"] and ("لا يزال" in q or "لا تزال" in q) for q, words in removed)


@pytest.mark.integration
@pytest.mark.parametrize(
  "lang,removed,kept",
  [
    # Vietnamese: không gian "space", không khí "air", hàng không "aviation", and the
    # question-final particle ("... phải không?", "... hay không?") are not negations.
    (
      "vi",
      "Trong các trận đấu play-off của Bronco, ai đã không ném bóng?",
      [
        "Lý thuyết không khí xấu chính thức được gọi là gì?",
        "Sân bay hàng không chung bận rộn nhất thế giới là sân bay nào?",
        "Na Uy cuối cùng cũng gia nhập Liên minh châu Âu vào năm 1972 phải không?",
        "Tên của thuộc tính để chỉ ra số đó có là số nguyên tố hay không?",
      ],
    ),
    (
      "ru",
      "Чего нет у прибрежных бесщупальцевых гребневиков, в отличие от других гребневиков?",
      ["Как называется свойство, определяющее, является число простым или нет?"],
    ),
    ("tr", None, ["Kretase-Tersiyer yok oluşu ne zaman gerçekleşti?"]),
    (
      "de",
      "Was sind Cydippida nicht?",
      ["Wie lautet der Name der Eigenschaft, die eine Zahl als Primzahl bezeichnet oder nicht?"],
    ),
    (
      "es",
      "Cuando grandes grupos de personas boicotean un sistema o no pagan impuestos, "
      "¿se puede considerar?",
      ["¿Cuál es el nombre de la propiedad que designa un número como primo o no?"],
    ),
  ],
)
def test_xquad_negations_and_look_alikes(lang, removed, kept, data_dir):
  questions = set(_questions(lang))
  for question in kept:
    assert question in questions
    assert _removed(question, lang) == [], question
  if removed:
    assert removed in questions
    assert len(_removed(removed, lang)) == 1


# One negated question per language whose list is written after its grammar, with the
# affirmative body; and questions whose negation-like word is not one to remove.
NEGATED = [
  ("ro", "De ce nu a venit Ion?", "De ce a venit Ion"),
  ("nl", "Waarom is hij niet gekomen?", "Waarom is hij gekomen"),
  ("af", "Waarom is hy nie hier nie?", "Waarom is hy hier"),  # both parts of nie ... nie
  ("af", "Wie kom nie?", "Wie kom"),
  ("sv", "Varför kom han inte?", "Varför kom han"),
  ("da", "Hvorfor kom han ikke?", "Hvorfor kom han"),
  ("nb", "Hvorfor kom han ikke?", "Hvorfor kom han"),
  ("uk", "Чому він не прийшов?", "Чому він прийшов"),
  ("mk", "Која реченица не е точна?", "Која реченица е точна"),
  ("sr", "Коју крвну групу не може имати Ана?", "Коју крвну групу може имати Ана"),
  ("hr", "Koju krvnu grupu ne može imati Ana?", "Koju krvnu grupu može imati Ana"),
  ("sq", "Cili element nuk është pjesë e marketingut?", "Cili element është pjesë e marketingut"),
  ("ca", "Per què no va venir?", "Per què va venir"),
  ("gl", "Por que non veu?", "Por que veu"),
  ("tl", "Bakit hindi siya dumating?", "Bakit siya dumating"),
  ("kk", "Қай сөйлем дұрыс емес?", "Қай сөйлем дұрыс"),
  ("ko", "그는 왜 안 왔습니까?", "그는 왜 왔습니까"),
  ("ko", "누가 못 갔습니까?", "누가 갔습니까"),
  ("ur", "وہ کیوں نہیں آیا؟", "وہ کیوں آیا"),
  ("bn", "কোন বাক্যটি সঠিক নয়?", "কোন বাক্যটি সঠিক"),
  ("mr", "तो का आला नाही?", "तो का आला"),
  ("pa", "ਉਹ ਕਿਉਂ ਨਹੀਂ ਆਇਆ?", "ਉਹ ਕਿਉਂ ਆਇਆ"),
  ("gu", "તે કેમ આવશે નહીં?", "તે કેમ આવશે"),
  ("lo", "ລາວບໍ່ມາເປັນຫຍັງ?", "ລາວມາເປັນຫຍັງ"),
  ("ka", "რატომ არ მოვიდა ის?", "რატომ მოვიდა ის"),
]
KEPT = [
  ("sl", "Zakaj ni prišel?"),  # ni fuses ne with the copula: no affirmative by removal
  ("bn", "সে কেন আসেনি?"),  # suffixal -নি
  ("bn", "তুমি যাবে, না?"),  # the tag question's না
  ("lo", "ເຈົ້າໄປບໍ່?"),  # the question particle
  ("uk", "Він прийде чи ні?"),
]


@pytest.mark.parametrize("lang,question,expected", NEGATED)
def test_negation_lists_remove_the_negation(lang, question, expected):
  assert _mutated(question, lang) == (expected, ["negation removed"])


@pytest.mark.parametrize("lang,question", KEPT)
def test_negation_lists_keep_what_is_not_a_removable_negation(lang, question):
  assert _mutated(question, lang) == (question.rstrip("?"), [])


def _exams_stems(data_dir, language):
  """Question stems of one language of EXAMS' multilingual dev release (tar.gz of JSONL)."""
  import json
  import tarfile

  path = os.path.join(data_dir, "exams", "multilingual", "dev.jsonl.tar.gz")
  with tarfile.open(path) as archive:
    member = next(m for m in archive.getmembers() if m.name.endswith(".jsonl"))
    rows = [json.loads(line) for line in archive.extractfile(member)]
  return [r["question"]["stem"] for r in rows if r["info"]["language"] == language]


@pytest.mark.integration
@pytest.mark.parametrize(
  "lang,language",
  [("hr", "Croatian"), ("sr", "Serbian"), ("mk", "North Macedonian"), ("sq", "Albanian")],
)
def test_real_exam_questions_lose_their_negation(data_dir, lang, language):
  """EXAMS asks 'which ... does not ...' often: each such question loses exactly its
  negation word and keeps every other word."""
  stems = [s for s in _exams_stems(data_dir, language) if len(s) < 300]
  removed = 0
  for stem in stems:
    spans = _removed(stem, lang)
    if not spans:
      continue
    removed += 1
    assert [s.casefold() for s in spans][0] in resources.negation(lang).words, stem
    body, _ = _mutated(stem, lang)
    before = text.word_spans(stem, lang)
    after = text.word_spans(body, lang)
    assert len(after) == len(before) - 1, (stem, body)
  assert removed >= 5, removed
