"""Every reader on small fixture files written in its upstream format."""

import collections
import json
import os

from mrc_jax.data import SkipReport, catalog, languages, load_examples
from mrc_jax.data.schema import Quirk
from mrc_jax.data.sources import xcopa


def load(task, data_dir, split=None):
  return list(load_examples(task, split, data_dir))


def test_xquad_answers_sit_at_their_offsets(fixture_data_dir):
  examples = load("xquad.de", fixture_data_dir)
  assert [e["id"] for e in examples] == ["q1", "q2", "q3"]
  for e in examples:
    assert e["task"] == "xquad.de" and e["lang"] == "de" and e["meta"]["split"] == "test"
    for a in e["answers"]:
      assert e["context"][a["start"] : a["start"] + len(a["text"])] == a["text"]
  assert examples[2]["answers"] == [{"text": "Köln", "start": 30}]
  assert examples[0]["meta"]["title"] == "Super_Bowl"


def test_squad_v2_keeps_unanswerable_questions(fixture_data_dir):
  examples = load("squad_v2.en", fixture_data_dir, "validation")
  assert [len(e["answers"]) for e in examples] == [1, 0]
  assert examples[1]["meta"]["is_impossible"] is True
  assert "is_impossible" not in examples[0]["meta"]


def test_mlqa_and_tydiqa_filter_by_language(fixture_data_dir):
  (mlqa,) = load("mlqa.de", fixture_data_dir, "validation")
  assert mlqa["answers"][0]["text"] == "in Köln" and mlqa["lang"] == "de"
  (arabic,) = load("tydiqa.ar", fixture_data_dir, "validation")
  (english,) = load("tydiqa.en", fixture_data_dir, "validation")
  assert (
    arabic["id"] == "arabic-2387335860751143628-1" and arabic["answers"][0]["text"] == "القاهرة"
  )
  assert english["id"] == "english-7263716285932087254-0" and english["lang"] == "en"
  assert english["answers"] == [{"text": "Helsinki", "start": 26}]


def test_tydiqa_goldp_has_nine_languages_and_each_claims_its_questions(fixture_data_dir):
  goldp = ["ar", "bn", "en", "fi", "id", "ko", "ru", "sw", "te"]  # no ja, th in GoldP
  assert sorted(t.lang for t in catalog.file_tasks().values() if t.dataset == "tydiqa") == goldp
  assert sorted(languages.TYDIQA) == goldp
  path = os.path.join(fixture_data_dir, "tydiqa", "tydiqa-goldp-v1.1-dev.json")
  upstream = [
    qa["id"]
    for a in json.load(open(path, encoding="utf-8"))["data"]
    for p in a["paragraphs"]
    for qa in p["qas"]
  ]
  loaded = {
    lang: [e["id"] for e in load(f"tydiqa.{lang}", fixture_data_dir, "validation")]
    for lang in goldp
  }
  assert all(
    len(ids) == 1 and ids[0].startswith(languages.TYDIQA[lang] + "-")
    for lang, ids in loaded.items()
  )
  assert sorted(i for ids in loaded.values() for i in ids) == sorted(upstream)  # none unclaimed


def test_xcopa(fixture_data_dir):
  examples = load("xcopa.it", fixture_data_dir)
  assert [e["label"] for e in examples] == [0, 1, 1]
  assert examples[0]["options"] == ["Era delicato.", "Era piccolo."]
  assert examples[0]["context"] == "L'oggetto era incartato nella plastica."
  assert examples[0]["meta"]["relation"] == "cause" and examples[1]["meta"]["relation"] == "effect"
  assert examples[1]["question"] != examples[0]["question"]
  assert examples[0]["id"] == "xcopa.it.validation.0"
  assert all("relation_upstream" not in e["meta"] for e in examples)


def test_xcopa_relation_comes_from_the_majority_of_language_files(fixture_data_dir, capsys):
  report = SkipReport()
  turkish = list(load_examples("xcopa.tr", "validation", fixture_data_dir, report=report))
  # The Turkish file says effect / effect / cause; it and et say cause / effect / effect.
  assert [e["meta"]["relation"] for e in turkish] == ["cause", "effect", "effect"]
  assert [e["question"] for e in turkish] == [
    xcopa.QUESTION_TEXT[r] for r in ("cause", "effect", "effect")
  ]
  assert [e["meta"].get("relation_upstream") for e in turkish] == ["effect", None, "cause"]
  path = os.path.join(fixture_data_dir, "xcopa", "tr", "val.tr.jsonl")
  assert report.quirk_counts() == {(path, "corrected", xcopa.RELATION_CORRECTED): 2}
  assert report.counts() == {
    "bad records": 0,
    "left out": {},
    "corrected": {xcopa.RELATION_CORRECTED: 2},
    "kept": {},
  }
  assert "corrected 2 record(s)" in capsys.readouterr().err
  for lang in ("it", "et"):
    report = SkipReport()
    assert (
      len(list(load_examples(f"xcopa.{lang}", "validation", fixture_data_dir, report=report))) == 3
    )
    assert report.quirks == []


