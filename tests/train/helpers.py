"""Tiny configs, head tables and hand-built "rows + examples" batches for train tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np

from configs import smoke
from mrc_jax.data import tasks
from mrc_jax.models.encoder import EncoderConfig
from mrc_jax.models.multitask import HeadSpec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VOCAB = 64
HEADS = [
  HeadSpec("pair", "classification", 3),
  HeadSpec("multiple_choice", "multiple_choice"),
  HeadSpec("span", "span"),
  HeadSpec("score", "regression"),
]
# The task of each task id of mixed_batch (one per head above).
TASKS = ("pair.en", "choice.en", "span.en", "score.en")


# launch/train.py flags of a tiny smoke run (2 layers, 32 wide, batch 8) for subprocess tests.
TINY_SMOKE_FLAGS = [
  "--config=configs/smoke.py",
  "--config.batch_size=8",
  "--config.model.hidden_size=32",
  "--config.model.intermediate_size=64",
]


def mixture_of(*names: str) -> str:
  """A registered mixture of the given tasks at equal rates (named after them)."""
  return tasks.register_mixture("test_" + "+".join(names), [(n, 1.0) for n in names])


def tiny_config(**overrides):
  """The smoke config shrunk to a 2-layer, 32-wide encoder without dropout."""
  config = smoke.get_config("")
  config.model.update(
    hidden_size=32, num_layers=2, num_heads=4, intermediate_size=64, max_position_embeddings=64
  )
  config.total_steps = 10
  config.batch_size = 8
  config.log_every_steps = 5
  config.eval_every_steps = 0
  for key, value in overrides.items():
    node = config
    *parents, leaf = key.split(".")
    for p in parents:
      node = node[p]
    node[leaf] = value
  return config


def encoder_config(config) -> EncoderConfig:
  return EncoderConfig(**dict(config.model, vocab_size=VOCAB))


def mixed_batch(
  seed: int, *, rows: int = 8, length: int = 12, examples: int = 4, choices: int = 4
) -> dict:
  """One micro-batch with a classification, a multiple-choice (3 real choices), a span
  and a regression example; slots past the fourth are padding. Row r holds one sequence
  of random length starting with token 2 ([CLS])."""
  rng = np.random.default_rng(seed)
  ids = rng.integers(5, VOCAB, (rows, length)).astype(np.int32)
  ids[:, 0] = 2
  lengths = rng.integers(length // 2, length + 1, rows)
  seg = (np.arange(length)[None] < lengths[:, None]).astype(np.int32)
  ids = np.where(seg > 0, ids, 0).astype(np.int32)
  batch = dict(
    input_ids=ids,
    token_type_ids=np.zeros_like(ids),
    segment_ids=seg,
    positions=np.broadcast_to(np.arange(length, dtype=np.int32), ids.shape).copy(),
    example_mask=np.zeros(examples, np.float32),
    task_id=np.zeros(examples, np.int32),
    head_id=np.zeros(examples, np.int32),
    num_classes=np.ones(examples, np.int32),
    pool_row=np.zeros((examples, choices), np.int32),
    pool_pos=np.zeros((examples, choices), np.int32),
    choice_mask=np.zeros((examples, choices), np.float32),
    label=np.zeros(examples, np.int32),
    span_start=np.zeros(examples, np.int32),
    span_end=np.zeros(examples, np.int32),
    target=np.zeros(examples, np.float32),
  )
  real = min(examples, 4)
  batch["example_mask"][:real] = 1
  batch["task_id"][:real] = np.arange(real)
  batch["head_id"][:real] = np.arange(real)
  # 0: classification on row 0, 3 classes.
  batch["num_classes"][0], batch["label"][0], batch["choice_mask"][0, 0] = 3, rng.integers(3), 1
  # 1: multiple choice over rows 1..3 (3 real choices of 4 slots).
  if real > 1:
    batch["pool_row"][1, :3] = [1, 2, 3]
    batch["choice_mask"][1, :3] = 1
    batch["num_classes"][1], batch["label"][1] = 3, rng.integers(3)
  # 2: span in row 4.
  if real > 2:
    batch["pool_row"][2, 0], batch["choice_mask"][2, 0] = 4, 1
    start = rng.integers(1, lengths[4] - 1)
    batch["span_start"][2], batch["span_end"][2] = start, start + 1
    batch["num_classes"][2] = lengths[4]
  # 3: regression on row 5.
  if real > 3:
    batch["pool_row"][3, 0], batch["choice_mask"][3, 0] = 5, 1
    batch["target"][3] = rng.normal()
  return batch


def stack(micro_batches: list[dict]) -> dict:
  """Micro-batches -> one accumulated batch with a leading ``[accum]`` axis."""
  return {k: np.stack([b[k] for b in micro_batches]) for k in micro_batches[0]}


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def launch(
  script: str, args: list[str], log_prefix: str, processes: int, devices: int = 8, env=None
) -> tuple[list[subprocess.Popen], list[str]]:
  """``script`` on ``processes`` processes sharing ``devices`` CPU devices, joined through
  a localhost coordinator as README's launch recipe says; each logs to LOG_PREFIX.P.I.log.
  Returns the processes and their log files."""
  port = free_port()
  procs, logs = [], []
  for index in range(processes):
    env_ = dict(
      env or os.environ,
      PYTHONPATH=ROOT,
      JAX_PLATFORMS="cpu",
      XLA_FLAGS=f"--xla_force_host_platform_device_count={devices // processes}",
    )
    if processes > 1:
      env_.update(
        JAX_COORDINATOR_ADDRESS=f"localhost:{port}",
        JAX_NUM_PROCESSES=str(processes),
        JAX_PROCESS_ID=str(index),
      )
    logs.append(f"{log_prefix}.{processes}.{index}.log")
    with open(logs[-1], "w") as log:
      procs.append(
        subprocess.Popen(
          [sys.executable, script, *args], cwd=ROOT, env=env_, stdout=log, stderr=subprocess.STDOUT
        )
      )
  return procs, logs


def wait(procs: list[subprocess.Popen], timeout: float = 600) -> list[int]:
  """Every process's exit status; one left waiting for a dead peer is killed."""
  try:
    return [p.wait(timeout=timeout) for p in procs]
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()


def tails(logs: list[str]) -> str:
  return "\n".join(f"--- {name}\n{open(name).read()[-3000:]}" for name in logs)
