"""`config.evals` entries: every entry names a registered evaluator, every entry a config
declares runs, and the same evaluators run in training and launch/eval.py."""

import importlib
import json
import math

import ml_collections
import pytest
from eval_helpers import eval_config

from mrc_jax.eval import evaluators, inputs, run
from mrc_jax.train import train_and_evaluate
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
  make_workdir, tmp_path, monkeypatch, entry, problem
):
  config = eval_config(["synthetic.en"], ("charswap",), num_examples=2)
  config.evals.race_dev = entry
  message = rf"config.evals.race_dev {problem}; known types: 'accuracy': .*'robustness': "
  with pytest.raises(ValueError, match=message):
    evaluators.entries(config)
  # launch/eval.py and the trainer: before any checkpoint is read.
  from mrc_jax.eval import restore
  from mrc_jax.train import checkpoint

  workdir = str(make_workdir("run", 0))

  def no_restore(*args, **kwargs):
    raise AssertionError("a checkpoint was read")

  monkeypatch.setattr(restore, "load_model", no_restore)
  monkeypatch.setattr(checkpoint.CheckpointManager, "__init__", no_restore)
  with pytest.raises(ValueError, match=message):
    run.evaluate_workdir(config, workdir, run.ReportOptions())
  training = helpers.tiny_config()
  training.evals.race_dev = entry
  with pytest.raises(ValueError, match=message):
    train_and_evaluate(training, str(tmp_path / "train"))


def test_fields_a_type_does_not_read_are_errors():
  config = _config_with(dev=dict(type="accuracy", tasks=("synthetic.en",), num_exampels=8))
  with pytest.raises(
    ValueError,
    match=r"config.evals.dev \(type 'accuracy'\): missing "
    r"fields \[\], unknown fields \['num_exampels'\]",
  ):
    evaluators.entries(config)
  config = _config_with(report=dict(type="robustness", tasks=("synthetic.en",)))
  with pytest.raises(ValueError, match=r"missing fields \['attacks'\]"):
    evaluators.entries(config)


def test_every_steps_defaults_by_type_and_any_entry_may_set_it():
  config = _config_with(
    dev=dict(type="accuracy", tasks=("synthetic.en",)),
    report=dict(type="robustness", tasks=("synthetic.en",), attacks=()),
    often=dict(type="robustness", tasks=("synthetic.de",), attacks=(), every_steps=5),
    never=dict(type="accuracy", tasks=("synthetic.de",), every_steps=0),
  )
  config.eval_every_steps = 100
  schedule = {name: entry.every_steps for name, entry in evaluators.entries(config).items()}
  assert schedule == {"dev": 100, "report": 0, "often": 5, "never": 0}


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
  found = {name: entry.type for name, entry in evaluators.entries(config).items()}
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
  config.data.mixture = "synthetic.en"
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
  config.data.mixture = "synthetic.en"
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
  entries = config.evals
  assert inputs.entry_settings(config, "short", entries["short"])["max_length"] == 64
  assert inputs.entry_settings(config, "robustness", entries["robustness"])["max_length"] == 96


@pytest.mark.slow
def test_robustness_entry_with_every_steps_logs_its_cells_during_training(tmp_path):
  """The launch/eval.py evaluator, every step of a tiny run: per-cell scalars, no report."""
  config = helpers.tiny_config(total_steps=2, checkpoint_every_steps=2)
  config.data.mixture = helpers.mixture_of("synthetic.en", "synthetic_span.en")
  config.data.max_length = 64
  config.export.enabled = False
  config.evals = ml_collections.ConfigDict()
  config.evals.robust = dict(
    type="robustness",
    tasks=("synthetic.en", "synthetic_span.en"),
    attacks=("charswap",),
    num_examples=4,
    batch_size=4,
    every_steps=1,
  )
  train_and_evaluate(config, str(tmp_path))
  records = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
  evals = [r for r in records if any(k.startswith("eval/") for k in r)]
  assert [r["step"] for r in evals] == [1, 2]
  for record in evals:
    for attack in ("clean", "charswap"):
      assert 0.0 <= record[f"eval/robust/synthetic.en/{attack}/accuracy"] <= 1.0
      assert 0.0 <= record[f"eval/robust/synthetic_span.en/{attack}/f1"] <= 1.0
  assert not (tmp_path / "report").exists()
