"""Resumable, verified downloads against a local HTTP server and file:// URLs."""

import dataclasses
import hashlib
import http.server
import io
import os
import pathlib
import socket
import tarfile
import threading
import urllib.parse
import zipfile

import pytest

from mrc_jax.data import catalog, download, load_examples
from mrc_jax.data.download import DownloadError, RemoteFile, fetch


class RangeHandler(http.server.BaseHTTPRequestHandler):
  """Serves ``files`` (name -> bytes) and honours ``Range: bytes=N-``."""

  files: dict = {}
  ranges: list = []

  def do_GET(self):
    body = self.files.get(self.path.lstrip("/"))
    if body is None:
      self.send_error(404)
      return
    start = 0
    header = self.headers.get("Range")
    if header:
      start = int(header.split("=")[1].rstrip("-"))
      self.ranges.append(start)
    self.send_response(206 if header else 200)
    self.send_header("Content-Length", str(len(body) - start))
    self.end_headers()
    self.wfile.write(body[start:])

  def log_message(self, *args):
    pass


@pytest.fixture
def server():
  RangeHandler.files, RangeHandler.ranges = {}, []
  httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
  thread = threading.Thread(target=httpd.serve_forever, daemon=True)
  thread.start()
  yield f"http://127.0.0.1:{httpd.server_address[1]}", RangeHandler
  httpd.shutdown()


def sha(data: bytes) -> str:
  return hashlib.sha256(data).hexdigest()


def test_download_resumes_and_verifies(server, tmp_path):
  url, handler = server
  body = b'{"version": "1.1", "data": []}' * 1000
  handler.files["xquad.de.json"] = body
  target = tmp_path / "xquad" / "xquad.de.json"
  target.parent.mkdir()
  (tmp_path / "xquad" / "xquad.de.json.part").write_bytes(body[:5000])
  remote = RemoteFile(f"{url}/xquad.de.json", "xquad/xquad.de.json", sha(body))
  logs = []
  assert fetch(remote, str(tmp_path), log=logs.append) == str(target)
  assert handler.ranges == [5000] and target.read_bytes() == body
  assert not (tmp_path / "xquad" / "xquad.de.json.part").exists() and "verified" in logs[0]
  fetch(remote, str(tmp_path), log=logs.append)
  assert "already present" in logs[-1] and handler.ranges == [5000]


def test_hash_mismatch_keeps_the_file_aside_unused(server, tmp_path):
  url, handler = server
  handler.files["f.json"] = b"tampered"
  remote = RemoteFile(f"{url}/f.json", "x/f.json", sha(b"original"))
  with pytest.raises(DownloadError, match=r"sha256 .* != pinned .*kept aside as .*f\.json\.sha256"):
    fetch(remote, str(tmp_path))
  folder = tmp_path / "x"
  assert sorted(os.listdir(folder)) == ["f.json.sha256-mismatch"]
  assert (folder / "f.json.sha256-mismatch").read_bytes() == b"tampered"
  # A file already in place that does not match is moved aside too; the rerun downloads.
  (folder / "f.json").write_bytes(b"edited by hand")
  handler.files["f.json"] = b"original"
  with pytest.raises(DownloadError, match="exists but its sha256 differs.*moved aside"):
    fetch(remote, str(tmp_path))
  assert not (folder / "f.json").exists()
  assert (folder / "f.json.sha256-mismatch").read_bytes() == b"edited by hand"
  fetch(remote, str(tmp_path), log=lambda _: None)
  assert (folder / "f.json").read_bytes() == b"original"


def _tar_gz(members) -> bytes:
  """A .tar.gz of ``(name, data or None for a symlink to ../../outside)`` members."""
  archive = io.BytesIO()
  with tarfile.open(fileobj=archive, mode="w:gz") as t:
    for name, data in members:
      info = tarfile.TarInfo(name)
      if data is None:
        info.type, info.linkname = tarfile.SYMTYPE, "../../outside"
      else:
        info.size = len(data)
      t.addfile(info, io.BytesIO(data or b""))
  return archive.getvalue()


