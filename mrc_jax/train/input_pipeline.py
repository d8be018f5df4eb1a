"""Deterministic, resumable multi-task input: which example fills which batch slot.

The position of the pipeline is ``{"step": s, "consumed": {task: n}}``. The tasks of
step ``s``'s slots are drawn from a generator seeded by ``(seed, s)``, and each task's
examples are read by index, so the batches after a resume are exactly those of an
uninterrupted run. Every host computes the same slot assignment and builds only its own
slots (its shard of the global batch).

Batching (Muppet's ablation):
  heterogeneous  every slot draws its task independently, by rate;
  homogeneous    every batch draws one task, by rate;
  sequential     tasks one after another, each for its share (by rate) of total_steps.
"""

from __future__ import annotations

import zlib
from typing import Callable, Sequence

import jax
import numpy as np
from absl import logging

from mrc_jax.data import features, tasks, vocab
from mrc_jax.models import families
from mrc_jax.models.multitask import HeadSpec
from mrc_jax.train import partitioning

BATCHING = ("heterogeneous", "homogeneous", "sequential")
# Third entry of the subset and epoch-order generators' seeds: keeps them apart from the
# per-task epoch shuffles.
_SUBSET_STREAM, _EPOCH_STREAM = 1, 2


def subset_indices(num_examples: int, fraction: float, seed: int, task: str) -> np.ndarray:
  """Sorted indices of the ``fraction`` subset of a task's ``num_examples`` examples.

  The first ``round(fraction * n)`` (at least 1) of one permutation seeded by ``(seed,
  task)``: the same subset for the same seed and fraction, its own for every task, and
  nested across fractions (the 10% subset lies inside the 25% one).
  """
  if not 0.0 < fraction <= 1.0:
    raise ValueError(f"task {task!r}: train fraction {fraction} is not in (0, 1]")
  order = np.random.default_rng([seed, zlib.crc32(task.encode()), _SUBSET_STREAM]).permutation(
    num_examples
  )
  return np.sort(order[: max(1, int(round(fraction * num_examples)))])


class ExampleSource:
  """Random access to a registered task's examples; the train split repeats in reshuffled
  epochs.

  ``ordered=True`` keeps the file order (evaluation reads each example once).
  ``fraction < 1`` keeps only the :func:`subset_indices` subset (the sample-efficiency
  ablation's ``data.train_fraction``); epochs then run over that subset. Procedural tasks
  (the built-in synthetic ones) make example i on demand.
  """

  def __init__(
    self,
    task: str,
    split: str,
    seed: int,
    data_dir: str | None = None,
    ordered: bool = False,
    fraction: float = 1.0,
  ):
    self.task, self.split, self.seed, self.ordered = task, split, seed, ordered
    self._task = tasks.get(task)
    if self._task.procedural:
      self._examples = None
    else:
      self._examples = list(self._task.examples(split, data_dir))
      if not self._examples:
        raise ValueError(f"task {task!r} split {split!r} has no examples")
    if fraction != 1.0:
      if self._examples is None:
        raise ValueError(
          f"task {task!r}: a train fraction needs a finite split; "
          "the synthetic train split is endless"
        )
      keep = subset_indices(len(self._examples), fraction, seed, task)
      logging.info(
        "%s (%s): training on %d of %d examples (fraction %g, seed %d)",
        task,
        split,
        len(keep),
        len(self._examples),
        fraction,
        seed,
      )
      self._examples = [self._examples[i] for i in keep]

  @property
  def num_examples(self) -> int | None:
    """Examples in one epoch; None for an endless (procedural train) split."""
    if self._examples is None:
      return self._task.num_input_examples(self.split)
    return len(self._examples)

  def __getitem__(self, index: int) -> dict:
    if self._examples is None:
      return self._task.example_at(self.split, index, self.seed)
    n = len(self._examples)
    if self.ordered:
      return self._examples[index]
    epoch, offset = divmod(index, n)
    order = np.random.default_rng([self.seed, epoch]).permutation(n)
    return self._examples[order[offset]]


