"""Evaluation: metrics, the pure eval loop, robustness statistics and the report.

  metrics      accuracy; EM / F1 by each dataset's official script (SQuAD v1.1/v2.0, MLQA)
  evaluator    jitted predict + decode per head kind; the loop over (task, lang, attack) cells
  results      per-example results of a cell and the predictions JSONL
  bootstrap    seeded, vectorised bootstrap intervals; paired tests (McNemar, bootstrap)
  robustness   drop, relative robustness, flip rate, gap to English, aggregates, comparison
  report       robustness.{json,csv,md,png}, scalars.{json,md}, TensorBoard scalars, compare mode
  restore      the model of a training workdir at a checkpoint step
  evaluators   the `config.evals` registry: accuracy and robustness, in training and eval.py
  inputs       cells of `config.evals` robustness entries
  run          the work of launch/eval.py

Submodules are imported explicitly (`from mrc_jax.eval import metrics`), so using the
metrics does not load JAX.
"""
