"""advrace.train_mix draws what Attacks/AddSent/combine.py of NoviScl/AdvRACE draws.

combine.py: ``random.seed(2020)``; for AddSent, charSwap, DE in that order, a set of more
than 50,000 questions gives ``random.sample(list(ids), int(n * 0.25))`` (one generator
throughout), each id suffixed; DG's ``train_25_dis.json`` is added whole. The expectation
below is computed from that description with the global ``random`` module, as combine.py
seeds it.
"""

import json
import os
import random
import shutil

import pytest

from mrc_jax.data import DataError, SkipReport, load_examples

# combine.py's inputs, relative to the data root it reads them from (the folder holding
# final_distractor_datasets/), with their id suffixes, and the sizes used here.
SAMPLED = (
  ("AddSent/finalAddSent/train_dis.json", "_addsent", 50_001),
  ("charSwap/charSwap_train/train_dis.json", "_charswap", 50_007),
  ("final_distractor_datasets/extractive_old/train_dis.json", "_extract", 50_013),
)
DG = ("unilm/train_25_dis.json", "_unilm", 5)


def _record(i: int) -> dict:
  return {
    "question": f"question {i}",
    "context": f"passage {i}",
    "options": [f"o{i}a", f"o{i}b", f"o{i}c", f"o{i}d"],
    "label": i % 4,
  }


def _ids(count: int, salt: int) -> list[str]:
  # Not sorted, so the draw depends on the file's order as in combine.py.
  return [
    f"RACE/train/{'high' if i % 3 else 'middle'}/{(i * 7919 + salt) % 100_003}.txt-{i % 2}"
    for i in range(count)
  ]


def _write(path, document):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w", encoding="utf-8") as f:
    json.dump(document, f)


def _race_train(data_dir, fixture_data_dir):
  for level, name in (("high", "1.txt"), ("middle", "4.txt")):
    source = os.path.join(fixture_data_dir, "race", "RACE", "test", level, name)
    target = os.path.join(data_dir, "race", "RACE", "train", level, name)
    os.makedirs(os.path.dirname(target))
    shutil.copy(source, target)


def test_train_mix_draws_what_combine_py_draws(tmp_path, fixture_data_dir):
  data_dir = str(tmp_path)
  _race_train(data_dir, fixture_data_dir)
  race_ids = [e["id"] for e in load_examples("race.all", "train", data_dir)]
  sets = {
    relative: dict(zip(_ids(n, salt), map(_record, range(n))))
    for salt, (relative, _, n) in enumerate(SAMPLED + (DG,))
  }

  state = random.getstate()
  random.seed(2020)
  drawn = [
    (relative, suffix, random.sample(list(sets[relative]), int(len(sets[relative]) * 0.25)))
    for relative, suffix, _ in SAMPLED
  ]
  random.setstate(state)
  drawn.append((DG[0], DG[1], list(sets[DG[0]])))
  # One drawn record is bad: lenient mode counts it and the other draws stay as they are.
  bad_id = drawn[1][2][0]
  sets[SAMPLED[1][0]][bad_id] = {**sets[SAMPLED[1][0]][bad_id], "label": 7}
  for relative, document in sets.items():
    _write(os.path.join(data_dir, "advrace", relative), document)

  report = SkipReport()
  examples = list(
    load_examples("advrace.train_mix", "train", data_dir, strict=False, report=report)
  )
  expected = [
    record_id + suffix
    for _, suffix, ids in drawn
    for record_id in ids
    if record_id + suffix != bad_id + "_charswap"
  ]
  assert [e["id"] for e in examples] == race_ids + expected
  assert len(expected) == 12_500 + 12_501 + 12_503 + 5 - 1
  assert report.skipped == 1 and report.errors[0].record_id == bad_id + "_charswap"
  assert report.errors[0].path.endswith("advrace/charSwap/charSwap_train/train_dis.json")
  by_id = {e["id"]: e for e in examples}
  for relative, suffix, ids in drawn:
    record = sets[relative][ids[-1]]
    example = by_id[ids[-1] + suffix]
    assert (example["question"], example["options"], example["label"]) == (
      record["question"],
      record["options"],
      record["label"],
    )
  assert {e["meta"]["attack"] for e in examples[len(race_ids) :]} == {
    "addsent",
    "charswap",
    "de",
    "dg",
  }


def test_train_mix_refuses_a_set_combine_py_cannot_draw_from(tmp_path, fixture_data_dir):
  data_dir = str(tmp_path)
  _race_train(data_dir, fixture_data_dir)
  for relative, _, _ in SAMPLED + (DG,):
    _write(
      os.path.join(data_dir, "advrace", relative), dict(zip(_ids(8, 0), map(_record, range(8))))
    )
  with pytest.raises(
    DataError,
    match=r"finalAddSent/train_dis.json: .*8 questions; combine.py draws "
    r"only from sets of more than 50000",
  ):
    list(load_examples("advrace.train_mix", "train", data_dir))


def test_train_mix_names_its_files_in_combine_py_layout(tmp_path):
  with pytest.raises(FileNotFoundError) as error:
    list(load_examples("advrace.train_mix", "train", str(tmp_path)))
  assert os.path.join(str(tmp_path), "race/RACE/train/high/") in str(error.value)
  from mrc_jax.data import catalog

  assert catalog.file_tasks()["advrace.train_mix"].files["train"][2:] == (
    "advrace/AddSent/finalAddSent/train_dis.json",
    "advrace/charSwap/charSwap_train/train_dis.json",
    "advrace/final_distractor_datasets/extractive_old/train_dis.json",
    "advrace/unilm/train_25_dis.json",
  )
