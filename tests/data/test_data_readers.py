"""Every reader on small fixture files written in its upstream format."""
import collections

import pytest

from mrc_jax.data import load_examples
from mrc_jax.data.schema import is_labelled, require_labels


def load(task, data_dir, split=None):
    return list(load_examples(task, split, data_dir))


def test_xquad_answers_sit_at_their_offsets(fixture_data_dir):
    examples = load("xquad.de", fixture_data_dir)
    assert [e["id"] for e in examples] == ["q1", "q2", "q3"]
    for e in examples:
        assert e["task"] == "xquad.de" and e["lang"] == "de" and e["meta"]["split"] == "test"
        for a in e["answers"]:
            assert e["context"][a["start"]:a["start"] + len(a["text"])] == a["text"]
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
    assert arabic["id"] == "arabic-1" and arabic["answers"][0]["text"] == "القاهرة"
    assert english["id"] == "english-7" and english["lang"] == "en"


def test_xcopa(fixture_data_dir):
    examples = load("xcopa.it", fixture_data_dir)
    assert [e["label"] for e in examples] == [0, 1, 1]
    assert examples[0]["options"] == ["Era delicato.", "Era piccolo."]
    assert examples[0]["context"] == "L'oggetto era incartato nella plastica."
    assert examples[0]["meta"]["relation"] == "cause" and examples[1]["meta"]["relation"] == "effect"
    assert examples[1]["question"] != examples[0]["question"]
    assert examples[0]["id"] == "xcopa.it.validation.0"


def test_belebele(fixture_data_dir):
    examples = load("belebele.deu_Latn", fixture_data_dir)
    assert [e["label"] for e in examples] == [0, 2]
    assert examples[1]["options"] == ["Einen Tag", "Zwei Tage", "Drei Tage", "Vier Tage"]
    assert examples[1]["context"] == "Der Regen fiel drei Tage lang."
    assert examples[0]["id"] == "https://en.wikibooks.org/wiki/Accordion#1"


def test_exams_with_paragraphs_builds_context_from_choice_paragraphs(fixture_data_dir):
    first, second, flagged = load("exams.it", fixture_data_dir)
    # Choice B repeats choice A's paragraph: the context holds each distinct paragraph once.
    assert first["context"] == ("Paragrafo 0 su il cuore.\n\nParagrafo 2 su il rene.\n\n"
                                "Paragrafo 3 su il polmone.")
    assert first["meta"]["option_contexts"][1] == "Paragrafo 0 su il cuore."
    assert first["label"] == 0 and second["label"] == 2 and len(second["options"]) == 3
    # answerKey "@" (upstream: no valid gold answer) loads unlabelled, and evaluation refuses it.
    assert flagged["label"] == -1 and not is_labelled(flagged) and len(flagged["options"]) == 5
    with pytest.raises(ValueError, match="e3.*no gold label"):
        list(require_labels([first, flagged], "exams.it"))


def test_exams_without_paragraphs_and_multilingual_filter(fixture_data_dir):
    examples = load("exams_nopara.it", fixture_data_dir)
    assert [e["context"] for e in examples] == ["", ""] and [e["label"] for e in examples] == [0, 2]
    italian = load("exams_multilingual.it", fixture_data_dir)
    assert [(e["id"], e["label"]) for e in italian] == [("e1", 1), ("e4", 4)]
    assert [e["id"] for e in load("exams_multilingual.mk", fixture_data_dir)] == ["e3"]


def test_race_per_passage_files(fixture_data_dir):
    test = load("race.high", fixture_data_dir, "test")
    assert [e["id"] for e in test] == ["RACE/test/high/1.txt-0", "RACE/test/high/1.txt-1",
                                       "RACE/test/high/2.txt-0"]
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
