"""Word alignment of parallel sentences from an encoder's contextual embeddings, and the
bilingual lexicon it induces: SimAlign's Argmax and IterMax (Jalili Sabet et al., 2020,
"SimAlign: High Quality Word Alignments without Parallel Training Data using Static and
Contextualized Embeddings", Findings of EMNLP; arXiv:2004.08728).

A word's vector is the mean of the states of the subword tokens it overlaps; two words
align when each is the other's most similar word (cosine). IterMax repeats that on the
words still unaligned, with a pair whose one side is already aligned down-weighted by
`alpha`. Layer 8 of multilingual-e5-small's 12 gave the best anchor precision of the layers
measured (6, 8, 10, 12; `benchmarks/alignment.py`), as a middle layer did for mBERT in
SimAlign.
"""

from __future__ import annotations

import collections
from typing import Sequence

import numpy as np

from mrc_jax.perturb import text

DEFAULT_LAYER = 8
METHODS = ("argmax", "itermax")


def word_vectors(
  sentence: str, lang: str, states: np.ndarray, offsets: Sequence[tuple[int, int]]
) -> tuple[list[tuple[int, int]], np.ndarray]:
  """(word spans, `[words, hidden]` unit vectors): letter or digit words of `sentence`
  (ICU word break), each the mean of the token states (`[tokens, hidden]`) it overlaps;
  words no token covers (cut by the encoder's length) are left out."""
  spans = [(a, b) for a, b in text.word_spans(sentence, lang) + text.digit_runs(sentence) if a < b]
  spans = sorted(set(spans))
  token_starts = np.asarray([a for a, _ in offsets], np.int64)  # [tokens]
  token_ends = np.asarray([b for _, b in offsets], np.int64)  # [tokens]
  kept, vectors = [], []
  for a, b in spans:
    overlap = (token_starts < b) & (token_ends > a)  # [tokens]
    if not overlap.any():
      continue
    mean = states[overlap].mean(axis=0)
    kept.append((a, b))
    vectors.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
  hidden = states.shape[-1]
  return kept, (np.stack(vectors) if vectors else np.zeros((0, hidden), np.float32))


def mutual_argmax(similarity: np.ndarray) -> np.ndarray:
  """`[source, target]` bool: pairs that are each other's most similar (Argmax)."""
  if similarity.size == 0:
    return np.zeros(similarity.shape, bool)
  rows = similarity == similarity.max(axis=1, keepdims=True)  # [source, target]
  columns = similarity == similarity.max(axis=0, keepdims=True)  # [source, target]
  return rows & columns


def itermax(similarity: np.ndarray, max_iterations: int = 2, alpha: float = 0.9) -> np.ndarray:
  """`[source, target]` bool alignment by IterMax: mutual argmax, then again over pairs with
  at least one side unaligned (weighted by `alpha` where the other side is aligned)."""
  aligned = mutual_argmax(similarity)
  for _ in range(max_iterations - 1):
    source_done = aligned.any(axis=1)[:, None]  # [source, 1]
    target_done = aligned.any(axis=0)[None, :]  # [1, target]
    if source_done.all() or target_done.all():
      break
    weight = np.where(
      source_done & target_done, 0.0, np.where(source_done | target_done, alpha, 1.0)
    )
    added = mutual_argmax(similarity * weight) & ~(source_done & target_done) & (weight > 0)
    if not (added & ~aligned).any():
      break
    aligned |= added
  return aligned


def align(
  source_vectors: np.ndarray, target_vectors: np.ndarray, method: str = "itermax"
) -> list[tuple[int, int]]:
  """Aligned (source word, target word) index pairs of two sentences' word vectors."""
  if method not in METHODS:
    raise ValueError(f"alignment method must be one of {METHODS}, got {method!r}")
  similarity = source_vectors @ target_vectors.T  # [source, target] cosine
  chosen = mutual_argmax(similarity) if method == "argmax" else itermax(similarity)
  return [(int(i), int(j)) for i, j in zip(*np.nonzero(chosen))]


def aligned_words(
  pairs: Sequence[tuple[str, str]],
  source_lang: str,
  target_lang: str,
  embedder,
  method: str = "itermax",
) -> list[list[tuple[str, str]]]:
  """For each (source sentence, target sentence): its aligned (source word, target word)s."""
  states = embedder.token_states([s for s, _ in pairs] + [t for _, t in pairs])
  result = []
  for k, (source, target) in enumerate(pairs):
    source_spans, source_vectors = word_vectors(source, source_lang, *states[k])
    target_spans, target_vectors = word_vectors(target, target_lang, *states[len(pairs) + k])
    result.append(
      [
        (source[slice(*source_spans[i])], target[slice(*target_spans[j])])
        for i, j in align(source_vectors, target_vectors, method)
      ]
    )
  return result


def induce_lexicon(
  aligned: Sequence[Sequence[tuple[str, str]]],
  keep_source,
  keep_target,
  min_count: int = 1,
  min_share: float = 0.3,
) -> dict[str, tuple[str, ...]]:
  """{casefolded source word: its translations, most often aligned first} from word pairs.

  A translation is kept when it is aligned at least `min_count` times and makes at least
  `min_share` of its source word's alignments; `keep_source(word)` / `keep_target(word)`
  choose the words worth switching (content words, not numbers or punctuation). A word
  aligned to itself (a name, a loanword) is an anchor, not a translation: left out.
  """
  counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
  for sentence in aligned:
    for source, target in sentence:
      if source.casefold() == target.casefold():
        continue
      if keep_source(source) and keep_target(target):
        counts[source.casefold()][target] += 1
  lexicon = {}
  for source, targets in counts.items():
    total = sum(targets.values())
    chosen = [t for t, n in targets.most_common() if n >= min_count and n / total >= min_share]
    if chosen:
      lexicon[source] = tuple(chosen)
  return lexicon


def anchor_precision(
  pairs: Sequence[tuple[str, str]],
  aligned: Sequence[Sequence[tuple[str, str]]],
  source_lang: str,
  target_lang: str,
) -> tuple[int, int]:
  """(correct, checked) over anchors: words of 3+ characters written identically in both
  sentences of a pair (names, numbers), each checked where it was aligned at all; correct
  when one of its alignments is its identical twin. A precision proxy needing no gold data."""
  correct = checked = 0
  for (source, target), sentence in zip(pairs, aligned):
    source_words = {
      source[a:b] for a, b in text.word_spans(source, source_lang) + text.digit_runs(source)
    }
    target_words = {
      target[a:b] for a, b in text.word_spans(target, target_lang) + text.digit_runs(target)
    }
    links: dict[str, set[str]] = collections.defaultdict(set)
    for s, t in sentence:
      links[s].add(t)
    for word in source_words & target_words:
      if len(word) >= 3 and word in links:
        checked += 1
        correct += word in links[word]
  return correct, checked
