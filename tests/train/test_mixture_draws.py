"""A run naming a registered mixture draws its tasks at the mixture's rates and modes."""

import collections
import functools
import itertools

import numpy as np
import pytest
import seqio

from mrc_jax.data import synthetic, tasks
from mrc_jax.data.mixing import MixingConfig
from mrc_jax.train import trainer
from tests.train import helpers

SIZES = {"draws_small.en": 100, "draws_medium.en": 1000, "draws_large.en": 10_000}


def _read(name, size, split, data_dir, strict, report, seed):
  del split, data_dir, strict, report, seed
  for example in itertools.islice(synthetic.examples("lookup", "en", "validation"), size):
    yield {**example, "task": name, "id": f"{name}-{example['id']}"}


def _register(sizes: dict, declared: bool = True) -> None:
  for name, size in sizes.items():
    info = tasks.TaskInfo(
      dataset=name.split(".")[0],
      lang="en",
      kind="choice",
      head="multiple_choice",
      splits=("train",),
      num_choices=4,
      train_size=size if declared else None,
    )
    # Finite pools of the built-in examples (the validation split has 1,000).
    tasks.register_task(name, info, functools.partial(_read, name, min(size, 1000)))


def _input(mixture: str, batch_size: int, tmp_path):
  config = helpers.tiny_config(batch_size=batch_size, total_steps=1000)
  config.data.mixture = mixture
  plan = trainer.run_plan(config.data)
  specs, head_of_task = trainer.resolve_heads(plan.tasks)
  tokenizer = str(tmp_path / "tokenizer")
  synthetic.save_tokenizer(tokenizer)
  input_ = trainer._train_input(
    config, plan, head_of_task, specs, tokenizer, trainer._model_config(config)
  )
  drawn = []
  input_.convert = lambda examples: ({"n": np.zeros(1)}, drawn.extend(examples))
  return input_, drawn


def test_temperature_mixture_with_a_cap_is_drawn_at_its_rates(tmp_path):
  _register(SIZES)
  mixing = MixingConfig("temperature", temperature=2.0, maximum=2000)
  name = tasks.register_mixture("draws_temperature", list(SIZES), mixing)
  # The mixture's rates are seqio's own temperature formula on the declared sizes.
  mixture = seqio.get_mixture_or_task(name)
  for task in mixture.tasks:
    expected = seqio.mixing_rate_num_examples(task, maximum=2000, temperature=2.0)
    assert mixture.get_rate(task) == pytest.approx(expected)
  rates = {t: min(n, 2000) ** 0.5 for t, n in SIZES.items()}  # 10, 31.6, 44.7
  input_, drawn = _input(name, 64, tmp_path)
  for _ in range(300):
    next(input_)
  counts = collections.Counter(e["task"] for e in drawn)
  total = sum(counts.values())
  assert total == 300 * 64
  for task, rate in rates.items():
    p = rate / sum(rates.values())
    sigma = np.sqrt(total * p * (1 - p))
    assert abs(counts[task] - total * p) < 4 * sigma, (task, counts[task], total * p)
  # Natural rates would give the large task ~90% of the slots; the cap keeps it at ~52%.
  assert counts["draws_large.en"] / total < 0.6


def test_epoch_mixture_draws_every_example_once_per_epoch(tmp_path):
  sizes = {"draws_epoch_a.en": 5, "draws_epoch_b.en": 7, "draws_epoch_c.en": 11}
  _register(sizes, declared=False)  # natural rates: counted by reading the tasks
  name = tasks.register_mixture("draws_epoch", list(sizes), MixingConfig("epoch"))
  assert tasks.plan(name).rates == (5.0, 7.0, 11.0)
  input_, drawn = _input(name, 23, tmp_path)  # one step = one epoch of the 23 examples
  for _ in range(3):
    next(input_)
    ids = [e["id"] for e in drawn]
    assert len(ids) == len(set(ids)) == 23
    drawn.clear()
  # Resuming at a step draws that step's slots again, exactly.
  input_.restore({"step": 1, "consumed": {t: n for t, n in sizes.items()}})
  next(input_)
  again = [e["id"] for e in drawn]
  drawn.clear()
  input_.restore({"step": 1, "consumed": {t: n for t, n in sizes.items()}})
  next(input_)
  assert [e["id"] for e in drawn] == again


def test_a_run_naming_no_mixture_or_an_unknown_one_is_an_error():
  config = helpers.tiny_config()
  config.data.mixture = ""
  with pytest.raises(ValueError, match="registered mixtures: .*synthetic_blend"):
    trainer.run_plan(config.data)
  config.data.mixture = "synthetic_blnd"
  with pytest.raises(KeyError, match="synthetic_blend"):
    trainer.run_plan(config.data)


def test_an_encoder_run_leaves_out_what_needs_a_decoder():
  name = tasks.register_mixture("draws_with_summaries", ["muppet.cnn_dailymail", "muppet.mnli"])
  plan = trainer.run_plan(helpers.tiny_config(**{"data.mixture": name}).data)
  assert plan.tasks == ("muppet.mnli",)
  assert plan.rates == (392702.0,)  # natural: its train examples
