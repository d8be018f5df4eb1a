"""Training metrics: writers (TensorBoard + JSON lines), FLOPs, MFU and the progress line."""

from __future__ import annotations

import datetime
import json
import os
import time
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np
from clu import metric_writers

from mrc_jax.models.encoder import EncoderConfig

# Dense peak FLOP/s per chip for the compute dtype of the first column (vendor figures).
_PEAK_FLOPS = {
  "TPU v4": 275e12,
  "TPU v5 lite": 197e12,
  "TPU v5e": 197e12,
  "TPU v5p": 459e12,
  "TPU v5": 459e12,
  "TPU v6 lite": 918e12,
  "TPU v6e": 918e12,
  "NVIDIA H100": 989e12,
  "NVIDIA H200": 989e12,
  "NVIDIA A100": 312e12,
}


class JsonLinesWriter(metric_writers.MetricWriter):
  """Appends ``{"step": s, name: value, ...}`` lines to a file; keeps scalars and texts.

  Images, audio, video, histograms and raw summaries belong to TensorBoard only, so
  this writer accepts and ignores them.
  """

  def __init__(self, path: str):
    self._file = open(path, "a", encoding="utf-8")

  def write_scalars(self, step: int, scalars: Mapping[str, Any]):
    record = {"step": int(step)}
    record.update({k: float(np.asarray(v)) for k, v in scalars.items()})
    self._file.write(json.dumps(record) + "\n")

  def write_texts(self, step: int, texts: Mapping[str, str]):
    self._file.write(json.dumps({"step": int(step), **texts}, ensure_ascii=False) + "\n")

  def write_hparams(self, hparams: Mapping[str, Any]):
    self._file.write(json.dumps({"hparams": hparams}, default=str) + "\n")

  def write_summaries(self, step, values, metadata=None):
    del step, values, metadata

  def write_images(self, step, images):
    del step, images

  def write_videos(self, step, videos):
    del step, videos

  def write_audios(self, step, audios, *, sample_rate):
    del step, audios, sample_rate

  def write_histograms(self, step, arrays, num_buckets=None):
    del step, arrays, num_buckets

  def flush(self):
    self._file.flush()

  def close(self):
    self._file.close()


def create_writer(workdir: str) -> metric_writers.MetricWriter:
  """TensorBoard + log + ``workdir/metrics.jsonl`` on process 0; log only elsewhere."""
  if jax.process_index() > 0:
    return metric_writers.create_default_writer(just_logging=True)
  default = metric_writers.create_default_writer(os.path.join(workdir, "tensorboard"))
  return metric_writers.MultiWriter(
    [default, JsonLinesWriter(os.path.join(workdir, "metrics.jsonl"))]
  )


def encoder_train_flops(config: EncoderConfig, rows: int, length: int) -> float:
  """Model FLOPs of one forward + backward pass over ``[rows, length]`` tokens.

  Counts the matmuls (2 FLOPs per multiply-add): projections and MLP per token, plus
  the two attention products per token pair; backward costs twice the forward.
  """
  e, m, layers = config.hidden_size, config.intermediate_size, config.num_layers
  per_token_matmul = 2 * (4 * e * e + 2 * e * m) * layers
  attention = 2 * 2 * length * e * layers
  return 3.0 * rows * length * (per_token_matmul + attention)


def seq2seq_train_flops(config, rows: int, length: int, lm_head: bool) -> float:
  """:func:`encoder_train_flops` of an encoder-decoder (``Seq2SeqConfig``) reading
  ``[rows, length]`` tokens on each side; ``lm_head``: the vocabulary projection runs on
  every decoder position (a generation head)."""
  e, f, inner = config.d_model, config.d_ff, config.inner_dim
  mlp = (3 if config.gated_mlp else 2) * e * f
  attention = 2 * 2 * length * inner  # scores and values, per token and attention block
  encoder = (4 * e * inner + mlp) * 2 + attention
  # Self-attention, cross-attention (its keys and values over the source's tokens) and MLP.
  decoder = (4 * e * inner + 4 * e * inner + mlp) * 2 + 2 * attention
  per_token = encoder * config.encoder_layers + decoder * config.decoder_layers
  if lm_head:
    per_token += 2 * e * config.vocab_size
  return 3.0 * rows * length * per_token


def _measured_peak_flops() -> float:
  """Throughput of a large float32 matmul on this device: the reference where no vendor
  figure exists (CPUs)."""
  n = 1024
  a = jnp.ones((n, n), jnp.float32)
  f = jax.jit(lambda x: x @ x)
  f(a).block_until_ready()
  reps = 8
  start = time.perf_counter()
  for _ in range(reps):
    out = f(a)
  out.block_until_ready()
  return 2 * n**3 * reps / (time.perf_counter() - start)


def peak_flops_per_device(override: float = 0.0) -> tuple[float, str]:
  """(peak FLOP/s of one device, where the figure comes from)."""
  if override:
    return float(override), "config.peak_flops_per_device"
  kind = jax.devices()[0].device_kind
  for name, flops in _PEAK_FLOPS.items():
    if kind.startswith(name):
      return flops, f"vendor peak for {kind}"
  return _measured_peak_flops(), f"measured float32 matmul throughput on {kind}"


class Progress:
  """Steps/s, tokens/s, MFU and an ETA over the interval since the last report."""

  def __init__(self, total_steps: int, first_step: int, flops_per_step: float, peak_flops: float):
    self.total_steps, self.flops_per_step, self.peak_flops = total_steps, flops_per_step, peak_flops
    self._step, self._time = first_step, time.perf_counter()

  def update(self, step: int, tokens: float) -> dict:
    now = time.perf_counter()
    steps, seconds = step - self._step, max(now - self._time, 1e-9)
    self._step, self._time = step, now
    steps_per_sec = steps / seconds
    return dict(
      steps_per_sec=steps_per_sec,
      tokens_per_sec=tokens / seconds,
      mfu=self.flops_per_step * steps_per_sec / self.peak_flops,
    )

  def line(self, step: int, loss: float, rates: dict) -> str:
    left = (self.total_steps - step) / max(rates["steps_per_sec"], 1e-9)
    eta = datetime.timedelta(seconds=int(left))
    return (
      f"step {step}/{self.total_steps} | loss {loss:.4f} | "
      f"{rates['steps_per_sec']:.2f} steps/s | {rates['tokens_per_sec']:.0f} tokens/s | "
      f"MFU {100 * rates['mfu']:.2f}% | ETA {eta}"
    )


def summarise(sums: Mapping[str, np.ndarray], task_names: list[str]) -> dict:
  """Divides accumulated sums once: batch loss and per-task loss / accuracy."""
  out = {"loss": float(sums["loss_sum"] / max(float(sums["examples"]), 1.0))}
  for t, name in enumerate(task_names):
    count = float(sums["task_count"][t])
    if count:
      out[f"loss/{name}"] = float(sums["task_loss"][t] / count)
      out[f"accuracy/{name}"] = float(sums["task_correct"][t] / count)
  return out
