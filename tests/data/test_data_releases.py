"""Each dataset's download is its whole upstream release, and launch/prepare_data.py turns
local copies of the releases, laid out as upstream ships them, into what load_examples reads.

The release lists below are written out from the upstream listings: the data/exams/ tree of
github.com/mhardalov/exams-qa, the root of github.com/deepmind/xquad, data/ and data-gmt/
of github.com/cambridgeltl/xcopa, the README download links of facebookresearch/MLQA,
google-research-datasets/tydiqa and facebookresearch/belebele, the SQuAD explorer's
dataset/ files, and final_distractor_datasets/ and unused_datasets/ of NoviScl/AdvRACE.
"""

import dataclasses
import hashlib
import importlib.util
import io
import json
import os
import sys
import tarfile
import zipfile

import pytest
from absl import flags

from mrc_jax.data import download, load_examples
from mrc_jax.data.download import ManualFile, RemoteFile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMS_CROSS = ("bg", "hr", "hu", "it", "mk", "pl", "pt", "sq", "sr", "tr", "vi")
EXAMS_RELEASE = (
  [f"multilingual/{s}.jsonl.tar.gz" for s in ("train", "dev", "test")]
  + [f"multilingual/with_paragraphs/{s}_with_para.jsonl.tar.gz" for s in ("train", "dev", "test")]
  + [f"cross-lingual/{s}_{l}.jsonl.tar.gz" for s in ("train", "dev") for l in EXAMS_CROSS]
  + ["cross-lingual/test.jsonl.tar.gz", "cross-lingual/with_paragraphs/test_with_para.jsonl.tar.gz"]
  + [
    f"cross-lingual/with_paragraphs/{s}_{l}_with_para.jsonl.tar.gz"
    for s in ("train", "dev")
    for l in EXAMS_CROSS
  ]
  + ["parallel_questions.jsonl", "resolved_hits.tar.gz"]
)
XCOPA_DATA = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")
XCOPA_GMT = ("et", "ht", "id", "it", "sw", "ta", "th", "tr", "vi", "zh")
ADVRACE_REPO = "https://raw.githubusercontent.com/NoviScl/AdvRACE/master/"
ADVRACE_TEST_SETS = (
  "final_distractor_datasets/AddSent",
  "final_distractor_datasets/DE",
  "final_distractor_datasets/DG",
  "final_distractor_datasets/Orig",
  "final_distractor_datasets/charSwap",
  "unused_datasets/paraphrase",
  "unused_datasets/wordReplace",
)


def _urls(name):
  return sorted(f.url for f in download.DATASETS[name] if isinstance(f, RemoteFile))


def test_every_download_is_the_whole_upstream_release():
  exams = "https://github.com/mhardalov/exams-qa/raw/main/data/exams/"
  assert _urls("exams") == sorted(exams + f for f in EXAMS_RELEASE) and len(EXAMS_RELEASE) == 54
  assert _urls("xquad") == sorted(
    f"https://raw.githubusercontent.com/deepmind/xquad/master/xquad.{l}.json"
    for l in ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
  )
  xcopa = "https://raw.githubusercontent.com/cambridgeltl/xcopa/master/"
  assert _urls("xcopa") == sorted(
    [f"{xcopa}data/{l}/{s}.{l}.jsonl" for l in XCOPA_DATA for s in ("val", "test")]
    + [f"{xcopa}data-gmt/{l}/{s}.{l}.jsonl" for l in XCOPA_GMT for s in ("val", "test")]
  )
  assert _urls("mlqa") == sorted(
    f"https://dl.fbaipublicfiles.com/MLQA/{f}"
    for f in ("MLQA_V1.zip", "mlqa-translate-train.tar.gz", "mlqa-translate-test.tar.gz")
  )
  assert _urls("tydiqa") == sorted(
    f"https://storage.googleapis.com/tydiqa/{f}"
    for f in (
      "v1.0/tydiqa-v1.0-dev.jsonl.gz",
      "v1.0/tydiqa-v1.0-train.jsonl.gz",
      "v1.1/tydiqa-goldp-v1.1-dev.json",
      "v1.1/tydiqa-goldp-v1.1-train.json",
      "v1.1/tydiqa-goldp-v1.1-dev.tgz",
    )
  )
  assert _urls("squad") == sorted(
    f"https://rajpurkar.github.io/SQuAD-explorer/dataset/{f}"
    for f in ("train-v1.1.json", "dev-v1.1.json", "train-v2.0.json", "dev-v2.0.json")
  )
  assert _urls("belebele") == ["https://dl.fbaipublicfiles.com/belebele/Belebele.zip"]
  assert _urls("advrace") == sorted(
    f"{ADVRACE_REPO}{folder}/test_dis.json" for folder in ADVRACE_TEST_SETS
  )
  # Files land at their upstream paths under the dataset folder.
  assert all(f.path == "exams/" + f.url.removeprefix(exams) for f in download.DATASETS["exams"])
  assert all(
    f.path == "advrace/" + f.url.removeprefix(ADVRACE_REPO)
    for f in download.DATASETS["advrace"]
    if isinstance(f, RemoteFile)
  )
  manual = [f.path for f in download.DATASETS["advrace"] if isinstance(f, ManualFile)]
  assert manual == [
    "advrace/AddSent/finalAddSent/train_dis.json",
    "advrace/charSwap/charSwap_train/train_dis.json",
    "advrace/final_distractor_datasets/extractive_old/train_dis.json",
    "advrace/unilm/train_25_dis.json",
  ]


