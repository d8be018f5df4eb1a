"""Evaluation cells from `config.evals`: each task clean and under each attack, batched.

A robustness entry is a `config.evals` entry of type "robustness"
(`mrc_jax.eval.evaluators.robustness`):

    config.evals.robustness = dict(
        type="robustness",
        tasks=("synthetic.en", "synthetic.de"),   # clean tasks, named DATASET.LANG
        attacks=("charswap", "addsent"),          # registered attacks (may be empty)
        split="test", num_examples=200,           # 0 = every example of the split
        batch_size=16,                            # example slots per batch (default
                                                  # config.batch_size; at most the
                                                  # cell's number of examples)
        max_length=128,                           # row length (default config.data.max_length)
        perturb_seed=0,                           # default: load_examples' seed
        attack_params={"codeswitch": {"lexicon": "de-en.txt"}},  # per-attack parameters
        every_steps=0)                            # > 0: also every so many training steps

Each task gives a clean cell and one cell per attack over the same examples (the
attacked copy keeps every id, so results pair by id). The report names a cell's task by
its dataset (`synthetic`, `xquad`) and its language by the rest of the task name (`en`,
`deu_Latn`). Batches use one length bucket per entry (`max_length`, default `config.data.max_length`), so each head kind
compiles once per length and choice count. A multiple-choice cell takes as many choice slots as its
examples have options at most (EXAMS questions have 3 to 5): the head scores each choice
on its own, so a model trained on 4 options scores 5.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping

from mrc_jax.data import features, tasks
from mrc_jax.data.schema import example_kind
from mrc_jax.data.vocab import load_tokenizer
from mrc_jax.eval.evaluator import EvalCell
from mrc_jax.eval.results import CLEAN
from mrc_jax.models import head_kinds
from mrc_jax.train import input_pipeline
from mrc_jax.train.run_spec import RunSpec


def entry_settings(config, name: str, entry: Mapping) -> dict:
  """Everything of a robustness entry that decides its predictions, defaults filled in.

  The row length is the entry's own (a set of short texts, XCOPA, need not pay for the
  longest set's rows), else the evaluation config's ``data.max_length``: evaluation may
  read longer rows than training did (EXAMS questions with their options exceed a short
  training length), while the multiple-choice layout is always the trained one.
  """
  from mrc_jax.data.load import PERTURB_SEED

  max_length = int(entry.get("max_length", 0) or config.data.max_length)
  params = entry.get("attack_params", {})
  return {
    "name": name,
    "tasks": list(entry.tasks),
    "attacks": list(entry.attacks),
    "attack_params": params.to_dict() if hasattr(params, "to_dict") else dict(params),
    "split": entry.get("split", "test"),
    "num_examples": int(entry.get("num_examples", 0)),
    "perturb_seed": int(entry.get("perturb_seed", PERTURB_SEED)),
    "max_length": max_length,
    "window_stride": int(entry.get("window_stride", max(max_length // 2, 1))),
  }


def split_task_name(task: str) -> tuple[str, str]:
  """`xquad.de` -> (`xquad`, `de`); `belebele.deu_Latn` -> (`belebele`, `deu_Latn`);
  `race.high` -> (`race`, `high`): the report's dataset and language columns."""
  dataset, dot, lang = task.partition(".")
  if not dot or not lang:
    raise ValueError(f"task {task!r} is not named DATASET.LANG")
  return dataset, lang


def clean_examples(task: str, split: str, limit: int, data_dir: str | None) -> list[dict]:
  """The first `limit` (0 = all) examples of a registered task's split."""
  examples = tasks.get(task).examples(split, data_dir)
  return list(itertools.islice(examples, limit) if limit else examples)


def attacked_examples(examples: list[dict], attack: str, seed: int, **params) -> list[dict]:
  from mrc_jax import perturb  # Imported late: only attacked cells need the suite.

  return list(perturb.perturb_examples(examples, attack, None, seed, **params))


def _head_of(task: str, kind: str, spec: RunSpec, entry_name: str) -> int:
  """Index of the head that serves `task`: its training head, else the one head of its kind."""
  trained = dict(zip(spec.tasks, spec.head_of_task))
  if task in trained:
    return int(trained[task])
  head_kind = head_kinds.for_example_kind(kind).name
  candidates = [i for i, head in enumerate(spec.heads) if head.kind == head_kind]
  if len(candidates) != 1:
    raise ValueError(
      f"config.evals.{entry_name}: task {task!r} ({kind}) was not trained and "
      f"the model has {len(candidates)} heads of kind {head_kind!r} "
      f"(heads: {[h.name for h in spec.heads]})"
    )
  return candidates[0]


def choice_slots(examples: list[dict]) -> int:
  """Choice slots of a multiple-choice cell: the most options any of its examples has."""
  return max(len(example["options"]) for example in examples)


def check_distinct(entries: Mapping[str, Mapping]) -> None:
  """Each (task, attack) cell belongs to one robustness entry: the report holds it once."""
  owner = {}
  for name, entry in entries.items():
    for task in entry.tasks:
      for attack in (CLEAN, *entry.attacks):
        key = (*split_task_name(task), attack)
        if key in owner:
          raise ValueError(
            f"config.evals.{name}: ({task}, {attack}) is evaluated by another entry too "
            f"(config.evals.{owner[key]})"
          )
        owner[key] = name


def entry_cells(
  config, name: str, entry: Mapping, spec: RunSpec, data_dir: str | None = None
) -> Iterator[EvalCell]:
  """Every (task, attack) cell of one robustness entry; batches are built lazily."""
  tokenizer = load_tokenizer(spec.tokenizer_dir)
  data_dir = data_dir or config.data.get("data_dir") or None
  # The multiple-choice layout the model was trained with (features.make_batches);
  # workdirs from before the option have none and used the default layout.
  options_first = spec.options_first
  settings = entry_settings(config, name, entry)
  max_length = settings["max_length"]
  decoder = input_pipeline.decoder_layout(spec.encoder)
  for task in settings["tasks"]:
    info = tasks.info(task)
    dataset, lang = split_task_name(task)
    examples = clean_examples(task, settings["split"], settings["num_examples"], data_dir)
    if not examples:
      raise ValueError(f"config.evals.{name}: task {task!r} has no examples")
    # A cell smaller than a batch would pay for the padding slots' rows.
    batch_size = min(int(entry.get("batch_size", config.batch_size)), len(examples))
    kind = example_kind(examples[0])
    head = _head_of(task, kind, spec, name)
    head_spec = spec.heads[head]
    for attack in (CLEAN, *settings["attacks"]):
      cell_examples = (
        examples
        if attack == CLEAN
        else attacked_examples(
          examples, attack, settings["perturb_seed"], **settings["attack_params"].get(attack, {})
        )
      )
      max_choices = choice_slots(cell_examples) if kind == "choice" else 1
      batches = features.make_batches(
        cell_examples,
        tokenizer,
        task_index={task: 0},
        head_index={task: head},
        num_classes={task: head_spec.num_labels} if kind == "classification" else None,
        examples_per_batch=batch_size,
        rows_per_batch=batch_size * (max_choices if kind == "choice" else 1),
        lengths=(max_length,),
        max_choices=max_choices,
        window_stride=settings["window_stride"],
        options_first=options_first,
        decoder=decoder,
        pack=decoder is None,
      )
      yield EvalCell(
        dataset,
        lang,
        attack,
        head_spec.kind,
        head_spec.name,
        batches,
        span_style=info.span_style,
        no_answer=info.no_answer,
      )
