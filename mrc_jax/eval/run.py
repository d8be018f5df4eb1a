"""Evaluate a training workdir (or compare two) and write the report: the launch/eval.py work.

Thin wiring: the checkpoint comes from `restore`, the cells from `inputs`, predictions
from `evaluator`, statistics from `robustness` and files from `report`. Saved predictions
carry the settings of the evaluation that made them (`evaluation_settings`) and their
fingerprint; compare mode reuses them only when the fingerprint matches.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import time

import jax
from absl import logging

from mrc_jax.eval import evaluator as evaluator_lib
from mrc_jax.eval import inputs, report, restore, results, robustness
from mrc_jax.train import run_spec

REPORT_DIR = "report"
PREDICTIONS = "predictions.jsonl"


@dataclasses.dataclass
class ReportOptions:
  step: int | None = None  # checkpoint step; None = latest
  data_dir: str | None = None
  num_resamples: int = 1000
  seed: int = 0


def run_name(workdir: str) -> str:
  return pathlib.Path(workdir).resolve().name


def _max_answer_length(config) -> int:
  return int(config.get("max_answer_length", evaluator_lib.DEFAULT_MAX_ANSWER_LENGTH))


def _null_score_threshold(config) -> float:
  """SQuAD v2.0's no-answer threshold (``config.null_score_threshold``)."""
  return float(config.get("null_score_threshold", evaluator_lib.DEFAULT_NULL_SCORE_THRESHOLD))


def evaluation_settings(config, workdir: str, step: int) -> dict:
  """Everything that decides a workdir's predictions: each robustness entry (tasks,
  split, attacks, num_examples, perturbation seed, length, window stride), the span
  decoding limit, the workdir's choice layout and the checkpoint step."""
  spec = run_spec.read(workdir)
  return {
    "entries": [
      inputs.entry_settings(config, name, entry)
      for name, entry in inputs.robustness_entries(config).items()
    ],
    "max_answer_length": _max_answer_length(config),
    "null_score_threshold": _null_score_threshold(config),
    "options_first": spec.options_first,
    "checkpoint_step": int(step),
  }


def fingerprint(settings: dict) -> str:
  return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def predict_workdir(
  config, workdir: str, options: ReportOptions
) -> tuple[list[results.CellResult], dict]:
  """Per-example results of every robustness cell, and facts about the loop."""
  inputs.robustness_entries(config)  # a bad entry fails before the checkpoint is read
  model, spec, step = restore.load_model(workdir, options.step)
  settings = evaluation_settings(config, workdir, step)
  cells = inputs.eval_cells(config, spec, options.data_dir)
  evaluator = evaluator_lib.Evaluator(
    model,
    max_answer_length=_max_answer_length(config),
    null_score_threshold=_null_score_threshold(config),
  )
  begin = time.perf_counter()
  cell_results = evaluator.evaluate(cells)
  seconds = time.perf_counter() - begin
  stats = evaluator.stats
  info = {
    "runs": [run_name(workdir)],
    "workdir": os.path.abspath(workdir),
    "checkpoint_step": step,
    "compilations": stats.compilations,
    "cells": len(cell_results),
    "examples": stats.examples,
    "eval_seconds": round(seconds, 3),
    "examples_per_second": round(stats.examples / max(seconds, 1e-9), 1),
    "device": str(jax.devices()[0].device_kind),
    "evaluation": settings,
    "eval_fingerprint": fingerprint(settings),
  }
  logging.info(
    "evaluated %d cells, %d examples in %.1fs with %d compilations",
    len(cell_results),
    stats.examples,
    seconds,
    stats.compilations,
  )
  return cell_results, info


def evaluate_workdir(config, workdir: str, options: ReportOptions) -> dict[str, pathlib.Path]:
  """Writes WORKDIR/report/robustness.{json,csv,md,png}, predictions.jsonl, tensorboard/."""
  cell_results, info = predict_workdir(config, workdir, options)
  out_dir = pathlib.Path(workdir) / REPORT_DIR
  out_dir.mkdir(parents=True, exist_ok=True)
  results.write_predictions(
    cell_results,
    out_dir / PREDICTIONS,
    evaluation={"fingerprint": info["eval_fingerprint"], "settings": info["evaluation"]},
  )
  rows = robustness.robustness_rows(
    cell_results, run_name(workdir), options.num_resamples, options.seed
  )
  info = dict(
    info,
    title=f"Robustness: {run_name(workdir)}",
    num_resamples=options.num_resamples,
    bootstrap_seed=options.seed,
  )
  paths = report.write_report(out_dir, rows, info, step=info["checkpoint_step"])
  paths["predictions"] = out_dir / PREDICTIONS
  logging.info("wrote %s", ", ".join(str(p) for p in paths.values()))
  return paths


def _reusable_predictions(
  config, workdir: str, options: ReportOptions
) -> list[results.CellResult] | None:
  """A workdir's saved predictions if the evaluation that would run now made them: same
  settings (`evaluation_settings`), same checkpoint step."""
  predictions = pathlib.Path(workdir) / REPORT_DIR / PREDICTIONS
  saved = results.read_evaluation(predictions) if predictions.is_file() else None
  if saved is None:
    return None
  step = options.step if options.step is not None else run_spec.latest_step(workdir)
  if step is None:
    return None
  wanted = fingerprint(evaluation_settings(config, workdir, step))
  if saved.get("fingerprint") != wanted:
    logging.info(
      "%s was made by evaluation %s, not %s: recomputing",
      predictions,
      saved.get("fingerprint"),
      wanted,
    )
    return None
  return results.read_predictions(predictions)


def _cells_of(config, workdir: str, options: ReportOptions) -> list[results.CellResult]:
  saved = _reusable_predictions(config, workdir, options)
  if saved is not None:
    logging.info("reusing %s/%s/%s", workdir, REPORT_DIR, PREDICTIONS)
    return saved
  evaluate_workdir(config, workdir, options)
  return results.read_predictions(pathlib.Path(workdir) / REPORT_DIR / PREDICTIONS)


def compare_workdirs(
  config, workdir_a: str, workdir_b: str, options: ReportOptions
) -> dict[str, pathlib.Path]:
  """Both runs' reports, then WORKDIR_A/report/compare/comparison.{json,csv,md,png}."""
  cells_a = _cells_of(config, workdir_a, options)
  cells_b = _cells_of(config, workdir_b, options)
  name_a, name_b = run_name(workdir_a), run_name(workdir_b)
  if name_a == name_b:
    name_a, name_b = os.path.abspath(workdir_a), os.path.abspath(workdir_b)
  rows = robustness.comparison_rows(
    cells_a, cells_b, name_a, name_b, options.num_resamples, options.seed
  )
  info = {
    "title": f"Comparison: {name_b} - {name_a}",
    "runs": [name_a, name_b],
    "num_resamples": options.num_resamples,
    "bootstrap_seed": options.seed,
  }
  return report.write_comparison(pathlib.Path(workdir_a) / REPORT_DIR / "compare", rows, info)
