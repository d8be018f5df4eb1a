"""The definitions of every clean file-backed task: its name, kind, files per split and reader.

Task names follow ``DATASET.LANG`` (``xquad.de``, ``belebele.deu_Latn``, ``exams.it``,
``xcopa.it``, ``dream.en``, ``c3.zh``, ``mctest.en``, ``xquad_mc.de``) plus
``race.{high,middle,all}``, ``advrace.{orig,addsent,charswap,de,dg}``,
``advrace.{paraphrase,wordreplace}`` and ``advrace.train_mix``. Paths are relative to the
data directory and follow the upstream release layouts.
"""

from __future__ import annotations

import dataclasses
import functools
import glob
import os
import types
from typing import Callable, Iterator, Mapping

from mrc_jax.data import languages
from mrc_jax.data.schema import SkipReport
from mrc_jax.data.sources import (
  advrace,
  belebele,
  dream,
  exams,
  mctest,
  race,
  squad,
  xcopa,
  xquad_mc,
)
from mrc_jax.data.sources.common import convert_records, read_jsonl, read_jsonl_tar_gz

SPLITS = ("train", "validation", "test")

# Reads one split: (data_dir, split, strict, report) -> examples.
SplitReader = Callable[[str, str, bool, SkipReport], Iterator[dict]]


@dataclasses.dataclass(frozen=True)
class CleanTask:
  name: str
  dataset: str
  lang: str
  kind: str  # "choice" | "span" | "classification" | "generation"
  files: Mapping[str, tuple[str, ...]]  # split -> paths (or directories) under data_dir
  source: str  # where a missing file comes from
  read_split: SplitReader
  num_choices: int | None = None  # fixed number of options, when the format has one
  num_classes: int | None = None  # classification tasks: number of classes
  span_style: str = "squad_v1"  # span tasks: official scorer, "squad_v1" | "mlqa"
  no_answer: bool = False  # unanswerable questions, scored as SQuAD v2.0

  def present_splits(self, data_dir: str) -> list[str]:
    return [
      s
      for s in SPLITS
      if s in self.files and all(_present(os.path.join(data_dir, p)) for p in self.files[s])
    ]


def _present(path: str) -> bool:
  if path.endswith("/"):
    return bool(glob.glob(os.path.join(path, "*.txt")))
  return os.path.isfile(path)


def _one_file_reader(relative: str, records_of, converter) -> SplitReader:
  """A SplitReader for formats with one file per split."""

  def read(data_dir, split, strict, report):
    path = os.path.join(data_dir, relative)
    yield from convert_records(path, records_of(path), converter, strict=strict, report=report)

  return read


def _by_split(readers: Mapping[str, SplitReader]) -> SplitReader:
  def read(data_dir, split, strict, report):
    yield from readers[split](data_dir, split, strict, report)

  return read


_TASKS: dict[str, CleanTask] = {}


def _add(task: CleanTask) -> None:
  assert task.name not in _TASKS, task.name
  _TASKS[task.name] = task


def _file_task(name, dataset, lang, kind, files, source, records_of, make_converter, **kw):
  """Register a one-file-per-split task; ``make_converter(split=...)`` builds each converter."""
  readers = {
    split: _one_file_reader(path, records_of, make_converter(split=split))
    for split, path in files.items()
  }
  _add(
    CleanTask(
      name,
      dataset,
      lang,
      kind,
      {s: (p,) for s, p in files.items()},
      source,
      _by_split(readers),
      **kw,
    )
  )


# --- extractive QA ------------------------------------------------------------------------
for _lang in languages.XQUAD:
  _file_task(
    f"xquad.{_lang}",
    "xquad",
    _lang,
    "span",
    {"test": f"xquad/xquad.{_lang}.json"},
    "https://github.com/deepmind/xquad",
    squad.iter_squad_records,
    functools.partial(squad.squad_converter, f"xquad.{_lang}", _lang),
    span_style="squad_v1",
  )

for _lang in languages.MLQA:
  _file_task(
    f"mlqa.{_lang}",
    "mlqa",
    _lang,
    "span",
    {
      s: f"mlqa/MLQA_V1/{u}/{u}-context-{_lang}-question-{_lang}.json"
      for s, u in (("validation", "dev"), ("test", "test"))
    },
    "https://dl.fbaipublicfiles.com/MLQA/MLQA_V1.zip",
    squad.iter_squad_records,
    functools.partial(squad.squad_converter, f"mlqa.{_lang}", _lang),
    span_style="mlqa",
  )

