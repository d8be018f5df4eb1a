"""Unit tests of the perturbation suite on hand-written examples (no shared data needed)."""

import collections
import copy
import json
import unicodedata

import pytest

from mrc_jax import perturb
from mrc_jax.perturb import keyboards, text
from mrc_jax.perturb.languages import TABLE_LANGUAGES

CHAR_ATTACKS = ["charswap", "typo_drop", "typo_insert", "typo_repeat", "typo_keyboard", "homoglyph"]

GERMAN = {
  "id": "de-1",
  "task": "fixture.de",
  "lang": "de",
  "context": "Die Panthers verloren 24 Spiele. Sie spielten in Denver gegen die Broncos. "
  "Das Stadion war voll.",
  "question": "Wie viele Spiele verloren die Panthers gegen starke Mannschaften?",
  "answers": [{"text": "24", "start": 22}],
  "meta": {"source": "fixture"},
}
CHOICE = {
  "id": "mc-1",
  "task": "fixture.en",
  "lang": "en",
  "context": "Tom bought a red bicycle in Paris. Later he sold the bicycle to his neighbour "
  "Anna for 40 euros. Anna rides it to school every morning.",
  "question": "Who bought the bicycle from Tom?",
  "options": ["his brother", "Anna", "a teacher", "the shop owner"],
  "label": 1,
  "meta": {},
}


def _edits(example):
  return example["meta"]["perturbation"][-1]["edits"]


def test_list_attacks_has_every_attack():
  assert set(perturb.list_attacks()) == {
    "charswap",
    "typo_drop",
    "typo_insert",
    "typo_repeat",
    "typo_keyboard",
    "diacritics",
    "homoglyph",
    "addsent",
    "distractor_extraction",
    "option_shuffle",
    "distractor_passage",
    "codeswitch",
    "dg",
    "paraphrase",
  }


@pytest.mark.parametrize("attack", CHAR_ATTACKS + ["addsent"])
def test_pure_deterministic_and_seed_sensitive(attack):
  original = copy.deepcopy(GERMAN)
  first = perturb.perturb(GERMAN, attack, "de", seed=1)
  assert GERMAN == original  # never mutates its argument
  assert perturb.perturb(GERMAN, attack, "de", seed=1) == first
  outputs = {
    json.dumps(perturb.perturb(GERMAN, attack, "de", seed=s), ensure_ascii=False) for s in range(5)
  }
  assert len(outputs) > 1
  record = first["meta"]["perturbation"][-1]
  assert record["attack"] == attack and record["changed"] and record["edits"]
  assert first["meta"]["source"] == "fixture"


def test_charswap_swaps_inner_clusters_of_content_words_only():
  out = perturb.perturb(GERMAN, "charswap", "de", seed=0)
  edited = {e["old"] for e in _edits(out)}
  assert edited == {"Spiele", "verloren", "Panthers", "starke", "Mannschaften"}
  for edit in _edits(out):
    old, new = text.graphemes(edit["old"]), text.graphemes(edit["new"])
    assert old != new and collections.Counter(old) == collections.Counter(new)
    assert old[0] == new[0] and old[-1] == new[-1]
  assert out["context"] == GERMAN["context"]


def test_passage_keywords_scope_edits_matching_passage_words_but_not_answers():
  out = perturb.perturb(GERMAN, "charswap", "de", seed=0, scope="passage_keywords")
  passage_edits = [e for e in _edits(out) if e["field"] == "context"]
  assert {e["old"] for e in passage_edits} == {"Panthers", "verloren", "Spiele"}
  answer = out["answers"][0]
  assert out["context"][answer["start"] : answer["start"] + 2] == "24"


@pytest.mark.parametrize("attack", CHAR_ATTACKS + ["diacritics"])
def test_other_scripts_keep_clusters_whole(script_examples, attack):
  edited = 0
  for example in script_examples:
    out = perturb.perturb(example, attack, example["lang"], seed=3)
    for edit in _edits(out):
      edited += 1
      old, new = text.graphemes(edit["old"]), text.graphemes(edit["new"])
      # a split cluster would leave a combining mark at the head of a cluster
      assert not any(unicodedata.category(c[0]).startswith("M") for c in new), edit
      lost = collections.Counter(old) - collections.Counter(new)
      gained = collections.Counter(new) - collections.Counter(old)
      if attack == "charswap":
        assert not lost and not gained, edit
      elif attack in ("typo_drop", "typo_repeat", "typo_insert"):
        assert len(new) == len(old) + (-1 if attack == "typo_drop" else 1), edit
        assert sum(lost.values()) + sum(gained.values()) == 1, edit
      elif attack in ("homoglyph", "diacritics"):
        assert len(new) == len(old), edit
      assert text.is_nfc(edit["new"])
  assert edited >= (3 if attack in ("homoglyph", "diacritics") else len(script_examples))


