"""configs/prefinetune_muppet.py's batch layout holds any micro-batch of its blend: 5-option
commonsense_qa, classification, and MRQA-length span contexts split into windows."""

import pathlib

import numpy as np
import pytest

import configs
from configs import common
from mrc_jax.data import SkipReport, muppet, vocab
from mrc_jax.train import input_pipeline, trainer

CONFIG = pathlib.Path(__file__).resolve().parents[2] / "configs" / "prefinetune_muppet.py"
# 1,021 WordPiece tokens (92 sentences of 11, one of 9 holding the answer): an MRQA
# passage at its 800-token cut.
LONG_CONTEXT = " ".join(
  ["The river flows past the old mill near the village."] * 92
  + ["The ferry finally docks at Oslo after dark."]
)


def _module():
  return configs.load(str(CONFIG))


def _examples(name, records):
  dataset = muppet.get_dataset(name)
  return list(
    muppet.convert_dataset_records(
      dataset, "train", iter(records), strict=True, report=SkipReport(), origin=f"{name} fixture"
    )
  )


def _csqa(i):
  return _examples(
    "commonsense_qa",
    [
      {
        "id": f"c{i}",
        "question": "Where would you keep a fish you just caught?",
        "answerKey": "E",
        "choices": {"label": list("ABCDE"), "text": ["sky", "tree", "desk", "shelf", "bucket"]},
      }
    ],
  )[0]


def _mnli(i):
  return _examples(
    "mnli",
    [
      {
        "premise": "A man sleeps on a bench in the park.",
        "hypothesis": "Nobody is sleeping.",
        "label": 2,
        "idx": i,
      }
    ],
  )[0]


def _triviaqa(i):
  return _examples(
    "mrqa_triviaqa",
    [
      {
        "qid": f"t{i}",
        "context": LONG_CONTEXT,
        "question": "Where does the ferry dock?",
        "answers": ["Oslo"],
        "subset": "TriviaQA-web",
      }
    ],
  )[0]


@pytest.fixture(scope="module")
def tokenizer_dir():
  return common.minilm_dir()


@pytest.mark.parametrize("arg", ("hw=tpu_v4_8", "model=xlmr-large,hw=gpu_8", "runlocal"))
def test_heterogeneous_and_homogeneous_batches_fit(arg, tokenizer_dir):
  config = _module().get_config(arg)
  assert config.data.max_choices == 5  # commonsense_qa
  tasks = trainer.run_plan(config.data).tasks
  head_specs, head_of_task = trainer.resolve_heads(tasks)
  examples = config.batch_size // config.optimizer.accum_steps
  convert = input_pipeline.config_converter(
    config, tokenizer_dir, tasks, head_of_task, head_specs, num_examples=examples
  )
  assert len(vocab.load_tokenizer(tokenizer_dir).encode(LONG_CONTEXT)) == 1021
  kinds = (_csqa, _mnli, _triviaqa)
  mixed = [kinds[i % 3](i) for i in range(examples)]
  only_long = [_triviaqa(i) for i in range(examples)]  # a homogeneous batch of the task
  for batch_examples in (mixed, only_long):
    batch, meta = convert(batch_examples)
    spans = [m for m in meta if m["kind"] == "span"]
    assert len(meta) == int(batch["example_mask"].sum())
    assert {m["id"] for m in meta} == {e["id"] for e in batch_examples}
    assert len(spans) == sum(m["num_windows"] for m in spans if m["window"] == 0)
    assert min(m["num_windows"] for m in spans) > 1
    choice = [i for i, m in enumerate(meta) if m["kind"] == "choice"]
    for i in choice:
      np.testing.assert_array_equal(batch["choice_mask"][i], np.ones(5))
    # The answer's window marks it; the others point at the "no answer" position 0.
    answered = [i for i, m in enumerate(meta) if m["kind"] == "span" and batch["span_start"][i] > 0]
    assert len(answered) >= sum(1 for m in spans if m["window"] == 0)


def test_worst_case_room_follows_length_and_blend():
  module = _module()
  assert common.span_windows(256) == 8  # 1,024 tokens: windows at 0, 128, ..., 896
  assert common.span_windows(512) == 6
  no_span = [d for d in muppet.encoder_datasets() if d.kind != "span"]
  assert module.batch_room(no_span, 256) == (5, 1, 5)
  assert module.batch_room(muppet.encoder_datasets(), 256) == (5, 8, 8)
  config = module.get_config("model=xlmr-base,hw=tpu_v4_8")
  # 4 chips x 16 rows of 512 tokens = 128 rows of 256: 16 examples of 8 rows per pass.
  assert config.optimizer.accum_steps == 16 and config.data.rows_per_batch == 128


def _xsum(i):
  return _examples(
    "xsum",
    [{"id": f"x{i}", "document": LONG_CONTEXT, "summary": "The ferry docks at Oslo."}],
  )[0]


def test_an_encoder_decoder_run_keeps_the_summarization_sets(tmp_path):
  from mrc_jax.models import hf_seq2seq
  from tests.models import seq2seq_checkpoints

  source = seq2seq_checkpoints.write("bart", str(tmp_path / "bart"))
  config = _module().get_config("model=bart-base,runlocal")
  assert config.init_from.endswith("facebook/bart-base") and "num_layers" not in config.model
  assert config.r3f.weight == common.MUPPET_RECIPE["r3f_weight"]
  encoder_tasks = trainer.run_plan(config.data).tasks
  tasks = trainer.run_plan(config.data, decoder=True).tasks
  summarization = [d.task for d in muppet.DATASETS if d.needs_decoder]
  assert set(tasks) - set(encoder_tasks) == set(summarization) and len(summarization) == 5
  head_specs, head_of_task = trainer.resolve_heads(tasks)
  assert [h.kind for h in head_specs].count("generation") == 1
  examples = config.batch_size // config.optimizer.accum_steps
  convert = input_pipeline.config_converter(
    config,
    source,
    tasks,
    head_of_task,
    head_specs,
    num_examples=examples,
    decoder=input_pipeline.decoder_layout(hf_seq2seq.read_config(source)),
  )
  kinds = (_xsum, _csqa, _mnli, _triviaqa)
  batch, meta = convert([kinds[i % 4](i) for i in range(examples)])
  assert [m["kind"] for m in meta][:4] == ["generation", "choice", "classification", "span"]
  (summary,) = [i for i, m in enumerate(meta) if m["kind"] == "generation"]
  row = batch["pool_row"][summary, 0]
  assert (batch["decoder_labels"][row] >= 0).sum() == 8  # <s> the ferry docks at Oslo. </s>
  assert (batch["segment_ids"][row] > 0).sum() == config.data.max_length  # the article, cut
