"""Download the official data files into the contract layout and verify their sha256.

    python launch/prepare_data.py --datasets=xquad,xcopa,exams --data_dir=/path/to/data

Datasets: xquad, xcopa, exams, belebele, mlqa, tydiqa, squad, race, advrace (its train
perturbation sets by hand), and ``muppet.NAME`` / ``muppet`` (TFDS builders prepared under
DATA_DIR/tfds). Each downloads its whole release (see docs/DATA.md). Rerunning resumes and
skips files already verified. Offline, each failure names the file to place by hand;
``--mirror=DIR`` reads a local copy of the releases laid out as DIR/HOST/PATH.
"""

from absl import app, flags

from mrc_jax.data import download

_DATASETS = flags.DEFINE_list("datasets", None, "datasets to prepare", required=True)
_DATA_DIR = flags.DEFINE_string("data_dir", None, "data directory", required=True)
_ALLOW_UNPINNED = flags.DEFINE_bool(
  "allow_unpinned", False, "download files without a pinned sha256 (prints their hash)"
)
_MIRROR = flags.DEFINE_string(
  "mirror",
  None,
  "folder or URL holding copies of the releases as HOST/PATH (e.g. "
  "MIRROR/dl.fbaipublicfiles.com/belebele/Belebele.zip), fetched "
  "instead of the official URLs; pinned hashes still apply",
)


def _prepare_tfds(names, data_dir):
  import tensorflow_datasets as tfds
  from mrc_jax.data import muppet
  from mrc_jax.data.sources.hub import tfds_dir

  entries = muppet.DATASETS if names == ["muppet"] else [muppet.get_dataset(n) for n in names]
  for entry in entries:
    if entry.source != "tfds":
      print(
        f"{entry.task}: Hugging Face dataset {entry.builder}; run "
        f"datasets.load_dataset({entry.builder!r}, {entry.config!r}, "
        f"cache_dir='{data_dir}/huggingface') on a machine with network"
      )
      continue
    tfds.builder(entry.builder, data_dir=tfds_dir(data_dir)).download_and_prepare()
    print(f"prepared {entry.task} ({entry.builder})")


def main(argv):
  del argv
  files = [d for d in _DATASETS.value if not d.startswith("muppet")]
  hub = [d for d in _DATASETS.value if d.startswith("muppet")]
  try:
    manual = download.prepare(
      files, _DATA_DIR.value, allow_unpinned=_ALLOW_UNPINNED.value, mirror=_MIRROR.value
    )
  except download.DownloadError as e:
    raise SystemExit(f"prepare_data: {e}")
  if hub:
    _prepare_tfds(
      [h.removeprefix("muppet.") if h != "muppet" else "muppet" for h in hub], _DATA_DIR.value
    )
  if manual:
    print(f"{len(manual)} file(s) to place by hand (see above)")


if __name__ == "__main__":
  app.run(main)
