"""The task registry: every task and mixture of the project lives in seqio's registries.

Importing this module registers (and nothing else does; configs only name them):

* every clean file-backed task of ``catalog`` (``xquad.de``, ``belebele.deu_Latn``,
  ``exams.it``, ``xcopa.it``, ``race.high``, ``advrace.de``, ...) and the tasks ``derived``
  makes from them (``xquad_articles_0_36.en``, ``xquad_mc_36_48.de``, ``xcopa_val.it``, ...);
* the built-in synthetic tasks (``synthetic.en``, ``synthetic_span.ar``, ...);
* every perturbed ``CLEAN.ATTACK`` for each attack of ``mrc_jax.perturb.list_attacks()``
  (file tasks perturbed with ``load.PERTURB_SEED``; synthetic multiple-choice tasks as a
  finite perturbed pool, ``synthetic_adversarial``). The perturbation package runs only
  when such a task is read, so a problem there never breaks clean tasks;
* every Muppet dataset as ``muppet.NAME``;
* the mixtures of ``mrc_jax.data.mixtures`` (the Muppet blends, the studies' training sets).

Each task is an :class:`MrcTask`: a ``seqio.Task`` whose :class:`TaskInfo` says what the
rest of the code needs (example kind, head, classes, options, language, scorer), and whose
:meth:`MrcTask.examples` reads the unified examples its seqio source serves as features.
Training draws by index from those examples at the registered mixture's rates
(``train/input_pipeline.py``); :func:`seqio_batches` is the tf.data path through
``get_dataset``. Tasks carry raw text (tokenisation belongs to the checkpoint, so one
registry serves BERT, RoBERTa and XLM-R runs alike).

Data directory: ``set_data_dir(path)`` or ``MRC_JAX_DATA_DIR``, read when a task is read.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import os
from typing import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import seqio
import tensorflow as tf

from mrc_jax.data import catalog, derived, load, muppet, synthetic, synthetic_adversarial
from mrc_jax.data.features import make_batches
from mrc_jax.data.mixing import MixingConfig, mixing_rate, sample_fn
from mrc_jax.data.schema import SkipReport, example_kind

_DATA_DIR: str | None = None

# Heads that tasks of one example kind share, as Muppet shares them; every classification
# and regression dataset has its own head.
SHARED_HEADS = {"choice": "multiple_choice", "span": "span", "generation": "generation"}

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
  "target_text": tf.TensorSpec([], tf.string),  # generation: the decoder's target
  "meta": tf.TensorSpec([], tf.string),  # JSON
}
_TEXT = seqio.PassThroughVocabulary(size=0)
OUTPUT_FEATURES = {
  key: seqio.Feature(_TEXT, add_eos=False, required=False, dtype=spec.dtype, rank=spec.shape.rank)
  for key, spec in EXAMPLE_SIGNATURE.items()
}

# Reads one split: (split or None for every present split, data_dir, strict, report, seed)
# -> unified examples. ``seed`` is the perturbation seed; clean readers ignore it.
Reader = Callable[[str | None, str | None, bool, SkipReport, int], Iterator[dict]]


@dataclasses.dataclass(frozen=True)
class TaskInfo:
  """What training and evaluation need to know about a task, besides its examples."""

  dataset: str
  lang: str
  kind: str  # example kind: "choice" | "span" | "classification" | "regression" | "generation"
  head: str  # the head that reads it: "multiple_choice", "span" or the dataset's own
  splits: tuple[str, ...]
  source: str = ""  # where its files come from (empty: built in)
  num_classes: int | None = None  # classification: number of classes
  num_choices: int | None = None  # multiple choice: fixed number of options, if any
  span_style: str = "squad_v1"  # span tasks: official scorer, "squad_v1" | "mlqa"
  no_answer: bool = False  # span tasks: unanswerable questions, scored as SQuAD v2.0
  clean: str | None = None  # a perturbed task: the clean task it perturbs
  attack: str | None = None  # a perturbed task: its attack
  train_size: int | None = None  # train examples, when known without reading

  def __post_init__(self):
    if self.kind == "classification" and not self.num_classes:
      raise ValueError(f"{self.dataset}.{self.lang}: a classification task needs num_classes")


class MrcTask(seqio.Task):
  """A seqio task that also hands out its unified examples (and, if procedural, by index)."""

  def __init__(
    self,
    name: str,
    source: seqio.DataSource,
    output_features,
    *,
    info: TaskInfo,
    reader: Reader,
    example_at: Callable[[str, int, int], dict] | None = None,
    eval_size: int | None = None,
    **kwargs,
  ):
    super().__init__(name, source, output_features, **kwargs)
    self.info, self._reader, self._example_at = info, reader, example_at
    self._eval_size = eval_size
    self._counts: dict[tuple, int] = {}

  @property
  def procedural(self) -> bool:
    """Built in and random-access: example i of a split is made, not read (endless train)."""
    return self._example_at is not None

  def examples(
    self,
    split: str | None = None,
    data_dir: str | None = None,
    *,
    strict: bool = True,
    report: SkipReport | None = None,
    seed: int = load.PERTURB_SEED,
  ) -> Iterator[dict]:
    """The unified examples of ``split`` (None: every present split), read in file order."""
    report = report if report is not None else SkipReport()
    yield from self._reader(split, data_dir or _DATA_DIR, strict, report, seed)

  def example_at(self, split: str, index: int, seed: int) -> dict:
    return self._example_at(split, index, seed)

  def num_input_examples(self, split: str) -> int | None:
    """Examples of ``split``: declared, else counted by reading the split once."""
    if self.procedural:
      return None if split == "train" else self._eval_size
    if split == "train" and self.info.train_size:
      return self.info.train_size
    key = (split, _DATA_DIR or os.environ.get(load.DATA_DIR_ENV))  # built-in tasks need none
    if key not in self._counts:
      self._counts[key] = sum(1 for _ in self.examples(split))
    return self._counts[key]


class MrcMixture(seqio.Mixture):
  """A seqio mixture that also says how it is drawn (``mixing.MixingConfig``) and keeps its
  tasks in the order they were given (seqio sorts ``tasks`` by name), which fixes the
  trainer's task ids and so its draws."""

  def __init__(self, name, tasks, default_rate=None, *, mixing: MixingConfig, **kwargs):
    super().__init__(name, tasks, default_rate, sample_fn=sample_fn(mixing), **kwargs)
    self.mixing = mixing
    self.task_order = tuple(task for task, _ in tasks)


