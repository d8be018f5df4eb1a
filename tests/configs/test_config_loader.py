"""configs.load: a config file of the package is its package module, loaded once; a file
elsewhere is loaded from its path; a missing one is a clear error."""

import pathlib

import pytest

import configs
from configs import common

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_a_package_config_is_its_module():
  assert configs.load(str(REPO / "configs" / "common.py")) is common
  sweep = configs.load(str(REPO / "configs" / "ablations" / "num_tasks.py"))
  assert sweep.__name__ == "configs.ablations.num_tasks" and hasattr(sweep, "get_sweep")
  assert configs.split_spec("configs/study_me5.py:smoke,pooling=mean") == (
    "configs/study_me5.py",
    "smoke,pooling=mean",
  )
  assert configs.split_spec("configs/smoke.py") == ("configs/smoke.py", "")


def test_a_file_outside_the_package_loads_from_its_path(tmp_path):
  path = tmp_path / "my_config.py"
  path.write_text(
    "from configs import common\n\n"
    "def get_config(arg=''):\n  return common.parse_arg(arg, steps=3)\n"
  )
  module = configs.load(str(path))
  assert module.get_config("steps=5").steps == 5
  assert configs.load(str(path)) is module
  with pytest.raises(FileNotFoundError, match="no_such.py does not exist"):
    configs.load(str(tmp_path / "no_such.py"))
