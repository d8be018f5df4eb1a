"""Every file is formatted by the project's one formatter and passes its lint (ruff.toml)."""

import pathlib
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", (["format", "--check"], ["check"]))
def test_ruff(command):
  ruff = shutil.which("ruff")
  assert ruff, "ruff is not installed: pip install -e '.[test]'"
  done = subprocess.run(
    [ruff, *command, "."], cwd=REPO, capture_output=True, text=True, timeout=300
  )
  assert done.returncode == 0, (
    f"ruff {' '.join(command)} failed; run `ruff format . && ruff check --fix .`:\n"
    f"{done.stdout[-4000:]}{done.stderr[-2000:]}"
  )
