"""Records of exactly the structure each Muppet source declares: TFDS records from the
builder's own feature spec, Hugging Face records from the ``dataset_info`` features of the
dataset card (fixtures/muppet/hf_dataset_cards.json); per dataset, the values its converter
reads and the fields of the example it must give."""

import functools
import json
import os

import numpy as np
import tensorflow_datasets as tfds

from mrc_jax.data import muppet

CARDS = os.path.join(os.path.dirname(__file__), "fixtures", "muppet", "hf_dataset_cards.json")


def tfds_example(features, values: dict):
  """An example of the declared features: ``values`` where given, a placeholder elsewhere
  (a text field holds its own name); keys the builder does not declare are an error."""
  assert set(values) <= set(features.keys()), set(values) - set(features.keys())
  example = {}
  for key, feature in features.items():
    if isinstance(feature, tfds.features.FeaturesDict):
      example[key] = tfds_example(feature, values.get(key, {}))
    elif key in values:
      example[key] = values[key]
    elif isinstance(feature, tfds.features.Sequence):
      inner = feature.feature
      example[key] = (
        {k: [] for k in inner.keys()}
        if isinstance(inner, tfds.features.FeaturesDict)
        else [f"{key} {i}" for i in range(2)]
      )
    elif isinstance(feature, tfds.features.Text) or np.dtype(feature.np_dtype).kind in "OSU":
      example[key] = key
    elif isinstance(feature, tfds.features.ClassLabel) or np.dtype(feature.np_dtype).kind in "iu":
      example[key] = 0
    else:
      example[key] = 0.0 if np.dtype(feature.np_dtype).kind == "f" else False
  return example


def hf_record(features: list, values: dict) -> dict:
  """A record as ``datasets`` yields it for the card's features: class labels as ints, a
  sequence of fields as a dict of lists."""
  names = [f["name"] for f in features]
  assert set(values) <= set(names), set(values) - set(names)
  record = {}
  for spec in features:
    name, dtype = spec["name"], spec.get("dtype")
    if name in values:
      value = values[name]
      if isinstance(dtype, dict):  # a class label: an index into its names
        assert isinstance(value, int) and 0 <= value < len(dtype["class_label"]["names"]), (
          name,
          value,
        )
      elif dtype is not None:
        assert isinstance(value, str if dtype == "string" else int), (name, value)
      elif isinstance(spec["sequence"], list):
        assert set(value) == {f["name"] for f in spec["sequence"]}, (name, value)
      else:
        assert isinstance(value, list), (name, value)
      record[name] = value
    elif isinstance(spec.get("sequence"), list):
      record[name] = {f["name"]: [] for f in spec["sequence"]}
    elif "sequence" in spec:
      record[name] = [f"{name} {i}" for i in range(2)]
    else:
      record[name] = name if spec["dtype"] == "string" else 0
  return record


def pair(first, second="", label=1):
  return {"context": first, "question": second, "label": label}


def choice(context, question, options, label):
  return {"context": context, "question": question, "options": options, "label": label}


