"""Tasks made from the upstream files for runs that fit a laptop, as catalog definitions.

* ``xquad_articles_A_B.LANG``: the XQuAD questions of articles A..B-1 (file order). XQuAD
  (1,190 questions on 48 Wikipedia articles, parallel across languages) ships only a test
  split; training on articles 0-35 and evaluating on 36-47 in every language keeps every
  evaluated question (in any language) out of training.
* ``xquad_mc_36_48.LANG``: the XQuAD-MC questions of the held-out articles.
* ``xquad_qnli_0_36.LANG``: QNLI-style sentence classification made from the training
  articles' questions (does this sentence of the passage hold the answer?).
* ``xcopa_val.LANG``: XCOPA's validation split served as training data.

Each is served under every split name, so training ("train") and evaluation ("test") read
the same examples; the registry (``tasks``) registers them, and their perturbed copies,
like any file task.

* ``dg_BASE`` (``dg_race.all``, ``dg_dream.en``, ``dg_mctest.en``): distractor-generation
  training data from a multiple-choice task, split by split as the base has them: one
  generation example per wrong option, its source the input the ``dg`` attack gives its
  model (``perturb.attacks.seq2seq.dg_source``: answer, question, passage) and its target
  that option. Options that fold to the answer's text are left out (they teach nothing a
  filter would keep).
"""

from __future__ import annotations

import hashlib
from typing import Iterable, Iterator

from mrc_jax.data import catalog, languages, load

NUM_ARTICLES = 48
TRAIN_ARTICLES, HELDOUT_ARTICLES = (0, 36), (36, 48)


def articles_task(first: int, stop: int, lang: str) -> str:
  return f"xquad_articles_{first}_{stop}.{lang}"


def xquad_mc_heldout(lang: str) -> str:
  return f"xquad_mc_{HELDOUT_ARTICLES[0]}_{HELDOUT_ARTICLES[1]}.{lang}"


def xquad_qnli(lang: str) -> str:
  return f"xquad_qnli_{TRAIN_ARTICLES[0]}_{TRAIN_ARTICLES[1]}.{lang}"


def xcopa_val(lang: str) -> str:
  return f"xcopa_val.{lang}"


def numbered_articles(examples: Iterable[dict], base: str) -> Iterator[tuple[int, dict]]:
  """Each example with its article number (articles in file order, each contiguous)."""
  titles: list[str] = []
  for example in examples:
    title = example["meta"]["title"]
    if not titles or titles[-1] != title:
      if title in titles:
        raise ValueError(f"{base}: article {title!r} is not contiguous in the file")
      titles.append(title)
    yield len(titles) - 1, example
  if len(titles) != NUM_ARTICLES:
    raise ValueError(f"{base}: expected {NUM_ARTICLES} articles, found {len(titles)}")


def _derived(name, dataset, lang, kind, base, base_split, convert, **fields) -> catalog.CleanTask:
  """A task ``name`` served under every split, made by ``convert(base examples)``; its
  files are those of the upstream (task, split) it is made from (``upstream``, default
  the base's)."""
  upstream, upstream_split = fields.pop("upstream", (base, base_split))
  source = catalog.file_tasks()[upstream]

  def read_split(data_dir, split, strict, report):
    del split, strict, report  # the base split is strict-read by load_examples
    yield from convert(load.load_examples(base, base_split, data_dir))

  return catalog.CleanTask(
    name=name,
    dataset=dataset,
    lang=lang,
    kind=kind,
    files={s: source.files[upstream_split] for s in catalog.SPLITS},
    source=source.source,
    read_split=read_split,
    **fields,
  )


def _articles(first: int, stop: int, lang: str) -> catalog.CleanTask:
  name, base = articles_task(first, stop, lang), f"xquad.{lang}"

  def convert(examples):
    for article, example in numbered_articles(examples, base):
      if first <= article < stop:
        yield {**example, "task": name, "meta": {**example["meta"], "article": article}}

  return _derived(name, name.split(".")[0], lang, "span", base, "test", convert)


