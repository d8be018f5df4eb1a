"""The Muppet pre-finetuning blend: one table of datasets across four families, and the
mixtures built from it.

Heads follow Muppet: every classification dataset has its own head; commonsense datasets
share one multiple-choice head; MRC datasets share one span head; summarization datasets
share the decoder (``needs_decoder``): ``muppet_all`` and ``muppet_multilingual`` list them,
and an encoder-only run leaves them out with a log line (``trainer.run_plan``).
``num_classes`` feeds the 1/log(n) loss scaling (choices for multiple choice, 1 for
regression; None for spans, where the sequence length is used, and for generation, where
the run's vocabulary is).
``train_size`` is the approximate number of training examples (natural mixing rate).

``muppet_Ntasks`` (N in 5, 10, 15, 20, 25, 30, 40) are nested: one seeded, family-stratified
order of the encoder datasets, and each mixture takes its first N (so every smaller set is
a subset of every larger one). RACE is deliberately absent: it is the fine-tuning target.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from typing import Iterator, Mapping

from mrc_jax.data.schema import FieldError, SkipReport
from mrc_jax.data.sources import hub, records as r
from mrc_jax.data.sources.common import convert_records, field

FAMILIES = ("classification", "commonsense", "mrc", "summarization")
SHARED_HEADS = {"commonsense": "choice", "mrc": "span", "summarization": "generation"}
TASK_COUNTS = (5, 10, 15, 20, 25, 30, 40)
SUBSET_SEED = 2021


@dataclasses.dataclass(frozen=True)
class MuppetDataset:
  name: str
  family: str
  kind: str  # "classification" | "regression" | "choice" | "span" | "generation"
  num_classes: int | None
  source: str  # "tfds" | "hf"
  builder: str  # TFDS builder (with config) or HF dataset path
  config: str | None
  splits: Mapping[str, str]  # our split -> upstream split
  train_size: int
  convert: r.Converter
  lang: str = "en"

  @property
  def task(self) -> str:
    return f"muppet.{self.name}"

  @property
  def head(self) -> str:
    return SHARED_HEADS.get(self.family, f"cls_{self.name}")

  @property
  def needs_decoder(self) -> bool:
    return self.family == "summarization"


def _tfds(name, family, kind, n, builder, size, convert, splits=None, **kw):
  return MuppetDataset(
    name,
    family,
    kind,
    n,
    "tfds",
    builder,
    None,
    splits or {"train": "train", "validation": "validation"},
    size,
    convert,
    **kw,
  )


def _hf(name, family, kind, n, path, config, size, convert, splits=None, **kw):
  return MuppetDataset(
    name,
    family,
    kind,
    n,
    "hf",
    path,
    config,
    splits or {"train": "train", "validation": "validation"},
    size,
    convert,
    **kw,
  )


C, M, S, Z = "classification", "commonsense", "mrc", "summarization"
_cls = r.classification
_mc = r.multiple_choice
_OPENBOOKQA = _mc(
  "fact1", "question.stem", [f"question.choice_{c}" for c in "ABCD"], label="answerKey"
)


def _openbookqa(record):
  """TFDS openbookqa nests the stem and choice_A..D in ``question``; ``answerKey`` is the
  index of the right choice (a ClassLabel over A-D)."""
  nested = field(record, "question", dict)
  return _OPENBOOKQA({**record, **{f"question.{k}": v for k, v in nested.items()}})


def _ropes(record):
  """ROPES answers are spans of the situation or the question, not of the background
  (Lin et al., 2019): the context is background, situation and question, and each answer
  is located in the situation first, then in the question."""
  background, situation, question = (
    field(record, k) for k in ("background", "situation", "question")
  )
  context = f"{background} {situation} {question}"
  answers = []
  for i, text in enumerate(field(record, "answers", dict).get("text") or []):
    if text in situation:
      start = len(background) + 1 + situation.index(text)
    elif text in question:
      start = len(background) + len(situation) + 2 + question.index(text)
    else:
      raise FieldError(
        f"answers[{i}]", f"answer {text!r} occurs in neither the situation nor the question"
      )
    answers.append({"text": text, "start": start})
  return {
    "context": context,
    "question": question,
    "answers": answers,
    "meta": {} if answers else {"is_impossible": True},
  }


_MNLI_SPLITS = {"train": "train", "validation": "validation_matched"}
# MRQA subsets share one HF dataset; records are told apart by their "subset" field.
MRQA_SUBSETS = {
  "mrqa_newsqa": ("NewsQA", 74160),
  "mrqa_triviaqa": ("TriviaQA-web", 61688),
  "mrqa_searchqa": ("SearchQA", 117384),
  "mrqa_hotpotqa": ("HotpotQA", 72928),
  "mrqa_naturalquestions": ("NaturalQuestionsShort", 104071),
}

DATASETS: tuple[MuppetDataset, ...] = (
  # --- classification: one head each -----------------------------------------------------
  _tfds("cola", C, "classification", 2, "glue/cola", 8551, _cls("sentence", num_classes=2)),
  _tfds("sst2", C, "classification", 2, "glue/sst2", 67349, _cls("sentence", num_classes=2)),
  _tfds(
    "mrpc", C, "classification", 2, "glue/mrpc", 3668, _cls("sentence1", "sentence2", num_classes=2)
  ),
  _tfds(
    "qqp", C, "classification", 2, "glue/qqp", 363846, _cls("question1", "question2", num_classes=2)
  ),
  _tfds(
    "mnli",
    C,
    "classification",
    3,
    "glue/mnli",
    392702,
    _cls("premise", "hypothesis", num_classes=3),
    splits=_MNLI_SPLITS,
  ),
  _tfds(
    "qnli", C, "classification", 2, "glue/qnli", 104743, _cls("sentence", "question", num_classes=2)
  ),
  _tfds(
    "rte", C, "classification", 2, "glue/rte", 2490, _cls("sentence1", "sentence2", num_classes=2)
  ),
  _tfds(
    "wnli", C, "classification", 2, "glue/wnli", 635, _cls("sentence1", "sentence2", num_classes=2)
  ),
  _tfds("stsb", C, "regression", 1, "glue/stsb", 5749, r.regression("sentence1", "sentence2")),
  _tfds(
    "boolq",
    C,
    "classification",
    2,
    "super_glue/boolq",
    9427,
    _cls("passage", "question", num_classes=2),
  ),
  _tfds(
    "cb", C, "classification", 3, "super_glue/cb", 250, _cls("premise", "hypothesis", num_classes=3)
  ),
  _tfds(
    "wic",
    C,
    "classification",
    2,
    "super_glue/wic",
    5428,
    _cls("sentence1", "sentence2", num_classes=2, context_parts=("word",)),
  ),
  _tfds(
    "snli", C, "classification", 3, "snli", 550152, _cls("premise", "hypothesis", num_classes=3)
  ),
  _tfds(
    "anli_r1",
    C,
    "classification",
    3,
    "anli/r1",
    16946,
    _cls("context", "hypothesis", num_classes=3),
  ),
  _tfds(
    "anli_r2",
    C,
    "classification",
    3,
    "anli/r2",
    45460,
    _cls("context", "hypothesis", num_classes=3),
  ),
  _tfds(
    "anli_r3",
    C,
    "classification",
    3,
    "anli/r3",
    100459,
    _cls("context", "hypothesis", num_classes=3),
  ),
  _hf(
    "scitail",
    C,
    "classification",
    2,
    "allenai/scitail",
    "tsv_format",
    23596,
    _cls("premise", "hypothesis", num_classes=2, names=("neutral", "entails")),
  ),
  _tfds(
    "ag_news",
    C,
    "classification",
    4,
    "ag_news_subset",
    120000,
    _cls("description", num_classes=4, context_parts=("title",)),
    splits={"train": "train", "validation": "test"},
  ),
  _hf(
    "dbpedia",
    C,
    "classification",
    14,
    "fancyzhx/dbpedia_14",
    None,
    560000,
    _cls("content", num_classes=14, context_parts=("title",)),
    splits={"train": "train", "validation": "test"},
  ),
  _tfds(
    "yelp_polarity",
    C,
    "classification",
    2,
    "yelp_polarity_reviews",
    560000,
    _cls("text", num_classes=2),
    splits={"train": "train", "validation": "test"},
  ),
  _tfds(
    "imdb",
    C,
    "classification",
    2,
    "imdb_reviews",
    25000,
    _cls("text", num_classes=2),
    splits={"train": "train", "validation": "test"},
  ),
  _hf(
    "trec",
    C,
    "classification",
    6,
    "CogComp/trec",
    None,
    5452,
    _cls("text", label="coarse_label", num_classes=6),
    splits={"train": "train", "validation": "test"},
  ),
  _hf(
    "rotten_tomatoes",
    C,
    "classification",
    2,
    "cornell-movie-review-data/rotten_tomatoes",
    None,
    8530,
    _cls("text", num_classes=2),
  ),
  _hf(
    "emotion",
    C,
    "classification",
    6,
    "dair-ai/emotion",
    "split",
    16000,
    _cls("text", num_classes=6),
  ),
  _hf(
    "tweet_sentiment",
    C,
    "classification",
    3,
    "cardiffnlp/tweet_eval",
    "sentiment",
    45615,
    _cls("text", num_classes=3),
  ),
  _hf(
    "tweet_hate",
    C,
    "classification",
    2,
    "cardiffnlp/tweet_eval",
    "hate",
    9000,
    _cls("text", num_classes=2),
  ),
  _tfds(
    "paws",
    C,
    "classification",
    2,
    "paws_wiki",
    49401,
    _cls("sentence1", "sentence2", num_classes=2),
  ),
  # --- commonsense: one shared multiple-choice head ----------------------------------------
  _tfds(
    "copa",
    M,
    "choice",
    2,
    "super_glue/copa",
    400,
    _mc("premise", "question", ["choice1", "choice2"]),
  ),
  _hf(
    "commonsense_qa",
    M,
    "choice",
    5,
    "tau/commonsense_qa",
    None,
    9741,
    _mc(None, "question", "choices", label="answerKey", choice_labels="label"),
  ),
  _tfds("hellaswag", M, "choice", 4, "hellaswag", 39905, _mc("context", None, "endings")),
  _hf(
    "swag",
    M,
    "choice",
    4,
    "allenai/swag",
    "regular",
    73546,
    _mc("sent1", "sent2", ["ending0", "ending1", "ending2", "ending3"]),
  ),
  _tfds("piqa", M, "choice", 2, "piqa", 16113, _mc(None, "goal", ["sol1", "sol2"])),
  # TFDS has one winogrande config; the training sizes are splits (train_xs .. train_xl), and
  # the label is a ClassLabel over "1"/"2", so already 0-based.
  _tfds(
    "winogrande",
    M,
    "choice",
    2,
    "winogrande",
    40398,
    _mc(None, "sentence", ["option1", "option2"]),
    splits={"train": "train_xl", "validation": "validation"},
  ),
  _hf(
    "social_iqa",
    M,
    "choice",
    3,
    "allenai/social_i_qa",
    None,
    33410,
    _mc("context", "question", ["answerA", "answerB", "answerC"], label_offset=1),
  ),
  _tfds(
    "cosmos_qa",
    M,
    "choice",
    4,
    "cosmos_qa",
    25262,
    _mc("context", "question", ["answer0", "answer1", "answer2", "answer3"]),
  ),
  _tfds(
    "arc_easy",
    M,
    "choice",
    4,
    "ai2_arc/ARC-Easy",
    2251,
    _mc(None, "question", "choices", label="answerKey", choice_labels="label"),
  ),
  _tfds(
    "arc_challenge",
    M,
    "choice",
    4,
    "ai2_arc/ARC-Challenge",
    1119,
    _mc(None, "question", "choices", label="answerKey", choice_labels="label"),
  ),
  _tfds("openbookqa", M, "choice", 4, "openbookqa", 4957, _openbookqa),
  # --- MRC: one shared span head ------------------------------------------------------------
  _tfds("squad", S, "span", None, "squad/v1.1", 87599, r.span("context", "question", "answers")),
  _tfds(
    "squad_v2", S, "span", None, "squad/v2.0", 130319, r.span("context", "question", "answers")
  ),
  *(
    _hf(
      name,
      S,
      "span",
      None,
      "mrqa-workshop/mrqa",
      None,
      size,
      r.span("context", "question", "answers", start_key=None),
    )
    for name, (_, size) in MRQA_SUBSETS.items()
  ),
  _hf(
    "quoref",
    S,
    "span",
    None,
    "allenai/quoref",
    None,
    19399,
    r.span("context", "question", "answers"),
  ),
  _hf("ropes", S, "span", None, "allenai/ropes", None, 10924, _ropes),
  _tfds(
    "record",
    S,
    "span",
    None,
    "super_glue/record",
    100730,
    r.span("passage", "query", "answers", start_key=None),
  ),
  # --- summarization: decoder only -----------------------------------------------------------
  _tfds(
    "cnn_dailymail",
    Z,
    "generation",
    None,
    "cnn_dailymail",
    287113,
    r.summarization("article", "highlights"),
  ),
  _tfds(
    "xsum",
    Z,
    "generation",
    None,
    "xsum",
    204045,
    r.summarization("document", "summary"),
  ),
  _tfds(
    "billsum",
    Z,
    "generation",
    None,
    "billsum",
    18949,
    r.summarization("text", "summary"),
    splits={"train": "train", "validation": "test"},
  ),
  _tfds(
    "aeslc",
    Z,
    "generation",
    None,
    "aeslc",
    14436,
    r.summarization("email_body", "subject_line"),
  ),
  _tfds(
    "multi_news",
    Z,
    "generation",
    None,
    "multi_news",
    44972,
    r.summarization("document", "summary"),
  ),
)

# Multilingual additions: XNLI (translate-train) and PAWS-X per language.
XNLI_LANGS = (
  "ar",
  "bg",
  "de",
  "el",
  "en",
  "es",
  "fr",
  "hi",
  "ru",
  "sw",
  "th",
  "tr",
  "ur",
  "vi",
  "zh",
)
PAWSX_LANGS = ("de", "en", "es", "fr", "ja", "ko", "zh")
MULTILINGUAL: tuple[MuppetDataset, ...] = (
  *(
    _hf(
      f"xnli_{lang}",
      C,
      "classification",
      3,
      "facebook/xnli",
      lang,
      392702,
      _cls("premise", "hypothesis", num_classes=3),
      lang=lang,
    )
    for lang in XNLI_LANGS
  ),
  *(
    _hf(
      f"pawsx_{lang}",
      C,
      "classification",
      2,
      "google-research-datasets/paws-x",
      lang,
      49401,
      _cls("sentence1", "sentence2", num_classes=2),
      lang=lang,
    )
    for lang in PAWSX_LANGS
  ),
)

_BY_NAME = {d.name: d for d in DATASETS + MULTILINGUAL}
assert len(_BY_NAME) == len(DATASETS) + len(MULTILINGUAL)


def get_dataset(name: str) -> MuppetDataset:
  """Table entry by dataset name or ``muppet.NAME`` task name."""
  key = name.removeprefix("muppet.")
  if key not in _BY_NAME:
    raise KeyError(f"unknown Muppet dataset {name!r}; known: {sorted(_BY_NAME)}")
  return _BY_NAME[key]


def encoder_datasets(datasets=DATASETS) -> list[MuppetDataset]:
  """The entries an encoder-only run can train, logging the decoder-only ones it leaves out."""
  skipped = [d.name for d in datasets if d.needs_decoder]
  if skipped:
    logging.info(
      "encoder-only blend leaves out %d summarization datasets (need a decoder): %s",
      len(skipped),
      ", ".join(skipped),
    )
  return [d for d in datasets if not d.needs_decoder]


def stratified_order(datasets=DATASETS, seed: int = SUBSET_SEED) -> list[MuppetDataset]:
  """A seeded order of the encoder datasets whose every prefix keeps the family shares.

  Each family is shuffled with the seed; then datasets are drawn family by family, always
  from the family furthest below its share of the prefix so far.
  """
  rng = random.Random(seed)
  pools = {}
  for family in FAMILIES:
    members = [d for d in encoder_datasets(datasets) if d.family == family]
    rng.shuffle(members)
    if members:
      pools[family] = members
  total = sum(len(p) for p in pools.values())
  taken = {f: 0 for f in pools}
  order = []
  while len(order) < total:
    n = len(order) + 1
    family = max(
      (f for f in pools if taken[f] < len(pools[f])),
      key=lambda f: (len(pools[f]) * n / total - taken[f], -FAMILIES.index(f)),
    )
    order.append(pools[family][taken[family]])
    taken[family] += 1
  return order


def subset(num_tasks: int, seed: int = SUBSET_SEED) -> list[MuppetDataset]:
  """The first ``num_tasks`` of :func:`stratified_order` (nested across sizes)."""
  order = stratified_order(seed=seed)
  if not 0 < num_tasks <= len(order):
    raise ValueError(f"num_tasks must be in [1, {len(order)}], got {num_tasks}")
  return order[:num_tasks]


def mixture_datasets(name: str) -> list[MuppetDataset]:
  """Datasets of ``muppet_all``, ``muppet_multilingual`` (both with the summarization
  datasets) or ``muppet_Ntasks`` (encoder datasets only, nested)."""
  if name == "muppet_all":
    return list(DATASETS)
  if name == "muppet_multilingual":
    return list(DATASETS) + list(MULTILINGUAL)
  if name.startswith("muppet_") and name.endswith("tasks") and name[7:-5].isdigit():
    return subset(int(name[7:-5]))
  raise KeyError(f"unknown Muppet mixture {name!r}")


MIXTURES = ("muppet_all", "muppet_multilingual", *(f"muppet_{n}tasks" for n in TASK_COUNTS))


def _raw_records(dataset: MuppetDataset, split: str, data_dir: str) -> Iterator[dict]:
  upstream = dataset.splits[split]
  if dataset.source == "tfds":
    yield from hub.iter_tfds_records(dataset.builder, upstream, data_dir, dataset.task)
    return
  wanted = MRQA_SUBSETS.get(dataset.name, (None,))[0]
  for record in hub.iter_hf_records(
    dataset.builder, dataset.config, upstream, data_dir, dataset.task
  ):
    if wanted is None or record.get("subset") == wanted:
      yield record


def convert_dataset_records(
  dataset: MuppetDataset,
  split: str,
  raw: Iterator[dict],
  *,
  strict: bool,
  report: SkipReport,
  origin: str,
) -> Iterator[dict]:
  """Unified examples from raw records of one table entry (ids fall back to the position)."""

  def numbered():
    for i, record in enumerate(raw):
      yield f"{split}[{i}]", record

  def convert(record_id: str, record: dict) -> dict | None:
    if dataset.kind in ("classification", "choice") and record.get("label") == -1:
      return None  # TFDS marks test records without a gold label with -1 (e.g. SNLI, GLUE test)
    example = dataset.convert(record)
    rid = record.get("idx", record.get("id", record.get("qid", record_id)))
    if isinstance(rid, Mapping):  # ReCoRD's idx is {"passage": i, "query": j}
      rid = ".".join(str(v) for v in rid.values())
    example.update(id=f"{dataset.task}.{split}.{rid}", task=dataset.task, lang=dataset.lang)
    example["meta"] = {**example.get("meta", {}), "split": split}
    return example

  yield from convert_records(
    origin,
    numbered(),
    convert,
    strict=strict,
    report=report,
    num_classes=dataset.num_classes if dataset.kind == "classification" else None,
    # Ids come from each upstream's own fields (or the record's position), which the
    # project cannot check for uniqueness on the ~50 releases offline: kept as they come.
    unique_ids=False,
  )


def load_muppet_examples(
  task: str, split: str, data_dir: str, *, strict: bool = True, report: SkipReport | None = None
) -> Iterator[dict]:
  dataset = get_dataset(task)
  if split not in dataset.splits:
    raise ValueError(f"{task} has no split {split!r}; it has {sorted(dataset.splits)}")
  origin = f"{dataset.source}:{dataset.builder}" + (f"/{dataset.config}" if dataset.config else "")
  report = report if report is not None else SkipReport()
  yield from convert_dataset_records(
    dataset,
    split,
    _raw_records(dataset, split, data_dir),
    strict=strict,
    report=report,
    origin=f"{origin} [{split}]",
  )
  if not strict:
    report.print_summary(f"{task} ({split})")
