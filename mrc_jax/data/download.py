"""Official download locations, pinned sha256, resumable verified downloads.

Every file lands at its contract path under the data directory. A file is written through
``PATH.part`` (resumed with an HTTP Range request when the server allows it), verified
against its pinned sha256 and only then renamed into place; a mismatch deletes the partial
file and is an error. Archives (RACE, MLQA, Belebele) are unpacked into their
dataset folder after verification. Files whose hash has not been pinned yet are refused
unless ``allow_unpinned`` (their hash is then printed so it can be pinned). Where no direct
download exists (AdvRACE's data is shared by its authors), the tool prints what to place where.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
from typing import Callable, Iterable

from mrc_jax.data import languages

CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    url: str
    path: str                  # where it lands, relative to the data directory
    sha256: str | None         # None: not pinned yet
    unpack_into: str | None = None   # archives: folder (relative) to unpack into


@dataclasses.dataclass(frozen=True)
class ManualFile:
    path: str
    instructions: str


# sha256 of the upstream files, pinned from the unmodified releases.
PINNED = {
    "xquad/xquad.ar.json": "abdabd7afed5c635d99cca0f3f0d0c9d9ed0bc77451e963c2e4e0638c29e486d",
    "xquad/xquad.de.json": "990b5d746746ed65ed4702ea5f35f99ffa4e2f1c390c07d003642acd937916f9",
    "xquad/xquad.en.json": "e4c57d1c9143aaa1c5d265ba5987a65f4e69528d2a98f29d6e75019b10344f29",
    "xquad/xquad.es.json": "dcbae93ec3a9f4b9e78fd834a171d6f96c1a875e10e15b7530b7e4ef4971e37e",
    "xquad/xquad.ru.json": "208d5b1aa154c52b1b5c5eda16281e455e8fd198cdb9af3f469f0d6037d973bf",
    "xquad/xquad.tr.json": "92179a564774b7696100d144c1e10870d0a966b6fccbdd254a65b9d2ab1971cc",
    "xquad/xquad.vi.json": "f619a1eb11fb42d3ab0834259e488a65f585447ef6154437bfb7199d85161a04",
    "xquad/xquad.zh.json": "691d0b3359bc6b8faa8de931dfdfe21d50a65861ae348e32a0d1a0190b0c8835",
    "xcopa/et/test.et.jsonl": "f670f3f726342fa3ccd6f844b72d378ed5d0a9a71bd152e6b3607d402eaafa92",
    "xcopa/et/val.et.jsonl": "c6d8f33c11e968fe519d5ddbb61769a73a5ac58ac889060df2fdf5e8a54d6a3c",
    "xcopa/ht/test.ht.jsonl": "ec4a5502e190a51fef4d9cb2080164726772b2d46f7a51c2b86f56748d303428",
    "xcopa/ht/val.ht.jsonl": "022462ff8730fa9345e91e3d174fa346da328d2e7a1225a5938e9897697d61f5",
    "xcopa/id/test.id.jsonl": "b6fe1cfc10bcf02f724dddf876d01df370be0a049cdf1ebf7be8f34504ff66da",
    "xcopa/id/val.id.jsonl": "b3ac8c87c516d64c05ee39becc038ae747b1522010f385796f6c19019f75c77c",
    "xcopa/it/test.it.jsonl": "33564a0dbefc9ff3a7dc868d9a9718d7aaaf7fb136879ae4d2ba022f311f8a88",
    "xcopa/it/val.it.jsonl": "f8389021d6595ef994ed8ff163dfddbcc3f5473b4e7b4803745fb98a7ecd1031",
    "xcopa/qu/test.qu.jsonl": "ac20d5cd67545c41e2fa2e187e88ba4d4c2d7ece1a6489041d44113a5553bd7f",
    "xcopa/qu/val.qu.jsonl": "9e3306acace7bb39c35d20984f2aeca7aa2619af00871ed4743b89f950f7572d",
    "xcopa/sw/test.sw.jsonl": "4ca583c40f9ac045a9b6114fc1f052b0f4ca7402e7a78f567c32a7d8246aa273",
    "xcopa/sw/val.sw.jsonl": "e35fb416b7b9557bcede9987a53d56895c04f3608817d3326da09c52082fbfc5",
    "xcopa/tr/test.tr.jsonl": "1f0152af30bb46acccd0db14ecfe29014c1770c09b0af9b377e15bb4837178ec",
    "xcopa/tr/val.tr.jsonl": "879848162ac5f614f4569c99d37e03bb66034c27684968643371c6c9662bc812",
    "xcopa/vi/test.vi.jsonl": "24cb28827066abb00a2f4004d86c447c4a30a9edb17938b26b61fb2385f94170",
    "xcopa/vi/val.vi.jsonl": "6f804ec3c25b12a3d51f58e338b631bc1b45e7223b15481f8593923e0bdb26fa",
    "xcopa/zh/test.zh.jsonl": "c9b42590399214b9f066adacac2465d7286f5e590181fe6bfd7f6139531b83d4",
    "xcopa/zh/val.zh.jsonl": "8f638466c196342104bdbe9276e7d91fe0abcc044e9a9ad715f30c8ad618bcdd",
    "exams/multilingual/dev.jsonl.tar.gz": "0a6850d000319f748ab6d36c57568c2db41fb5bc0ed7f0cad01fd4c5d1945334",
    "exams/cross-lingual/with_paragraphs/dev_bg_with_para.jsonl.tar.gz": "6bf4ac10dee659c6271f5585d959f16aa0559f3b69686af3af2a4105979c87dc",
    "exams/cross-lingual/with_paragraphs/dev_hu_with_para.jsonl.tar.gz": "e8602a6d66650df88e3f9291c421dc9dfdb23175bfb4528a6642e49e305b1aff",
    "exams/cross-lingual/with_paragraphs/dev_it_with_para.jsonl.tar.gz": "ebbf36239b726b01d542386d86f204b7f0b589ea7b75f115720010ac50360f64",
    "exams/cross-lingual/with_paragraphs/dev_pl_with_para.jsonl.tar.gz": "2aeb2f3558ddd97651d24cc8270cacdc88f89c6fa631aa5c2aace252c1519b13",
    "exams/cross-lingual/with_paragraphs/dev_pt_with_para.jsonl.tar.gz": "61f4fd18d4ecc5306ca9e338dbddc0879f5e1bfb9c5181e50f3805a3535bd23e",
    "exams/cross-lingual/with_paragraphs/dev_tr_with_para.jsonl.tar.gz": "21071665733bb691f65aa6731cd852a885e4be111b4d60e6947b70e4e093cc80",
}


def _remote(url: str, path: str, unpack_into: str | None = None) -> RemoteFile:
    return RemoteFile(url, path, PINNED.get(path), unpack_into)


_EXAMS = "https://github.com/mhardalov/exams-qa/raw/main/data/exams/"
_EXAMS_FILES = (
    [f"multilingual/{s}.jsonl.tar.gz" for s in ("train", "dev", "test")]
    + [f"cross-lingual/{s}_{l}.jsonl.tar.gz" for s in ("train", "dev") for l in languages.EXAMS_CROSS_LINGUAL]
    + [f"cross-lingual/with_paragraphs/dev_{l}_with_para.jsonl.tar.gz" for l in languages.EXAMS_CROSS_LINGUAL]
    + [f"cross-lingual/with_paragraphs/train_{l}_with_para.jsonl.tar.gz"
       for l in ("hu", "it", "pl", "pt", "sq", "sr", "tr")])

DATASETS: dict[str, list[RemoteFile | ManualFile]] = {
    "xquad": [_remote(f"https://raw.githubusercontent.com/deepmind/xquad/master/xquad.{l}.json",
                      f"xquad/xquad.{l}.json") for l in languages.XQUAD],
    "xcopa": [_remote(f"https://raw.githubusercontent.com/cambridgeltl/xcopa/master/data/{l}/{s}.{l}.jsonl",
                      f"xcopa/{l}/{s}.{l}.jsonl") for l in languages.XCOPA for s in ("val", "test")],
    "exams": [_remote(_EXAMS + f, "exams/" + f) for f in _EXAMS_FILES],
    "belebele": [_remote("https://dl.fbaipublicfiles.com/belebele/Belebele.zip", "downloads/Belebele.zip",
                         unpack_into="belebele")],
    "mlqa": [_remote("https://dl.fbaipublicfiles.com/MLQA/MLQA_V1.zip", "downloads/MLQA_V1.zip",
                     unpack_into="mlqa")],
    "tydiqa": [_remote(f"https://storage.googleapis.com/tydiqa/v1.1/tydiqa-goldp-v1.1-{s}.json",
                       f"tydiqa/tydiqa-goldp-v1.1-{s}.json") for s in ("train", "dev")],
    "squad": [_remote(f"https://rajpurkar.github.io/SQuAD-explorer/dataset/{f}", f"squad/{f}")
              for f in ("train-v1.1.json", "dev-v1.1.json", "train-v2.0.json", "dev-v2.0.json")],
    "race": [_remote("http://www.cs.cmu.edu/~glai1/data/race/RACE.tar.gz", "downloads/RACE.tar.gz",
                     unpack_into="race")],
    "advrace": [ManualFile(
        f"advrace/{folder}/test_dis.json",
        "AdvRACE's data is distributed by its authors (see https://github.com/NoviScl/AdvRACE, README); "
        f"place {folder}/test_dis.json there") for folder in (
            "final_distractor_datasets/Orig", "final_distractor_datasets/AddSent",
            "final_distractor_datasets/charSwap", "final_distractor_datasets/DE",
            "final_distractor_datasets/DG")],
}


class DownloadError(RuntimeError):
    pass


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch_to_part(url: str, part: str) -> None:
    """Download ``url`` into ``part``, resuming from its current size when possible."""
    have = os.path.getsize(part) if os.path.exists(part) else 0
    request = urllib.request.Request(url)
    if have and url.startswith(("http://", "https://")):
        request.add_header("Range", f"bytes={have}-")
    with urllib.request.urlopen(request, timeout=60) as response:
        resumed = getattr(response, "status", None) == 206
        with open(part, "ab" if resumed else "wb") as out:
            shutil.copyfileobj(response, out, CHUNK)


def fetch(remote: RemoteFile, data_dir: str, *, allow_unpinned: bool = False,
          log: Callable[[str], None] = print) -> str:
    """Download, verify and place one file (unpacking archives); returns its path."""
    target = os.path.join(data_dir, remote.path)
    done_marker = os.path.join(data_dir, remote.unpack_into, ".unpacked") if remote.unpack_into else None
    if os.path.exists(target) and (done_marker is None or os.path.exists(done_marker)):
        if remote.sha256 and sha256_of(target) != remote.sha256:
            raise DownloadError(f"{target} exists but its sha256 differs from the pinned {remote.sha256}; "
                                "delete it to download again")
        log(f"ok       {remote.path} (already present)")
        return target
    if remote.sha256 is None and not allow_unpinned:
        raise DownloadError(f"{remote.path}: no pinned sha256 for {remote.url}; rerun with "
                            "--allow_unpinned to download it unverified (its hash is printed)")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    part = target + ".part"
    if not os.path.exists(target):
        try:
            _fetch_to_part(remote.url, part)
        except (urllib.error.URLError, OSError) as e:
            raise DownloadError(
                f"cannot download {remote.url} ({e}); offline? place the file by hand at {target}"
                + (f" (sha256 {remote.sha256})" if remote.sha256 else "")) from None
        digest = sha256_of(part)
        if remote.sha256 and digest != remote.sha256:
            os.remove(part)
            raise DownloadError(f"{remote.url}: sha256 {digest} != pinned {remote.sha256}; partial file removed")
        os.replace(part, target)
        log(f"verified {remote.path} sha256={digest}" + ("" if remote.sha256 else " (unpinned)"))
    if remote.unpack_into:
        _unpack(target, os.path.join(data_dir, remote.unpack_into))
        open(done_marker, "w").close()
        log(f"unpacked {remote.path} -> {remote.unpack_into}/")
    return target


def _unpack(archive: str, into: str) -> None:
    os.makedirs(into, exist_ok=True)
    if archive.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            z.extractall(into)
    else:
        with tarfile.open(archive) as t:
            t.extractall(into, filter="data")


def prepare(datasets: Iterable[str], data_dir: str, *, allow_unpinned: bool = False,
            log: Callable[[str], None] = print) -> list[str]:
    """Fetch every file of ``datasets``; returns the manual steps still to do (also logged).

    Stops at the first file that fails (offline, hash mismatch) with a DownloadError."""
    manual = []
    for name in datasets:
        if name not in DATASETS:
            raise KeyError(f"unknown dataset {name!r}; downloadable: {sorted(DATASETS)}")
        for item in DATASETS[name]:
            if isinstance(item, ManualFile):
                if not os.path.exists(os.path.join(data_dir, item.path)):
                    manual.append(f"place by hand: {os.path.join(data_dir, item.path)} -- {item.instructions}")
                    log(manual[-1])
                continue
            fetch(item, data_dir, allow_unpinned=allow_unpinned, log=log)
    return manual