@pytest.mark.integration
def test_every_shared_release_file_is_listed_and_pinned(real_data_dir):
  """The shared folders hold unmodified release files: each is in its dataset's list, pinned,
  and its hash matches."""
  listed = {
    f.path: f for files in download.DATASETS.values() for f in files if isinstance(f, RemoteFile)
  }
  checked = 0
  for dataset in ("xquad", "xcopa", "exams", "dream", "mctest"):
    for folder, _, names in os.walk(os.path.join(real_data_dir, dataset)):
      for name in names:
        if not name.endswith((".json", ".jsonl", ".tar.gz", ".tsv", ".ans")):
          continue  # licence files
        relative = os.path.relpath(os.path.join(folder, name), real_data_dir).replace(os.sep, "/")
        assert relative in listed, relative
        assert listed[relative].sha256 == download.sha256_of(
          os.path.join(real_data_dir, relative)
        ), relative
        checked += 1
  # xquad 8 languages, xcopa 9 x 2, exams 1 + 6 dev + 5 train, dream 3 splits,
  # mctest 2 sets x 3 splits x (.tsv, .ans)
  assert checked == 8 + 18 + 12 + 3 + 12


# --- local copies of the releases -----------------------------------------------------------
def _tar_gz(member: str, data: bytes) -> bytes:
  buffer = io.BytesIO()
  with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
    info = tarfile.TarInfo(member)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))
  return buffer.getvalue()


def _member(path: str) -> bytes:
  with tarfile.open(path) as archive:
    return archive.extractfile(archive.getmembers()[0]).read()


def _belebele_zip(fixture_data_dir) -> bytes:
  """Belebele.zip as released: a top-level Belebele/ folder of {FLORES}.jsonl files."""
  with open(os.path.join(fixture_data_dir, "belebele", "deu_Latn.jsonl"), "rb") as f:
    deu = f.read()
  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, "w") as archive:
    archive.writestr("Belebele/", b"")
    archive.writestr("Belebele/deu_Latn.jsonl", deu)
  return buffer.getvalue()


def _exams_file(relative: str, fixture_data_dir) -> bytes:
  exams = os.path.join(fixture_data_dir, "exams")
  if relative == "parallel_questions.jsonl":
    return b'{"bg": "e1", "it": "e2"}\n'
  if relative == "resolved_hits.tar.gz":
    return _tar_gz("resolved_hits.jsonl", b'{"id": "e1"}\n')
  source = (
    "cross-lingual/with_paragraphs/dev_it_with_para.jsonl.tar.gz"
    if "with_para" in relative
    else "multilingual/dev.jsonl.tar.gz"
    if relative.startswith("multilingual/")
    else "cross-lingual/dev_it.jsonl.tar.gz"
  )
  return _tar_gz(
    os.path.basename(relative).removesuffix(".tar.gz"), _member(os.path.join(exams, source))
  )


