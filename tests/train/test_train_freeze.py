"""optimizer.freeze: frozen parameters get no gradient, update or optimizer state."""

import json
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from mrc_jax.models import hf
from mrc_jax.train import partitioning, train_and_evaluate, trainer
from mrc_jax.train.optimizer import Freeze, make_optimizer
from mrc_jax.train.step import example_losses, loss_scale
from tests.train import helpers

WORD = "encoder/embeddings/word$"


def _config(**overrides):
  # No other array of the word table's shape [VOCAB, hidden]: position and MLP sizes differ.
  config = helpers.tiny_config(**overrides)
  config.model.update(max_position_embeddings=32, intermediate_size=48)
  return config


def _setup(config):
  mesh = partitioning.make_mesh(config.mesh)
  return trainer.make_setup(
    config, mesh, helpers.HEADS, helpers.encoder_config(config), helpers.TASKS
  )


def _batch(seed):
  return helpers.stack([helpers.mixed_batch(seed)])


def _run(setup, steps):
  """(initial params, final params, final opt_state, last metrics) on the host."""
  with jax.set_mesh(setup.mesh):
    state = setup.fresh_state()
    initial = jax.device_get(state.params)
    step = setup.jit_step({k: v.ndim for k, v in _batch(0).items()})
    for i in range(steps):
      state, metrics = step(state, _batch(i))
    return initial, jax.device_get(state.params), jax.device_get(state.opt_state), metrics


def _flat(tree):
  return {
    jax.tree_util.keystr(path): leaf for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]
  }


def test_frozen_table_is_bitwise_unchanged_and_has_no_moments():
  setup = _setup(_config(**{"optimizer.freeze": (WORD,)}))
  initial, final, opt_state, _ = _run(setup, 3)
  word = ("encoder", "embeddings", "word")
  before, after = _flat(initial), _flat(final)
  changed = [k for k in before if not np.array_equal(before[k], after[k])]
  assert changed and all(k != jax.tree_util.keystr(word) for k in changed)
  np.testing.assert_array_equal(
    initial["encoder"]["embeddings"]["word"], final["encoder"]["embeddings"]["word"]
  )
  # Everything else with a gradient moved, the neighbouring tables included.
  for name in ("position", "token_type", "norm_scale"):
    assert not np.array_equal(
      initial["encoder"]["embeddings"][name], final["encoder"]["embeddings"][name]
    ), name
  moments = [k for k in _flat(opt_state) if "['embeddings']" in k]
  assert moments and not any("['word']" in k for k in moments), moments
  assert any("['position']" in k for k in moments)


def _shapes_made(jaxpr, shape, depth=0):
  """(top-level, nested) counts of equations producing an array of ``shape``."""
  top = nested = 0
  for eqn in jaxpr.eqns:
    made = sum(tuple(v.aval.shape) == shape for v in eqn.outvars)
    top, nested = (top + made, nested) if depth == 0 else (top, nested + made)
    for param in eqn.params.values():
      for sub in param if isinstance(param, (tuple, list)) else (param,):
        sub = getattr(sub, "jaxpr", sub)
        if isinstance(sub, jax.extend.core.Jaxpr):
          nested += sum(_shapes_made(sub, shape, depth + 1))
  return top, nested


def test_no_gradient_update_or_moment_is_formed_for_a_frozen_table():
  batch = _batch(0)
  table = (helpers.VOCAB, 32)
  made = {}
  for freeze in ((), (WORD,)):
    setup = _setup(_config(**{"optimizer.freeze": freeze}))
    with jax.set_mesh(setup.mesh):
      jaxpr = jax.make_jaxpr(setup.train_step)(setup.fresh_state(), batch)
    made[freeze] = _shapes_made(jaxpr.jaxpr, table)
  # Unfrozen, the accumulation scan forms the gather's gradient (a scatter-add) and the
  # optimizer's moments and update have the table's shape; frozen, only the parameter
  # norm metric reads the table.
  norm_only = _shapes_made(jax.make_jaxpr(optax.global_norm)(jnp.zeros(table)).jaxpr, table)
  assert made[()][1] > 0 and made[()][0] > norm_only[0], made
  assert made[(WORD,)] == norm_only, made