# --- Lookups ---------------------------------------------------------------------------


def set_data_dir(data_dir: str | None) -> None:
  """Data directory for every registered task (None: MRC_JAX_DATA_DIR)."""
  global _DATA_DIR
  _DATA_DIR = data_dir


def get(name: str) -> MrcTask:
  """The registered task ``name`` (KeyError naming the closest registered names)."""
  if name not in seqio.TaskRegistry.names():
    close = difflib.get_close_matches(name, seqio.TaskRegistry.names(), n=5)
    raise KeyError(f"unknown task {name!r}; closest registered tasks: {close}")
  return seqio.TaskRegistry.get(name)


def info(name: str) -> TaskInfo:
  return get(name).info


def load_examples(name: str, split: str | None = None, data_dir: str | None = None, **kwargs):
  """The unified examples of task ``name`` (see :meth:`MrcTask.examples`)."""
  return get(name).examples(split, data_dir, **kwargs)


@dataclasses.dataclass(frozen=True)
class Plan:
  """What a run draws: its tasks (in the mixture's order), their rates and the mixing mode."""

  tasks: tuple[str, ...]
  rates: tuple[float, ...]
  mixing: MixingConfig


def plan(name: str) -> Plan:
  """The tasks and rates a run naming ``name`` (a task or a mixture) draws."""
  if name in seqio.MixtureRegistry.names():
    mixture = seqio.MixtureRegistry.get(name)
    if not isinstance(mixture, MrcMixture):
      raise ValueError(f"mixture {name!r} was not registered by tasks.register_mixture")
    rates = tuple(float(mixture.get_rate(get(t))) for t in mixture.task_order)
    return Plan(mixture.task_order, rates, mixture.mixing)
  if name not in seqio.TaskRegistry.names():
    known = [*seqio.MixtureRegistry.names(), *seqio.TaskRegistry.names()]
    close = difflib.get_close_matches(name, known, n=5)
    raise KeyError(f"{name!r} is no registered mixture or task; closest: {close}")
  return Plan((name,), (1.0,), MixingConfig())