class MixtureSampler:
  """The task index of every slot of a step, a pure function of (seed, step).

  ``epoch_sizes`` (the mixture's epoch mode, heterogeneous batching only): slots are drawn
  without replacement, each epoch a seeded permutation of every example of every task, so
  each example is seen once per epoch; otherwise each slot draws its task by rate.
  """

  def __init__(
    self,
    rates: Sequence[float],
    batching: str,
    seed: int,
    total_steps: int,
    epoch_sizes: Sequence[int] | None = None,
  ):
    if batching not in BATCHING:
      raise ValueError(f"batching {batching!r} is not one of {BATCHING}")
    rates = np.asarray(rates, np.float64)
    if rates.ndim != 1 or not len(rates) or (rates <= 0).any():
      raise ValueError(f"task rates must be positive, got {rates.tolist()}")
    self.probs = rates / rates.sum()
    self.batching, self.seed = batching, seed
    # Sequential: task k owns steps [bounds[k], bounds[k + 1]).
    self.bounds = np.round(np.concatenate([[0], np.cumsum(self.probs)]) * total_steps)
    self._epoch_tasks = None
    if epoch_sizes is not None:
      if batching != "heterogeneous":
        raise ValueError(f"epoch mixing draws slots one by one; batching {batching!r} cannot")
      if any(not n for n in epoch_sizes):
        raise ValueError(f"epoch mixing needs finite tasks, got sizes {list(epoch_sizes)}")
      self._epoch_tasks = np.repeat(np.arange(len(epoch_sizes)), epoch_sizes)  # [N]
      self._epoch, self._order = -1, None

  def _epoch_order(self, epoch: int) -> np.ndarray:
    if epoch != self._epoch:  # one permutation per epoch, kept while the epoch lasts
      rng = np.random.default_rng([self.seed, epoch, _EPOCH_STREAM])
      self._epoch, self._order = epoch, self._epoch_tasks[rng.permutation(len(self._epoch_tasks))]
    return self._order

  def tasks_of_step(self, step: int, num_slots: int) -> np.ndarray:
    """``[num_slots]`` task indices for the global batch of ``step``."""
    if self._epoch_tasks is not None:
      slots = np.arange(step * num_slots, (step + 1) * num_slots)
      epochs, offsets = np.divmod(slots, len(self._epoch_tasks))
      return np.array([self._epoch_order(int(e))[o] for e, o in zip(epochs, offsets)])
    rng = np.random.default_rng([self.seed, step])
    if self.batching == "heterogeneous":
      return rng.choice(len(self.probs), size=num_slots, p=self.probs)
    if self.batching == "homogeneous":
      return np.full(num_slots, rng.choice(len(self.probs), p=self.probs))
    task = int(np.searchsorted(self.bounds, step, side="right") - 1)
    return np.full(num_slots, min(task, len(self.probs) - 1))


class TrainInput:
  """Yields this host's part of each global batch as ``accum`` stacked micro-batches.

  ``convert(examples) -> (batch dict of numpy arrays, host meta)`` builds one micro-batch
  in the rows + examples format from unified examples (see :func:`make_converter`).
  """

  def __init__(
    self,
    tasks: Sequence[str],
    sources: Sequence[ExampleSource],
    sampler: MixtureSampler,
    batch_size: int,
    accum_steps: int,
    convert: Callable,
    process_index: int = 0,
    process_count: int = 1,
  ):
    if batch_size % (accum_steps * process_count):
      raise ValueError(
        f"batch_size {batch_size} is not divisible by accumulation steps "
        f"({accum_steps}) x processes ({process_count})"
      )
    self.tasks, self.sources, self.sampler = list(tasks), list(sources), sampler
    self.batch_size, self.accum_steps, self.convert = batch_size, accum_steps, convert
    self.process_index, self.process_count = process_index, process_count
    self.step = 0
    self.consumed = {t: 0 for t in self.tasks}

  def position(self) -> dict:
    return {"step": self.step, "consumed": dict(self.consumed)}

  def restore(self, position: dict) -> None:
    unknown = set(position["consumed"]) - set(self.tasks)
    if unknown:
      raise ValueError(
        f"checkpointed input position names tasks not in this run: {sorted(unknown)}"
      )
    self.step = int(position["step"])
    self.consumed = {t: int(position["consumed"].get(t, 0)) for t in self.tasks}

  def _slot_examples(self) -> tuple[np.ndarray, list[int]]:
    """Task index and example index of every global slot; advances the position."""
    slot_tasks = self.sampler.tasks_of_step(self.step, self.batch_size)
    indices = []
    for t in slot_tasks:
      name = self.tasks[t]
      indices.append(self.consumed[name])
      self.consumed[name] += 1
    self.step += 1
    return slot_tasks, indices

  def __iter__(self):
    return self

  def __next__(self) -> tuple[dict, list]:
    slot_tasks, indices = self._slot_examples()
    micro = self.batch_size // self.accum_steps
    local = micro // self.process_count
    batches, metas = [], []
    for a in range(self.accum_steps):
      start = a * micro + self.process_index * local
      slots = range(start, start + local)
      examples = [self.sources[slot_tasks[j]][indices[j]] for j in slots]
      batch, meta = self.convert(examples)
      batches.append(batch)
      metas.append(meta)
    stacked = {k: np.stack([b[k] for b in batches]) for k in batches[0]}  # [accum, ...]
    return stacked, metas