def _advrace_file(folder: str, fixture_data_dir) -> bytes:
  own = os.path.join(fixture_data_dir, "advrace", folder, "test_dis.json")
  with open(
    own
    if os.path.exists(own)
    else os.path.join(
      fixture_data_dir, "advrace", "final_distractor_datasets", "Orig", "test_dis.json"
    ),
    "rb",
  ) as f:
    return f.read()


def _release_bytes(remote: RemoteFile, fixture_data_dir) -> bytes:
  if remote.url.endswith("/Belebele.zip"):
    return _belebele_zip(fixture_data_dir)
  if remote.path.startswith("exams/"):
    return _exams_file(remote.path.removeprefix("exams/"), fixture_data_dir)
  return _advrace_file(os.path.dirname(remote.url.removeprefix(ADVRACE_REPO)), fixture_data_dir)


def _mirror(tmp_path, datasets, fixture_data_dir, monkeypatch=None) -> str:
  """The releases under MIRROR/HOST/PATH; with ``monkeypatch``, each file pinned to its copy."""
  mirror = tmp_path / "mirror"
  for name in datasets:
    pinned = []
    for remote in download.DATASETS[name]:
      if isinstance(remote, RemoteFile):
        data = _release_bytes(remote, fixture_data_dir)
        local = mirror / remote.url.split("://", 1)[1]
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(data)
        remote = dataclasses.replace(remote, sha256=hashlib.sha256(data).hexdigest())
      pinned.append(remote)
    if monkeypatch is not None:
      monkeypatch.setitem(download.DATASETS, name, pinned)
  return str(mirror)


@pytest.fixture
def prepare_data():
  """launch/prepare_data.py as a module (its flags registered once per process)."""
  module = sys.modules.get("prepare_data_cli")
  if module is None:
    path = os.path.join(ROOT, "launch", "prepare_data.py")
    spec = importlib.util.spec_from_file_location("prepare_data_cli", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["prepare_data_cli"] = module
  yield module
  flags.FLAGS.unparse_flags()


def test_prepare_data_turns_local_releases_into_readable_tasks(
  tmp_path, fixture_data_dir, monkeypatch, prepare_data, capsys
):
  mirror = _mirror(tmp_path, ("belebele", "exams", "advrace"), fixture_data_dir, monkeypatch)
  data_dir = str(tmp_path / "data")
  flags.FLAGS(
    [
      "prepare_data",
      "--datasets=belebele,exams,advrace",
      f"--data_dir={data_dir}",
      f"--mirror={mirror}",
    ]
  )
  prepare_data.main([])
  out = capsys.readouterr().out
  assert out.count("verified ") == 1 + 54 + 7 and "4 file(s) to place by hand" in out
  assert "unpacked downloads/Belebele.zip -> belebele/ (1 file(s) from Belebele/)" in out

  fixture_belebele = list(load_examples("belebele.deu_Latn", "test", fixture_data_dir))
  assert list(load_examples("belebele.deu_Latn", "test", data_dir)) == fixture_belebele
  assert not os.path.exists(os.path.join(data_dir, "belebele", "Belebele"))

  fixture_exams = [e["id"] for e in load_examples("exams.it", "validation", fixture_data_dir)]
  for task, splits in (
    ("exams.it", ("train", "validation")),
    ("exams_nopara.hr", ("train", "validation")),
    ("exams_multilingual_para.it", ("train", "validation", "test")),
    ("exams_multilingual.it", ("train", "validation", "test")),
  ):
    for split in splits:
      ids = [e["id"] for e in load_examples(task, split, data_dir)]
      assert ids and (task != "exams.it" or ids == fixture_exams), (task, split)
  for name in (
    "parallel_questions.jsonl",
    "resolved_hits.tar.gz",
    "cross-lingual/test.jsonl.tar.gz",
  ):
    assert os.path.isfile(os.path.join(data_dir, "exams", name))

  orig = json.loads(_advrace_file("final_distractor_datasets/Orig", fixture_data_dir))
  de = json.loads(_advrace_file("final_distractor_datasets/DE", fixture_data_dir))
  for attack in ("orig", "addsent", "charswap", "de", "dg", "paraphrase", "wordreplace"):
    ids = [e["id"] for e in load_examples(f"advrace.{attack}", "test", data_dir)]
    assert ids == list(de if attack == "de" else orig), attack

  # A rerun verifies and skips everything already there.
  prepare_data.main([])
  assert capsys.readouterr().out.count("(already present)") == 1 + 54 + 7


def test_an_archive_unpacked_the_old_way_is_unpacked_again(tmp_path, fixture_data_dir, monkeypatch):
  mirror = _mirror(tmp_path, ("belebele",), fixture_data_dir, monkeypatch)
  data_dir = tmp_path / "data"
  (data_dir / "downloads").mkdir(parents=True)
  (data_dir / "downloads" / "Belebele.zip").write_bytes(_belebele_zip(fixture_data_dir))
  (data_dir / "belebele" / "Belebele").mkdir(parents=True)
  (data_dir / "belebele" / ".unpacked").write_text("")  # what an earlier version left
  logs = []
  download.prepare(["belebele"], str(data_dir), log=logs.append, mirror=mirror)
  assert logs == ["unpacked downloads/Belebele.zip -> belebele/ (1 file(s) from Belebele/)"]
  assert len(list(load_examples("belebele.deu_Latn", "test", str(data_dir)))) == 2


def test_an_archive_without_its_release_folder_is_an_error(tmp_path):
  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, "w") as archive:
    archive.writestr("deu_Latn.jsonl", b"{}\n")
  source = tmp_path / "Belebele.zip"
  source.write_bytes(buffer.getvalue())
  remote = RemoteFile(
    source.as_uri(),
    "downloads/Belebele.zip",
    hashlib.sha256(buffer.getvalue()).hexdigest(),
    unpack_into="belebele",
    unpack_from="Belebele",
  )
  with pytest.raises(
    download.DownloadError, match=r"expected its files under Belebele/, found deu_Latn.jsonl"
  ):
    download.fetch(remote, str(tmp_path / "data"))


