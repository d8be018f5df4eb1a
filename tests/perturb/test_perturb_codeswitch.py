"""codeswitch without a file: SimAlign's Argmax / IterMax on known similarity matrices, word
pairs the real encoder aligns in XQuAD, the lexicon cache, and the attack on real examples."""

import itertools

import numpy as np
import pytest

from mrc_jax import perturb
from mrc_jax.data import load_examples
from mrc_jax.perturb import alignment, parallel

MAX_PAIRS = 150  # the first XQuAD questions: enough for the words below, seconds to align


def test_argmax_keeps_only_mutual_best_pairs():
  similarity = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.1], [0.0, 0.1, 0.7]])
  # Source 1's best is target 0, whose best is source 0: not mutual, left out.
  assert np.argwhere(alignment.mutual_argmax(similarity)).tolist() == [[0, 0], [2, 2]]


def test_itermax_aligns_the_words_argmax_left_out():
  similarity = np.array([[0.9, 0.5, 0.0], [0.8, 0.6, 0.1], [0.0, 0.1, 0.7]])
  # Iteration 1: (0, 0) and (2, 2). Iteration 2 weights pairs with one aligned side by
  # alpha = 0.9 and pairs with both by 0: row 1 becomes [0.72, 0.6, 0.09], and column 0's
  # best is now row 1, so (1, 0) is added; (0, 1) = 0.45 is not column 1's best (0.6).
  got = np.argwhere(alignment.itermax(similarity)).tolist()
  assert got == [[0, 0], [1, 0], [2, 2]]
  assert np.argwhere(alignment.itermax(similarity, max_iterations=1)).tolist() == [[0, 0], [2, 2]]
  # A pair whose both sides are aligned is never added again.
  both = np.array([[0.9, 0.2], [0.3, 0.8]])
  assert np.argwhere(alignment.itermax(both)).tolist() == [[0, 0], [1, 1]]


def test_induce_lexicon_keeps_frequent_translations_and_drops_anchors():
  aligned = [[("Stadt", "city"), ("Berlin", "Berlin")], [("Stadt", "city")], [("Stadt", "town")]]
  lexicon = alignment.induce_lexicon(aligned, str.isalpha, str.isalpha, min_share=0.3)
  assert lexicon == {"stadt": ("city", "town")}
  assert alignment.induce_lexicon(aligned, str.isalpha, str.isalpha, min_share=0.5) == {
    "stadt": ("city",)
  }


@pytest.fixture
def cache(tmp_path, monkeypatch):
  monkeypatch.setenv(parallel.CACHE_DIR_ENV, str(tmp_path))
  return tmp_path


# Checked by eye on the first XQuAD questions and their English originals.
EXPECTED = {
  "de": {"verteidigung": "defense", "karriere": "career", "saison": "season", "spieler": "player"},
  "ru": {"защита": "defense", "игроков": "players", "сезоне": "season"},
}


@pytest.mark.parametrize("lang", sorted(EXPECTED))
def test_real_alignments_give_the_hand_checked_translations(lang, data_dir, me5_dir, cache):
  lexicon, _ = parallel.induced_lexicon("xquad", lang, encoder=me5_dir, max_pairs=MAX_PAIRS)
  for word, translation in EXPECTED[lang].items():
    assert translation in lexicon.get(word, ()), (word, lexicon.get(word))


def test_the_lexicon_is_aligned_once_and_a_corrupt_cache_rebuilt(
  data_dir, me5_dir, cache, monkeypatch, caplog
):
  calls = []
  real = alignment.aligned_words
  monkeypatch.setattr(alignment, "aligned_words", lambda *a, **k: calls.append(1) or real(*a, **k))
  first, path = parallel.induced_lexicon("xquad", "de", encoder=me5_dir, max_pairs=40)
  again, same = parallel.induced_lexicon("xquad_mc", "de", encoder=me5_dir, max_pairs=40)
  assert (again, same, len(calls)) == (first, path, 1)  # XQuAD-MC pairs through XQuAD
  with open(path, "w", encoding="utf-8") as f:
    f.write("one two three\n")
  rebuilt, _ = parallel.induced_lexicon("xquad", "de", encoder=me5_dir, max_pairs=40)
  assert rebuilt == first and len(calls) == 2 and "unreadable" in caplog.text


def test_codeswitch_switches_real_questions_into_english(data_dir, me5_dir, cache):
  examples = list(itertools.islice(load_examples("xquad.de", data_dir=data_dir), 20))
  lexicon, _ = parallel.induced_lexicon("xquad", "de", encoder=me5_dir, max_pairs=MAX_PAIRS)
  changed = 0
  for example in examples:
    out = perturb.perturb(example, "codeswitch", "de", 0, max_pairs=MAX_PAIRS)
    again = perturb.perturb(example, "codeswitch", "de", 0, max_pairs=MAX_PAIRS)
    assert out == again  # seeded
    record = out["meta"]["perturbation"][0]
    for edit in record["edits"]:
      assert edit["new"].casefold() in {t.casefold() for t in lexicon[edit["old"].casefold()]}
    changed += record["changed"]
    half = perturb.perturb(example, "codeswitch", "de", 0, max_pairs=MAX_PAIRS, rate=0.5)
    assert len(half["meta"]["perturbation"][0]["edits"]) <= max(1, len(record["edits"]))
  assert changed >= len(examples) // 2


def test_codeswitch_refuses_sets_without_parallel_data_and_skips_english(me5_dir, lexicon_path):
  example = {
    "id": "x",
    "task": "dream.en",
    "lang": "en",
    "context": "Der Fluss ist alt.",
    "question": "Wie alt ist der Fluss?",
    "answers": [{"text": "alt", "start": 14}],
  }
  with pytest.raises(perturb.PerturbationError, match="no parallel data.*'dream'.*lexicon=PATH"):
    perturb.perturb({**example, "task": "dream.de"}, "codeswitch", "de", 0)
  out = perturb.perturb({**example, "task": "xquad.en"}, "codeswitch", "en", 0)
  assert not out["meta"]["perturbation"][0]["changed"]
  assert "already in the target language" in out["meta"]["perturbation"][0]["notes"][0]
  # A MUSE-style file still wins, for any set.
  out = perturb.perturb(
    {**example, "task": "dream.de"}, "codeswitch", "de", 0, lexicon=lexicon_path
  )
  assert out["meta"]["perturbation"][0]["changed"]


def test_a_missing_encoder_is_what_codeswitch_lacks(tmp_path):
  (lacking,) = perturb.missing("codeswitch", encoder=str(tmp_path))
  assert "config.json" in lacking and str(tmp_path) in lacking


def test_anchor_precision_counts_identical_words_aligned_to_their_twin():
  pairs = [("Tesla kam 1884 nach Paris.", "Tesla came to Paris in 1884.")]
  aligned = [[("Tesla", "Tesla"), ("1884", "came"), ("Paris", "Paris"), ("nach", "to")]]
  # Anchors of 3+ characters on both sides: Tesla, 1884, Paris; all three were aligned.
  assert alignment.anchor_precision(pairs, aligned, "de", "en") == (2, 3)
  assert alignment.anchor_precision(pairs, [[("nach", "to")]], "de", "en") == (0, 0)
