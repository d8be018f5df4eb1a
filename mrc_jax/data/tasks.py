"""seqio registrations. Importing this module registers:

* every clean file-backed task of ``catalog`` (``xquad.de``, ``belebele.deu_Latn``,
  ``exams.it``, ``xcopa.it``, ``race.high``, ``advrace.de``, ...);
* every perturbed ``CLEAN.ATTACK`` for each attack of ``mrc_jax.perturb.list_attacks()``
  (perturbed with ``load.PERTURB_SEED``; the perturbation package is imported only when such a
  task is read, so a problem there never breaks clean tasks);
* every Muppet dataset as ``muppet.NAME`` and the mixtures ``muppet_all``,
  ``muppet_multilingual`` and ``muppet_Ntasks`` at natural rates.

Tasks carry the unified example as raw text features (tokenisation belongs to the checkpoint,
so one registry serves BERT, RoBERTa and XLM-R runs alike); :func:`seqio_batches` turns a task
or mixture into model batches with ``features.make_batches``. ``seqio.FeatureConverter`` is
not used for that step: its validation assumes one rank-1 feature per example, while the
rows + examples batch packs sequences of many examples into shared rows.

Data directory: ``set_data_dir(path)`` or ``MRC_JAX_DATA_DIR``, read when a dataset is built.
"""

from __future__ import annotations

import functools
import json
from typing import Iterable, Iterator, Mapping

import numpy as np
import seqio
import tensorflow as tf

from mrc_jax.data import catalog, load, muppet
from mrc_jax.data.features import make_batches
from mrc_jax.data.mixing import MixingConfig, mixing_rates, sample_fn
from mrc_jax.data.schema import example_kind

_DATA_DIR: str | None = None

EXAMPLE_SIGNATURE = {
  "id": tf.TensorSpec([], tf.string),
  "task": tf.TensorSpec([], tf.string),
  "lang": tf.TensorSpec([], tf.string),
  "kind": tf.TensorSpec([], tf.string),
  "context": tf.TensorSpec([], tf.string),
  "question": tf.TensorSpec([], tf.string),
  "options": tf.TensorSpec([None], tf.string),  # [choices]
  "label": tf.TensorSpec([], tf.int32),
  "answer_text": tf.TensorSpec([None], tf.string),  # [answers]
  "answer_start": tf.TensorSpec([None], tf.int32),  # [answers]
  "target": tf.TensorSpec([], tf.float32),
  "meta": tf.TensorSpec([], tf.string),  # JSON
}
_TEXT = seqio.PassThroughVocabulary(size=0)
OUTPUT_FEATURES = {
  key: seqio.Feature(_TEXT, add_eos=False, required=False, dtype=spec.dtype, rank=spec.shape.rank)
  for key, spec in EXAMPLE_SIGNATURE.items()
}


def set_data_dir(data_dir: str | None) -> None:
  """Data directory for every registered task (None: MRC_JAX_DATA_DIR)."""
  global _DATA_DIR
  _DATA_DIR = data_dir


def to_features(example: dict) -> dict:
  """Unified example -> the flat features of EXAMPLE_SIGNATURE."""
  answers = example.get("answers", [])
  return {
    "id": example["id"],
    "task": example["task"],
    "lang": example["lang"],
    "kind": example_kind(example),
    "context": example["context"],
    "question": example["question"],
    "options": np.array(example.get("options", []), dtype=object),
    "label": example.get("label", 0),
    "answer_text": np.array([a["text"] for a in answers], dtype=object),
    "answer_start": np.array([a["start"] for a in answers], dtype=np.int32),
    "target": example.get("target", 0.0),
    "meta": json.dumps(example.get("meta", {}), ensure_ascii=False),
  }


def from_features(features: Mapping[str, np.ndarray]) -> dict:
  """Numpy features of a seqio dataset element -> the unified example."""
  text = lambda key: features[key].decode("utf-8")  # noqa: E731
  example = {
    "id": text("id"),
    "task": text("task"),
    "lang": text("lang"),
    "context": text("context"),
    "question": text("question"),
    "meta": json.loads(text("meta")),
  }
  kind = text("kind")
  if kind == "span":
    example["answers"] = [
      {"text": t.decode("utf-8"), "start": int(s)}
      for t, s in zip(features["answer_text"], features["answer_start"])
    ]
  else:
    example["options"] = [o.decode("utf-8") for o in features["options"]]
    example["label"] = int(features["label"])
    if kind == "regression":
      example["target"] = float(features["target"])
  return example


def _dataset_fn(read, split: str, shuffle_files: bool, seed: int | None = None) -> tf.data.Dataset:
  del shuffle_files, seed  # one ordered stream per split; seqio shuffles examples itself

  def generate():
    for example in read(split, load.resolve_data_dir(_DATA_DIR)):
      yield to_features(example)

  return tf.data.Dataset.from_generator(generate, output_signature=EXAMPLE_SIGNATURE)


def _accuracy(targets, predictions):
  from mrc_jax.eval import metrics  # imported when scoring: no import-order coupling

  return metrics.accuracy(targets, predictions)


def _span_metrics(targets, predictions, *, lang: str, style: str, no_answer: bool):
  from mrc_jax.eval import metrics

  return metrics.span_metrics(targets, predictions, lang, style, no_answer)