def test_mirror_maps_each_url_to_host_and_path(tmp_path):
  url = "https://dl.fbaipublicfiles.com/belebele/Belebele.zip"
  assert download.mirrored(url, None) == url
  assert (
    download.mirrored(url, "http://127.0.0.1:8000/copy/")
    == "http://127.0.0.1:8000/copy/dl.fbaipublicfiles.com/belebele/Belebele.zip"
  )
  assert (
    download.mirrored(url, str(tmp_path))
    == f"{tmp_path.as_uri()}/dl.fbaipublicfiles.com/belebele/Belebele.zip"
  )


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_unpacking_moves_the_release_folder_up_and_keeps_the_rest(tmp_path, kind):
  files = {"Top/a.jsonl": b"a\n", "Top/sub/b.jsonl": b"b\n", "NOTICE": b"n\n"}
  buffer = io.BytesIO()
  if kind == "zip":
    with zipfile.ZipFile(buffer, "w") as archive:
      for name, data in files.items():
        archive.writestr(name, data)
  else:
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
      for name, data in files.items():
        info = tarfile.TarInfo(name)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
  source = tmp_path / f"release.{kind}"
  source.write_bytes(buffer.getvalue())
  remote = RemoteFile(
    source.as_uri(),
    f"downloads/release.{kind}",
    hashlib.sha256(buffer.getvalue()).hexdigest(),
    unpack_into="ds",
    unpack_from="Top",
  )
  logs = []
  download.fetch(remote, str(tmp_path / "data"), log=logs.append)
  unpacked = tmp_path / "data" / "ds"
  assert sorted(str(p.relative_to(unpacked)) for p in unpacked.rglob("*") if p.is_file()) == [
    f".release.{kind}.unpacked",
    "NOTICE",
    "a.jsonl",
    "sub/b.jsonl",
  ]
  assert (unpacked / "sub" / "b.jsonl").read_bytes() == b"b\n" and logs[-1].endswith(
    "(3 file(s) from Top/)"
  )
