"""train_and_evaluate end to end on the synthetic tasks: one step, NaN stop, init_from,
and kill-and-resume from the command line."""

import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from mrc_jax.models import hf
from mrc_jax.train import NonFiniteError, train_and_evaluate
from mrc_jax.train.checkpoint import CheckpointManager
from tests.train import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _blend_config(**overrides):
  config = helpers.tiny_config(**overrides)
  tasks = ("synthetic.en", "synthetic_pair.zh", "synthetic_span.ar")
  config.data.mixture = helpers.mixture_of(*tasks)
  config.evals.validation.tasks = tasks
  config.evals.validation.num_examples = 8
  config.data.max_length = 64
  return config


@pytest.mark.slow
def test_one_real_step_writes_metrics_checkpoint_and_export(tmp_path):
  config = _blend_config(total_steps=1, eval_every_steps=1, checkpoint_every_steps=1)
  state = train_and_evaluate(config, str(tmp_path))

  saved = json.load(open(tmp_path / "config.json"))
  assert saved["config"]["total_steps"] == 1
  assert [h["name"] for h in saved["resolved"]["heads"]] == [
    "multiple_choice",
    "synthetic_pair",
    "span",
  ]
  records = [json.loads(l) for l in open(tmp_path / "metrics.jsonl")]
  train = next(r for r in records if "loss" in r)
  assert train["step"] == 1 and np.isfinite(train["loss"])
  for key in (
    "l2_grads",
    "l2_params",
    "l2_updates",
    "learning_rate",
    "steps_per_sec",
    "tokens_per_sec",
    "mfu",
  ):
    assert key in train
  evals = next(r for r in records if any(k.startswith("eval/") for k in r))
  assert 0.0 <= evals["eval/validation/synthetic.en/accuracy"] <= 1.0

  manager = CheckpointManager(str(tmp_path / "checkpoints"))
  assert manager.all_steps() == [1]
  manager.close()
  # Every head is exported with the encoder; weights round-trip through the HF loader.
  encoder, _, heads = hf.load_hf_model(str(tmp_path / "export" / "hf" / "synthetic_pair"))
  np.testing.assert_array_equal(
    np.asarray(encoder.embeddings.word[...]),
    np.asarray(state.params["encoder"]["embeddings"]["word"]),
  )
  np.testing.assert_array_equal(
    np.asarray(heads["sequence_classification"].out.kernel[...]),
    np.asarray(state.params["heads"]["synthetic_pair"]["out"]["kernel"]),
  )
  assert os.path.isfile(tmp_path / "export" / "hf" / "span" / "tokenizer.json")


@pytest.mark.slow
def test_non_finite_loss_stops_naming_the_step_and_keeps_last_good_checkpoint(tmp_path):
  # A huge learning rate makes step 1's update overflow, so step 2's loss is not finite.
  config = _blend_config(total_steps=4, checkpoint_every_steps=1, log_every_steps=1)
  config.optimizer.update(learning_rate=1e38, warmup_fraction=0.0, clip_norm=0.0)
  with pytest.raises(NonFiniteError, match="at step 2"):
    train_and_evaluate(config, str(tmp_path))
  manager = CheckpointManager(str(tmp_path / "checkpoints"))
  manager.wait()
  assert manager.all_steps() == [1]
  manager.close()


@pytest.mark.slow
def test_init_from_workdir_keeps_shared_heads_and_adds_new_ones(tmp_path, monkeypatch):
  source = _blend_config(total_steps=1, checkpoint_every_steps=1)
  source.evals.validation.tasks = ("synthetic.en", "synthetic_span.ar")
  source.data.mixture = helpers.mixture_of(*source.evals.validation.tasks)
  source.export.enabled = False
  source_state = train_and_evaluate(source, str(tmp_path / "pre"))
  target = _blend_config(total_steps=1, checkpoint_every_steps=1)
  target.evals.validation.tasks = ("synthetic.de", "synthetic_pair.en")  # span dropped, pair new
  target.data.mixture = helpers.mixture_of(*target.evals.validation.tasks)
  target.export.enabled = False
  target.init_from = str(tmp_path / "pre")

  captured = {}
  from mrc_jax.models import init_from

  original = init_from.initial_params

  def spy(source, fresh, rename):
    captured["fresh"], captured["init"] = fresh, original(source, fresh, rename)
    return captured["init"]

  monkeypatch.setattr(init_from, "initial_params", spy)
  train_and_evaluate(target, str(tmp_path / "fine"))
  init, fresh = captured["init"], captured["fresh"]
  src = jax.device_get(source_state.params)
  for a, b in zip(jax.tree.leaves(init["encoder"]), jax.tree.leaves(src["encoder"])):
    np.testing.assert_array_equal(a, b)
  np.testing.assert_array_equal(
    init["heads"]["multiple_choice"]["out"]["kernel"],
    src["heads"]["multiple_choice"]["out"]["kernel"],
  )
  np.testing.assert_array_equal(
    init["heads"]["synthetic_pair"]["out"]["kernel"],
    fresh["heads"]["synthetic_pair"]["out"]["kernel"],
  )
  assert set(init["heads"]) == {"multiple_choice", "synthetic_pair"}


def _command(workdir: str) -> list[str]:
  return [
    sys.executable,
    "launch/train.py",
    "--config=configs/smoke.py",
    f"--workdir={workdir}",
    "--config.total_steps=40",
    "--config.batch_size=8",
    "--config.checkpoint_every_steps=10",
    "--config.eval_every_steps=0",
    "--config.log_every_steps=10",
    "--config.export.enabled=False",
    "--config.model.hidden_size=32",
    "--config.model.intermediate_size=64",
    "--config.model.hidden_dropout=0.1",
  ]


@pytest.mark.slow
def test_sigkill_after_checkpoint_then_resume_is_bitwise_identical(tmp_path):
  env = dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS="cpu")
  straight, killed = str(tmp_path / "straight"), str(tmp_path / "killed")
  subprocess.run(
    _command(straight), cwd=ROOT, env=env, check=True, capture_output=True, timeout=900
  )

  proc = subprocess.Popen(
    _command(killed), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
  )
  first = os.path.join(killed, "checkpoints", "10")
  deadline = time.time() + 900
  while not os.path.isdir(first) and proc.poll() is None and time.time() < deadline:
    time.sleep(0.02)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert proc.returncode == -signal.SIGKILL
  assert not os.path.isdir(os.path.join(killed, "checkpoints", "40")), "killed too late"

  subprocess.run(_command(killed), cwd=ROOT, env=env, check=True, capture_output=True, timeout=900)
  a, b = _restore_params(straight), _restore_params(killed)
  leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
  assert len(leaves_a) == len(leaves_b) > 0
  for x, y in zip(leaves_a, leaves_b):
    assert np.array_equal(np.asarray(x), np.asarray(y))
  position = json.load(open(os.path.join(killed, "checkpoints", "40", "input", "metadata")))
  assert position["step"] == 40


def _restore_params(workdir: str):
  """Parameters of the step-40 checkpoint, restored without a target tree."""
  import orbax.checkpoint as ocp

  with ocp.PyTreeCheckpointer() as checkpointer:
    state = checkpointer.restore(os.path.join(workdir, "checkpoints", "40", "state"))
  return state["params"]
