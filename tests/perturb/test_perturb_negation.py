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
