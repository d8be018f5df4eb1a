"""dg and paraphrase with tiny random seq2seq checkpoints: the filter, batching, determinism,
what they need, and launch/perturb.py end to end."""

import json
import pathlib
import subprocess
import sys

import pytest

from mrc_jax import perturb
from mrc_jax.data import load_examples
from tests.models import seq2seq_checkpoints as tiny

pytest.importorskip("transformers")
ROOT = pathlib.Path(__file__).resolve().parents[2]

CHOICE = {
  "id": "mc-1",
  "task": "fixture.en",
  "lang": "en",
  "context": "the teacher went to school in the morning and she found a red book",
  "question": "what did the teacher find",
  "options": ["a blue car", "a red book", "the river", "money"],
  "label": 1,
}
SPAN = {
  "id": "sp-1",
  "task": "fixture.en",
  "lang": "en",
  "context": "the student read the book",
  "question": "who read the book",
  "answers": [{"text": "the student", "start": 0}],
}


@pytest.fixture(scope="module", params=["mt5"])
def checkpoint(request, tmp_path_factory):
  path = tmp_path_factory.mktemp(request.param)
  return tiny.write(request.param, str(path))


def variants(n):
  words = tiny.WORDS
  return [
    dict(
      CHOICE, id=f"mc-{i}", question=" ".join(words[i : i + 4]), context=" ".join(words[i : i + 12])
    )
    for i in range(n)
  ]


def test_dg_replaces_the_wrong_options_with_filtered_beams(checkpoint):
  out = perturb.perturb(CHOICE, "dg", "en", 0, checkpoint=checkpoint, max_new_tokens=6)
  (record,) = out["meta"]["perturbation"]
  assert out["options"][1] == "a red book" and out["label"] == 1
  new = [o for i, o in enumerate(out["options"]) if i != 1]
  replaced = [e for e in record["edits"] if e["op"] == "generated distractor"]
  assert replaced, record
  folded = [o.casefold() for o in out["options"]]
  assert len(set(folded)) == 4  # no duplicates, none equal to the gold answer
  assert all("a red book" not in o.casefold() for o in new)
  assert all(e["new"] in new and e["old"] in CHOICE["options"] for e in replaced)
  again = perturb.perturb(CHOICE, "dg", "en", 5, checkpoint=checkpoint, max_new_tokens=6)
  assert again["options"] == out["options"]  # beam search: the seed changes nothing


def test_dg_filter_and_originals_kept():
  beams = [
    "",
    "A red book!",
    "a red book on the table",
    "The river",
    "green water",
    "Green  water",
    "days",
  ]
  out = perturb.perturb(CHOICE, "dg", "en", 0, checkpoint="unused", prepared=beams)
  assert out["options"] == ["green water", "a red book", "days", "money"]
  (record,) = out["meta"]["perturbation"]
  assert record["notes"] == ["1 original distractor(s) kept: 2 of 7 beams passed the filter"]
  unlabelled = perturb.perturb(dict(CHOICE, label=-1), "dg", "en", 0, checkpoint="x", prepared=None)
  assert unlabelled["options"] == CHOICE["options"]


def test_paraphrase_takes_the_first_beam_that_differs():
  out = perturb.perturb(
    SPAN,
    "paraphrase",
    "en",
    0,
    checkpoint="unused",
    prepared=["Who read the book?", "who wrote it"],
  )
  assert out["question"] == "who wrote it" and out["answers"] == SPAN["answers"]
  same = perturb.perturb(
    SPAN, "paraphrase", "en", 0, checkpoint="unused", prepared=["who read the book"]
  )
  assert same["question"] == SPAN["question"]
  assert "no beam of 1 differs" in same["meta"]["perturbation"][0]["notes"][0]


def test_batches_give_what_single_examples_give(checkpoint):
  examples = variants(5) + [SPAN]
  params = dict(checkpoint=checkpoint, max_new_tokens=5, num_beams=3, num_return_sequences=3)
  batched = list(perturb.perturb_examples(examples, "paraphrase", None, 0, batch_size=4, **params))
  single = [perturb.perturb(e, "paraphrase", "en", 0, batch_size=1, **params) for e in examples]
  assert [b["question"] for b in batched] == [s["question"] for s in single]
  assert sum(b["question"] != e["question"] for b, e in zip(batched, examples)) >= 3
  dg = list(perturb.perturb_examples(examples, "dg", None, 0, batch_size=4, **params))
  assert {k: v for k, v in dg[-1].items() if k != "meta"} == SPAN  # not applicable: unchanged
  assert "not applicable" in dg[-1]["meta"]["perturbation"][0]["notes"][0]
  assert [d["options"] for d in dg[:-1]] == [
    perturb.perturb(e, "dg", "en", 0, **params)["options"] for e in examples[:-1]
  ]


def test_requirements_name_what_is_missing(checkpoint, tmp_path, make_hf_encoder_dir):
  assert perturb.missing("dg", checkpoint=checkpoint) == []
  assert perturb.missing("paraphrase", checkpoint=checkpoint) == []
  (lacking,) = perturb.missing("dg")
  assert "seq2seq checkpoint" in lacking and "checkpoint=DIR" in lacking
  (lacking,) = perturb.missing("paraphrase", checkpoint=str(tmp_path))
  assert "has no config.json" in lacking
  (lacking,) = perturb.missing("dg", checkpoint=make_hf_encoder_dir)
  assert "'bert' model" in lacking
  with pytest.raises(perturb.Seq2SeqCheckpointRequired, match="needs a seq2seq checkpoint"):
    perturb.perturb(CHOICE, "dg", "en", 0)
  table = perturb.support_table()
  assert table["sw"]["dg"].status == "degraded" and "checkpoint=" in table["sw"]["dg"].how


@pytest.fixture
def make_hf_encoder_dir(tmp_path):
  path = tmp_path / "encoder"
  path.mkdir()
  (path / "config.json").write_text(json.dumps({"model_type": "bert"}))
  return str(path)


@pytest.mark.slow
@pytest.mark.integration
def test_launch_perturb_with_a_checkpoint(checkpoint, data_dir, tmp_path):
  out_path = tmp_path / "out.jsonl"
  params = json.dumps(
    {"checkpoint": checkpoint, "max_new_tokens": 5, "num_beams": 3, "num_return_sequences": 3}
  )
  completed = subprocess.run(
    [
      sys.executable,
      str(ROOT / "launch" / "perturb.py"),
      "--task=xcopa.it",
      "--split=validation",
      "--attacks=dg,paraphrase",
      f"--data_dir={data_dir}",
      f"--params={params}",
      f"--out={out_path}",
    ],
    capture_output=True,
    text=True,
  )
  assert completed.returncode == 0, completed.stderr[-3000:]
  rows = [json.loads(line) for line in out_path.read_text(encoding="utf-8").splitlines()]
  clean = list(load_examples("xcopa.it", "validation", data_dir=data_dir))
  assert len(rows) == 2 * len(clean) == 200
  by_attack = {a: [r for r in rows if r["task"] == f"xcopa.it.{a}"] for a in ("dg", "paraphrase")}
  for row, original in zip(by_attack["dg"], clean):
    assert row["options"][row["label"]] == original["options"][original["label"]]
  assert sum(r["options"] != o["options"] for r, o in zip(by_attack["dg"], clean)) >= 50
  assert sum(r["question"] != o["question"] for r, o in zip(by_attack["paraphrase"], clean)) >= 50