def head_table(names: Sequence[str]) -> tuple[list[TaskInfo], list[int]]:
  """One representative task of each head, in first-use order, and each task's head id.

  Tasks sharing a head must agree on what it reads (its kind and number of classes).
  """
  heads: dict[str, TaskInfo] = {}
  head_of_task = []
  for name in names:
    task = info(name)
    first = heads.setdefault(task.head, task)
    if (first.kind, first.num_classes) != (task.kind, task.num_classes):
      raise ValueError(
        f"task {name!r} ({task.kind}, {task.num_classes} classes) cannot share head "
        f"{task.head!r} with a {first.kind} task of {first.num_classes} classes"
      )
    head_of_task.append(list(heads).index(task.head))
  return list(heads.values()), head_of_task


# --- Registration ----------------------------------------------------------------------


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
    "target_text": example.get("target_text", ""),
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
  if kind == "generation":
    example["target_text"] = text("target_text")
  elif kind == "span":
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


def _dataset_fn(name: str, split: str, shuffle_files: bool, seed: int | None = None):
  del shuffle_files, seed  # one ordered stream per split; seqio shuffles examples itself

  def generate():
    for example in get(name).examples(split):
      yield to_features(example)

  return tf.data.Dataset.from_generator(generate, output_signature=EXAMPLE_SIGNATURE)


def _accuracy(targets, predictions):
  from mrc_jax.eval import metrics  # imported when scoring: no import-order coupling

  return metrics.accuracy(targets, predictions)


def _rouge(targets, predictions, *, lang: str):
  from mrc_jax.eval import metrics

  return metrics.rouge(targets, predictions, lang)


def _span_metrics(targets, predictions, *, lang: str, style: str, no_answer: bool):
  from mrc_jax.eval import metrics

  return metrics.span_metrics(targets, predictions, lang, style, no_answer)


def metric_fns(task: TaskInfo) -> list:
  """Accuracy for choice/classification, exact match + F1 by the dataset's official
  script (``span_style``, SQuAD v2.0 rules with ``no_answer``) for spans, ROUGE for
  generation, none for regression."""
  if task.kind == "generation":
    return [functools.partial(_rouge, lang=task.lang)]
  if task.kind == "span":
    return [
      functools.partial(
        _span_metrics, lang=task.lang, style=task.span_style, no_answer=task.no_answer
      )
    ]
  if task.kind in ("choice", "classification"):
    return [_accuracy]
  return []


def register_task(name: str, task: TaskInfo, reader: Reader, **procedural) -> MrcTask:
  """Registers (or replaces) task ``name``; ``procedural``: MrcTask's example_at, eval_size."""
  if name in seqio.TaskRegistry.names():
    seqio.TaskRegistry.remove(name)
  sizes = {"train": task.train_size} if task.train_size else None
  return seqio.TaskRegistry.add(
    name,
    seqio.FunctionDataSource(
      functools.partial(_dataset_fn, name), splits=list(task.splits), num_input_examples=sizes
    ),
    output_features=OUTPUT_FEATURES,
    metric_fns=metric_fns(task),
    task_cls=MrcTask,
    info=task,
    reader=reader,
    **procedural,
  )


def register_mixture(
  name: str, tasks: Iterable[str | tuple[str, float]], mixing: MixingConfig = MixingConfig()
) -> str:
  """Registers mixture ``name`` over ``tasks`` (or replaces it); returns the name.

  A task given alone is weighed by its number of train examples, a ``(task, size)`` pair
  by ``size`` (example counts the run knows without reading the files); ``mixing`` turns
  those sizes into rates (natural, or temperature with a cap) and says whether the draw
  runs through every task's examples once per epoch.
  """
  entries = []
  for entry in tasks:
    task, size = entry if isinstance(entry, tuple) else (entry, None)
    get(task)  # a mixture of unknown tasks fails here, named
    entries.append((task, functools.partial(mixing_rate, size=size, mixing=mixing)))
  if name in seqio.MixtureRegistry.names():
    seqio.MixtureRegistry.remove(name)
  seqio.MixtureRegistry.add(name, entries, mixture_cls=MrcMixture, mixing=mixing)
  return name


def file_task_info(clean: catalog.CleanTask, **fields) -> TaskInfo:
  head = SHARED_HEADS.get(clean.kind, clean.dataset)
  return TaskInfo(
    dataset=clean.dataset,
    lang=clean.lang,
    kind=clean.kind,
    head=head,
    splits=tuple(s for s in catalog.SPLITS if s in clean.files),
    source=clean.source,
    num_classes=clean.num_classes,
    num_choices=clean.num_choices,
    span_style=clean.span_style,
    no_answer=clean.no_answer,
    **fields,
  )