for _lang, _name in languages.TYDIQA.items():
  _file_task(
    f"tydiqa.{_lang}",
    "tydiqa",
    _lang,
    "span",
    {
      "train": "tydiqa/tydiqa-goldp-v1.1-train.json",
      "validation": "tydiqa/tydiqa-goldp-v1.1-dev.json",
    },
    "https://storage.googleapis.com/tydiqa/v1.1/ (tydiqa-goldp-v1.1-{train,dev}.json)",
    squad.iter_squad_records,
    functools.partial(
      squad.squad_converter,
      f"tydiqa.{_lang}",
      _lang,
      keep=lambda qa_id, p=_name + "-": qa_id.startswith(p),
    ),
    span_style="squad_v1",
  )

for _name, _files in (
  ("squad.en", {"train": "squad/train-v1.1.json", "validation": "squad/dev-v1.1.json"}),
  ("squad_v2.en", {"train": "squad/train-v2.0.json", "validation": "squad/dev-v2.0.json"}),
):
  _file_task(
    _name,
    _name.split(".")[0],
    "en",
    "span",
    _files,
    "https://rajpurkar.github.io/SQuAD-explorer/dataset/",
    squad.iter_squad_records,
    functools.partial(squad.squad_converter, _name, "en"),
    span_style="squad_v1",
    no_answer=_name == "squad_v2.en",
  )

# --- multiple choice ------------------------------------------------------------------------
_XCOPA_UPSTREAM = {"validation": "val", "test": "test"}


def _xcopa_reader(task: str, lang: str) -> SplitReader:
  """Reads one language, taking each item's relation from every language file present."""

  def read(data_dir, split, strict, report):
    upstream = _XCOPA_UPSTREAM[split]
    path = os.path.join(data_dir, "xcopa", lang, f"{upstream}.{lang}.jsonl")
    consensus = xcopa.consensus_relations(os.path.join(data_dir, "xcopa"), upstream)
    yield from convert_records(
      path,
      read_jsonl(path),
      xcopa.xcopa_converter(task, lang, split, consensus),
      strict=strict,
      report=report,
    )

  return read


for _lang in languages.XCOPA:
  _add(
    CleanTask(
      f"xcopa.{_lang}",
      "xcopa",
      _lang,
      "choice",
      {s: (f"xcopa/{_lang}/{u}.{_lang}.jsonl",) for s, u in _XCOPA_UPSTREAM.items()},
      "https://github.com/cambridgeltl/xcopa (data/)",
      _xcopa_reader(f"xcopa.{_lang}", _lang),
      num_choices=2,
    )
  )

for _code in languages.BELEBELE:
  _file_task(
    f"belebele.{_code}",
    "belebele",
    _code,
    "choice",
    {"test": f"belebele/{_code}.jsonl"},
    "https://dl.fbaipublicfiles.com/belebele/Belebele.zip",
    read_jsonl,
    functools.partial(belebele.belebele_converter, f"belebele.{_code}", _code),
    num_choices=4,
  )

_EXAMS_SOURCE = "https://github.com/mhardalov/exams-qa (data/exams/)"
for _lang in languages.EXAMS_CROSS_LINGUAL:
  for _dataset, _pattern, _para in (
    ("exams", "exams/cross-lingual/with_paragraphs/{u}_{l}_with_para.jsonl.tar.gz", True),
    ("exams_nopara", "exams/cross-lingual/{u}_{l}.jsonl.tar.gz", False),
  ):
    _file_task(
      f"{_dataset}.{_lang}",
      _dataset,
      _lang,
      "choice",
      {s: _pattern.format(u=u, l=_lang) for s, u in (("train", "train"), ("validation", "dev"))},
      _EXAMS_SOURCE,
      read_jsonl_tar_gz,
      functools.partial(
        exams.exams_converter,
        f"{_dataset}.{_lang}",
        _lang,
        with_paragraphs=_para,
        filter_language=False,
      ),
    )