def decoder_layout(model_config: families.ModelConfig) -> features.DecoderLayout | None:
  """The batches' decoder layout for an encoder-decoder, None for an encoder."""
  if not families.is_seq2seq(model_config):
    return None
  return features.DecoderLayout(
    start_id=model_config.decoder_start_token_id, wrap_last=model_config.model_type == "mbart"
  )


def _slots_and_rows(
  num_examples: int, max_choices: int, rows_per_batch: int, slots_per_batch: int
) -> tuple[int, int]:
  """Example slots and rows of one micro-batch (:func:`make_converter`'s defaults)."""
  slots = slots_per_batch or num_examples
  return slots, rows_per_batch or slots * max_choices


def make_converter(
  tokenizer_dir: str,
  tasks: Sequence[str],
  head_of_task: Sequence[int],
  head_specs: Sequence[HeadSpec],
  *,
  num_examples: int,
  max_length: int,
  max_choices: int,
  rows_per_batch: int = 0,
  slots_per_batch: int = 0,
  options_first: bool = False,
  skip_overlong: bool = False,
  decoder: features.DecoderLayout | None = None,
) -> Callable:
  """``convert(examples) -> (batch, meta)``: exactly one fixed-shape micro-batch.

  One length bucket, ``slots_per_batch`` example slots (default ``num_examples``; span
  examples take one slot per context window, so long-context tasks need more slots than
  examples) and ``rows_per_batch`` rows (default: every choice of every slot in a row of
  its own) make every batch the same shape, so the step compiles once and micro-batches
  stack for accumulation. Fewer examples than ``num_examples`` leave
  padding slots; examples that need more room (long contexts split into several span
  windows) are an error naming the tasks, never dropped. With ``skip_overlong`` an example
  whose question or option alone exceeds ``max_length`` leaves its slot empty and is logged
  by id (otherwise it is an error). ``decoder`` (an encoder-decoder's layout) adds the
  decoder arrays; its rows are never packed.
  """
  tokenizer = vocab.load_tokenizer(tokenizer_dir)
  slots, rows = _slots_and_rows(num_examples, max_choices, rows_per_batch, slots_per_batch)
  heads = list(head_specs)
  num_classes = {
    t: heads[h].num_labels for t, h in zip(tasks, head_of_task) if heads[h].kind == "classification"
  }
  kwargs = dict(
    task_index={t: i for i, t in enumerate(tasks)},
    head_index=dict(zip(tasks, head_of_task)),
    num_classes=num_classes,
    examples_per_batch=slots,
    rows_per_batch=rows,
    lengths=(max_length,),
    max_choices=max_choices,
    options_first=options_first,
    skip_overlong=skip_overlong,
    decoder=decoder,
    pack=decoder is None,  # a decoder attends across its whole row
  )

  def convert(examples: Sequence[dict]) -> tuple[dict, list]:
    if not examples:  # a host past the end of an evaluation split still joins the step
      padding = features.padding_batch(
        rows, max_length, slots, max_choices, tokenizer.pad_id, decoder
      )
      return padding, []
    batches = list(features.make_batches(examples, tokenizer, **kwargs))
    if len(batches) != 1:
      raise ValueError(
        f"{len(examples)} examples of tasks {sorted({e['task'] for e in examples})} "
        f"need {len(batches)} batches of {slots} slots x "
        f"{max_length} tokens; raise data.max_length, data.slots_per_batch or "
        "data.rows_per_batch"
      )
    return batches[0]

  return convert


