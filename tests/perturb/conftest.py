import json
import os
import pathlib

import pytest

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def script_examples():
  """One hand-written example per script absent from the shared data."""
  with open(FIXTURES / "scripts.jsonl", encoding="utf-8") as f:
    return [json.loads(line) for line in f]


@pytest.fixture(scope="session")
def lexicon_path():
  return str(FIXTURES / "de_en.lexicon.txt")


@pytest.fixture(scope="session")
def data_dir():
  path = os.environ.get("MRC_JAX_DATA_DIR")
  if not path:
    pytest.skip("MRC_JAX_DATA_DIR is not set")
  return path


@pytest.fixture(scope="session")
def me5_dir():
  """The real multilingual-e5-small directory (under $MRC_JAX_CKPT_DIR)."""
  from mrc_jax.perturb.embedder import default_checkpoint

  path = default_checkpoint()
  if not os.path.isfile(os.path.join(path, "model.safetensors")):
    pytest.skip(f"{path} is absent; build it with make_multilingual_e5_small.py")
  return path
