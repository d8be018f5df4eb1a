"""Evaluate a training workdir (or compare two) and write the report: the launch/eval.py work.

Every `config.evals` entry runs on the restored checkpoint through the evaluators training
runs (`evaluators`; the model of `restore`): the cells of the robustness entries make the
robustness report (statistics from `robustness`, files from `report`), the scalars of the
other entries (accuracy) go to report/scalars.{json,md} and report/tensorboard. Saved
predictions carry the settings of the evaluation that made them (`evaluation_settings`)
and their fingerprint; compare mode reuses them only when the fingerprint matches.

Evaluation is data parallel over every device of every process: the mesh and logical-axis
rules are the config's, as in training (`config.mesh`, `config.axis_rules`), the
parameters are placed as training places them and batches are sharded on their rows and
example slots. Every process computes every result; only process 0 writes files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import time
from typing import Any

import jax
import numpy as np
from absl import logging
from flax import nnx
from jax.experimental import multihost_utils

from mrc_jax.eval import evaluators, inputs, report, restore, results, robustness
from mrc_jax.eval.evaluators import robustness as robustness_evaluator
from mrc_jax.train import partitioning, run_spec

REPORT_DIR = "report"
PREDICTIONS = "predictions.jsonl"
ROBUSTNESS = robustness_evaluator.TYPE  # the entry type whose cells make the report
# A config without a mesh (an evaluation-only one) splits batches over every device.
DEFAULT_MESH = (("data", -1),)
DEFAULT_AXIS_RULES = (("batch", "data"),)


@dataclasses.dataclass
class ReportOptions:
  step: int | None = None  # checkpoint step; None = latest
  data_dir: str | None = None
  num_resamples: int = 1000
  seed: int = 0


def run_name(workdir: str) -> str:
  return pathlib.Path(workdir).resolve().name


def robustness_entries(config) -> dict[str, Any]:
  """The fields of every robustness entry, once every entry checks; none is an error."""
  found = {
    name: entry.fields
    for name, entry in evaluators.entries(config).items()
    if entry.type == ROBUSTNESS
  }
  if not found:
    raise ValueError(
      "config.evals has no robustness entry (e.g. config.evals.robustness = "
      "dict(type='robustness', tasks=(...), attacks=('charswap',), "
      "split='test'))"
    )
  return found


def evaluation_settings(config, workdir: str, step: int) -> dict:
  """Everything that decides a workdir's predictions: each robustness entry (tasks,
  split, attacks, num_examples, perturbation seed, length, window stride), the span
  decoding limit, the workdir's choice layout and the checkpoint step."""
  spec = run_spec.read(workdir)
  return {
    "entries": [
      inputs.entry_settings(config, name, entry)
      for name, entry in robustness_entries(config).items()
    ],
    "max_answer_length": robustness_evaluator.max_answer_length(config),
    "null_score_threshold": robustness_evaluator.null_score_threshold(config),
    "options_first": spec.options_first,
    "checkpoint_step": int(step),
  }


def fingerprint(settings: dict) -> str:
  return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


@dataclasses.dataclass
class Restored:
  """A workdir's checkpoint and the evaluators of every `config.evals` entry."""

  evals: dict  # name -> (registry.Entry, evaluator)
  params: Any
  step: int


def restore_evals(config, workdir: str, options: ReportOptions) -> Restored:
  entries = evaluators.entries(config)  # a bad entry fails before the checkpoint is read
  if not entries:
    raise ValueError("config.evals has no entry: nothing to evaluate")
  inputs.check_distinct({n: e.fields for n, e in entries.items() if e.type == ROBUSTNESS})
  model_of, params, spec, step = restore.load_evaluable(workdir, options.step)
  mesh = partitioning.make_mesh(config.get("mesh", DEFAULT_MESH))
  rules = [tuple(r) for r in config.get("axis_rules", DEFAULT_AXIS_RULES)]
  context = evaluators.EvalContext(
    config,
    spec,
    model_of,
    mesh=mesh,
    rules=rules,
    data_dir=options.data_dir or config.data.get("data_dir") or None,
  )
  params = place_params(model_of, params, mesh, rules)
  return Restored(evaluators.build(entries, context), params, step)


