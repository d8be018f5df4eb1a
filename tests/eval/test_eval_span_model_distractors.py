"""distractor_extraction with a fine-tuned span head (AdvRACE's DE): the scorer gives each
passage span the head's start + end logits, and the attack takes the best-ranked spans."""

import itertools

import numpy as np
import pytest
from eval_helpers import write_workdir

from mrc_jax import perturb
from mrc_jax.data import load_examples
from mrc_jax.data.vocab import load_tokenizer
from mrc_jax.eval.restore import load_model
from mrc_jax.perturb import resources
from mrc_jax.perturb.attacks.options import candidate_spans
from mrc_jax.perturb.span_model import SpanModelScorer

import jax.numpy as jnp


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, me5_tokenizer_dir):
  tokenizer = load_tokenizer(me5_tokenizer_dir)
  return write_workdir(
    tmp_path_factory.mktemp("span") / "run",
    3,
    vocab_size=tokenizer.vocab_size,
    tokenizer_dir=me5_tokenizer_dir,
    max_positions=514,
  )


@pytest.fixture(scope="module")
def me5_tokenizer_dir():
  from mrc_jax.perturb.embedder import default_checkpoint

  path = default_checkpoint()
  try:
    load_tokenizer(path)
  except FileNotFoundError:
    pytest.skip(f"{path} is absent; build it with make_multilingual_e5_small.py")
  return path


@pytest.fixture(scope="module")
def examples(data_dir):
  return list(itertools.islice(load_examples("xquad_mc.de", data_dir=data_dir), 3))


@pytest.fixture(scope="module")
def data_dir():
  import os

  path = os.environ.get("MRC_JAX_DATA_DIR")
  if not path:
    pytest.skip("MRC_JAX_DATA_DIR is not set")
  return path


def reference_scores(workdir, example, spans):
  """Start + end logits of the span head on [CLS] question [SEP][SEP] context [SEP], the
  token of each span's first and last character found by brute force over the offsets."""
  model, spec, _ = load_model(str(workdir))
  tokenizer = load_tokenizer(spec.tokenizer_dir)
  question = tokenizer.encode(example["question"])
  context, offsets = tokenizer.encode_with_offsets(example["context"])
  ids, types = tokenizer.build_pair(question, context)
  first_context = len(question) + (2 if tokenizer.style == "bert" else 3)
  assert ids[first_context : first_context + len(context)] == context
  head = model.heads["span"]
  states = model.encoder(jnp.asarray([ids]), jnp.ones((1, len(ids)), jnp.int32))
  start_logits, end_logits = (np.asarray(x[0]) for x in head(states))
  scores = []
  for a, b in spans:
    first = min(i for i, (s, e) in enumerate(offsets) if e > a)
    last = max(i for i, (s, e) in enumerate(offsets) if s < b)
    scores.append(start_logits[first_context + first] + end_logits[first_context + last])
  return np.asarray(scores)


def test_scores_are_the_heads_start_plus_end_logits(workdir, examples):
  scorer = SpanModelScorer(str(workdir))
  assert scorer.head == "span"
  for example in examples:
    stopwords = resources.stopwords("de")[0]
    spans = candidate_spans(example["context"], "de", 5, stopwords)
    got = np.asarray(scorer(example, spans, "de"))
    np.testing.assert_allclose(got, reference_scores(workdir, example, spans), atol=1e-4)
    assert len(set(np.round(got, 4))) > len(got) // 2  # a random head still ranks spans


def test_long_passages_are_scored_over_windows(workdir, examples):
  example = examples[0]
  spans = candidate_spans(example["context"], "de", 3, resources.stopwords("de")[0])
  windowed = np.asarray(
    SpanModelScorer(str(workdir), max_length=64, window_stride=16)(example, spans, "de")
  )
  assert np.isfinite(windowed).all()  # every span lies wholly in some window
  assert not np.allclose(windowed, SpanModelScorer(str(workdir))(example, spans, "de"))


def test_distractor_extraction_takes_the_models_best_spans(workdir, examples):
  differs = 0
  for example in examples:
    attacked = perturb.perturb(example, "distractor_extraction", "de", 0, span_model=str(workdir))
    (record,) = attacked["meta"]["perturbation"]
    gold = example["options"][example["label"]]
    assert attacked["options"][attacked["label"]] == gold
    new = [e["new"] for e in record["edits"]]
    assert new and all(e["scorer"] == f"span model {workdir}" for e in record["edits"])
    stopwords = resources.stopwords("de")[0]
    spans = candidate_spans(example["context"], "de", 5, stopwords)
    scores = reference_scores(workdir, example, spans)
    by_text = {}
    for (a, b), score in zip(spans, scores):
      by_text[example["context"][a:b]] = max(score, by_text.get(example["context"][a:b], -np.inf))
    # The first new distractor is the best-scored span the filters let through: no span
    # scored higher unless it overlaps the answer's words or is the gold text itself.
    best = by_text[new[0]]
    gold_words = set(gold.casefold().split())
    for text, score in by_text.items():
      if score > best + 1e-4:
        assert set(text.casefold().split()) & gold_words or text.casefold() in gold.casefold(), text
    lexical = perturb.perturb(example, "distractor_extraction", "de", 0)
    lexical_edits = lexical["meta"]["perturbation"][0]["edits"]
    assert lexical_edits[0]["scorer"] == "lexical"
    differs += [e["new"] for e in lexical_edits] != new
  assert differs  # the model, not the lexical scorer, chose


def test_a_missing_span_model_is_named(tmp_path):
  (lacking,) = perturb.missing("distractor_extraction", span_model=str(tmp_path))
  assert str(tmp_path) in lacking and "workdir" in lacking
  assert perturb.missing("distractor_extraction") == []