def _xquad_mc_heldout(lang: str) -> catalog.CleanTask:
  first, stop = HELDOUT_ARTICLES
  name, base = xquad_mc_heldout(lang), f"xquad_mc.{lang}"

  def convert(examples):
    for article, example in numbered_articles(examples, base):
      if first <= article < stop:
        yield {**example, "task": name}

  return _derived(name, name.split(".")[0], lang, "choice", base, "test", convert, num_choices=4)


def _pick(key: str, count: int) -> int:
  """A seeded choice among ``count`` (sha256 of ``key``: the same in every process)."""
  return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % count


def _xquad_qnli(lang: str) -> catalog.CleanTask:
  """Each question gives two examples: the sentence of its passage that holds the answer
  (label 1) and another sentence of the same passage, chosen by a hash of the id (label
  0). Sentences are ICU sentence segments of the passage."""
  name = xquad_qnli(lang)

  def convert(examples):
    from mrc_jax.perturb import text  # imported late: ICU is needed only to build the task

    for example in examples:
      sentences = text.sentence_spans(example["context"], lang)
      start = example["answers"][0]["start"]
      gold = next((i for i, (a, b) in enumerate(sentences) if a <= start < b), None)
      if gold is None:
        raise ValueError(
          f"{name}: question {example['id']}: answer start {start} is in no sentence of its passage"
        )
      pairs = [(gold, 1)]
      if len(sentences) > 1:
        other = _pick(example["id"], len(sentences) - 1)
        pairs.append((other + (other >= gold), 0))
      for index, label in pairs:
        a, b = sentences[index]
        yield {
          "id": f"{example['id']}#{label}",
          "task": name,
          "lang": lang,
          "context": example["context"][a:b].strip(),
          "question": example["question"],
          "options": [],
          "label": label,
          "meta": {"source_id": example["id"]},
        }

  spans = articles_task(*TRAIN_ARTICLES, lang)
  return _derived(
    name,
    name.split(".")[0],
    lang,
    "classification",
    spans,
    "train",
    convert,
    upstream=(f"xquad.{lang}", "test"),
    num_classes=2,
  )


def _xcopa_val(lang: str) -> catalog.CleanTask:
  name = xcopa_val(lang)

  def convert(examples: Iterable[dict]) -> Iterator[dict]:
    for example in examples:
      yield {**example, "task": name}

  return _derived(
    name, "xcopa_val", lang, "choice", f"xcopa.{lang}", "validation", convert, num_choices=2
  )


DG_BASES = ("race.all", "dream.en", "mctest.en")


def distractor_generation(base: str) -> str:
  """The distractor-generation task made from multiple-choice task ``base``."""
  return f"dg_{base}"


def _distractor_generation(base: catalog.CleanTask) -> catalog.CleanTask:
  name = distractor_generation(base.name)

  def read_split(data_dir, split, strict, report):
    del strict, report  # the base split is strict-read by load_examples
    # Imported late: the attack's input format, shared so a trained model fits the attack.
    from mrc_jax.perturb.attacks import seq2seq as seq2seq_attacks

    for example in load.load_examples(base.name, split, data_dir):
      answer = example["options"][example["label"]]
      source = seq2seq_attacks.dg_source(answer, example["question"], example["context"])
      for index, option in enumerate(example["options"]):
        if index == example["label"] or seq2seq_attacks.same_option(option, answer):
          continue
        yield {
          "id": f"{example['id']}#{index}",
          "task": name,
          "lang": example["lang"],
          "context": source,
          "question": "",
          "target_text": option,
          "meta": {"source_id": example["id"], "option": index},
        }

  return catalog.CleanTask(
    name=name,
    dataset=f"dg_{base.dataset}",
    lang=base.lang,
    kind="generation",
    files=base.files,
    source=base.source,
    read_split=read_split,
  )


def derived_tasks() -> list[catalog.CleanTask]:
  made = [_distractor_generation(catalog.file_tasks()[base]) for base in DG_BASES]
  for lang in languages.XQUAD:
    made += [_articles(*TRAIN_ARTICLES, lang), _articles(*HELDOUT_ARTICLES, lang)]
    made.append(_xquad_qnli(lang))
  made += [_xquad_mc_heldout(lang) for lang in languages.XQUAD_MC]
  made += [_xcopa_val(lang) for lang in languages.XCOPA]
  return made
