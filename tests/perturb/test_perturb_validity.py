"""Attack validity: the measures on hand-built examples with known values, the table on real
XQuAD through the real encoder, the answer-leak checks on real data, and --validity."""

import copy
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from mrc_jax.perturb import validity, validity_report

ROOT = pathlib.Path(__file__).resolve().parents[2]

SPAN = {
  "id": "v1",
  "task": "fixture.en",
  "lang": "en",
  "context": "The Denver Broncos won Super Bowl 50. The game was played in Santa Clara.",
  "question": "Who won the game?",
  "answers": [{"text": "Denver Broncos", "start": 4}],
  "meta": {},
}
CHOICE = {
  "id": "v2",
  "task": "fixture.en",
  "lang": "en",
  "context": "Tom kept his umbrella in the car because rain was forecast.",
  "question": "Why did Tom keep his umbrella?",
  "options": ["rain was forecast", "it was sunny", "he lost it"],
  "label": 0,
  "meta": {},
}


def _attacked(example, **fields_and_edits):
  """A hand-made 'perturbed' copy: new field values and the edit records to go with them."""
  edits = fields_and_edits.pop("edits")
  after = copy.deepcopy(example)
  after.update(fields_and_edits)
  after["meta"]["perturbation"] = [{"attack": "fake", "changed": True, "edits": edits}]
  return after


def _unit_vectors(texts):
  """A stand-in encoder: one seeded random unit vector per distinct text."""
  rows = [np.random.default_rng(abs(hash(t)) % 2**32).normal(size=8) for t in texts]
  stacked = np.stack(rows)
  return stacked / np.linalg.norm(stacked, axis=-1, keepdims=True)


def test_char_and_word_edit_rates():
  assert validity.char_edit_rate("abcdefghij", "abcdefghiX") == pytest.approx(0.1)
  assert validity.char_edit_rate("abcdefghij", "abcdefghij") == 0.0
  assert validity.char_edit_rate("", "abc") == 3.0  # no division by zero
  assert validity.word_edit_rate("who won the game", "who wno the game", "en") == 0.25
  # Unspaced scripts are counted in dictionary words, not in characters or spaces.
  assert validity.word_edit_rate("我喜欢北京", "我喜欢北京", "zh") == 0.0
  assert 0 < validity.word_edit_rate("我喜欢北京", "我喜欢上海", "zh") < 1


def test_an_inserted_gold_answer_is_counted_casefolded():
  leaking = _attacked(
    SPAN,
    context=SPAN["context"] + " The denver broncos lost.",
    edits=[
      {
        "field": "context",
        "start": 72,
        "end": 72,
        "old": "",
        "new": "The denver broncos lost.",
        "op": "insert sentence",
      }
    ],
  )
  assert validity.answer_leaks(SPAN, leaking, "en") == {
    "inserted": 1,
    "insert_leaks": 1,
    "insert_substring_leaks": 1,
    "new_options": 0,
    "option_leaks": 0,
  }
  clean = _attacked(
    SPAN,
    context=SPAN["context"] + " Carolina lost.",
    edits=[
      {
        "field": "context",
        "start": 72,
        "end": 72,
        "old": "",
        "new": "Carolina lost.",
        "op": "insert sentence",
      }
    ],
  )
  assert validity.answer_leaks(SPAN, clean, "en")["insert_leaks"] == 0
  # A replacement (old text not empty) is not an insertion.
  swapped = _attacked(
    SPAN,
    question="Who won the Denver Broncos?",
    edits=[
      {
        "field": "question",
        "start": 12,
        "end": 16,
        "old": "game",
        "new": "Denver Broncos",
        "op": "x",
      }
    ],
  )
  assert validity.answer_leaks(SPAN, swapped, "en")["inserted"] == 0


def test_an_answer_inside_a_longer_word_is_not_in_the_text():
  assert not validity.contains_answer("Khwarezmids came into conflict", "War", "en")
  assert validity.contains_answer("the war, then peace", "War", "en")
  assert validity.contains_answer("(1998)", "1998", "en")
  assert not validity.contains_answer("hücrenin en dış zarından", "Ren", "tr")
  # Unspaced scripts have no word edges to go by: any occurrence counts.
  assert validity.contains_answer("他在北京大学读书", "北京", "zh")


