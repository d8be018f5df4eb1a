"""optimizer.lr_mults: per-path learning-rate factors on AdamW's update."""

import jax.numpy as jnp
import numpy as np
import pytest

from mrc_jax.train.optimizer import check_lr_mults, make_optimizer
from tests.train import helpers


def _first_update(lr_mults, weight_decay=0.0):
  config = helpers.tiny_config()
  config.optimizer.update(
    learning_rate=1e-3,
    warmup_fraction=0.0,
    weight_decay=weight_decay,
    clip_norm=0.0,
    lr_mults=lr_mults,
  )
  optimizer, _ = make_optimizer(config)
  params = {
    "encoder": {"layers": {"kernel": jnp.ones(3)}},
    "heads": {"multiple_choice": {"out": {"kernel": jnp.ones(3), "bias": jnp.ones(3)}}},
  }
  grads = {
    "encoder": {"layers": {"kernel": jnp.full(3, 0.5)}},
    "heads": {"multiple_choice": {"out": {"kernel": jnp.full(3, 0.5), "bias": jnp.full(3, -0.5)}}},
  }
  updates, _ = optimizer.update(grads, optimizer.init(params), params)
  return updates


def test_factors_scale_the_matched_parameters_first_rule_wins():
  plain = _first_update(())
  # Adam's first step is lr * sign(g) (|g| >> eps).
  np.testing.assert_allclose(plain["encoder"]["layers"]["kernel"], -1e-3, rtol=1e-5)
  scaled = _first_update((("^heads/multiple_choice/out/bias", 2.0), ("^heads/", 50.0)))
  np.testing.assert_allclose(scaled["encoder"]["layers"]["kernel"], -1e-3, rtol=1e-5)
  np.testing.assert_allclose(scaled["heads"]["multiple_choice"]["out"]["kernel"], -5e-2, rtol=1e-5)
  np.testing.assert_allclose(scaled["heads"]["multiple_choice"]["out"]["bias"], 2e-3, rtol=1e-5)


def test_the_factor_scales_decoupled_weight_decay_too():
  updates = _first_update((("^heads/", 10.0),), weight_decay=0.1)
  # lr * (sign(g) + wd * p) on the kernel, times the factor.
  np.testing.assert_allclose(
    updates["heads"]["multiple_choice"]["out"]["kernel"], -10 * 1e-3 * (1 + 0.1), rtol=1e-5
  )


def test_a_rule_matching_nothing_is_refused():
  params = {"heads": {"multiple_choice": {"out": {"kernel": np.ones(3)}}}}
  check_lr_mults((("^heads/", 5.0),), params)
  with pytest.raises(ValueError, match=r"'\^head/' \(x5.0\) matches no parameter path"):
    check_lr_mults((("^head/", 5.0),), params)
