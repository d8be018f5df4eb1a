"""The eval loop: one compilation per padded shape, correct decoding, window aggregation."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from mrc_jax.eval import evaluator as evaluator_lib
from mrc_jax.models.encoder import EncoderConfig
from mrc_jax.models.multitask import HeadSpec, MultiTaskModel

TINY = EncoderConfig(
  vocab_size=64,
  hidden_size=16,
  num_layers=1,
  num_heads=2,
  intermediate_size=32,
  max_position_embeddings=64,
)


def tiny_model():
  return MultiTaskModel(
    TINY, [HeadSpec("mc", "multiple_choice"), HeadSpec("qa", "span")], rngs=nnx.Rngs(0)
  )


def choice_batch(rng, examples=4, choices=3, length=12, real=3):
  """[E*C, L] rows, one choice per row; the last slot is padding."""
  rows = examples * choices
  batch = {
    "input_ids": rng.integers(5, TINY.vocab_size, (rows, length)).astype(np.int32),
    "token_type_ids": np.zeros((rows, length), np.int32),
    "segment_ids": np.ones((rows, length), np.int32),
    "positions": np.tile(np.arange(length, dtype=np.int32), (rows, 1)),
    "example_mask": (np.arange(examples) < real).astype(np.float32),
    "pool_row": np.arange(rows, dtype=np.int32).reshape(examples, choices),
    "pool_pos": np.zeros((examples, choices), np.int32),
    "choice_mask": np.ones((examples, choices), np.float32),
    "label": rng.integers(0, choices, examples).astype(np.int32),
  }
  return batch


def choice_cells(langs, attacks, batches_per_cell=2, length=12, seed=0):
  rng = np.random.default_rng(seed)
  cells = []
  for lang, attack in itertools.product(langs, attacks):
    batches = []
    for b in range(batches_per_cell):
      batch = choice_batch(rng, length=length)
      batches.append((batch, [{"id": f"{lang}-{b}-{e}"} for e in range(3)]))
    cells.append(evaluator_lib.EvalCell("toy", lang, attack, "multiple_choice", "mc", batches))
  return cells


class CompileCounter:
  """Counts XLA backend compilations through jax.monitoring."""

  def __init__(self):
    self.count = 0
    jax.monitoring.register_event_duration_secs_listener(self._listen)

  def _listen(self, event, duration, **kwargs):
    if event == "/jax/core/compile/backend_compile_duration":
      self.count += 1


def test_one_compilation_per_padded_shape_across_languages_and_attacks():
  model = tiny_model()
  evaluator = evaluator_lib.Evaluator(model)
  counter = CompileCounter()
  evaluator.evaluate(choice_cells(["en", "de", "zh"], ["clean", "charswap"]))
  assert evaluator.num_compilations == 1
  before = counter.count
  # The same shape again, under new languages and attacks: no XLA compilation at all.
  results = evaluator.evaluate(choice_cells(["ar", "ru"], ["clean", "addsent"], seed=1))
  assert counter.count == before
  assert evaluator.num_compilations == 1
  assert [len(r.ids) for r in results] == [6] * 4  # 2 batches x 3 real slots
  # A new padded length is one more compilation.
  evaluator.evaluate(choice_cells(["en"], ["clean"], length=16))
  assert evaluator.num_compilations == 2
  assert evaluator.stats.compilations == 2


def test_choice_predictions_match_the_eager_model():
  model = tiny_model()
  cells = choice_cells(["en"], ["clean"], batches_per_cell=2)
  result = evaluator_lib.Evaluator(model).evaluate(cells)[0]
  expected_predicted, expected_gold = [], []
  for batch, _ in cells[0].batches:
    scores = model({k: jnp.asarray(v) for k, v in batch.items()})["mc"]  # [E, C]
    real = batch["example_mask"] > 0
    expected_predicted += np.asarray(jnp.argmax(scores, -1))[real].tolist()
    expected_gold += batch["label"][real].tolist()
  assert result.predicted == expected_predicted
  assert result.gold == expected_gold
  np.testing.assert_array_equal(
    result.scores["accuracy"], np.equal(expected_predicted, expected_gold).astype(float)
  )
  assert result.ids == [f"en-{b}-{e}" for b in range(2) for e in range(3)]


def test_best_spans_matches_brute_force():
  rng = np.random.default_rng(0)
  start, end = rng.standard_normal((2, 5, 10)).astype(np.float32)
  valid = rng.random((5, 10)) < 0.7
  valid[4] = False  # no valid token at all
  got_start, got_end, got_score = jax.device_get(
    evaluator_lib.best_spans(start, end, valid, max_answer_length=3)
  )
  for e in range(4):
    candidates = [
      (start[e, i] + end[e, j], i, j)
      for i in range(10)
      for j in range(i, min(i + 3, 10))
      if valid[e, i] and valid[e, j]
    ]
    score, i, j = max(candidates)
    assert (got_start[e], got_end[e]) == (i, j)
    assert got_score[e] == pytest.approx(score, rel=1e-6)
  assert got_score[4] == -np.inf


class LogitsFromBatch(nnx.Module):
  """A stand-in model whose span scores are given in the batch, to test decoding."""

  def __init__(self):
    self.unused = nnx.Param(jnp.zeros(()))

  def __call__(self, batch, deterministic=True):
    return {"qa": (batch["start_logits"], batch["end_logits"])}


def test_span_windows_are_aggregated_per_id_and_mapped_to_characters():
  context = "Alice lives in Paris. Bob lives in Rome."
  length = 8
  # Two windows of example "a" (the second is better), one window of example "b"; the
  # third window's sequence starts at row position 1 (pool_pos), the others at 0.
  words = [(0, 5), (6, 11), (12, 14), (15, 20), (22, 25), (26, 31), (32, 34), (35, 39)]
  offsets = [np.full((length, 2), -1, np.int32) for _ in range(2)]
  offsets += [np.full((length - 1, 2), -1, np.int32)]
  offsets[0][2:6] = words[0:4]
  offsets[1][2:6] = words[2:6]
  offsets[2][1:7] = words[2:8]
  start = np.full((4, length), -5.0, np.float32)  # [E, L]; slot 3 is padding
  end = np.full((4, length), -5.0, np.float32)
  start[0, 2], end[0, 3] = 1.0, 1.0  # "Alice lives", score 2
  start[1, 3], end[1, 3] = 3.0, 3.0  # "Paris", score 6
  start[2, 6], end[2, 7] = 2.0, 2.0  # row positions 6..7 = sequence tokens 5..6: "in Rome"
  start[2, 0], end[2, 0] = 9.0, 9.0  # outside the sequence: must be ignored
  start[3, 4], end[3, 4] = 50.0, 50.0  # padding slot: must be ignored
  batch = {
    "example_mask": np.array([1, 1, 1, 0], np.float32),
    "input_ids": np.zeros((4, length), np.int32),
    "pool_row": np.arange(4, dtype=np.int32)[:, None],
    "pool_pos": np.array([[0], [0], [1], [0]], np.int32),
    "start_logits": start,
    "end_logits": end,
  }
  answers = {"a": ["Paris"], "b": ["Rome"]}
  meta = [
    {"id": i, "token_offsets": o, "context": context, "answers": answers[i]}
    for i, o in zip(["a", "a", "b"], offsets)
  ]
  cell = evaluator_lib.EvalCell("toyqa", "en", "clean", "span", "qa", [(batch, meta)])
  result = evaluator_lib.Evaluator(LogitsFromBatch(), device_keys=None).evaluate([cell])[0]
  assert result.ids == ["a", "b"]
  assert result.predicted == ["Paris", "in Rome"]
  assert result.gold == [["Paris"], ["Rome"]]
  np.testing.assert_array_equal(result.scores["exact_match"], [1.0, 0.0])
  np.testing.assert_allclose(result.scores["f1"], [1.0, 2 / 3])
  # A dataset outside the catalog is scored SQuAD v1.1 style, MLQA's kept beside it.
  assert list(result.scores) == ["f1", "exact_match", "f1_mlqa", "exact_match_mlqa"]
  assert result.na_probs is None


def test_span_scoring_comes_from_the_registered_task():
  from mrc_jax.data import tasks

  scoring = lambda name: (tasks.info(name).span_style, tasks.info(name).no_answer)  # noqa: E731
  assert scoring("xquad.de") == ("squad_v1", False)
  assert scoring("tydiqa.en") == ("squad_v1", False)
  assert scoring("squad.en") == ("squad_v1", False)
  assert scoring("squad_v2.en") == ("squad_v1", True)
  assert scoring("mlqa.es") == scoring("mlqa.es.charswap") == ("mlqa", False)
  assert scoring("synthetic_span.en") == ("squad_v1", False)


def test_mlqa_cell_headline_is_mlqa_style():
  """Same decoding as above, but a cell of MLQA: its script is the headline."""
  context = "«Paris» est ici."
  length = 6
  offsets = np.full((length, 2), -1, np.int32)
  offsets[1:4] = [(0, 1), (1, 6), (6, 7)]  # «, Paris, »
  start = np.full((2, length), -5.0, np.float32)
  end = np.full((2, length), -5.0, np.float32)
  start[0, 1], end[0, 3] = 1.0, 1.0  # "«Paris»"
  batch = {
    "example_mask": np.array([1, 0], np.float32),
    "input_ids": np.zeros((2, length), np.int32),
    "pool_row": np.arange(2, dtype=np.int32)[:, None],
    "pool_pos": np.zeros((2, 1), np.int32),
    "start_logits": start,
    "end_logits": end,
  }
  meta = [{"id": "q", "token_offsets": offsets, "context": context, "answers": ["Paris"]}]
  cell = evaluator_lib.EvalCell(
    "mlqa", "es", "clean", "span", "qa", [(batch, meta)], span_style="mlqa"
  )
  result = evaluator_lib.Evaluator(LogitsFromBatch(), device_keys=None).evaluate([cell])[0]
  assert result.predicted == ["«Paris»"]
  assert list(result.scores) == ["f1", "exact_match", "f1_squad_v1", "exact_match_squad_v1"]
  # MLQA removes the guillemets; SQuAD v1.1 keeps them.
  assert (result.scores["exact_match"][0], result.scores["exact_match_squad_v1"][0]) == (1.0, 0.0)


CONTEXT_WORDS = "zero one two three four five six seven eight nine".split()


def unanswerable_cell(length=12, context_tokens=8):
  """Span windows of five questions over one context; "c" and "d" have no answer.

  Each window is its own row: [CLS] q q then `context_tokens` context words from word
  `first`, then padding; "a" has two windows.
  """
  context = " ".join(CONTEXT_WORDS)
  spans, position = [], 0
  for word in CONTEXT_WORDS:
    spans.append((position, position + len(word)))
    position += len(word) + 1
  windows = [("a", 0), ("a", 2), ("b", 0), ("c", 1), ("d", 0), ("e", 2)]
  answers = {"a": ["seven"], "b": ["two three"], "c": [], "d": [], "e": ["four"]}
  rng = np.random.default_rng(7)
  examples = len(windows) + 2  # two padding slots
  batch = {
    "input_ids": rng.integers(5, TINY.vocab_size, (examples, length)).astype(np.int32),
    "token_type_ids": np.zeros((examples, length), np.int32),
    "segment_ids": np.ones((examples, length), np.int32),
    "positions": np.tile(np.arange(length, dtype=np.int32), (examples, 1)),
    "example_mask": (np.arange(examples) < len(windows)).astype(np.float32),
    "pool_row": np.arange(examples, dtype=np.int32)[:, None],
    "pool_pos": np.zeros((examples, 1), np.int32),
    "choice_mask": np.ones((examples, 1), np.float32),
    "label": np.zeros((examples,), np.int32),
  }
  meta = []
  for example_id, first in windows:
    offsets = np.full((length, 2), -1, np.int32)  # [sequence, 2]
    offsets[3 : 3 + context_tokens] = spans[first : first + context_tokens]
    meta.append(
      {
        "id": example_id,
        "token_offsets": offsets,
        "context": context,
        "answers": answers[example_id],
      }
    )
  return batch, meta


def test_unanswerable_questions_with_a_tiny_model():
  """Null score at [CLS] (min over windows) vs best span (max over windows), per id."""
  model = tiny_model()
  batch, meta = unanswerable_cell()
  start, end = jax.device_get(model({k: jnp.asarray(v) for k, v in batch.items()})["qa"])
  best, null = {}, {}
  for slot, slot_meta in enumerate(meta):
    offsets = slot_meta["token_offsets"]
    candidates = [
      (start[slot, i] + end[slot, j], i, j)
      for i in range(len(offsets))
      for j in range(i, min(i + 30, len(offsets)))
      if offsets[i, 0] >= 0 and offsets[j, 0] >= 0
    ]
    score, i, j = max(candidates)
    text = slot_meta["context"][offsets[i, 0] : offsets[j, 1]]
    example_id = slot_meta["id"]
    if example_id not in best or score > best[example_id][0]:
      best[example_id] = (score, text)
    null[example_id] = min(null.get(example_id, np.inf), start[slot, 0] + end[slot, 0])
  ids = ["a", "b", "c", "d", "e"]
  na_probs = np.array([null[i] - best[i][0] for i in ids])
  # A threshold halfway between two scores, so that some questions are answered and some
  # not, and float32 rounding in the evaluator cannot move a question across it.
  ranked = np.sort(na_probs)
  assert ranked[3] - ranked[2] > 1e-5
  threshold = float(ranked[2] + ranked[3]) / 2
  expected = ["" if na > threshold else best[i][1] for i, na in zip(ids, na_probs)]
  assert "" in expected and any(expected)

  cell = evaluator_lib.EvalCell(
    "toyqa", "en", "clean", "span", "qa", [(batch, meta)], no_answer=True
  )
  result = evaluator_lib.Evaluator(model, null_score_threshold=threshold).evaluate([cell])[0]
  assert result.ids == ids
  assert result.predicted == expected
  np.testing.assert_allclose(result.na_probs, na_probs, rtol=1e-5, atol=1e-5)
  gold = [["seven"], ["two three"], [], [], ["four"]]
  assert result.gold == gold
  # evaluate-v2.0.py: "" is right exactly for the questions without an answer.
  for index, (prediction, answers) in enumerate(zip(expected, gold)):
    if not answers:
      assert result.scores["exact_match"][index] == float(prediction == "")
      assert result.scores["f1"][index] == float(prediction == "")
    elif prediction == "":
      assert result.scores["exact_match"][index] == result.scores["f1"][index] == 0.0
  exact, f1 = evaluator_lib.metrics.span_scores(gold, expected, "en", "squad_v1", no_answer=True)
  np.testing.assert_array_equal(result.scores["exact_match"], exact)
  np.testing.assert_array_equal(result.scores["f1"], f1)

  # Every question answered (threshold above all na_probs), and none (below all).
  high = evaluator_lib.Evaluator(model, null_score_threshold=float(na_probs.max()) + 1)
  assert high.evaluate([cell])[0].predicted == [best[i][1] for i in ids]
  low = evaluator_lib.Evaluator(model, null_score_threshold=float(na_probs.min()) - 1)
  low_result = low.evaluate([cell])[0]
  assert low_result.predicted == [""] * 5
  np.testing.assert_array_equal(low_result.scores["exact_match"], [0, 0, 1, 1, 0])


def test_meta_must_match_the_real_slots():
  cells = choice_cells(["en"], ["clean"], batches_per_cell=1)
  batch, meta = cells[0].batches[0]
  cells[0].batches = [(batch, meta[:2])]
  with pytest.raises(ValueError, match="3 real example slots .* but 2 meta entries"):
    evaluator_lib.Evaluator(tiny_model()).evaluate(cells)
