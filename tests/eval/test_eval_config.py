"""`config.evals` entry types: every entry names one, and every entry a config declares runs."""

import importlib
import json
import math

import ml_collections
import pytest
from eval_helpers import eval_config

from mrc_jax.eval import inputs, run
from mrc_jax.train import evaluation, train_and_evaluate
from tests.train import helpers


def _config_with(**entries):
  config = ml_collections.ConfigDict()
  config.evals = ml_collections.ConfigDict(entries)
  return config


@pytest.mark.parametrize(
  "entry, problem",
  [
    (dict(type="acuracy", tasks=("race.all",)), "has unknown type 'acuracy'"),
    (dict(tasks=("race.all",), split="validation"), "has no `type`"),
  ],
)
def test_unknown_or_missing_type_raises_at_build_time_naming_the_entry(
  make_workdir, entry, problem
):
  config = eval_config(["synthetic.en"], ("charswap",), num_examples=2)
  config.evals.race_dev = entry
  message = rf"config.evals.race_dev {problem}; known types: 'accuracy': .*'robustness': "
  # The trainer's periodic evaluator checks the entries before it touches anything else.
  with pytest.raises(ValueError, match=message):
    evaluation.PeriodicEvaluator(config, *[None] * 7)
  # launch/eval.py: before the checkpoint is restored.
  with pytest.raises(ValueError, match=message):
    run.evaluate_workdir(config, str(make_workdir("run", 0)), run.ReportOptions())


def test_fields_a_type_does_not_read_are_errors():
  config = _config_with(dev=dict(type="accuracy", tasks=("synthetic.en",), num_exampels=8))
  with pytest.raises(
    ValueError,
    match=r"config.evals.dev \(type 'accuracy'\): missing "
    r"fields \[\], unknown fields \['num_exampels'\]",
  ):
    evaluation.eval_entries(config, "accuracy")
  config = _config_with(report=dict(type="robustness", tasks=("synthetic.en",)))
  with pytest.raises(ValueError, match=r"missing fields \['attacks'\]"):
    inputs.robustness_entries(config)


def _load_config(name):
  return importlib.import_module(f"configs.{name}")


@pytest.mark.parametrize(
  "name, arg, types",
  [
    ("smoke", "", {"validation": "accuracy", "robustness": "robustness"}),
    ("finetune_race", "model=minilm,hw=runlocal,runlocal", {"race_dev": "accuracy"}),
    ("quickstart", "stage=prefinetune", {"validation": "accuracy"}),
    ("quickstart", "stage=finetune_adv", {"validation": "accuracy"}),
    ("quickstart", "stage=eval", {"robustness": "robustness"}),
    ("eval_xlingual", "sets=exams+xquad", {"exams": "robustness", "xquad": "robustness"}),
    ("minilm_xquad", "stage=eval,data_dir=/data", {"robustness": "robustness"}),
  ],
)
def test_every_config_entry_has_the_evaluator_that_runs_it(name, arg, types):
  config = _load_config(name).get_config(arg)
  found = {
    entry_name: eval_type
    for eval_type in evaluation.EVAL_TYPES
    for entry_name in evaluation.eval_entries(config, eval_type)
  }
  assert found == types


@pytest.mark.slow
def test_finetune_race_style_entry_runs_during_training(tmp_path):
  """RACE dev as configs/finetune_race.py declares it, on a synthetic stand-in for RACE."""
  race_dev = (
    _load_config("finetune_race")
    .get_config("model=minilm,hw=runlocal,runlocal")
    .evals.race_dev.to_dict()
  )
  config = helpers.tiny_config(total_steps=1, eval_every_steps=1, checkpoint_every_steps=1)
  config.data.tasks = ("synthetic.en",)
  config.data.max_length = 64
  config.export.enabled = False
  config.evals = ml_collections.ConfigDict()
  config.evals.race_dev = dict(race_dev, tasks=("synthetic.en",))
  train_and_evaluate(config, str(tmp_path))
  records = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
  evals = [r for r in records if "eval/race_dev/synthetic.en/accuracy" in r]
  assert len(evals) == 1 and evals[0]["step"] == 1
  assert 0.0 <= evals[0]["eval/race_dev/synthetic.en/accuracy"] <= 1.0
  assert evals[0]["eval/race_dev/synthetic.en/loss"] > 0.0


@pytest.mark.slow
def test_periodic_accuracy_on_more_options_than_training(tmp_path, monkeypatch):
  """A validation split with 5 options (as EXAMS has) after training on 4."""
  from mrc_jax.train import input_pipeline

  read = input_pipeline.ExampleSource.__getitem__

  def with_fifth_option(source, index):
    example = read(source, index)
    if source.split != "validation":
      return example
    return dict(example, options=[*example["options"], "none of these"])

  monkeypatch.setattr(input_pipeline.ExampleSource, "__getitem__", with_fifth_option)
  config = helpers.tiny_config(total_steps=1, eval_every_steps=1, checkpoint_every_steps=1)
  config.data.tasks = ("synthetic.en",)
  config.data.max_length = 64
  config.export.enabled = False
  config.evals = ml_collections.ConfigDict()
  config.evals.dev = dict(
    type="accuracy", tasks=("synthetic.en",), split="validation", num_examples=12
  )
  assert config.data.max_choices == 4
  train_and_evaluate(config, str(tmp_path))
  records = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
  (evals,) = [r for r in records if "eval/dev/synthetic.en/accuracy" in r]
  # After one step the tiny model's choice scores are still all but equal: the loss is
  # log(5) when all five choices are scored (log(4) = 1.386 on the 4-option split).
  assert evals["eval/dev/synthetic.en/loss"] == pytest.approx(math.log(5), abs=1e-3)
  assert round(evals["eval/dev/synthetic.en/accuracy"] * 12, 6) % 1 == 0  # of 12 examples


def test_a_robustness_entry_may_set_its_own_row_length():
  config = eval_config(["synthetic.en"], ["charswap"], 4, max_length=96)
  config.evals.short = dict(
    type="robustness", tasks=("synthetic.de",), attacks=(), num_examples=4, max_length=64
  )
  entries = inputs.robustness_entries(config)
  assert inputs.entry_settings(config, "short", entries["short"])["max_length"] == 64
  assert inputs.entry_settings(config, "robustness", entries["robustness"])["max_length"] == 96
