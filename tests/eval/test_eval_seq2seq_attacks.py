"""dg and paraphrase cells through launch/eval.py, with a tiny random seq2seq checkpoint."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from tests.models import seq2seq_checkpoints as tiny

pytest.importorskip("transformers")
REPO = pathlib.Path(__file__).resolve().parents[2]

CONFIG = '''
from configs import smoke


def get_config(arg):
  config = smoke.get_config("")
  config.evals = dict(
    robustness=dict(
      type="robustness",
      tasks=("synthetic.en", "synthetic_span.de"),
      attacks=("dg", "paraphrase"),
      attack_params=dict(
        dg=dict(checkpoint=arg, max_new_tokens=6, num_beams=4, num_return_sequences=4),
        paraphrase=dict(checkpoint=arg, max_new_tokens=8, num_beams=2, num_return_sequences=2),
      ),
      split="test",
      num_examples=12,
    )
  )
  return config
'''


@pytest.mark.slow
def test_launch_eval_scores_generated_cells(make_workdir, tmp_path):
  workdir = make_workdir("run", 0)
  checkpoint = tiny.write("mt5", str(tmp_path / "mt5"))
  config_path = tmp_path / "seq2seq_eval.py"
  config_path.write_text(CONFIG)
  env = dict(os.environ, PYTHONPATH=str(REPO))
  command = [
    sys.executable,
    str(REPO / "launch" / "eval.py"),
    f"--config={config_path}:{checkpoint}",
    f"--workdir={workdir}",
    "--num_resamples=50",
  ]
  completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
  assert completed.returncode == 0, completed.stderr[-3000:]
  payload = json.loads((workdir / "report" / "robustness.json").read_text())
  cells = {(row["task"], row["lang"], row["attack"]) for row in payload["rows"]}
  assert {("synthetic", "en", "dg"), ("synthetic", "en", "paraphrase")} <= cells
  assert ("synthetic_span", "de", "paraphrase") in cells
  predictions = [
    json.loads(line) for line in (workdir / "report" / "predictions.jsonl").read_text().splitlines()
  ]
  dg_rows = [p for p in predictions if p["attack"] == "dg"]
  assert {p["lang"] for p in dg_rows} == {"en", "de"} and len(dg_rows) == 24
