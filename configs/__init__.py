"""Experiment configs, big_vision style: modules with ``get_config(arg)`` (training and
evaluation), ``get_sweep(arg)`` (configs/ablations) or ``study(arg)`` (a study's stages).

A config is named as on the command line, ``configs/NAME.py[:ARG]``. :func:`load` imports
it as the package module ``configs.NAME``, so a process holds one module object per
config; a file outside the package (a researcher's own config) is loaded from its path.
Shared presets and the argument parser are in :mod:`configs.common`.
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import sys
import types

PACKAGE_DIR = pathlib.Path(__file__).resolve().parent


def split_spec(spec: str) -> tuple[str, str]:
  """``"configs/study_me5.py:smoke"`` -> ``("configs/study_me5.py", "smoke")``."""
  path, _, arg = spec.partition(":")
  return path, arg


def load(path: str) -> types.ModuleType:
  """The config module of a file path such as ``configs/ablations/num_tasks.py``."""
  file = pathlib.Path(path).resolve()
  if not file.is_file():
    raise FileNotFoundError(f"config {path} does not exist")
  try:
    parts = file.relative_to(PACKAGE_DIR).with_suffix("").parts
  except ValueError:  # outside the package: its own module, named after its path
    name = "configs_file_" + "_".join(file.with_suffix("").parts[1:])
    if name not in sys.modules:
      spec = importlib.util.spec_from_file_location(name, file)
      module = importlib.util.module_from_spec(spec)
      sys.modules[name] = module
      spec.loader.exec_module(module)
    return sys.modules[name]
  return importlib.import_module(".".join((__name__, *parts)))
