"""Bootstrap intervals and paired significance tests, vectorised in numpy.

Everything resamples *examples*: a statistic over several per-example columns (clean and
attacked correctness of the same question, or two checkpoints' scores on it) is computed
from one shared set of resampled indices, which makes the interval paired. Written on
numpy rather than `scipy.stats.bootstrap` because the report needs the replicates
themselves (aggregates over languages are means of per-language replicates) and ratio
statistics of column sums, which `scipy.stats.bootstrap` does not expose.
"""

from __future__ import annotations

import zlib

import numpy as np
import scipy.stats

DEFAULT_RESAMPLES = 1000
CONFIDENCE = 0.95
# Bound on resampled indices held at once ([chunk, n] int64), to keep memory flat.
_MAX_INDICES_PER_CHUNK = 4_000_000


def cell_seed(seed: int, *names: str) -> int:
  """A stable seed for one table cell, so results do not depend on evaluation order."""
  return (seed * 1_000_003 + zlib.crc32("/".join(names).encode())) % (2**32)


def resampled_sums(
  columns: np.ndarray, num_resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> np.ndarray:
  """Column sums over bootstrap resamples of the rows.

  Args:
    columns: [n, k] per-example values (one row per example, same row = paired).
    num_resamples: number of bootstrap replicates B.
    seed: seed of the numpy Generator.
  Returns:
    [B, k] sums of each column over n rows drawn with replacement.
  """
  columns = np.asarray(columns, dtype=np.float64)
  if columns.ndim != 2 or columns.shape[0] == 0:
    raise ValueError(f"resampled_sums: need [n>0, k] values, got shape {columns.shape}")
  n = columns.shape[0]
  rng = np.random.default_rng(seed)
  chunk = max(1, _MAX_INDICES_PER_CHUNK // n)
  sums = []
  for start in range(0, num_resamples, chunk):
    size = min(chunk, num_resamples - start)
    indices = rng.integers(0, n, size=(size, n))  # [chunk, n]
    sums.append(columns[indices].sum(axis=1))  # [chunk, k]
  return np.concatenate(sums, axis=0)


def percentile_interval(
  replicates: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[float, float]:
  """Percentile interval of bootstrap replicates; non-finite replicates are left out."""
  replicates = np.asarray(replicates, dtype=np.float64)
  finite = replicates[np.isfinite(replicates)]
  if finite.size == 0:
    return float("nan"), float("nan")
  alpha = (1.0 - confidence) / 2.0
  low, high = np.quantile(finite, [alpha, 1.0 - alpha])
  return float(low), float(high)


def mean_interval(
  values: np.ndarray,
  num_resamples: int = DEFAULT_RESAMPLES,
  seed: int = 0,
  confidence: float = CONFIDENCE,
) -> tuple[float, float, float]:
  """Mean of `values` [n] and its percentile bootstrap interval."""
  values = np.asarray(values, dtype=np.float64)
  replicates = resampled_sums(values[:, None], num_resamples, seed)[:, 0] / len(values)
  return (float(values.mean()), *percentile_interval(replicates, confidence))


def paired_difference_interval(
  a: np.ndarray,
  b: np.ndarray,
  num_resamples: int = DEFAULT_RESAMPLES,
  seed: int = 0,
  confidence: float = CONFIDENCE,
) -> tuple[float, float, float]:
  """mean(b - a) over paired examples and its paired bootstrap interval."""
  a, b = _paired(a, b)
  sums = resampled_sums(np.stack([a, b], axis=1), num_resamples, seed)  # [B, 2]
  replicates = (sums[:, 1] - sums[:, 0]) / len(a)
  return (float(b.mean() - a.mean()), *percentile_interval(replicates, confidence))


def paired_bootstrap_pvalue(
  a: np.ndarray, b: np.ndarray, num_resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> float:
  """Two-sided paired bootstrap p-value for mean(b - a) = 0.

  Resamples the centred differences (the null distribution) and counts replicates at
  least as far from zero as the observed mean difference (with +1 smoothing, so p > 0).
  """
  a, b = _paired(a, b)
  differences = b - a
  observed = differences.mean()
  centred = differences - observed
  replicates = resampled_sums(centred[:, None], num_resamples, seed)[:, 0] / len(differences)
  extreme = np.count_nonzero(np.abs(replicates) >= abs(observed) - 1e-12)
  return float((extreme + 1) / (num_resamples + 1))


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> dict[str, float]:
  """Exact McNemar test (two-sided binomial on the discordant pairs).

  Returns the discordant counts (`a_only`: a right and b wrong, `b_only` the reverse) and
  the p-value; exact at every sample size, so small evaluations need no approximation.
  """
  a, b = _paired(correct_a, correct_b)
  a, b = a.astype(bool), b.astype(bool)
  a_only = int(np.count_nonzero(a & ~b))
  b_only = int(np.count_nonzero(~a & b))
  discordant = a_only + b_only
  p_value = (
    1.0
    if discordant == 0
    else float(scipy.stats.binomtest(a_only, discordant, 0.5, alternative="two-sided").pvalue)
  )
  return {"a_only": a_only, "b_only": b_only, "p_value": p_value}


def _paired(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  a = np.asarray(a, dtype=np.float64)
  b = np.asarray(b, dtype=np.float64)
  if a.shape != b.shape or a.ndim != 1 or a.size == 0:
    raise ValueError(f"paired values need equal non-empty [n] shapes, got {a.shape} and {b.shape}")
  return a, b