for _lang in languages.EXAMS_MULTILINGUAL:
  for _dataset, _pattern, _para in (
    ("exams_multilingual", "exams/multilingual/{u}.jsonl.tar.gz", False),
    (
      "exams_multilingual_para",
      "exams/multilingual/with_paragraphs/{u}_with_para.jsonl.tar.gz",
      True,
    ),
  ):
    _file_task(
      f"{_dataset}.{_lang}",
      _dataset,
      _lang,
      "choice",
      {
        s: _pattern.format(u=u)
        for s, u in (("train", "train"), ("validation", "dev"), ("test", "test"))
      },
      _EXAMS_SOURCE,
      read_jsonl_tar_gz,
      functools.partial(
        exams.exams_converter,
        f"{_dataset}.{_lang}",
        _lang,
        with_paragraphs=_para,
        filter_language=True,
      ),
    )

_DREAM_UPSTREAM = {"train": "train", "validation": "dev", "test": "test"}
for _lang in languages.DREAM:
  _file_task(
    f"dream.{_lang}",
    "dream",
    _lang,
    "choice",
    {s: f"dream/data/{u}.json" for s, u in _DREAM_UPSTREAM.items()},
    "https://github.com/nlpdata/dream (data/)",
    dream.question_records,
    functools.partial(dream.dream_converter, f"dream.{_lang}", _lang),
    num_choices=3,
  )

# C3: each split is its mixed-genre (m) and dialogue (d) files, read in that order.
_C3_SUBSETS = {"m": "mixed-genre", "d": "dialogue"}


def _c3_reader(task: str, lang: str) -> SplitReader:
  def read(data_dir, split, strict, report):
    for subset, genre in _C3_SUBSETS.items():
      path = os.path.join(data_dir, "c3", "data", f"c3-{subset}-{_DREAM_UPSTREAM[split]}.json")
      yield from convert_records(
        path,
        dream.question_records(path, f"{subset}/"),
        dream.dream_converter(task, lang, split, subset=subset, genre=genre),
        strict=strict,
        report=report,
      )

  return read


for _lang in languages.C3:
  _add(
    CleanTask(
      f"c3.{_lang}",
      "c3",
      _lang,
      "choice",
      {
        s: tuple(f"c3/data/c3-{m}-{u}.json" for m in _C3_SUBSETS)
        for s, u in _DREAM_UPSTREAM.items()
      },
      "https://github.com/nlpdata/c3 (data/)",
      _c3_reader(f"c3.{_lang}", _lang),
    )
  )

# MCTest: each split is MC160's then MC500's story sets, a .tsv and its .ans.
_MCTEST_SETS = ("mc160", "mc500")


def _mctest_reader(task: str) -> SplitReader:
  def read(data_dir, split, strict, report):
    for subset in _MCTEST_SETS:
      stem = os.path.join(data_dir, "mctest", f"{subset}.{_DREAM_UPSTREAM[split]}")
      yield from convert_records(
        f"{stem}.tsv",
        mctest.iter_mctest_records(f"{stem}.tsv", f"{stem}.ans"),
        mctest.mctest_converter(task, split, subset),
        strict=strict,
        report=report,
      )

  return read


for _lang in languages.MCTEST:
  _add(
    CleanTask(
      f"mctest.{_lang}",
      "mctest",
      _lang,
      "choice",
      {
        s: tuple(f"mctest/{m}.{u}.{e}" for m in _MCTEST_SETS for e in ("tsv", "ans"))
        for s, u in _DREAM_UPSTREAM.items()
      },
      "https://github.com/elleryjsmith/UCLMCTest (datasets/)",
      _mctest_reader(f"mctest.{_lang}"),
      num_choices=4,
    )
  )


# XQuAD as multiple choice: options from the English file's structure (sources/xquad_mc.py).
def _xquad_mc_reader(task: str, lang: str) -> SplitReader:
  def read(data_dir, split, strict, report):
    path = os.path.join(data_dir, "xquad", f"xquad.{lang}.json")
    records = xquad_mc.iter_xquad_mc_records(path, os.path.join(data_dir, "xquad", "xquad.en.json"))
    yield from convert_records(
      path, records, xquad_mc.xquad_mc_converter(task, lang, split), strict=strict, report=report
    )

  return read


for _lang in languages.XQUAD_MC:
  _add(
    CleanTask(
      f"xquad_mc.{_lang}",
      "xquad_mc",
      _lang,
      "choice",
      {"test": tuple(dict.fromkeys(("xquad/xquad.en.json", f"xquad/xquad.{_lang}.json")))},
      "derived from https://github.com/deepmind/xquad",
      _xquad_mc_reader(f"xquad_mc.{_lang}", _lang),
      num_choices=4,
    )
  )