def test_a_new_option_equal_to_or_containing_the_answer_is_counted():
  after = _attacked(
    CHOICE,
    options=["rain was forecast", "Rain Was Forecast", "because rain was forecast"],
    edits=[
      {
        "field": "options[1]",
        "start": 0,
        "end": 12,
        "old": "it was sunny",
        "new": "Rain Was Forecast",
        "op": "extracted distractor",
      },
      {
        "field": "options[2]",
        "start": 0,
        "end": 10,
        "old": "he lost it",
        "new": "because rain was forecast",
        "op": "extracted distractor",
      },
    ],
  )
  leaks = validity.answer_leaks(CHOICE, after, "en")
  assert (leaks["new_options"], leaks["option_leaks"]) == (2, 2)
  # A permutation records no new text: neither an insertion nor a new option.
  shuffled = _attacked(
    CHOICE,
    edits=[{"field": "options", "start": 0, "end": 3, "old": "", "new": "", "op": "permute"}],
  )
  assert validity.answer_leaks(CHOICE, shuffled, "en") == dict.fromkeys(leaks, 0)


def test_measure_on_hand_built_examples():
  calls = []

  def embed(texts):
    calls.append(list(texts))
    return _unit_vectors(texts)

  row = validity.measure([SPAN, CHOICE], "charswap", "en", 0, embedder=embed)
  assert row["examples"] == 2 and row["change_rate"] == 1.0
  assert 0 < row["question_chars_all"] < 0.5 and row["passage_chars_all"] == 0.0
  # The passage is untouched: cosine 1 without asking the encoder about it.
  assert row["passage_cos_all"] == 1.0 and row["question_cos_all"] < 1.0
  assert len(calls) == 1 and SPAN["context"] not in calls[0]
  row = validity.measure([SPAN], "addsent", "en", 0)
  assert row["inserted"] == 1 and row["insert_leaks"] == 0 and "question_cos_all" not in row


def test_an_attack_that_cannot_run_is_a_row_saying_why():
  (row,) = validity.validity_rows([validity.Cell("fixture.en", "en", [SPAN], "dg")])
  assert "seq2seq checkpoint" in row["missing"]
  markdown = validity.validity_markdown([validity.measure([SPAN], "charswap", "en"), row])
  assert "| `fixture.en` | `charswap` | 1 | 1.00 |" in markdown
  assert "Not measured: `dg` on `fixture.en`: needs a seq2seq checkpoint" in markdown


def test_unknown_parameters_are_refused():
  cells = [validity.Cell("fixture.en", "en", [SPAN], "charswap", params={"rat": 0.5})]
  with pytest.raises(ValueError, match="rat"):
    validity_report.check_params(cells)


def test_identical_texts_have_cosine_one_through_the_real_encoder(me5_dir):
  text = "Wer gewann den Super Bowl 50?"
  vectors = validity.validity_embedder(me5_dir).sentence_vectors([text, text, text + " Nein."])
  assert vectors[0] @ vectors[1] == pytest.approx(1.0, abs=1e-5)
  assert vectors[0] @ vectors[2] < 0.999


def _real(data_dir, task, count):
  from mrc_jax.data import load_examples

  split = validity_report.split_of(task, data_dir)
  return validity.sample(load_examples(task, split=split, data_dir=data_dir), count)


def _real_cells(data_dir, tasks, attacks, count):
  return [
    validity.Cell(task, task.split(".")[1], _real(data_dir, task, count), attack)
    for task in tasks
    for attack in attacks
  ]


@pytest.mark.integration
def test_real_table_through_the_real_encoder(data_dir, me5_dir):
  # Question attacks only: short texts, one compiled length, seconds on a CPU.
  tasks = ("xquad.de", "xquad.zh", "xquad.ar")
  cells = _real_cells(data_dir, tasks, ("charswap", "homoglyph"), 4)
  rows = validity.validity_rows(cells, validity.validity_embedder(me5_dir))
  assert [(r["task"], r["attack"]) for r in rows] == [(c.task, c.attack) for c in cells]
  for row in rows:
    assert row["examples"] == 4 and row["cos_examples"] == 4
    assert row["passage_chars_all"] == 0.0 and row["passage_cos_all"] == 1.0
    if row["changed"]:
      assert 0 < row["question_chars_changed"] < 0.6
      assert 0.5 < row["question_cos_changed"] < 1.0
  assert sum(r["changed"] for r in rows if r["attack"] == "charswap") >= 10
  assert validity.validity_markdown(rows).count("\n| `xquad.") == 6


@pytest.mark.slow
@pytest.mark.integration
def test_real_passage_cosines_through_the_real_encoder(data_dir, me5_dir):
  cells = _real_cells(data_dir, ("xquad.de", "xquad.zh"), ("addsent", "distractor_passage"), 4)
  rows = validity.validity_rows(cells, validity.validity_embedder(me5_dir))
  for row in rows:
    assert row["question_cos_all"] == 1.0 and 0.5 < row["passage_cos_changed"] < 1.0
    assert row["inserted"] == row["changed"] >= 1 and row["insert_leaks"] == 0
  by_attack = {r["attack"]: r for r in rows if r["task"] == "xquad.de"}
  # A whole second passage moves the text (and the vector) more than two sentences.
  assert (
    by_attack["distractor_passage"]["passage_chars_all"] > by_attack["addsent"]["passage_chars_all"]
  )


