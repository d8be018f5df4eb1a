"""Every notebook runs top to bottom on CPU with tiny settings from its parameters cell."""

import json
import os
import pathlib
import subprocess
import sys

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

REPO = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
TIMEOUT_S = 600


def execute(name: str, kernel: str = "python3", **parameters) -> nbformat.NotebookNode:
  """Runs a notebook with its ``parameters``-tagged cell replaced by ``parameters``."""
  notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
  tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
  assert len(tagged) == 1, f"{name}: expected one cell tagged 'parameters'"
  defaults = {}
  exec(tagged[0].source, {}, defaults)  # the defaults name every parameter
  unknown = set(parameters) - set(defaults)
  assert not unknown, f"{name}: no parameters {unknown} (has {sorted(defaults)})"
  tagged[0].source = "\n".join(f"{k} = {v!r}" for k, v in {**defaults, **parameters}.items())
  NotebookClient(
    notebook,
    timeout=TIMEOUT_S,
    kernel_name=kernel,
    resources={"metadata": {"path": str(NOTEBOOKS)}},
  ).execute()
  return notebook


def outputs(notebook) -> str:
  text = []
  for cell in notebook.cells:
    for output in cell.get("outputs", []):
      text.append(
        output.get("text", "") or json.dumps(output.get("data", {}).get("text/plain", ""))
      )
  return "\n".join(text)


def _fake_report(workdir: pathlib.Path, run: str, keep: float, seed: int) -> None:
  from mrc_jax.eval import report, robustness
  from mrc_jax.eval.results import CellResult

  rng = np.random.default_rng(seed)
  cells = []
  for lang in ("en", "de", "zh"):
    ids = [f"{lang}-{i}" for i in range(100)]
    clean = (rng.random(100) < 0.9).astype(float)
    for attack, p in (("clean", 1.0), ("charswap", keep), ("addsent", keep + 0.05)):
      cells.append(
        CellResult(
          "synthetic",
          lang,
          attack,
          ids,
          [0] * 100,
          [0] * 100,
          {"accuracy": clean * (rng.random(100) < p)},
        )
      )
  rows = robustness.robustness_rows(cells, run, num_resamples=20)
  report.write_report(workdir / "report", rows, {"title": run}, tensorboard=False)


def test_robustness_analysis_notebook(tmp_path):
  _fake_report(tmp_path / "weak", "weak", 0.5, 0)
  _fake_report(tmp_path / "strong", "strong", 0.9, 1)
  notebook = execute(
    "03_robustness_analysis.ipynb",
    REPO=str(REPO),
    RUNS={"weak": str(tmp_path / "weak"), "strong": str(tmp_path / "strong")},
  )
  text = outputs(notebook)
  assert "(run, task, language, attack) cells" in text
  # The run whose attacks keep 90% of correct answers has the smaller drop.
  assert "charswap: weak" in text and "-> smallest drop: strong" in text
  assert any(
    o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
    for cell in notebook.cells
    for o in cell.get("outputs", [])
  )


def _venv_kernel(root: pathlib.Path) -> str:
  """A Jupyter kernel in a fresh virtual environment that sees this one's packages.

  The notebook's install step then installs into that environment, as on a new Colab
  runtime, and leaves the test environment's own install of the package alone.
  """
  venv = root / "venv"
  subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
  spec = root / "jupyter" / "kernels" / "colab_local"
  spec.mkdir(parents=True)
  (spec / "kernel.json").write_text(
    json.dumps(
      dict(
        argv=[str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        display_name="colab_local",
        language="python",
      )
    )
  )
  return "colab_local"


def test_colab_path_clones_installs_and_detects_the_accelerator(tmp_path, monkeypatch):
  """The notebooks' Colab path, locally: clone by URL, install, pick the jax build, run."""
  _fake_report(tmp_path / "run", "run", 0.8, 0)
  monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
  for variable in ("COLAB_TPU_ADDR", "TPU_NAME"):
    monkeypatch.delenv(variable, raising=False)
  monkeypatch.setenv(
    "PATH",
    os.pathsep.join(  # no nvidia-smi: a CPU runtime
      p
      for p in os.environ["PATH"].split(os.pathsep)
      if not (pathlib.Path(p) / "nvidia-smi").exists()
    ),
  )
  kernel = _venv_kernel(tmp_path)
  clone = tmp_path / "clone"
  notebook = execute(
    "03_robustness_analysis.ipynb",
    kernel=kernel,
    INSTALL=True,
    REPO=str(clone),
    REPO_URL=REPO.as_uri(),
    PIP_ARGS=["--no-build-isolation", "--no-deps"],
    RUNS={"run": str(tmp_path / "run")},
  )
  text = outputs(notebook)
  assert (clone / ".git").is_dir() and (clone / "setup.py").is_file()
  assert f"installed {clone} for accelerator: cpu" in text
  assert "(run, task, language, attack) cells" in text
  installed = subprocess.run(
    [str(tmp_path / "venv" / "bin" / "python"), "-m", "pip", "show", "-f", "mrc_jax"],
    capture_output=True,
    text=True,
    check=True,
  ).stdout
  assert f"Editable project location: {clone}" in installed


@pytest.mark.slow
def test_prefinetune_finetune_notebook(tmp_path):
  notebook = execute(
    "02_prefinetune_finetune.ipynb",
    REPO=str(REPO),
    WORKDIR=str(tmp_path),
    OVERRIDES=[
      "--config.total_steps=2",
      "--config.log_every_steps=1",
      "--config.batch_size=4",
      "--config.eval_every_steps=0",
    ],
    FINETUNE_CONFIG="configs/quickstart.py:stage=finetune_adv,root={workdir}",
  )
  assert (tmp_path / "finetune" / "metrics.jsonl").read_text().strip()
  assert "synthetic_lookup.en.charswap" in outputs(notebook)


@pytest.mark.slow
def test_quickstart_notebook(tmp_path):
  execute(
    "01_quickstart.ipynb",
    REPO=str(REPO),
    WORKDIR=str(tmp_path),
    CONFIG_ARGS="prefinetune_steps=2,finetune_steps=2,batch=4,eval_examples=8",
  )
  report = json.loads((tmp_path / "report" / "robustness.json").read_text())
  assert {r["run"] for r in report["rows"]} >= {"finetune_clean", "finetune_adv"}
  assert "SYNTHETIC" in report["data"]