def _zip(names) -> bytes:
  archive = io.BytesIO()
  with zipfile.ZipFile(archive, "w") as z:
    for name in names:
      z.writestr(name, b"{}\n")
  return archive.getvalue()


def _zip_with_symlink() -> bytes:
  archive = io.BytesIO()
  with zipfile.ZipFile(archive, "w") as z:
    z.writestr("Belebele/deu_Latn.jsonl", b"{}\n")
    link = zipfile.ZipInfo("Belebele/link.jsonl")
    link.external_attr = (0o120777) << 16  # a symlink, as Info-ZIP stores one
    z.writestr(link, "../../outside")
  return archive.getvalue()


@pytest.mark.parametrize(
  "name,body,unpack_from,problem",
  [
    ("RACE.tar.gz", _tar_gz([("RACE/../../evil.txt", b"x")]), None, "would land outside"),
    ("RACE.tar.gz", _tar_gz([("/tmp/evil.txt", b"x")]), None, "would land outside"),
    ("RACE.tar.gz", _tar_gz([("RACE/ok.txt", b"x"), ("RACE/l", None)]), None, "a link"),
    ("Belebele.zip", _zip(["Belebele/../../evil.jsonl"]), "Belebele", "would land outside"),
    ("Belebele.zip", _zip(["Belebele/a.jsonl", "/evil.jsonl"]), "Belebele", "would land outside"),
    ("Belebele.zip", _zip(["Belebele/../x.jsonl"]), "Belebele", "would land outside"),
    ("Belebele.zip", _zip_with_symlink(), "Belebele", "a link"),
    ("Belebele.zip", _zip(["data/deu_Latn.jsonl"]), "Belebele", "release layout changed"),
    ("RACE.tar.gz", b"\x1f\x8b not a gzip stream", None, "not a readable archive"),
    ("Belebele.zip", _zip(["Belebele/a.jsonl"])[:-30], "Belebele", "not a readable archive"),
  ],
  # Named, not by their bytes: a gzip header carries the time it was written.
  ids=[
    "tar-parent-path",
    "tar-absolute-path",
    "tar-symlink",
    "zip-parent-path",
    "zip-absolute-path",
    "zip-parent-inside-root",
    "zip-symlink",
    "zip-wrong-layout",
    "tar-not-gzip",
    "zip-truncated",
  ],
)
def test_unsafe_wrong_layout_or_corrupt_archives_are_refused(
  tmp_path, name, body, unpack_from, problem
):
  """Nothing lands outside the data directory (or anywhere) from a refused archive."""
  source = tmp_path / "source" / name
  source.parent.mkdir()
  source.write_bytes(body)
  data_dir = tmp_path / "outer" / "data"
  remote = RemoteFile(
    source.as_uri(), f"downloads/{name}", sha(body), unpack_into="ds", unpack_from=unpack_from
  )
  with pytest.raises(DownloadError, match=problem) as info:
    fetch(remote, str(data_dir), log=lambda _: None)
  assert name in str(info.value)
  assert sorted(os.listdir(tmp_path)) == ["outer", "source"]
  assert os.listdir(tmp_path / "outer") == ["data"] and not (data_dir / "ds").exists()


def test_unpinned_files_need_consent(server, tmp_path):
  url, handler = server
  handler.files["g.json"] = b"{}"
  remote = RemoteFile(f"{url}/g.json", "g/g.json", None)
  with pytest.raises(DownloadError, match="no pinned sha256.*--allow_unpinned"):
    fetch(remote, str(tmp_path))
  logs = []
  fetch(remote, str(tmp_path), allow_unpinned=True, log=logs.append)
  assert sha(b"{}") in logs[0] and "unpinned" in logs[0]


def test_offline_names_the_file_to_place_by_hand(tmp_path):
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]  # closed again: nothing listens there
  remote = RemoteFile(f"http://127.0.0.1:{port}/x.json", "xcopa/it/test.it.jsonl", "0" * 64)
  with pytest.raises(
    DownloadError, match=r"offline\? place the file by hand at .*xcopa/it/test.it.jsonl"
  ):
    fetch(remote, str(tmp_path))


