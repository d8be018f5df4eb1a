"""ROUGE: the metric against hand-counted n-grams (English with rouge-score's own tokenizer
and stemmer, other scripts through ICU words) and the "rouge" evaluator's decoding path."""

import numpy as np
import pytest
import seqio

from mrc_jax.data import synthetic, tasks
from mrc_jax.eval import metrics
from mrc_jax.eval.evaluators import EvalContext, build, entries
from mrc_jax.eval.evaluators import rouge as rouge_lib
from mrc_jax.models.encoder import EncoderConfig
from mrc_jax.models.multitask import HeadSpec
from mrc_jax.models.seq2seq import Seq2SeqConfig
from mrc_jax.train.run_spec import RunSpec
from configs import smoke

ROUGE = ("rouge1", "rouge2", "rougeL", "rougeLsum")


def _scores(values):
  return dict(zip(ROUGE, values))


def test_english_counts_stemmed_words():
  # 5 of 6 unigrams, 3 of 5 bigrams, a longest common subsequence of 5.
  got = metrics.rouge(["the cat sat on the mat"], ["the cat lay on the mat"])
  assert got == pytest.approx(_scores((500 / 6, 60.0, 500 / 6, 500 / 6)))
  # The Porter stemmer makes "cats" and "cat" one word; -Lsum takes the union LCS of each
  # reference line (newline-separated) against the prediction's lines.
  got = metrics.rouge(
    ["The cats were sitting.\nThen they ran."], ["Then the cat ran.\nThe cat sat."]
  )
  assert got == pytest.approx(_scores((400 / 7, 100 / 6, 300 / 7, 400 / 7)))
  assert metrics.rouge(["a b"], ["c d"]) == _scores((0.0,) * 4)


def test_other_scripts_are_scored_on_icu_words():
  # rouge-score's tokenizer keeps [a-z0-9] only: Cyrillic and Han would score nothing.
  got = metrics.rouge(["Кошка сидела на коврике."], ["Кошка лежала на коврике."], "ru")
  assert got == pytest.approx(_scores((75.0, 100 / 3, 75.0, 75.0)))
  got = metrics.rouge(["我喜欢猫"], ["我喜欢狗"], "zh")  # 我 / 喜欢 / 猫
  assert got == pytest.approx(_scores((200 / 3, 50.0, 200 / 3, 200 / 3)))


def test_rouge_refuses_mismatched_or_empty_inputs():
  with pytest.raises(ValueError, match="2 targets but 1 predictions"):
    metrics.rouge(["a", "b"], ["a"])
  with pytest.raises(ValueError, match="no examples"):
    metrics.rouge([], [])


def test_generation_tasks_score_rouge_through_seqio():
  task = seqio.get_mixture_or_task("synthetic_summary.de")
  (metric,) = task.metric_fns
  assert metric(["Anna wohnt in Berlin."], ["anna wohnt in berlin"])["rouge1"] == 100.0
  assert tasks.info("synthetic_summary.de").kind == "generation"


class _Model:
  seq2seq = object()


def _context(tmp_path, model_config, **entry):
  tokenizer_dir = str(tmp_path / "tok")
  synthetic.save_tokenizer(tokenizer_dir)
  config = smoke.get_config("seq2seq")
  config.evals = {"summaries": dict(type="rouge", **entry)}
  spec = RunSpec(
    encoder=model_config,
    heads=(HeadSpec("generation", "generation"),),
    tasks=("synthetic_summary.en",),
    head_of_task=(0,),
    tokenizer_dir=tokenizer_dir,
  )
  return config, EvalContext(config, spec, lambda params: _Model(), mesh=None)


def _seq2seq_config():
  return Seq2SeqConfig(**{**dict(smoke._seq2seq_model()), "vocab_size": synthetic.vocab_size()})


def test_evaluator_decodes_up_to_the_first_end_of_sequence_token(tmp_path, monkeypatch):
  config, context = _context(
    tmp_path,
    _seq2seq_config(),
    tasks=("synthetic_summary.en", "synthetic_summary.de"),
    num_examples=5,
    batch_size=2,
    max_new_tokens=40,
  )
  filler = synthetic.tokenizer().token_to_id("paris")

  def copy_source(model, input_ids, attention_mask, **kwargs):
    # [start] + the source row, with words after its end-of-sequence token: a prediction
    # must stop at the first </s>.
    assert kwargs["max_new_tokens"] == 40 and input_ids.shape == (2, 96)
    rows = np.where(attention_mask > 0, input_ids, filler)
    return np.concatenate([np.full((2, 1), synthetic.SEP_ID), rows], axis=1)

  monkeypatch.setattr(rouge_lib.generation, "generate", copy_source)
  ((_, evaluator),) = build(entries(config), context).values()
  scalars = evaluator(params=None)
  for lang in ("en", "de"):
    examples = [synthetic.make_example("summary", lang, "validation", i) for i in range(5)]
    expected = metrics.rouge(
      [e["target_text"] for e in examples], [e["context"] for e in examples], lang
    )
    for name in ROUGE:
      assert scalars[f"eval/summaries/synthetic_summary.{lang}/{name}"] == pytest.approx(
        expected[name]
      )
  assert scalars["eval/summaries/synthetic_summary.en/rouge1"] < 100.0  # precision: the rest


def test_evaluator_refuses_encoders_and_non_generation_tasks(tmp_path):
  config, context = _context(tmp_path, EncoderConfig(vocab_size=64), tasks=("synthetic.en",))
  with pytest.raises(ValueError, match="needs an encoder-decoder"):
    build(entries(config), context)
  config, context = _context(tmp_path, _seq2seq_config(), tasks=("synthetic.en",))
  with pytest.raises(ValueError, match="ROUGE needs generation examples"):
    build(entries(config), context)
