"""The Muppet blend's sources, prepared under a data directory as a user's machine has them.

TFDS datasets are written with the registered builder's own features, name, config and
version (``tfds.dataset_builders.store_as_tfds_dataset``), so ``tfds.builder(NAME,
data_dir=DATA_DIR/tfds)`` finds them prepared; Hugging Face datasets are written into the
``datasets`` cache layout under ``DATA_DIR/huggingface`` with the features of their dataset
cards, which ``datasets.load_dataset`` reads offline. Records are those of the per-dataset
converter tests (values where a converter needs them, the declared structure elsewhere).
"""

from __future__ import annotations

import json
import pathlib

from mrc_jax.data import muppet
from tests.data import muppet_records

RECORDS_PER_SPLIT = 6


def _records(dataset, split: str) -> list[dict]:
  """``RECORDS_PER_SPLIT`` records of ``dataset``, told apart by their id fields."""
  records = []
  for i in range(RECORDS_PER_SPLIT):
    record = muppet_records.declared_record(dataset)
    for key in ("idx", "qid", "id"):
      if isinstance(record.get(key), (int, str)):
        record[key] = type(record[key])(f"{i}" if isinstance(record[key], str) else i)
    records.append(record)
  return records


def _prepare_tfds(dataset, directory: pathlib.Path) -> None:
  import tensorflow_datasets as tfds

  builder = tfds.builder(dataset.builder, data_dir=str(directory), try_gcs=False)
  if builder.is_prepared():
    return
  splits = {
    split: list(enumerate(_records(dataset, split)))  # (key, example) pairs
    for split in sorted(set(dataset.splits.values()))
  }
  tfds.dataset_builders.store_as_tfds_dataset(
    name=builder.name,
    version=str(builder.info.version),
    features=builder.info.features,
    split_datasets=splits,
    config=builder.builder_config.name if builder.builder_config else None,
    data_dir=str(directory),
  )


def _prepare_hf(sharing: list, directory: pathlib.Path) -> None:
  """One cached build, in the layout ``datasets`` itself writes, of the entries ``sharing``
  one Hugging Face dataset and config (the MRQA subsets share one, told apart by a field)."""
  import datasets

  dataset = sharing[0]
  card = muppet_records.card_of(muppet_records.cards(), dataset)
  features = datasets.Features._from_yaml_list(card["features"])
  namespace, name = dataset.builder.split("/")
  config = dataset.config or "default"
  build = directory / f"{namespace}___{name}" / config / "0.0.0" / ("0" * 40)
  if (build / "dataset_info.json").exists():
    return
  build.mkdir(parents=True)
  split_infos = {}
  for split in sorted(set(dataset.splits.values())):
    rows = [row for entry in sharing for row in _records(entry, split)]
    with datasets.arrow_writer.ArrowWriter(
      path=str(build / f"{name}-{split}.arrow"), features=features
    ) as writer:
      for row in rows:
        writer.write(features.encode_example(row))
      writer.finalize()
    split_infos[split] = datasets.SplitInfo(split, num_examples=len(rows), dataset_name=name)
  datasets.DatasetInfo(
    features=features,
    builder_name=name,
    dataset_name=name,
    config_name=config,
    version="0.0.0",
    splits=datasets.SplitDict(split_infos, dataset_name=name),
  ).write_to_directory(str(build))


def prepare(data_dir: pathlib.Path, mixtures) -> list[str]:
  """Prepares every dataset of ``mixtures``; the task names it prepared."""
  from mrc_jax.data.sources import hub

  chosen = {d.name: d for m in mixtures for d in muppet.mixture_datasets(m)}
  hf_builds = {}
  for dataset in chosen.values():
    if dataset.source == "tfds":
      _prepare_tfds(dataset, pathlib.Path(hub.tfds_dir(str(data_dir))))
    else:
      hf_builds.setdefault((dataset.builder, dataset.config), []).append(dataset)
  for sharing in hf_builds.values():
    _prepare_hf(sharing, pathlib.Path(hub.hf_cache_dir(str(data_dir))))
  (data_dir / "muppet_sources.json").write_text(json.dumps(sorted(chosen)))
  return sorted(d.task for d in chosen.values())