KEYBOARD_FULL = [
  lang
  for lang in TABLE_LANGUAGES
  if perturb.support_table([lang])[lang]["typo_keyboard"].status == "full"
]


@pytest.mark.parametrize("lang", KEYBOARD_FULL)
def test_keyboard_typos_hit_a_neighbouring_key_of_the_language_layout(script_examples, lang):
  """Every edit swaps one code point for one its layout puts on a neighbouring key."""
  layout = keyboards.layout_for(lang)
  adjacent = keyboards.neighbours(layout)
  example = next(e for e in script_examples if e["lang"] == lang)
  out = perturb.perturb(example, "typo_keyboard", lang, 0)
  assert _edits(out), lang
  for edit in _edits(out):
    assert edit["op"].startswith(f"keyboard {layout} "), edit
    old, new = edit["old"], edit["new"]
    assert len(old) == len(new)
    changed = [(a, b) for a, b in zip(old, new) if a != b]
    assert len(changed) == 1 and changed[0][1] in adjacent[changed[0][0]], edit


def test_charswap_changes_every_fixture_script(script_examples):
  for example in script_examples:
    out = perturb.perturb(example, "charswap", example["lang"], seed=0)
    assert out["question"] != example["question"], example["id"]


def test_unspaced_scripts_use_dictionary_words():
  words = [
    w
    for w in (
      ("กรุงเทพมหานครเป็นเมืองหลวง"[a:b]) for a, b in text.word_spans("กรุงเทพมหานครเป็นเมืองหลวง", "th")
    )
  ]
  assert len(words) >= 3 and "".join(words) == "กรุงเทพมหานครเป็นเมืองหลวง"


def test_diacritics_strips_marks_and_fused_letters():
  example = dict(GERMAN, question="Đà Nẵng có bao nhiêu người sống?", lang="vi")
  out = perturb.perturb(example, "diacritics", "vi", seed=0)
  assert out["question"] == "Da Nang co bao nhieu nguoi song?"


def test_diacritics_unsupported_script_changes_nothing(script_examples):
  hindi = next(e for e in script_examples if e["lang"] == "hi")
  assert perturb.perturb(hindi, "diacritics", "hi", 0)["question"] == hindi["question"]
  assert perturb.get("diacritics").support("hi").status == "unsupported"


def test_keyboard_neighbours_follow_the_pc105_geometry():
  us, de = keyboards.neighbours("us"), keyboards.neighbours("de")
  assert set(us["a"]) == {"q", "w", "s", "z"}
  assert set(us["A"]) == {"Q", "W", "S", "Z"}  # the shift level is kept
  assert set(us["g"]) == {"t", "y", "f", "h", "v", "b"}
  assert {"t", "u", "g", "h"} <= set(de["z"])  # QWERTZ: z sits between t and u
  assert "ö" in de["ä"] and "ü" in de["ä"]
  # InScript: vowel signs neighbour vowel signs, consonants consonants.
  hindi = keyboards.neighbours("in")
  assert all(unicodedata.category(c)[0] == "M" for c in hindi["\u093e"])  # aa sign
  assert all(unicodedata.category(c)[0] == "L" for c in hindi["\u0915"])  # ka


def test_keyboard_typo_uses_layout_neighbours():
  out = perturb.perturb(GERMAN, "typo_keyboard", "de", seed=0)
  assert _edits(out)
  for edit in _edits(out):
    assert edit["op"].startswith("keyboard de ")
    assert len(edit["old"]) == len(edit["new"])


def test_keyboard_typo_falls_back_and_says_so(script_examples):
  """Korean: xkb's kr layout types Latin (Hangul comes from an input method)."""
  korean = next(e for e in script_examples if e["lang"] == "ko")
  out = perturb.perturb(korean, "typo_keyboard", "ko", seed=0)
  assert _edits(out) and all(e["op"].startswith("fallback") for e in _edits(out))
  assert any("drop/insert" in note for note in out["meta"]["perturbation"][-1]["degraded"])


def test_addsent_inserts_sentences_without_gold_and_keeps_span():
  out = perturb.perturb(GERMAN, "addsent", "de", seed=0)
  inserted = [e["new"] for e in _edits(out)]
  assert len(inserted) == 2
  assert all("24" not in s for s in inserted)
  answer = out["answers"][0]
  assert out["context"][answer["start"] : answer["start"] + 2] == "24"
  assert len(out["context"]) > len(GERMAN["context"])


