"""train_and_evaluate with an encoder-decoder: a summarization, a classification and a
multiple-choice task in one compiled step, checkpoint and exact resume, ROUGE in training,
the Hugging Face export, init_from a BART directory, and R3F."""

import json
import os
import shutil

import jax
import numpy as np
import pytest
from flax import nnx

from configs import smoke
from mrc_jax.eval import run
from mrc_jax.models import hf
from mrc_jax.train import train_and_evaluate
from tests.models import seq2seq_checkpoints
from tests.train import helpers

TASKS = ("synthetic_summary.en", "synthetic_pair.en", "synthetic.en")


def _config(**overrides):
  config = smoke.get_config("seq2seq")
  config.model.update(d_model=32, d_ff=64, num_heads=4, head_dim=8, max_position_embeddings=64)
  config.data.mixture = helpers.mixture_of(*TASKS)
  config.data.max_length = 64
  config.batch_size = 8
  config.total_steps = 4
  config.checkpoint_every_steps = 2
  config.log_every_steps = 1
  config.eval_every_steps = 4
  config.evals.validation.tasks = TASKS
  config.evals.validation.num_examples = 8
  config.evals.summaries.update(tasks=TASKS[:1], num_examples=4, max_new_tokens=8, every_steps=4)
  for key, value in overrides.items():
    config[key] = value
  return config


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


@pytest.mark.slow
def test_mixed_generation_step_checkpoints_resumes_and_exports(tmp_path):
  straight, resumed = str(tmp_path / "straight"), str(tmp_path / "resumed")
  state = train_and_evaluate(_config(), straight)

  resolved = json.load(open(os.path.join(straight, "config.json")))["resolved"]
  assert resolved["encoder"]["model_type"] == "bart"
  assert [(h["name"], h["kind"]) for h in resolved["heads"]] == [
    ("generation", "generation"),
    ("synthetic_pair", "classification"),
    ("multiple_choice", "multiple_choice"),
  ]
  records = [json.loads(line) for line in open(os.path.join(straight, "metrics.jsonl"))]
  first = next(r for r in records if r.get("step") == 1 and "loss" in r)
  # One batch, one compiled step: every kind of task contributed to step 1's loss.
  assert all(np.isfinite(first[f"loss/{task}"]) for task in TASKS)
  evals = next(r for r in records if "eval/summaries/synthetic_summary.en/rouge1" in r)
  assert 0.0 <= evals["eval/summaries/synthetic_summary.en/rougeL"] <= 100.0
  assert 0.0 <= evals["eval/validation/synthetic_summary.en/accuracy"] <= 1.0

  # Resume from step 2 of a copy: the same parameters as the uninterrupted run, bit for bit.
  shutil.copytree(straight, resumed)
  shutil.rmtree(os.path.join(resumed, "checkpoints", "4"))
  shutil.rmtree(os.path.join(resumed, "export"))
  again = train_and_evaluate(_config(), resumed)
  assert int(again.step) == 4
  for a, b in zip(_leaves(state.params), _leaves(again.params), strict=True):
    np.testing.assert_array_equal(a, b)

  exported, config = hf.load_hf_seq2seq(os.path.join(straight, "export", "hf", "generation"))
  assert config.eos_token_id == resolved["encoder"]["eos_token_id"]
  np.testing.assert_array_equal(
    np.asarray(exported.shared[...]), np.asarray(state.params["seq2seq"]["shared"])
  )
  assert os.path.isfile(os.path.join(straight, "export", "hf", "synthetic_pair", "tokenizer.json"))
  # No transformers BART class carries a multiple-choice head: kept in the checkpoint only.
  assert not os.path.exists(os.path.join(straight, "export", "hf", "multiple_choice"))

  # launch/eval.py's path: the robustness report (choices scored on decoder states) and
  # the scalar entries (ROUGE) of the restored workdir.
  config = _config()
  config.evals.robustness.update(tasks=("synthetic.en",), attacks=("charswap",), num_examples=8)
  paths = run.evaluate_workdir(config, straight, run.ReportOptions(num_resamples=20))
  summary = json.loads(paths["json"].read_text())
  assert summary["cells"] == 2 and summary["examples"] == 16
  scalars = json.loads(paths["scalars_json"].read_text())["scalars"]
  assert 0.0 <= scalars["eval/summaries/synthetic_summary.en/rougeLsum"] <= 100.0


@pytest.mark.slow
def test_init_from_a_bart_directory_with_its_tokenizer(tmp_path):
  source = seq2seq_checkpoints.write("bart", str(tmp_path / "bart"))
  config = _config(init_from=source, tokenizer=source, total_steps=1)
  config.evals = {}
  config.optimizer.learning_rate = 0.0  # the step leaves the loaded weights as they were
  state = train_and_evaluate(config, str(tmp_path / "run"))
  loaded, _ = hf.load_hf_seq2seq(source)
  ours = jax.tree.leaves(state.params["seq2seq"])
  theirs = jax.tree.leaves(nnx.state(loaded, nnx.Param))
  for a, b in zip(ours, theirs, strict=True):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.slow
def test_r3f_noises_the_encoder_input(tmp_path):
  config = _config(total_steps=2)
  config.evals = {}
  config.r3f.update(weight=1.0, eps=1e-2)
  train_and_evaluate(config, str(tmp_path))
  records = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
  divergences = [r["r3f"] for r in records if "r3f" in r]
  assert len(divergences) == 2 and all(0.0 < d < 1.0 for d in divergences)
