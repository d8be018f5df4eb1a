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


def test_hash_mismatch_removes_the_partial_file(server, tmp_path):
  url, handler = server
  handler.files["f.json"] = b"tampered"
  remote = RemoteFile(f"{url}/f.json", "x/f.json", sha(b"original"))
  with pytest.raises(DownloadError, match="sha256 .* != pinned"):
    fetch(remote, str(tmp_path))
  assert not os.path.exists(tmp_path / "x" / "f.json") and not os.path.exists(
    tmp_path / "x" / "f.json.part"
  )


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