def test_addsent_multiple_choice_uses_wrong_options():
  out = perturb.perturb(CHOICE, "addsent", "en", seed=0)
  inserted = " ".join(e["new"] for e in _edits(out))
  assert "Anna" not in inserted
  assert any(o in inserted for o in ["his brother", "a teacher", "the shop owner"])
  assert out["options"] == CHOICE["options"] and out["label"] == 1


def test_addsent_fills_cloze_blank():
  example = dict(CHOICE, question="Tom sold the bicycle to _ .")
  out = perturb.perturb(example, "addsent", "en", seed=0)
  assert all("_" not in e["new"] for e in _edits(out))


def test_distractor_extraction_rules_and_pluggable_scorer():
  out = perturb.perturb(CHOICE, "distractor_extraction", "en", seed=0)
  assert out["options"][1] == "Anna" and out["label"] == 1
  new = [o for i, o in enumerate(out["options"]) if i != 1]
  assert len(set(o.casefold() for o in new)) == 3
  assert all(o in CHOICE["context"] or o in CHOICE["options"] for o in new)
  assert all("anna" not in o.casefold() for o in new)

  def prefer_late_spans(example, spans, lang):
    return [start for start, _ in spans]

  late = perturb.perturb(CHOICE, "distractor_extraction", "en", 0, scorer=prefer_late_spans)
  assert late["options"][0] in CHOICE["context"][CHOICE["context"].index("Anna rides") :]

  def wrong_count(example, spans, lang):
    return [0.0]

  with pytest.raises(perturb.PerturbationError, match="scores"):
    perturb.perturb(CHOICE, "distractor_extraction", "en", 0, scorer=wrong_count)


@pytest.mark.parametrize("position", [None, 0, 3])
def test_option_shuffle_moves_answer_and_keeps_it(position):
  kwargs = {} if position is None else {"position": position}
  out = perturb.perturb(CHOICE, "option_shuffle", "en", 5, **kwargs)
  assert sorted(out["options"]) == sorted(CHOICE["options"])
  assert out["options"][out["label"]] == "Anna"
  if position is None:
    assert out["label"] != 1
  else:
    assert out["label"] == position


def test_distractor_passage_draws_another_passage_of_the_dataset():
  other = dict(
    GERMAN,
    id="de-2",
    context="Ein ganz anderer Text über Berge und Täler.",
    answers=[{"text": "Berge", "start": 27}],
  )
  outs = list(
    perturb.perturb_examples([GERMAN, other], "distractor_passage", "de", 0, placement="prepend")
  )
  first = outs[0]
  assert first["context"].startswith(other["context"])
  answer = first["answers"][0]
  assert first["context"][answer["start"] : answer["start"] + 2] == "24"
  with pytest.raises(perturb.PerturbationError, match="perturb_examples"):
    perturb.perturb(GERMAN, "distractor_passage", "de", 0)


def test_distractor_passage_never_adds_a_passage_holding_the_answer():
  holder = dict(GERMAN, id="de-3", context="Es waren 24 Tore.", answers=[])
  out = perturb.perturb(GERMAN, "distractor_passage", "de", 0, pool=[holder["context"]])
  assert out["context"] == GERMAN["context"]
  assert out["meta"]["perturbation"][-1]["notes"]


def test_codeswitch_uses_lexicon(lexicon_path):
  out = perturb.perturb(GERMAN, "codeswitch", "de", 0, lexicon=lexicon_path)
  assert {(e["old"], e["new"]) for e in _edits(out)} >= {
    ("verloren", "lost"),
    ("Mannschaften", "Teams"),
  }
  # Without a file, the example's own set must be parallel (unit examples are not).
  with pytest.raises(perturb.PerturbationError, match="no parallel data.*lexicon=PATH"):
    perturb.perturb({**GERMAN, "task": "unit.de"}, "codeswitch", "de", 0)


def test_codeswitch_bad_lexicon_line_names_file_and_line(tmp_path):
  bad = tmp_path / "bad.txt"
  bad.write_text("haus house\nkaputt\n", encoding="utf-8")
  with pytest.raises(perturb.PerturbationError, match=r"bad.txt: line 2"):
    perturb.perturb(GERMAN, "codeswitch", "de", 0, lexicon=str(bad))


@pytest.mark.parametrize("attack", ["dg", "paraphrase"])
def test_seq2seq_attacks_fail_clearly(attack):
  with pytest.raises(perturb.Seq2SeqCheckpointRequired, match="needs a seq2seq checkpoint"):
    perturb.perturb(CHOICE, attack, "en", 0)


