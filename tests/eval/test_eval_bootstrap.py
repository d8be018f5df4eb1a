"""Bootstrap intervals: coverage on a known answer, pairing, exact McNemar."""

import numpy as np
import pytest

from mrc_jax.eval import bootstrap


def test_mean_interval_covers_true_rate_at_nominal_level():
  """200 seeded replications of n=200 Bernoulli(0.3): the 95% interval covers 0.3 in
  about 95% of them. With 200 replications the binomial SD of the coverage is 1.5
  points, so [90%, 99%] is a 3-SD band around 95%."""
  true_rate, n, replications = 0.3, 200, 200
  data_rng = np.random.default_rng(1234)
  covered = 0
  for replication in range(replications):
    sample = (data_rng.random(n) < true_rate).astype(np.float64)
    _, low, high = bootstrap.mean_interval(sample, num_resamples=1000, seed=replication)
    covered += low <= true_rate <= high
  coverage = covered / replications
  assert 0.90 <= coverage <= 0.99, coverage


def test_interval_is_seeded_and_brackets_the_mean():
  values = np.random.default_rng(0).random(50)
  first = bootstrap.mean_interval(values, seed=7)
  assert first == bootstrap.mean_interval(values, seed=7)
  assert first != bootstrap.mean_interval(values, seed=8)
  mean, low, high = first
  assert mean == pytest.approx(values.mean())
  assert low < mean < high


def test_paired_interval_is_narrower_than_unpaired_for_correlated_scores():
  rng = np.random.default_rng(3)
  clean = (rng.random(400) < 0.7).astype(float)
  # The attack flips 10% of the clean-correct answers and nothing else.
  attacked = clean * (rng.random(400) >= 0.1)
  difference, low, high = bootstrap.paired_difference_interval(clean, attacked, seed=0)
  assert difference == pytest.approx(attacked.mean() - clean.mean())
  assert low <= difference <= high < 0
  _, clean_low, clean_high = bootstrap.mean_interval(clean, seed=1)
  _, attacked_low, attacked_high = bootstrap.mean_interval(attacked, seed=2)
  unpaired_width = np.hypot(clean_high - clean_low, attacked_high - attacked_low)
  assert (high - low) < 0.5 * unpaired_width


def test_resampled_sums_chunking_matches_one_draw_statistics():
  values = np.arange(10, dtype=float)[:, None]  # [n=10, k=1]
  sums = bootstrap.resampled_sums(values, num_resamples=5000, seed=0)
  assert sums.shape == (5000, 1)
  # Mean of resampled sums is n * mean; its SD is sqrt(n) * population SD.
  assert sums.mean() == pytest.approx(45.0, rel=0.02)
  assert sums.std() == pytest.approx(np.sqrt(10) * values.std(), rel=0.05)


def test_mcnemar_exact_matches_hand_computed_binomial():
  # 1 pair where only a is right, 9 where only b is right, 5 where both are right:
  # p = 2 * P(X <= 1 | n=10, 1/2) = 2 * 11 / 1024.
  a = np.array([1] + [0] * 9 + [1] * 5)
  b = np.array([0] + [1] * 9 + [1] * 5)
  result = bootstrap.mcnemar_exact(a, b)
  assert result["a_only"] == 1 and result["b_only"] == 9
  assert result["p_value"] == pytest.approx(22 / 1024, abs=1e-12)
  assert bootstrap.mcnemar_exact(a, a)["p_value"] == 1.0


def test_paired_bootstrap_pvalue_small_for_real_difference_and_large_for_none():
  rng = np.random.default_rng(5)
  a = rng.random(300)
  assert bootstrap.paired_bootstrap_pvalue(a, a + 0.05 + 0.01 * rng.standard_normal(300)) < 0.01
  assert bootstrap.paired_bootstrap_pvalue(a, a + 0.01 * rng.standard_normal(300)) > 0.05


def test_paired_inputs_must_match():
  with pytest.raises(ValueError, match="equal non-empty"):
    bootstrap.paired_difference_interval(np.zeros(3), np.zeros(4))
