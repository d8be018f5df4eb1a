"""Raw records of TFDS builders and Hugging Face datasets prepared under the data directory
(``DATA_DIR/tfds`` and ``DATA_DIR/huggingface``). Nothing is downloaded here: a dataset that
is not prepared is a clear error saying how to prepare it."""

from __future__ import annotations

import os
from typing import Any, Iterator

from mrc_jax.data.sources.records import decode_record

PREPARE_HINT = (
  "prepare it on a machine with network access: python launch/prepare_data.py "
  "--datasets={task} --data_dir={data_dir}"
)


def tfds_dir(data_dir: str) -> str:
  return os.path.join(data_dir, "tfds")


def hf_cache_dir(data_dir: str) -> str:
  return os.path.join(data_dir, "huggingface")


def iter_tfds_records(builder_name: str, split: str, data_dir: str, task: str) -> Iterator[dict]:
  import tensorflow_datasets as tfds

  directory = tfds_dir(data_dir)
  builder = tfds.builder(builder_name, data_dir=directory, try_gcs=False)
  if not builder.is_prepared():
    raise FileNotFoundError(
      f"task {task}: TFDS dataset {builder_name} is not prepared under {directory}; "
      + PREPARE_HINT.format(task=task, data_dir=data_dir)
    )
  for record in tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False)):
    yield decode_record(record)


def iter_hf_records(
  path: str, config: str | None, split: str, data_dir: str, task: str
) -> Iterator[Any]:
  try:
    import datasets
  except ImportError:
    raise ImportError(
      f"task {task} reads the Hugging Face dataset {path}; install the `datasets` package"
    ) from None
  directory = hf_cache_dir(data_dir)
  try:
    dataset = datasets.load_dataset(path, config, split=split, cache_dir=directory)
  except Exception as e:  # offline or not cached: datasets raises many types
    raise FileNotFoundError(
      f"task {task}: Hugging Face dataset {path}/{config} split {split} is not available "
      f"under {directory} ({type(e).__name__}: {e}); "
      + PREPARE_HINT.format(task=task, data_dir=data_dir)
    ) from None
  yield from dataset