def test_chain_records_each_step_in_order():
  out = perturb.perturb(GERMAN, "charswap|addsent", "de", 0)
  assert [r["attack"] for r in out["meta"]["perturbation"]] == ["charswap", "addsent"]
  assert out["question"] != GERMAN["question"] and len(out["context"]) > len(GERMAN["context"])
  json.dumps(out)  # the record is JSON-serialisable


def test_misuse_is_a_clear_error():
  with pytest.raises(perturb.PerturbationError, match="unknown attack 'nope'"):
    perturb.perturb(GERMAN, "charswap|nope", "de", 0)
  with pytest.raises(perturb.PerturbationError, match="unknown parameter"):
    perturb.perturb(GERMAN, "charswap", "de", 0, bogus=1)
  with pytest.raises(perturb.PerturbationError, match="scope"):
    perturb.perturb(GERMAN, "charswap", "de", 0, scope="everything")


def test_non_nfc_input_is_normalised_with_offsets():
  decomposed = "Cafe\u0301 liegt am Fluss. Die Antwort ist Zu\u0308rich."
  answer = "Zu\u0308rich"
  example = dict(
    GERMAN, context=decomposed, answers=[{"text": answer, "start": decomposed.index(answer)}]
  )
  out = perturb.perturb(example, "charswap", "de", 0)
  start = out["answers"][0]["start"]
  assert out["context"][start : start + len(out["answers"][0]["text"])] == "Zürich"


def test_missing_resource_is_recorded_not_silent():
  quechua = dict(GERMAN, lang="qu", question="Mayqan llaqtapim tiyarqanki unay pachakunapi?")
  out = perturb.perturb(quechua, "charswap", "qu", 0)
  assert any("no stopword list" in d for d in out["meta"]["perturbation"][-1]["degraded"])


def test_support_table_covers_every_attack_and_language():
  table = perturb.support_table()
  for lang in ["de", "zh", "ar", "hi", "th", "km", "am"]:
    assert set(table[lang]) == set(perturb.list_attacks())
  assert table["de"]["typo_keyboard"].status == "full"
  assert table["hi"]["typo_keyboard"].status == "full"
  assert table["ko"]["typo_keyboard"].status == "degraded"
  assert table["zh"]["diacritics"].status == "unsupported"
  assert table["en"]["dg"].status == "degraded" and "checkpoint=" in table["en"]["dg"].how
  markdown = perturb.support_markdown()
  assert markdown.count("\n| ") >= len(table)


def test_arabic_harakat_stay_with_their_letters():
  example = dict(CHOICE, lang="ar", question="مَنْ كَتَبَ الكِتَابَ الجَدِيدَ لِلْمَدْرَسَةِ؟")
  swapped = perturb.perturb(example, "charswap", "ar", 0)
  for edit in _edits(swapped):
    clusters = text.graphemes(edit["new"])
    assert collections.Counter(clusters) == collections.Counter(text.graphemes(edit["old"]))
    assert all(not unicodedata.category(c[0]).startswith("M") for c in clusters)
  stripped = perturb.perturb(example, "diacritics", "ar", 0)
  assert stripped["question"] == "من كتب الكتاب الجديد للمدرسة؟"


def test_astral_characters_keep_icu_offsets_right():
  example = dict(CHOICE, lang="zh", question="𠀋𠀋北京天安门广场在哪里？")
  out = perturb.perturb(example, "charswap", "zh", 0)
  for edit in _edits(out):
    assert example["question"][edit["start"] : edit["end"]] == edit["old"]


@pytest.mark.parametrize("attack", ["option_shuffle", "distractor_extraction", "addsent"])
def test_missing_gold_label_is_handled(attack):
  unlabelled = dict(CHOICE, label=-1)
  out = perturb.perturb(unlabelled, attack, "en", 0)
  assert out["label"] == -1
  if attack == "option_shuffle":
    assert sorted(out["options"]) == sorted(CHOICE["options"])
    assert out["options"] != CHOICE["options"]
  else:
    assert out["options"] == CHOICE["options"] and out["context"] == CHOICE["context"]
    assert "no gold label" in out["meta"]["perturbation"][-1]["notes"][0]


def test_distractor_passage_stays_in_the_example_language():
  english = dict(CHOICE, id="en-2", context="A quite different passage about mountains.")
  outs = list(
    perturb.perturb_examples(
      [GERMAN, CHOICE, english], "distractor_passage", None, 0, placement="append"
    )
  )
  assert outs[0]["context"] == GERMAN["context"]  # no other German passage: unchanged
  assert outs[1]["context"].endswith(english["context"])
  assert outs[2]["context"].endswith(CHOICE["context"])
