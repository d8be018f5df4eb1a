"""A data directory for the config catalogue: real shared files, upstream-format fixtures.

The shared data directory (``MRC_JAX_DATA_DIR``) has XQuAD, XCOPA, EXAMS, DREAM and MCTest
as released; RACE, AdvRACE, Belebele, MLQA, TyDiQA and SQuAD come from the fixtures under
``tests/data/fixtures/data`` (written in each release's format); the Muppet sources are
prepared as TFDS and Hugging Face datasets from records of each builder's declared
features (``muppet_sources``).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil

from mrc_jax.data.sources import advrace

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "data" / "fixtures" / "data"
REAL = ("xquad", "xcopa", "exams", "dream", "mctest")
FIXTURE_SETS = ("race", "advrace", "belebele", "mlqa", "tydiqa", "squad")


def shared_data_dir() -> pathlib.Path | None:
  """The real data directory, when this machine has it."""
  path = os.environ.get("MRC_JAX_DATA_DIR", "")
  return pathlib.Path(path) if path and (pathlib.Path(path) / "xquad").is_dir() else None


def build(root: pathlib.Path, shared: pathlib.Path) -> pathlib.Path:
  """``root`` laid out as a data directory (see the module docstring)."""
  root.mkdir(parents=True, exist_ok=True)
  for name in REAL:
    if (shared / name).exists():
      (root / name).symlink_to(shared / name)
  for name in FIXTURE_SETS:
    shutil.copytree(FIXTURES / name, root / name)
  # RACE's fixture has dev and test; its train split (what fine-tuning reads) repeats the dev
  # documents under their own names, in the same layout.
  race = root / "race" / "RACE"
  for level in ("high", "middle"):
    (race / "train" / level).mkdir(parents=True, exist_ok=True)
    for path in sorted((race / "dev" / level).glob("*.txt")):
      shutil.copy(path, race / "train" / level / f"1{path.name}")
  # SQuAD v1.1 train (what span fine-tuning reads): XQuAD English is SQuAD v1.1's format.
  if (shared / "xquad" / "xquad.en.json").exists():
    shutil.copy(shared / "xquad" / "xquad.en.json", root / "squad" / "train-v1.1.json")
  # MLQA's fixture is its dev file; the evaluation reads test, the same format.
  mlqa = root / "mlqa" / "MLQA_V1"
  (mlqa / "test").mkdir()
  for path in (mlqa / "dev").glob("dev-*.json"):
    shutil.copy(path, mlqa / "test" / path.name.replace("dev-", "test-", 1))
  _advrace_train_sets(root / "advrace")
  return root


def _advrace_train_sets(directory: pathlib.Path) -> None:
  """AdvRACE's train perturbation files, in the repository's format and at its paths.

  combine.py samples a quarter of a set only when it has more than 50,000 questions (the
  released ones have ~88k), so each sampled set here has just over that many.
  """
  for relative, _, _, sampled in advrace.TRAIN_SETS:
    count = advrace.TRAIN_MIN_SIZE + 1 if sampled else 5
    records = {
      f"RACE/train/{'high' if i % 2 else 'middle'}/{i}.txt-0": dict(
        question=f"What did person {i} buy?",
        context=f"Person {i} went out and bought a cat.",
        options=["a dog", "a cat", "a bird", "a fish"],
        label=1,
      )
      for i in range(count)
    }
    path = directory / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records))