def test_archive_from_file_url_is_unpacked_into_the_contract_layout(tmp_path, fixture_data_dir):
  archive = io.BytesIO()
  with tarfile.open(fileobj=archive, mode="w:gz") as t:
    t.add(os.path.join(fixture_data_dir, "race", "RACE"), arcname="RACE")
  source = tmp_path / "RACE.tar.gz"
  source.write_bytes(archive.getvalue())
  data_dir = tmp_path / "data"
  remote = RemoteFile(
    source.as_uri(), "downloads/RACE.tar.gz", sha(archive.getvalue()), unpack_into="race"
  )
  fetch(remote, str(data_dir))
  assert len(list(load_examples("race.all", None, str(data_dir)))) == 7


def test_prepare_reports_manual_steps(tmp_path):
  """AdvRACE's test sets download; the train sets combine.py reads are reported by hand."""
  for remote in download.DATASETS["advrace"]:
    if isinstance(remote, RemoteFile):  # placed as if downloaded before
      os.makedirs(os.path.dirname(tmp_path / remote.path), exist_ok=True)
      (tmp_path / remote.path).write_text("{}")
  manual = download.prepare(["advrace"], str(tmp_path), log=lambda _: None)
  assert len(manual) == 4 and all("place by hand" in m and "combine.py" in m for m in manual)
  with pytest.raises(KeyError, match="unknown dataset 'nosuch'"):
    download.prepare(["nosuch"], str(tmp_path))


def test_every_contract_dataset_has_official_locations():
  for name in (
    "xquad",
    "xcopa",
    "exams",
    "belebele",
    "mlqa",
    "tydiqa",
    "race",
    "advrace",
    "dream",
    "c3",
    "mctest",
  ):
    assert download.DATASETS[name]
  assert all(
    f.url.startswith(("https://", "http://"))
    for files in download.DATASETS.values()
    for f in files
    if isinstance(f, RemoteFile)
  )


@pytest.mark.integration
def test_pinned_hashes_match_the_shared_files(real_data_dir):
  checked = 0
  for path, digest in download.PINNED.items():
    local = os.path.join(real_data_dir, path)
    if os.path.exists(local):
      assert download.sha256_of(local) == digest, path
      checked += 1
  assert checked >= 30 + 3 + 12  # with DREAM and MCTest


def test_prepare_data_command_line(tmp_path, fixture_data_dir):
  """The command line fetches Belebele.zip from a local copy (--mirror) into belebele/."""
  import subprocess
  import sys

  root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  with open(os.path.join(fixture_data_dir, "belebele", "deu_Latn.jsonl"), "rb") as f:
    lines = f.read()
  archive = tmp_path / "mirror" / "dl.fbaipublicfiles.com" / "belebele" / "Belebele.zip"
  archive.parent.mkdir(parents=True)
  with zipfile.ZipFile(archive, "w") as z:
    z.writestr("Belebele/deu_Latn.jsonl", lines)
  data_dir = tmp_path / "data"
  command = [
    sys.executable,
    os.path.join(root, "launch", "prepare_data.py"),
    "--datasets=belebele",
    f"--data_dir={data_dir}",
    f"--mirror={tmp_path / 'mirror'}",
  ]
  refused = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=root)
  assert refused.returncode != 0 and "--allow_unpinned" in refused.stderr
  result = subprocess.run(
    command + ["--allow_unpinned"], capture_output=True, text=True, timeout=120, cwd=root
  )
  assert result.returncode == 0, result.stderr
  assert f"sha256={sha(archive.read_bytes())} (unpinned)" in result.stdout
  assert (data_dir / "belebele" / "deu_Latn.jsonl").read_bytes() == lines
  assert len(list(load_examples("belebele.deu_Latn", "test", str(data_dir)))) == 2


NLPDATA = "https://raw.githubusercontent.com/nlpdata/"
MCTEST = "https://raw.githubusercontent.com/elleryjsmith/UCLMCTest/master/datasets/"
MCTEST_FILES = [
  f"mc{n}.{s}.{e}" for n in (160, 500) for s in ("train", "dev", "test") for e in ("tsv", "ans")
]


