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

TINY = EncoderConfig(vocab_size=64, hidden_size=16, num_layers=1, num_heads=2,
                     intermediate_size=32, max_position_embeddings=64)


def tiny_model():
    return MultiTaskModel(TINY, [HeadSpec("mc", "multiple_choice"), HeadSpec("qa", "span")],
                          rngs=nnx.Rngs(0))


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
    np.testing.assert_array_equal(result.scores["accuracy"],
                                  np.equal(expected_predicted, expected_gold).astype(float))
    assert result.ids == [f"en-{b}-{e}" for b in range(2) for e in range(3)]


def test_best_spans_matches_brute_force():
    rng = np.random.default_rng(0)
    start, end = rng.standard_normal((2, 5, 10)).astype(np.float32)
    valid = rng.random((5, 10)) < 0.7
    valid[4] = False  # no valid token at all
    got_start, got_end, got_score = jax.device_get(
        evaluator_lib.best_spans(start, end, valid, max_answer_length=3))
    for e in range(4):
        candidates = [(start[e, i] + end[e, j], i, j) for i in range(10) for j in range(i, min(i + 3, 10))
                      if valid[e, i] and valid[e, j]]
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
    batch = {"example_mask": np.array([1, 1, 1, 0], np.float32),
             "input_ids": np.zeros((4, length), np.int32),
             "pool_row": np.arange(4, dtype=np.int32)[:, None],
             "pool_pos": np.array([[0], [0], [1], [0]], np.int32),
             "start_logits": start, "end_logits": end}
    answers = {"a": ["Paris"], "b": ["Rome"]}
    meta = [{"id": i, "token_offsets": o, "context": context, "answers": answers[i]}
            for i, o in zip(["a", "a", "b"], offsets)]
    cell = evaluator_lib.EvalCell("toyqa", "en", "clean", "span", "qa", [(batch, meta)])
    result = evaluator_lib.Evaluator(LogitsFromBatch(), device_keys=None).evaluate([cell])[0]
    assert result.ids == ["a", "b"]
    assert result.predicted == ["Paris", "in Rome"]
    assert result.gold == [["Paris"], ["Rome"]]
    np.testing.assert_array_equal(result.scores["exact_match"], [1.0, 0.0])
    np.testing.assert_allclose(result.scores["f1"], [1.0, 2 / 3])


def test_meta_must_match_the_real_slots():
    cells = choice_cells(["en"], ["clean"], batches_per_cell=1)
    batch, meta = cells[0].batches[0]
    cells[0].batches = [(batch, meta[:2])]
    with pytest.raises(ValueError, match="3 real example slots .* but 2 meta entries"):
        evaluator_lib.Evaluator(tiny_model()).evaluate(cells)