def place_params(model_of, params, mesh, rules):
  """This process's copy of the parameters -> global arrays sharded by their logical axes
  (replicated where no rule applies), as the trainer places them."""
  abstract = nnx.state(nnx.eval_shape(lambda: model_of(params)), nnx.Param)
  shardings = partitioning.param_shardings(abstract, rules, mesh)
  host = jax.device_get(nnx.State(params).to_pure_dict())  # as the trainer's, a pure dict
  return jax.tree.map(
    lambda value, sharding: jax.make_array_from_callback(
      value.shape, sharding, lambda index: np.asarray(value)[index]
    ),
    host,
    shardings,
  )


def _writes() -> bool:
  """Whether this process writes the report: process 0 of several."""
  return jax.process_index() == 0


def _written() -> None:
  """Every process waits until process 0 has written its files (compare mode reads them)."""
  if jax.process_count() > 1:
    multihost_utils.sync_global_devices("mrc_jax eval report written")


def predict_workdir(
  config, workdir: str, options: ReportOptions, restored: Restored | None = None
) -> tuple[list[results.CellResult], dict]:
  """Per-example results of every robustness cell, and facts about the loop."""
  robustness_entries(config)  # none is an error before the checkpoint is read
  restored = restored or restore_evals(config, workdir, options)
  settings = evaluation_settings(config, workdir, restored.step)
  chosen = [ev for entry, ev in restored.evals.values() if entry.type == ROBUSTNESS]
  begin = time.perf_counter()
  cell_results = [cell for ev in chosen for cell in ev.cells(restored.params)]
  seconds = time.perf_counter() - begin
  examples = sum(len(cell.ids) for cell in cell_results)
  compilations = chosen[0].loop.num_compilations
  info = {
    "runs": [run_name(workdir)],
    "workdir": os.path.abspath(workdir),
    "checkpoint_step": restored.step,
    "compilations": compilations,
    "cells": len(cell_results),
    "examples": examples,
    "eval_seconds": round(seconds, 3),
    "examples_per_second": round(examples / max(seconds, 1e-9), 1),
    "device": str(jax.devices()[0].device_kind),
    "devices": jax.device_count(),
    "evaluation": settings,
    "eval_fingerprint": fingerprint(settings),
  }
  logging.info(
    "evaluated %d cells, %d examples in %.1fs with %d compilations",
    len(cell_results),
    examples,
    seconds,
    compilations,
  )
  return cell_results, info


def evaluate_workdir(config, workdir: str, options: ReportOptions) -> dict[str, pathlib.Path]:
  """Writes into WORKDIR/report/ the robustness entries' robustness.{json,csv,md,png},
  predictions.jsonl and tensorboard/, and the other entries' scalars.{json,md}.

  Every process evaluates; process 0 writes and returns the paths, the others return none.
  """
  restored = restore_evals(config, workdir, options)
  out_dir = pathlib.Path(workdir) / REPORT_DIR
  paths = {}
  scalars = {}
  for entry, ev in restored.evals.values():
    if entry.type != ROBUSTNESS:
      scalars.update(ev(restored.params))
  if _writes():
    out_dir.mkdir(parents=True, exist_ok=True)
  if scalars and _writes():
    paths.update(report.write_scalars(out_dir, scalars, step=restored.step))
  if any(entry.type == ROBUSTNESS for entry, _ in restored.evals.values()):
    paths.update(_write_robustness(config, workdir, options, restored, out_dir))
  _written()
  if paths:
    logging.info("wrote %s", ", ".join(str(p) for p in paths.values()))
  return paths


def _write_robustness(config, workdir, options, restored, out_dir) -> dict[str, pathlib.Path]:
  cell_results, info = predict_workdir(config, workdir, options, restored)
  if not _writes():
    return {}
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
  robustness_entries(config)
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
  if not _writes():
    return {}
  return report.write_comparison(pathlib.Path(workdir_a) / REPORT_DIR / "compare", rows, info)