def metric_fns(kind: str, lang: str, span_style: str = "squad_v1", no_answer: bool = False) -> list:
  """Accuracy for choice/classification, exact match + F1 by the dataset's official
  script (`span_style`, SQuAD v2.0 rules with `no_answer`) for spans, none for
  regression/summarization."""
  if kind == "span":
    return [functools.partial(_span_metrics, lang=lang, style=span_style, no_answer=no_answer)]
  if kind in ("choice", "classification"):
    return [_accuracy]
  return []


def _register(
  name: str,
  read,
  splits: Iterable[str],
  kind: str,
  lang: str,
  num_input_examples: Mapping[str, int] | None = None,
  span_scoring: tuple = (),
) -> None:
  if name in seqio.TaskRegistry.names():
    seqio.TaskRegistry.remove(name)
  seqio.TaskRegistry.add(
    name,
    seqio.FunctionDataSource(
      functools.partial(_dataset_fn, read),
      splits=list(splits),
      num_input_examples=num_input_examples,
    ),
    output_features=OUTPUT_FEATURES,
    metric_fns=metric_fns(kind, lang, *span_scoring),
  )


def _clean_reader(task: str):
  return lambda split, data_dir: load.load_examples(task, split, data_dir)


def _muppet_reader(task: str):
  return lambda split, data_dir: muppet.load_muppet_examples(task, split, data_dir)


def _attacks() -> list[str]:
  try:
    from mrc_jax import perturb

    return perturb.list_attacks()
  except ImportError:
    return []


def register_all() -> None:
  attacks = _attacks()
  for name, task in catalog.clean_tasks().items():
    scoring = (task.span_style, task.no_answer)
    _register(name, _clean_reader(name), task.files, task.kind, task.lang, span_scoring=scoring)
    for attack in attacks:
      _register(
        f"{name}.{attack}",
        _clean_reader(f"{name}.{attack}"),
        task.files,
        task.kind,
        task.lang,
        span_scoring=scoring,
      )
  for dataset in muppet.DATASETS + muppet.MULTILINGUAL:
    _register(
      dataset.task,
      _muppet_reader(dataset.task),
      dataset.splits,
      dataset.kind,
      dataset.lang,
      {"train": dataset.train_size},
    )
  for mixture in muppet.MIXTURES:
    register_mixture(mixture, [d.task for d in muppet.mixture_datasets(mixture)])


def register_mixture(
  name: str,
  tasks: list[str],
  config: MixingConfig = MixingConfig(),
  sizes: Mapping[str, int] | None = None,
) -> str:
  """Register ``name`` (natural mixing) or ``name.SUFFIX`` mixing ``tasks`` under ``config``.

  ``sizes`` gives the training-set sizes behind the rates; by default the Muppet table's.
  Returns the registered name.
  """
  if sizes is None:
    sizes = {t: muppet.get_dataset(t).train_size for t in tasks}
  registered = name if config.mode == "natural" else f"{name}.{config.suffix}"
  if registered in seqio.MixtureRegistry.names():
    seqio.MixtureRegistry.remove(registered)
  rates = mixing_rates(sizes, config)
  seqio.MixtureRegistry.add(registered, [(t, rates[t]) for t in tasks], sample_fn=sample_fn(config))
  return registered


def run_tables(tasks: Iterable[str]) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
  """(task_index, head_index, num_classes) for a run over ``tasks``.

  Heads: Muppet's (own head per classification dataset, shared "choice" and "span"
  heads); file-backed tasks use the shared "choice"/"span" heads, so a pre-finetuned
  multiple-choice head carries over to RACE. Head ids follow sorted head names.
  """
  tasks = sorted(set(tasks))
  heads, num_classes = {}, {}
  for task in tasks:
    if task.startswith("muppet."):
      dataset = muppet.get_dataset(task)
      heads[task] = dataset.head
      if dataset.num_classes is not None:
        num_classes[task] = dataset.num_classes
    else:
      clean, _ = load.parse_task_name(task)
      heads[task] = clean.kind
  head_ids = {h: i for i, h in enumerate(sorted(set(heads.values())))}
  return (
    {t: i for i, t in enumerate(tasks)},
    {t: head_ids[h] for t, h in heads.items()},
    num_classes,
  )


def seqio_batches(
  name: str,
  split: str,
  tokenizer,
  *,
  shuffle: bool = False,
  seed: int | None = None,
  num_epochs: int | None = 1,
  **batch_kwargs,
) -> Iterator[tuple[dict, list[dict]]]:
  """Model batches of a registered task or mixture (``make_batches`` keyword arguments;
  task/head tables default to :func:`run_tables` over the mixture's tasks)."""
  provider = seqio.get_mixture_or_task(name)
  task_names = [t.name for t in provider.tasks] if isinstance(provider, seqio.Mixture) else [name]
  task_index, head_index, num_classes = run_tables(task_names)
  batch_kwargs.setdefault("task_index", task_index)
  batch_kwargs.setdefault("head_index", head_index)
  batch_kwargs.setdefault("num_classes", num_classes)
  dataset = provider.get_dataset(
    None, split=split, shuffle=shuffle, seed=seed, num_epochs=num_epochs
  )
  examples = (from_features(f) for f in dataset.as_numpy_iterator())
  yield from make_batches(examples, tokenizer, **batch_kwargs)


register_all()
