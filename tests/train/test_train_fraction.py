"""data.train_fraction: the trainer's input draws only from a fixed, seeded subset per task
(real EXAMS train files)."""

import os

import numpy as np
import pytest

from configs import common
from mrc_jax.data import load_examples, tasks
from mrc_jax.train import input_pipeline, trainer
from tests.train import helpers

TASKS = ("exams.hu", "exams.it")  # 1,731 and 1,010 train questions


@pytest.fixture(scope="module")
def data_dir():
  path = os.environ.get("MRC_JAX_DATA_DIR")
  if not path or not os.path.isdir(os.path.join(path, "exams")):
    pytest.skip("MRC_JAX_DATA_DIR with exams/ is not set")
  return path


def _ids(task, data_dir, fraction, seed):
  every = [e["id"] for e in load_examples(task, "train", data_dir)]
  return {every[i] for i in input_pipeline.subset_indices(len(every), fraction, seed, task)}


def _input(data_dir, fraction, seed=12):
  config = helpers.tiny_config(seed=seed, batch_size=16)
  mixture = tasks.register_mixture("test_exams_hu_it", TASKS)
  config.data.update(mixture=mixture, data_dir=data_dir, train_fraction=fraction, max_length=128)
  config.tokenizer = common.minilm_dir()
  plan = trainer.run_plan(config.data)
  head_specs, head_of_task = trainer.resolve_heads(plan.tasks)
  return trainer._train_input(
    config, plan, head_of_task, head_specs, config.tokenizer, trainer._model_config(config)
  )


@pytest.mark.integration
def test_trainer_input_draws_only_from_the_seeded_subset(data_dir):
  input_ = _input(data_dir, 0.1)
  drawn = {t: set() for t in TASKS}
  input_.convert = lambda examples: (
    {"n": np.zeros(1)},
    [drawn[e["task"]].add(e["id"]) for e in examples],
  )
  for _ in range(60):  # 960 draws: several epochs of the 274-example subset
    next(input_)
  sizes = {t: s.num_examples for t, s in zip(TASKS, input_.sources)}
  assert sizes == {"exams.hu": 173, "exams.it": 101}
  for task in TASKS:
    subset = _ids(task, data_dir, 0.1, 12)
    assert drawn[task] == subset  # every draw inside the subset, and all of it seen
  # The mixture's natural rates: each task's whole train split.
  np.testing.assert_allclose(input_.sampler.probs, [1731 / 2741, 1010 / 2741])


@pytest.mark.integration
def test_subsets_are_fixed_by_seed_nested_across_fractions_and_per_task(data_dir):
  small, large = _ids("exams.hu", data_dir, 0.1, 12), _ids("exams.hu", data_dir, 0.25, 12)
  assert len(small) == 173 and len(large) == 433 and small < large
  assert _ids("exams.hu", data_dir, 0.1, 12) == small
  assert _ids("exams.hu", data_dir, 0.1, 13) != small
  hu = input_pipeline.subset_indices(1010, 0.1, 12, "exams.hu")
  it = input_pipeline.subset_indices(1010, 0.1, 12, "exams.it")
  assert len(hu) == len(it) == 101 and set(hu) != set(it)


def test_a_fraction_of_an_endless_task_is_an_error():
  with pytest.raises(ValueError, match="synthetic.en.*endless"):
    input_pipeline.ExampleSource("synthetic.en", "train", 0, fraction=0.5)
  with pytest.raises(ValueError, match="exams.hu.*not in"):
    input_pipeline.subset_indices(10, 1.5, 0, "exams.hu")