SPAN_TASKS = [f"xquad.{lang}" for lang in "ar de en es ru tr vi zh".split()]
XCOPA_TASKS = [f"xcopa.{lang}" for lang in "it sw zh".split()]
EXAMS_TASKS = ["exams.bg", "exams.tr"]


def _leak_rows(data_dir, tasks, attacks, count):
  # No encoder: the leak checks are the point here.
  return validity.validity_rows(_real_cells(data_dir, tasks, attacks, count))


@pytest.mark.integration
def test_no_addsent_sentence_or_new_option_contains_the_answer_on_real_data(data_dir):
  rows = _leak_rows(data_dir, SPAN_TASKS, ["addsent"], 120)
  rows += _leak_rows(data_dir, XCOPA_TASKS, ["addsent", "distractor_extraction"], 60)
  rows += _leak_rows(data_dir, EXAMS_TASKS, ["distractor_extraction"], 20)
  for row in rows:
    assert row["insert_leaks"] == 0 and row["option_leaks"] == 0, row
    if row["attack"] == "distractor_extraction":
      assert row["new_options"] > 0, row
    else:
      assert row["inserted"] > 0.5 * row["examples"], row


@pytest.mark.integration
def test_no_distractor_passage_contains_the_answer_on_real_data(data_dir):
  # xquad.en 56e1254ae3433e1400422c68 (gold "War") once got a passage with "a war that
  # lasted": the answer is refused casefolded.
  rows = _leak_rows(data_dir, SPAN_TASKS, ["distractor_passage"], 150)
  assert all(row["inserted"] == row["examples"] for row in rows)
  assert [row for row in rows if row["insert_leaks"]] == []


def _cli(*args):
  return subprocess.run(
    [sys.executable, str(ROOT / "launch" / "perturb.py"), "--validity", *args],
    capture_output=True,
    text=True,
    check=True,
  )


@pytest.mark.integration
def test_cli_writes_markdown_and_json(data_dir, tmp_path):
  out = tmp_path / "validity.md"
  result = _cli(
    "--tasks=xquad.ar,exams.bg",
    "--attacks=charswap,dg,distractor_extraction",
    "--max_examples=3",
    "--noembed",
    f"--data_dir={data_dir}",
    f"--out={out}",
  )
  rows = json.loads((tmp_path / "validity.json").read_text(encoding="utf-8"))
  assert [(r["task"], r["attack"]) for r in rows] == [
    (t, a) for t in ("xquad.ar", "exams.bg") for a in ("charswap", "dg", "distractor_extraction")
  ]
  assert all(r["examples"] == 3 for r in rows)
  markdown = out.read_text(encoding="utf-8")
  assert markdown in result.stdout and "Not measured: `dg`" in markdown
  assert "No cosines (n/a)" in markdown


@pytest.mark.slow
@pytest.mark.integration
def test_cli_dataset_langs_with_the_encoder(data_dir, me5_dir, tmp_path):
  out = tmp_path / "v.md"
  _cli(
    "--dataset=xquad",
    "--langs=ru,vi",
    "--attacks=homoglyph,distractor_passage",
    "--max_examples=3",
    f"--data_dir={data_dir}",
    f"--out={out}",
  )
  rows = json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))
  assert {r["task"] for r in rows} == {"xquad.ru", "xquad.vi"}
  assert all(r["question_cos_all"] is not None for r in rows)
  assert all(r["insert_leaks"] == 0 for r in rows if r["attack"] == "distractor_passage")


@pytest.mark.slow
@pytest.mark.integration
def test_docs_include_the_validity_table(data_dir, me5_dir, monkeypatch):
  from mrc_jax.data import load_examples
  from mrc_jax.perturb import docs

  monkeypatch.setattr(docs, "VALIDITY_EXAMPLES", 3)
  monkeypatch.setattr(docs, "VALIDITY_COS_EXAMPLES", 2)
  section = docs.validity_section(
    lambda task, split=None: load_examples(task, split=split, data_dir=data_dir), data_dir
  )
  assert section.startswith("## Validity")
  for task in SPAN_TASKS:
    assert f"| `{task}` | `addsent` | 3 |" in section
  assert "| `xcopa.it` | `distractor_extraction` | 3 |" in section
  assert "cos: on the first 2 examples" in section