# --- RACE and AdvRACE ----------------------------------------------------------------------
_RACE_SOURCE = "http://www.cs.cmu.edu/~glai1/data/race/ (RACE.tar.gz, unpacked as race/RACE/)"
_RACE_UPSTREAM = {"train": "train", "validation": "dev", "test": "test"}


def _race_reader(task: str, levels: tuple[str, ...]) -> SplitReader:
  def read(data_dir, split, strict, report):
    race_dir = os.path.join(data_dir, "race", "RACE")
    for level in levels:
      convert = race.race_converter(task, split, level)
      for path, passage_id, passage in race.iter_race_records(
        race_dir, _RACE_UPSTREAM[split], level
      ):
        yield from convert_records(
          path,
          race.race_passage_records(passage_id, passage),
          convert,
          strict=strict,
          report=report,
        )

  return read


for _name, _levels in (
  ("race.high", ("high",)),
  ("race.middle", ("middle",)),
  ("race.all", ("high", "middle")),
):
  _add(
    CleanTask(
      _name,
      "race",
      "en",
      "choice",
      {s: tuple(f"race/RACE/{u}/{lv}/" for lv in _levels) for s, u in _RACE_UPSTREAM.items()},
      _RACE_SOURCE,
      _race_reader(_name, _levels),
      num_choices=4,
    )
  )

_ADVRACE_SOURCE = (
  "https://github.com/NoviScl/AdvRACE (final_distractor_datasets/, unused_datasets/)"
)
ADVRACE_TEST_SETS = {
  "orig": "final_distractor_datasets/Orig",
  "addsent": "final_distractor_datasets/AddSent",
  "charswap": "final_distractor_datasets/charSwap",
  "de": "final_distractor_datasets/DE",
  "dg": "final_distractor_datasets/DG",
  "paraphrase": "unused_datasets/paraphrase",
  "wordreplace": "unused_datasets/wordReplace",
}
for _attack, _folder in ADVRACE_TEST_SETS.items():
  _file_task(
    f"advrace.{_attack}",
    "advrace",
    "en",
    "choice",
    {"test": f"advrace/{_folder}/test_dis.json"},
    _ADVRACE_SOURCE,
    advrace.iter_advrace_records,
    functools.partial(advrace.advrace_converter, f"advrace.{_attack}", attack=_attack),
    num_choices=4,
  )


# The adversarial training mix: RACE train plus AdvRACE's train perturbation sets, drawn as
# the repository's combine.py draws them (see sources/advrace.py), under advrace/ in the
# layout combine.py reads.
def _advrace_train_mix(data_dir, split, strict, report):
  yield from _TASKS["race.all"].read_split(data_dir, "train", strict, report)
  for path, attack, records in advrace.iter_train_mix_sets(os.path.join(data_dir, "advrace")):
    yield from convert_records(
      path,
      records,
      advrace.advrace_converter("advrace.train_mix", "train", attack),
      strict=strict,
      report=report,
    )


_add(
  CleanTask(
    "advrace.train_mix",
    "advrace",
    "en",
    "choice",
    {
      "train": tuple(f"race/RACE/train/{lv}/" for lv in ("high", "middle"))
      + tuple(f"advrace/{relative}" for relative, _, _, _ in advrace.TRAIN_SETS)
    },
    _RACE_SOURCE
    + "; AdvRACE train perturbation sets (not in "
    + _ADVRACE_SOURCE
    + "; its combine.py reads them)",
    _advrace_train_mix,
    num_choices=4,
  )
)


def file_tasks() -> Mapping[str, CleanTask]:
  """The tasks of the upstream releases, read from files in the contract layout (the task
  registry, ``tasks``, serves them; nothing else looks them up here)."""
  return types.MappingProxyType(_TASKS)


def files_for(task: CleanTask, data_dir: str, split: str) -> list[str]:
  """Check every file of a split is present (FileNotFoundError naming the path otherwise)."""
  paths = []
  for relative in task.files[split]:
    path = os.path.join(data_dir, relative)
    if not _present(path):
      raise FileNotFoundError(
        f"task {task.name}, split {split}: missing {path}; get it from {task.source} "
        "(or run launch/prepare_data.py; see docs/DATA.md)"
      )
    paths.append(path)
  return paths