def test_dream_c3_mctest_are_their_whole_pinned_releases():
  expected = {
    "dream": {
      f"{NLPDATA}dream/master/data/{s}.json": f"dream/data/{s}.json"
      for s in ("train", "dev", "test")
    },
    "c3": {
      f"{NLPDATA}c3/master/data/c3-{m}-{s}.json": f"c3/data/c3-{m}-{s}.json"
      for m in ("m", "d")
      for s in ("train", "dev", "test")
    },
    "mctest": {MCTEST + f: f"mctest/{f}" for f in MCTEST_FILES},
  }
  for name, files in expected.items():
    assert {f.url: f.path for f in download.DATASETS[name]} == files, name
    assert all(
      f.sha256 and len(f.sha256) == 64 and f.unpack_into is None for f in download.DATASETS[name]
    )
  assert len(expected["mctest"]) == 12 and len(expected["c3"]) == 6
  # Every file the readers need is in the download.
  listed = {f.path for name in expected for f in download.DATASETS[name]}
  for task in ("dream.en", "c3.zh", "mctest.en"):
    assert {p for ps in catalog.file_tasks()[task].files.values() for p in ps} <= listed, task


def _mirror_of(remotes, source_dir, mirror):
  """``mirror`` laid out as HOST/PATH copies of ``remotes``, taken from ``source_dir``."""
  for remote in remotes:
    parts = urllib.parse.urlsplit(remote.url)
    target = pathlib.Path(mirror) / parts.netloc / parts.path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes((pathlib.Path(source_dir) / remote.path).read_bytes())


def test_dream_c3_mctest_from_a_mirror(tmp_path, fixture_data_dir, monkeypatch):
  """The fixtures stand in for the releases (pinned to their own hashes)."""
  for name in ("dream", "c3", "mctest"):
    present = [
      dataclasses.replace(f, sha256=download.sha256_of(os.path.join(fixture_data_dir, f.path)))
      for f in download.DATASETS[name]
      if os.path.exists(os.path.join(fixture_data_dir, f.path))
    ]
    assert present, name
    monkeypatch.setitem(download.DATASETS, name, present)
    _mirror_of(present, fixture_data_dir, tmp_path / "mirror")
  data_dir = tmp_path / "data"
  logs = []
  assert (
    download.prepare(
      ["dream", "c3", "mctest"], str(data_dir), mirror=str(tmp_path / "mirror"), log=logs.append
    )
    == []
  )
  assert sum(line.startswith("verified") for line in logs) == 2 + 2 + 4
  for task, count in (("dream.en", 4), ("c3.zh", 3), ("mctest.en", 8)):
    assert len(list(load_examples(task, None, str(data_dir)))) == count


@pytest.mark.integration
def test_dream_and_mctest_pins_match_the_shared_releases(real_data_dir, tmp_path):
  remotes = download.DATASETS["dream"] + download.DATASETS["mctest"]
  _mirror_of(remotes, real_data_dir, tmp_path / "mirror")
  data_dir = tmp_path / "data"
  logs = []
  download.prepare(
    ["dream", "mctest"], str(data_dir), mirror=str(tmp_path / "mirror"), log=logs.append
  )
  assert sum(line.startswith("verified") and "unpinned" not in line for line in logs) == 15
  assert len(list(load_examples("dream.en", "train", str(data_dir)))) == 6116
  assert len(list(load_examples("mctest.en", "test", str(data_dir)))) == 840


def test_no_pickle_is_ever_loaded():
  """No code unpickles: torch weights are read with weights_only=True only."""
  root = pathlib.Path(__file__).resolve().parents[2]
  unpickling = ("pickle.load", "import pickle", "allow_pickle=True", "dill.", "joblib.load")
  torch_loads = []
  for path in sorted(root.glob("*/**/*.py")):
    if ".venv" in path.parts or path.parts[len(root.parts)] == "tests":
      continue
    text = path.read_text(encoding="utf-8")
    assert not [u for u in unpickling if u in text], path
    torch_loads += [(path, line) for line in text.splitlines() if "torch.load(" in line]
  assert torch_loads and all("weights_only=True" in line for _, line in torch_loads)