SQUAD = {"context": "Paris is in France.", "answers": {"text": ["France"], "answer_start": [12]}}
RECORD = {
  "passage": "Oslo is cold.\n@highlight\nRain in Oslo",
  "query": "@placeholder is cold.",
  "answers": ["Oslo"],
  "entities": ["Oslo", "Rain"],
  "idx": {"passage": 4, "query": 9},
}
# name -> (values for the declared features, expected fields of the converted example)
TFDS_CASES = {
  "cola": ({"label": 1}, pair("sentence")),
  "sst2": ({"label": 1}, pair("sentence")),
  "mrpc": ({"label": 1}, pair("sentence1", "sentence2")),
  "qqp": ({"label": 1}, pair("question1", "question2")),
  "mnli": ({"label": 2}, pair("premise", "hypothesis", 2)),
  "qnli": ({"label": 1}, pair("sentence", "question")),
  "rte": ({"label": 1}, pair("sentence1", "sentence2")),
  "wnli": ({"label": 1}, pair("sentence1", "sentence2")),
  "stsb": ({"label": 3.5}, {"context": "sentence1", "question": "sentence2", "target": 3.5}),
  "boolq": ({"label": 1}, pair("passage", "question")),
  "cb": ({"label": 2}, pair("premise", "hypothesis", 2)),
  "wic": ({"label": 1}, pair("word sentence1", "sentence2")),
  "snli": ({"label": 2}, pair("premise", "hypothesis", 2)),
  "anli_r1": ({"label": 2}, pair("context", "hypothesis", 2)),
  "anli_r2": ({"label": 2}, pair("context", "hypothesis", 2)),
  "anli_r3": ({"label": 2}, pair("context", "hypothesis", 2)),
  "ag_news": ({"label": 3}, pair("title description", label=3)),
  "yelp_polarity": ({"label": 1}, pair("text")),
  "imdb": ({"label": 1}, pair("text")),
  "paws": ({"label": 1}, pair("sentence1", "sentence2")),
  "copa": ({"label": 1}, choice("premise", "question", ["choice1", "choice2"], 1)),
  "hellaswag": (
    {"endings": ["e0", "e1", "e2", "e3"], "label": 2},
    choice("context", "", ["e0", "e1", "e2", "e3"], 2),
  ),
  "piqa": ({"label": 1}, choice("", "goal", ["sol1", "sol2"], 1)),
  "winogrande": ({"label": "2"}, choice("", "sentence", ["option1", "option2"], 1)),
  "cosmos_qa": (
    {"label": 3},
    choice("context", "question", ["answer0", "answer1", "answer2", "answer3"], 3),
  ),
  "arc_easy": (
    {"choices": {"label": ["A", "B", "C", "D"], "text": ["a", "b", "c", "d"]}, "answerKey": "C"},
    choice("", "question", ["a", "b", "c", "d"], 2),
  ),
  "arc_challenge": (
    {"choices": {"label": ["A", "B", "C"], "text": ["a", "b", "c"]}, "answerKey": "B"},
    choice("", "question", ["a", "b", "c"], 1),
  ),
  "openbookqa": (
    {
      "question": {
        "stem": "Which is a metal?",
        "choice_A": "wood",
        "choice_B": "glass",
        "choice_C": "iron",
        "choice_D": "salt",
      },
      "answerKey": "C",
    },
    choice("fact1", "Which is a metal?", ["wood", "glass", "iron", "salt"], 2),
  ),
  "squad": (
    SQUAD,
    {"context": "Paris is in France.", "answers": [{"text": "France", "start": 12}]},
  ),
  "squad_v2": ({**SQUAD, "is_impossible": False}, {"answers": [{"text": "France", "start": 12}]}),
  "record": (
    RECORD,
    {
      "id": "muppet.record.train.4.9",
      "question": "@placeholder is cold.",
      "answers": [{"text": "Oslo", "start": 0}],
    },
  ),
  "cnn_dailymail": (
    {},
    {"context": "article", "target_text": "highlights"},
  ),
  "xsum": ({}, {"context": "document", "target_text": "summary"}),
  "billsum": ({}, {"context": "text", "target_text": "summary"}),
  "aeslc": ({}, {"context": "email_body", "target_text": "subject_line"}),
  "multi_news": ({}, {"context": "document", "target_text": "summary"}),
}
ROPES = {
  "background": "Warm air rises.",
  "situation": "Town A is warm. Town B is cold.",
  "question": "Is the air rising in Town A or in Town B?",
  "answers": {"text": ["Town A"]},
}
HF_CASES = {
  "scitail": ({"label": "entails"}, pair("premise", "hypothesis")),
  "dbpedia": ({"label": 13}, pair("title content", label=13)),
  "trec": ({"coarse_label": 5, "fine_label": 49}, pair("text", label=5)),
  "rotten_tomatoes": ({"label": 1}, pair("text")),
  "emotion": ({"label": 5}, pair("text", label=5)),
  "tweet_sentiment": ({"label": 2}, pair("text", label=2)),
  "tweet_hate": ({"label": 1}, pair("text")),
  "commonsense_qa": (
    {"choices": {"label": list("ABCDE"), "text": list("abcde")}, "answerKey": "E"},
    choice("", "question", list("abcde"), 4),
  ),
  "swag": ({"label": 3}, choice("sent1", "sent2", ["ending0", "ending1", "ending2", "ending3"], 3)),
  "social_iqa": (
    {"label": "3"},
    choice("context", "question", ["answerA", "answerB", "answerC"], 2),
  ),
  **{
    name: (
      {"subset": subset, "context": "Rain fell in Oslo.", "answers": ["Oslo"], "qid": "q7"},
      {"id": f"muppet.{name}.train.q7", "answers": [{"text": "Oslo", "start": 13}]},
    )
    for name, (subset, _) in muppet.MRQA_SUBSETS.items()
  },
  "quoref": (
    {"context": "Tom met Ann.", "answers": {"answer_start": [8], "text": ["Ann"]}},
    {"answers": [{"text": "Ann", "start": 8}]},
  ),
  "ropes": (ROPES, {"question": ROPES["question"], "answers": [{"text": "Town A", "start": 16}]}),
  **{
    f"xnli_{lang}": ({"label": 2}, pair("premise", "hypothesis", 2)) for lang in muppet.XNLI_LANGS
  },
  **{
    f"pawsx_{lang}": ({"id": 5, "label": 1}, pair("sentence1", "sentence2"))
    for lang in muppet.PAWSX_LANGS
  },
}
TFDS_DATASETS = [d for d in muppet.DATASETS + muppet.MULTILINGUAL if d.source == "tfds"]
HF_DATASETS = [d for d in muppet.DATASETS + muppet.MULTILINGUAL if d.source == "hf"]


def card_of(cards, dataset):
  card = cards.get(f"{dataset.builder}/{dataset.config}") or cards[dataset.builder]
  configs = card["configs"]
  if configs is not None:  # one card per config has no list
    assert dataset.config in configs if dataset.config else len(configs) == 1
  assert set(dataset.splits.values()) <= set(card["splits"])
  return card


@functools.cache
def cards() -> dict:
  with open(CARDS, encoding="utf-8") as f:
    return json.load(f)


def declared_record(dataset) -> dict:
  """One record of ``dataset`` as its source yields it (TFDS: before encoding)."""
  if dataset.source == "tfds":
    builder = tfds.builder(dataset.builder, try_gcs=False)
    return tfds_example(builder.info.features, TFDS_CASES[dataset.name][0])
  return hf_record(card_of(cards(), dataset)["features"], HF_CASES[dataset.name][0])