def _perturbed_reader(clean: str, attack: str, lang: str) -> Reader:
  def read(split, data_dir, strict, report, seed):
    from mrc_jax import perturb  # imported here: clean tasks must not depend on it

    examples = get(clean).examples(split, data_dir, strict=strict, report=report)
    name = f"{clean}.{attack}"
    for example in perturb.perturb_examples(examples, attack, lang, seed):
      yield {**example, "task": name}

  return read


def _attacks() -> list[str]:
  try:
    from mrc_jax import perturb

    return perturb.list_attacks()
  except ImportError:
    return []


def _register_file_task(clean: catalog.CleanTask, attacks: Sequence[str]) -> None:
  task = file_task_info(clean)
  register_task(clean.name, task, load.file_reader(clean))
  for attack in attacks:
    register_task(
      f"{clean.name}.{attack}",
      dataclasses.replace(task, clean=clean.name, attack=attack),
      _perturbed_reader(clean.name, attack, clean.lang),
    )


def _register_synthetic(attacks: Sequence[str]) -> None:
  for kind in synthetic.KINDS + synthetic.GENERATION_KINDS:
    for lang in synthetic.LANGS:
      name = synthetic.task_name(kind, lang)
      example_kind_ = synthetic.EXAMPLE_KIND[kind]
      task = TaskInfo(
        dataset=synthetic.TASK_PREFIX[kind],
        lang=lang,
        kind=example_kind_,
        head=SHARED_HEADS.get(example_kind_, synthetic.TASK_PREFIX[kind]),
        splits=synthetic.SPLITS,
        num_classes=synthetic.num_classes(kind) if example_kind_ == "classification" else None,
        num_choices=synthetic.NUM_CHOICES if kind in synthetic.CHOICE_KINDS else None,
      )
      register_task(
        name,
        task,
        functools.partial(synthetic.read, kind, lang),
        example_at=functools.partial(synthetic.example_at, kind, lang),
        eval_size=synthetic.EVAL_SPLIT_SIZE,
      )
      if kind not in synthetic.CHOICE_KINDS:
        continue
      for attack in attacks:
        register_task(
          f"{name}.{attack}",
          dataclasses.replace(
            task,
            clean=name,
            attack=attack,
            source=synthetic_adversarial.SOURCE,
            train_size=synthetic_adversarial.POOL_SIZE,
          ),
          functools.partial(synthetic_adversarial.read, kind, lang, attack),
        )


def _register_muppet() -> None:
  for dataset in muppet.DATASETS + muppet.MULTILINGUAL:
    register_task(
      dataset.task,
      TaskInfo(
        dataset=dataset.name,
        lang=dataset.lang,
        kind=dataset.kind,
        head=SHARED_HEADS.get(dataset.kind, dataset.head),
        splits=tuple(dataset.splits),
        source=dataset.source,
        num_classes=dataset.num_classes if dataset.kind == "classification" else None,
        num_choices=dataset.num_classes if dataset.kind == "choice" else None,
        train_size=dataset.train_size,
      ),
      load.muppet_reader(dataset.task),
    )


def register_all() -> None:
  attacks = _attacks()
  for clean in list(catalog.file_tasks().values()) + derived.derived_tasks():
    _register_file_task(clean, attacks)
  _register_synthetic(attacks)
  _register_muppet()


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
  """Model batches of a registered task or mixture through seqio's ``get_dataset``
  (``make_batches`` keyword arguments; task/head tables default to :func:`head_table`
  over the mixture's tasks)."""
  provider = seqio.get_mixture_or_task(name)
  task_names = [t.name for t in provider.tasks] if isinstance(provider, seqio.Mixture) else [name]
  heads, head_of_task = head_table(task_names)
  batch_kwargs.setdefault("task_index", {t: i for i, t in enumerate(task_names)})
  batch_kwargs.setdefault("head_index", dict(zip(task_names, head_of_task)))
  batch_kwargs.setdefault(
    "num_classes", {t: info(t).num_classes for t in task_names if info(t).num_classes}
  )
  dataset = provider.get_dataset(
    None, split=split, shuffle=shuffle, seed=seed, num_epochs=num_epochs
  )
  examples = (from_features(f) for f in dataset.as_numpy_iterator())
  yield from make_batches(examples, tokenizer, **batch_kwargs)


register_all()
from mrc_jax.data import mixtures  # noqa: E402,F401  (registers the mixtures over these tasks)
