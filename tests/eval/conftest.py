"""Fixtures of the evaluation tests."""

import pytest
from eval_helpers import write_workdir


@pytest.fixture
def make_workdir(tmp_path):
  return lambda name, seed, **kwargs: write_workdir(tmp_path / name, seed, **kwargs)