def test_xcopa_without_a_strict_majority_keeps_the_file_field(tmp_path):
  for lang, relation in (("it", "cause"), ("tr", "effect")):
    os.makedirs(tmp_path / "xcopa" / lang)
    record = {
      "premise": "p",
      "choice1": "a",
      "choice2": "b",
      "question": relation,
      "label": 0,
      "idx": 4,
    }
    (tmp_path / "xcopa" / lang / f"val.{lang}.jsonl").write_text(json.dumps(record) + "\n")
  assert xcopa.consensus_relations(str(tmp_path / "xcopa"), "val") == {}
  for lang, relation in (("it", "cause"), ("tr", "effect")):
    (example,) = load_examples(f"xcopa.{lang}", "validation", str(tmp_path))
    assert example["meta"]["relation"] == relation and "corrections" not in example["meta"]


def test_belebele(fixture_data_dir):
  examples = load("belebele.deu_Latn", fixture_data_dir)
  assert [e["label"] for e in examples] == [0, 2]
  assert examples[1]["options"] == ["Einen Tag", "Zwei Tage", "Drei Tage", "Vier Tage"]
  assert examples[1]["context"] == "Der Regen fiel drei Tage lang."
  # No FLORES split in the record: a hash of the passage tells the passage apart.
  assert examples[0]["id"] == "https://en.wikibooks.org/wiki/Accordion#216e21eda9#1"
  assert examples[0]["meta"]["link"] == "https://en.wikibooks.org/wiki/Accordion"


def test_belebele_ids_unique_when_link_and_question_number_repeat(fixture_data_dir):
  link = "https://en.wikinews.org/wiki/Storm"
  thai = load("belebele.tha_Thai", fixture_data_dir)
  assert [(e["meta"]["link"], e["meta"]["question_number"]) for e in thai] == [(link, 1), (link, 1)]
  assert [e["id"] for e in thai] == [f"{link}#e39fe66a08#1", f"{link}#006fbcf08a#1"]
  assert [e["id"] for e in load("belebele.tha_Thai", fixture_data_dir)] == [e["id"] for e in thai]
  english = load("belebele.eng_Latn", fixture_data_dir)  # upstream's passage key: link + split
  assert [e["id"] for e in english] == [f"{link}#dev#1", f"{link}#devtest#1"]
  assert [e["label"] for e in english] == [e["label"] for e in thai] == [0, 2]


def test_exams_with_paragraphs_builds_context_from_choice_paragraphs(fixture_data_dir):
  first, second = load("exams.it", fixture_data_dir)
  # Choice B repeats choice A's paragraph: the context holds each distinct paragraph once.
  assert first["context"] == (
    "Paragrafo 0 su il cuore.\n\nParagrafo 2 su il rene.\n\nParagrafo 3 su il polmone."
  )
  assert first["meta"]["option_contexts"][1] == "Paragrafo 0 su il cuore."
  assert first["label"] == 0 and second["label"] == 2 and len(second["options"]) == 3
  # A JSON string may hold U+2028: the record is one JSON line all the same.
  assert second["question"] == "Quale organo filtra il sangue?\u2028Una sola risposta è corretta."


def test_exams_answer_key_at_is_left_out_and_counted_in_both_modes(fixture_data_dir, capsys):
  path = os.path.join(
    fixture_data_dir, "exams", "cross-lingual", "with_paragraphs", "dev_it_with_para.jsonl.tar.gz"
  )
  for strict in (True, False):
    report = SkipReport()
    examples = list(load_examples("exams.it", None, fixture_data_dir, strict=strict, report=report))
    assert [e["id"] for e in examples] == ["e1", "e2"] and all(e["label"] >= 0 for e in examples)
    assert report.quirks == [Quirk(path, "e3", "left out", "unlabelled: answerKey '@'")]
    assert report.skipped == 0 and report.left_out == 1
    assert report.counts() == {
      "bad records": 0,
      "left out": {"unlabelled: answerKey '@'": 1},
      "corrected": {},
      "kept": {},
    }
    err = capsys.readouterr().err
    assert "exams.it (validation): skipped 0 bad record(s); upstream quirks: left out 1" in err
    assert f"left out 1 record(s) (unlabelled: answerKey '@'): {path}" in err


def test_exams_without_paragraphs_and_multilingual_filter(fixture_data_dir):
  examples = load("exams_nopara.it", fixture_data_dir)
  assert [e["context"] for e in examples] == ["", ""] and [e["label"] for e in examples] == [0, 2]
  italian = load("exams_multilingual.it", fixture_data_dir)
  assert [(e["id"], e["label"]) for e in italian] == [("e1", 1), ("e4", 4)]
  assert [e["id"] for e in load("exams_multilingual.mk", fixture_data_dir)] == ["e3"]