def batch_spec(
  *,
  num_examples: int,
  max_length: int,
  max_choices: int,
  rows_per_batch: int = 0,
  slots_per_batch: int = 0,
  accum: int | None = None,
  decoder: bool = False,
) -> dict[str, jax.ShapeDtypeStruct]:
  """Shapes and dtypes of :func:`make_converter`'s micro-batch with the same layout.

  Known before any data is read, so the step compiles (and its FLOPs are counted) before
  the first batch. With ``accum``, the ``[accum, ...]`` stack :class:`TrainInput` yields;
  ``decoder``: with an encoder-decoder's decoder arrays.
  """
  slots, rows = _slots_and_rows(num_examples, max_choices, rows_per_batch, slots_per_batch)
  shapes = features.batch_shapes(rows, max_length, slots, max_choices, decoder)
  lead = () if accum is None else (accum,)
  return {key: jax.ShapeDtypeStruct(lead + shape, dtype) for key, (shape, dtype) in shapes.items()}


def host_layout(config) -> dict:
  """The fields of ``config.data`` that fix this host's micro-batch shapes.

  ``data.rows_per_batch`` and ``data.slots_per_batch`` count the global micro-batch, as
  ``batch_size`` does, so the global shapes do not depend on the number of hosts; each
  host builds its ``1 / jax.process_count()`` share.
  """
  data, hosts = config.data, jax.process_count()
  share = {}
  for key in ("rows_per_batch", "slots_per_batch"):
    value = int(data.get(key, 0))
    if value % hosts:
      raise ValueError(f"data.{key}={value} is not divisible by the {hosts} processes")
    share[key] = value // hosts
  return dict(max_length=data.max_length, max_choices=data.max_choices, **share)


def global_batch(local: dict, mesh, rules, batch_axis: int = 0) -> dict:
  """This host's numpy batch -> global arrays sharded on ``batch_axis`` over the mesh.

  Hosts stack their rows and slots into the global batch, so the row indices of their
  examples (``features.ROW_INDEX_ARRAYS``), which count this host's rows, become the
  global indices of those rows.
  """

  def place(value):
    sharding = partitioning.batch_sharding(mesh, rules, value.ndim, batch_axis)
    return jax.make_array_from_process_local_data(sharding, value)

  ids = place(local["input_ids"])  # [..., R, L], R over every host
  # This host's rows lie in the global batch where its devices' shards do, in that order.
  spans = sorted(
    {s.index[batch_axis].indices(ids.shape[batch_axis]) for s in ids.addressable_shards}
  )
  rows = np.concatenate([np.arange(start, stop) for start, stop, _ in spans])  # [R_local]
  return {
    k: ids if k == "input_ids" else place(v)
    for k, v in features.to_global_rows(local, rows).items()
  }


def config_converter(
  config,
  tokenizer_dir: str,
  tasks: Sequence[str],
  head_of_task: Sequence[int],
  head_specs: Sequence[HeadSpec],
  num_examples: int,
  decoder: features.DecoderLayout | None = None,
) -> Callable:
  """:func:`make_converter` with the batch layout of ``config.data`` (training and its
  periodic evaluation share it)."""
  data = config.data
  return make_converter(
    tokenizer_dir,
    tasks,
    head_of_task,
    head_specs,
    num_examples=num_examples,
    options_first=data.get("options_first", False),
    skip_overlong=data.get("skip_overlong", False),
    decoder=decoder,
    **host_layout(config),
  )


def config_batch_spec(
  config, num_examples: int, accum: int | None = None, decoder: bool = False
) -> dict[str, jax.ShapeDtypeStruct]:
  """:func:`batch_spec` of :func:`config_converter`'s batches."""
  return batch_spec(num_examples=num_examples, accum=accum, decoder=decoder, **host_layout(config))