@pytest.mark.slow
def test_freeze_nothing_is_the_plain_full_gradient_adamw_step():
  config = _config()
  setup = _setup(config)
  batch = _batch(1)
  with jax.set_mesh(setup.mesh):
    state = setup.fresh_state()
    params = jax.device_get(state.params)
    new_state, _ = jax.jit(setup.train_step)(state, batch)
  optimizer, _ = make_optimizer(config)
  micro = {k: v[0] for k, v in batch.items()}
  key = jax.random.fold_in(jax.random.fold_in(jax.random.key(config.seed), 0), 0)

  def loss(p, micro):
    outputs = nnx.merge(setup.graphdef, p)(micro, deterministic=False, dropout_key=key)
    per_example, _ = example_losses(outputs, micro, setup.head_specs)
    scaled = per_example * loss_scale(micro["num_classes"], True)
    return jnp.sum(scaled * micro["example_mask"]) / jnp.sum(micro["example_mask"])

  @jax.jit
  def reference(p, micro):
    updates, _ = optimizer.update(jax.grad(loss)(p, micro), optimizer.init(p), p)
    return optax.apply_updates(p, updates)

  expected = _flat(jax.device_get(reference(params, micro)))
  got = _flat(jax.device_get(new_state.params))
  assert expected.keys() == got.keys()
  for k in expected:
    np.testing.assert_allclose(got[k], expected[k], rtol=1e-5, atol=1e-7, err_msg=k)
  # The optimizer state covers every parameter, as without the option.
  plain = jax.tree.structure(optimizer.init(params))
  assert jax.tree.structure(jax.device_get(new_state.opt_state)) == plain


def test_pattern_matching_no_parameter_names_it_and_some_paths():
  with pytest.raises(ValueError, match=r"\['embeddings/wordz'\] match no parameter.*encoder/"):
    _setup(_config(**{"optimizer.freeze": (WORD, "embeddings/wordz")}))
  with pytest.raises(ValueError, match="freeze every parameter"):
    Freeze((".",), {"a": {"b": np.zeros(2)}})


def test_freeze_split_merge_round_trip():
  params = {
    "encoder": {"embeddings": {"word": 1, "position": 2}, "layers": {"k": 3}},
    "heads": {"pair": {"kernel": 4}},
  }
  freeze = Freeze(("word", "^heads/"), params)
  trainable, frozen = freeze.split(params)
  assert trainable == {"encoder": {"embeddings": {"position": 2}, "layers": {"k": 3}}}
  assert frozen == {"encoder": {"embeddings": {"word": 1}}, "heads": {"pair": {"kernel": 4}}}
  assert freeze.merge(trainable, frozen) == params
  assert Freeze((), params).split(params) == (params, {})


@pytest.mark.slow
def test_resume_with_freeze_is_bitwise_and_export_keeps_the_frozen_table(tmp_path):
  def config():
    c = helpers.tiny_config(
      total_steps=4, checkpoint_every_steps=2, log_every_steps=2, **{"optimizer.freeze": (WORD,)}
    )
    c.data.mixture = helpers.mixture_of("synthetic.en", "synthetic_pair.zh", "synthetic_span.ar")
    c.data.max_length = 64
    return c

  straight = str(tmp_path / "straight")
  final = train_and_evaluate(config(), straight)
  # A copy of the run as it stood after step 2: resuming it must redo steps 3-4 exactly.
  resumed = str(tmp_path / "resumed")
  shutil.copytree(straight, resumed)
  shutil.rmtree(os.path.join(resumed, "checkpoints", "4"))
  shutil.rmtree(os.path.join(resumed, "export"))
  os.remove(os.path.join(resumed, "metrics.jsonl"))
  again = train_and_evaluate(config(), resumed)
  # Resumed, not restarted: only step 4 was trained (and logged) again.
  logged = [json.loads(line) for line in open(os.path.join(resumed, "metrics.jsonl"))]
  assert [r["step"] for r in logged if "loss" in r] == [4]
  a, b = _flat(jax.device_get(final)), _flat(jax.device_get(again))
  assert a.keys() == b.keys() and any("opt_state" in k for k in a)
  for k in a:
    assert np.array_equal(a[k], b[k]), k

  # The exported table is the frozen one: the run's fresh initialisation, untouched.
  c = config()
  tasks = trainer.run_plan(c.data).tasks
  setup = trainer.make_setup(
    c,
    partitioning.make_mesh(c.mesh),
    trainer.resolve_heads(tasks)[0],
    trainer._model_config(c),
    tasks,
  )
  with jax.set_mesh(setup.mesh):
    initial = jax.device_get(setup.fresh_state().params)["encoder"]["embeddings"]["word"]
  encoder, _, _ = hf.load_hf_model(os.path.join(resumed, "export", "hf", "multiple_choice"))
  np.testing.assert_array_equal(np.asarray(encoder.embeddings.word[...]), initial)
  np.testing.assert_array_equal(np.asarray(again.params["encoder"]["embeddings"]["word"]), initial)