def test_race_per_passage_files(fixture_data_dir):
  test = load("race.high", fixture_data_dir, "test")
  assert [e["id"] for e in test] == [
    "RACE/test/high/1.txt-0",
    "RACE/test/high/1.txt-1",
    "RACE/test/high/2.txt-0",
  ]
  assert [e["label"] for e in test] == [1, 3, 0]
  assert test[1]["question"] == "Tom bought the pet on _ ." and test[1]["meta"]["level"] == "high"
  (middle,) = load("race.middle", fixture_data_dir, "validation")
  assert middle["meta"]["split"] == "validation" and middle["label"] == 2
  assert len(load("race.all", fixture_data_dir)) == 7


def test_advrace_pairs_with_race_ids(fixture_data_dir):
  attacked = load("advrace.de", fixture_data_dir)
  clean = {e["id"]: e for e in load("race.high", fixture_data_dir, "test")}
  assert [e["id"] for e in attacked] == ["RACE/test/high/1.txt-0", "RACE/test/high/2.txt-0"]
  for e in attacked:
    assert e["context"] == clean[e["id"]]["context"] and e["meta"]["attack"] == "de"
    assert e["options"][e["label"]] == clean[e["id"]]["options"][clean[e["id"]]["label"]]
  (orig,) = load("advrace.orig", fixture_data_dir)
  assert orig["options"] == clean[orig["id"]]["options"]


def test_split_none_reads_every_present_split(fixture_data_dir):
  splits = collections.Counter(e["meta"]["split"] for e in load("race.all", fixture_data_dir))
  assert splits == {"test": 4, "validation": 3}


def test_dream_dialogue_turns_and_answer_text_label(fixture_data_dir):
  examples = load("dream.en", fixture_data_dir, "validation")
  assert [e["id"] for e in examples] == ["14-349#0", "14-349#1", "12-497#0"]
  assert [e["label"] for e in examples] == [1, 0, 2]
  assert examples[0]["context"] == (
    "M: How long have you been teaching here?\n"
    "W: For ten years. I'm thinking of trying something new."
  )
  assert examples[2]["options"][examples[2]["label"]] == "Saw a film."
  assert examples[0]["meta"] == {"split": "validation", "item_id": "14-349"}
  assert catalog.file_tasks()["dream.en"].num_choices == 3 and all(
    len(e["options"]) == 3 for e in examples
  )
  (test,) = load("dream.en", fixture_data_dir, "test")
  assert test["id"] == "3-101#0" and test["meta"]["split"] == "test"


def test_c3_reads_both_subsets_with_their_own_ids_and_option_counts(fixture_data_dir):
  examples = load("c3.zh", fixture_data_dir, "validation")
  # Both files hold an item "11-67": the subset keeps the ids apart.
  assert [e["id"] for e in examples] == ["m/11-67#0", "m/11-67#1", "d/11-67#0"]
  assert [len(e["options"]) for e in examples] == [4, 2, 3]
  assert [e["label"] for e in examples] == [2, 1, 1]
  assert [e["meta"]["subset"] for e in examples] == ["m", "m", "d"]
  assert examples[2]["context"].split("\n") == [
    "男：听说你们公司要派你去南方工作?",
    "女：是呀，虽说那边环境好，可我还是觉得在家里最好。",
  ]
  assert catalog.file_tasks()["c3.zh"].num_choices is None


def test_mctest_unescapes_stories_and_strips_question_types(fixture_data_dir):
  examples = load("mctest.en", fixture_data_dir, "validation")
  assert [e["id"] for e in examples] == [f"mc160.dev.0#{q}" for q in range(4)] + [
    f"mc500.dev.7#{q}" for q in range(4)
  ]
  assert [e["label"] for e in examples] == [0, 1, 0, 1, 2, 0, 1, 3]  # CRLF .ans line read too
  assert examples[0]["context"].startswith(
    "It was Jessie Bear's birthday. She was having a party.\nShe asked her two best friends "
    "to come.\n\nSoon"
  )
  assert examples[4]["context"] == (
    "Sally went to camp.\n\tShe made friends with Tina.\n\tThey shared "
    "a bunk bed and swam in the lake."
  )
  assert [e["question"] for e in examples[:2]] == [
    "Who was having a birthday?",
    "Who came to the party first?",
  ]
  assert [e["meta"]["question_type"] for e in examples[:4]] == [
    "one",
    "multiple",
    "one",
    "multiple",
  ]
  assert examples[4]["meta"]["properties"]["Creativity Words"] == "camp, lake"
  assert examples[4]["meta"]["subset"] == "mc500" and examples[4]["options"][2] == "camp"
  assert all("\\" not in e["context"] for e in examples)
