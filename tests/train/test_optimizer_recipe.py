"""AdvRACE's recipe (run_training.sh of github.com/NoviScl/AdvRACE) reaches the optimizer."""

import jax.numpy as jnp
import numpy as np

from configs import finetune_race
from mrc_jax.train.optimizer import make_optimizer


def _finetune_config(arg):
  return finetune_race.get_config(arg)


def test_finetune_race_carries_the_advrace_recipe(tmp_path):
  config = _finetune_config(f"model=roberta-large,hw=gpu_8,ckpt_dir={tmp_path}")
  opt = config.optimizer
  assert (opt.learning_rate, opt.eps, opt.weight_decay, opt.warmup_fraction) == (
    1e-5,
    1e-6,
    0.1,
    0.06,
  )
  assert (opt.b1, opt.b2, opt.clip_norm) == (0.9, 0.999, 1.0)
  assert config.seed == 12 and config.batch_size == 32 and config.data.max_length == 512
  assert _finetune_config(f"seed=3,ckpt_dir={tmp_path}").seed == 3


def test_adam_eps_and_weight_decay_reach_the_update(tmp_path):
  config = _finetune_config(f"runlocal,ckpt_dir={tmp_path}")
  config.optimizer.warmup_fraction = 0.0  # the first step runs at the peak rate
  optimizer, _ = make_optimizer(config)
  params = {"kernel": jnp.ones(3), "bias": jnp.ones(3)}
  # A gradient as small as eps: Adam's first step is lr * g / (|g| + eps) = lr / 2.
  grads = {"kernel": jnp.full(3, 1e-6), "bias": jnp.full(3, 1e-6)}
  updates, _ = optimizer.update(grads, optimizer.init(params), params)
  lr = 1e-5
  np.testing.assert_allclose(updates["bias"], -lr * 0.5, rtol=1e-4)  # no decay on biases
  np.testing.assert_allclose(updates["kernel"], -lr * (0.5 + 0.1), rtol=1e-4)
