"""launch/convert_checkpoint.py both ways, and the orbax form of encoder + heads."""

import os
import subprocess
import sys

import numpy as np
import pytest
from flax import nnx

from mrc_jax.models import hf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def convert(*args):
  result = subprocess.run(
    [sys.executable, os.path.join(ROOT, "launch", "convert_checkpoint.py"), *args],
    capture_output=True,
    text=True,
    cwd=ROOT,
    env=dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS="cpu"),
  )
  assert result.returncode == 0, result.stderr[-3000:]


def test_orbax_round_trip_keeps_every_parameter(make_hf_checkpoint, tmp_path):
  path, _ = make_hf_checkpoint("xlm-roberta", "ForSequenceClassification", num_labels=3)
  encoder, config, heads = hf.load_hf_model(path)
  hf.save_orbax(str(tmp_path / "orbax"), encoder, config, heads)
  encoder2, config2, heads2 = hf.restore_orbax(str(tmp_path / "orbax"))
  assert config2 == config and list(heads2) == ["sequence_classification"]
  assert heads2["sequence_classification"].num_labels == 3
  before = nnx.to_flat_state(nnx.state(hf.EncoderWithHeads(encoder, heads), nnx.Param))
  after = dict(nnx.to_flat_state(nnx.state(hf.EncoderWithHeads(encoder2, heads2), nnx.Param)))
  assert len(before) == len(after)
  for key, value in before:
    np.testing.assert_array_equal(after[key][...], value[...], err_msg=str(key))


@pytest.mark.slow  # two subprocesses, each importing jax and transformers
def test_convert_checkpoint_both_directions(make_hf_checkpoint, tmp_path):
  import transformers
  import torch

  path, reference = make_hf_checkpoint("roberta", "ForMultipleChoice")
  orbax_dir, back_dir = str(tmp_path / "orbax"), str(tmp_path / "back")
  convert(f"--hf_dir={path}", f"--orbax_dir={orbax_dir}", "--direction=hf_to_orbax")
  convert(f"--hf_dir={back_dir}", f"--orbax_dir={orbax_dir}", "--direction=orbax_to_hf")
  converted = transformers.AutoModelForMultipleChoice.from_pretrained(back_dir).eval()
  original = dict(reference.state_dict())
  restored = dict(converted.state_dict())
  assert set(original) == set(restored)
  for name, tensor in original.items():
    torch.testing.assert_close(restored[name], tensor, rtol=0, atol=0, msg=name)
