"""Fast checks of the trainer's parts: input positions, batching modes, optimizer masks and
schedule, R3F divergence, synthetic data, and command-line config overrides."""

import os
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from mrc_jax.data import synthetic
from mrc_jax.models import head_kinds
from mrc_jax.models.multitask import HeadSpec
from mrc_jax.train import input_pipeline, optimizer, step

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TASKS = ["synthetic.en", "synthetic_pair.ru", "synthetic_span.zh"]


def _input(batching="heterogeneous", batch_size=6, accum=2, total_steps=9):
  sources = [input_pipeline.ExampleSource(t, "train", seed=3) for t in TASKS]
  sampler = input_pipeline.MixtureSampler([1, 1, 1], batching, seed=3, total_steps=total_steps)
  ids = lambda examples: ({"n": np.asarray([len(examples)])}, [e["id"] for e in examples])
  return input_pipeline.TrainInput(TASKS, sources, sampler, batch_size, accum, ids)


def test_resumed_input_yields_the_same_batches():
  straight = _input()
  batches = [next(straight)[1] for _ in range(5)]
  first = _input()
  for _ in range(2):
    next(first)
  resumed = _input()
  resumed.restore(first.position())
  assert [next(resumed)[1] for _ in range(3)] == batches[2:]
  # Each task's examples are consumed in order, none twice.
  ids = [i for metas in batches for m in metas for i in m]
  assert len(ids) == len(set(ids)) == 30


@pytest.mark.parametrize("batching", ["homogeneous", "sequential"])
def test_homogeneous_and_sequential_batches_hold_one_task(batching):
  pipe = _input(batching, accum=1, total_steps=9)
  tasks_per_step = []
  for _ in range(9):
    _, (metas,) = next(pipe)
    tasks = {i.split("-")[0] for i in metas}
    assert len(tasks) == 1
    tasks_per_step.append(tasks.pop())
  if batching == "sequential":  # three tasks, three steps each, in order
    assert tasks_per_step == [t for t in TASKS for _ in range(3)]


def test_heterogeneous_batches_mix_tasks():
  pipe = _input(accum=1, batch_size=12)
  _, (metas,) = next(pipe)
  assert len({i.split("-")[0] for i in metas}) > 1


def test_span_windows_take_slots_of_their_own(tmp_path):
  """A long context splits into windows, one slot each: room is made by slots_per_batch."""
  tokenizer_dir = str(tmp_path)
  synthetic.save_tokenizer(tokenizer_dir)
  task = "synthetic_span.en"
  examples = [synthetic.make_example("span", "en", "train", i) for i in range(2)]
  kwargs = dict(
    tasks=[task],
    head_of_task=[0],
    head_specs=[HeadSpec("span", "span")],
    num_examples=2,
    max_length=32,
    max_choices=1,
  )
  with pytest.raises(ValueError, match="slots_per_batch"):
    input_pipeline.make_converter(tokenizer_dir, **kwargs)(examples)
  batch, metas = input_pipeline.make_converter(tokenizer_dir, slots_per_batch=12, **kwargs)(
    examples
  )
  windows = [m["num_windows"] for m in metas if m["window"] == 0]
  assert len(windows) == 2 and min(windows) > 1  # every context needed several windows
  assert len(metas) == sum(windows) <= 12
  assert batch["label"].shape == (12,) and batch["input_ids"].shape == (12, 32)


def test_no_weight_decay_on_norms_and_biases():
  params = {
    "encoder": {
      "embeddings": {"word": 1.0, "norm_scale": 1.0, "norm_bias": 1.0},
      "layers": {"qkv_kernel": 1.0, "qkv_bias": 1.0, "attn_norm_scale": 1.0},
    },
    "heads": {"pair": {"out": {"kernel": 1.0, "bias": 1.0}}},
  }
  mask = optimizer.decay_mask(params)
  assert mask["encoder"]["embeddings"] == {"word": True, "norm_scale": False, "norm_bias": False}
  assert mask["encoder"]["layers"] == {
    "qkv_kernel": True,
    "qkv_bias": False,
    "attn_norm_scale": False,
  }
  assert mask["heads"]["pair"]["out"] == {"kernel": True, "bias": False}


def test_warmup_then_linear_decay():
  schedule = optimizer.learning_rate_schedule(1.0, total_steps=10, warmup_steps=2)
  np.testing.assert_allclose(
    [float(schedule(s)) for s in (0, 1, 2, 6, 10)], [0.0, 0.5, 1.0, 0.5, 0.0], atol=1e-6
  )


def test_symmetric_kl_is_zero_for_equal_outputs_and_symmetric():
  p, q = jnp.asarray([[0.0, 1.0, 2.0]]), jnp.asarray([[1.0, 0.0, 0.5]])
  assert float(head_kinds.symmetric_kl(p, p)[0]) == 0.0
  lp, lq = np.log(np.exp(p) / np.exp(p).sum()), np.log(np.exp(q) / np.exp(q).sum())
  expected = np.sum(np.exp(lp) * (lp - lq)) + np.sum(np.exp(lq) * (lq - lp))
  np.testing.assert_allclose(float(head_kinds.symmetric_kl(p, q)[0]), expected, rtol=1e-5)
  np.testing.assert_allclose(float(head_kinds.symmetric_kl(q, p)[0]), expected, rtol=1e-5)


def test_loss_scale_is_inverse_log_classes():
  n = jnp.asarray([2, 4, 1])
  np.testing.assert_allclose(
    step.loss_scale(n, True), [1 / np.log(2), 1 / np.log(4), 1.0], rtol=1e-6
  )
  np.testing.assert_array_equal(step.loss_scale(n, False), [1.0, 1.0, 1.0])


def test_synthetic_examples_are_deterministic_and_answerable():
  tok = synthetic.tokenizer()
  for kind in synthetic.KINDS:
    for lang in synthetic.LANGS:
      a = synthetic.make_example(kind, lang, "train", 7, seed=1)
      assert a == synthetic.make_example(kind, lang, "train", 7, seed=1)
      assert a != synthetic.make_example(kind, lang, "train", 8, seed=1)
      assert synthetic.UNK_ID not in tok.encode(a["context"], a["question"]).ids
      if kind in synthetic.CHOICE_KINDS:
        assert len(set(a["options"])) == synthetic.NUM_CHOICES
        assert a["options"][a["label"]] in a["context"]
        if kind == "lookup":  # the answer is the only option the passage states
          assert sum(option in a["context"] for option in a["options"]) == 1
      elif kind == "span":
        answer = a["answers"][0]
        assert (
          a["context"][answer["start"] : answer["start"] + len(answer["text"])] == answer["text"]
        )
  assert len(list(synthetic.examples("mc", "hi", "validation"))) == synthetic.EVAL_SPLIT_SIZE


def test_command_line_overrides_reach_the_config():
  code = (
    "from absl import app; from ml_collections import config_flags;"
    "c = config_flags.DEFINE_config_file('config');"
    "app.run(lambda _: print('RESULT', repr((c.value.total_steps, c.value.batch_size,"
    " tuple(map(tuple, c.value.mesh)), c.value.seed, c.value.checkpoint_every_steps,"
    " c.value.eval_every_steps, c.value.init_from))))"
  )
  proc = subprocess.run(
    [
      sys.executable,
      "-c",
      code,
      "--config=configs/smoke.py",
      "--config.total_steps=7",
      "--config.batch_size=4",
      "--config.mesh=(('data',2),('fsdp',2),('tensor',2))",
    ],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=300,
  )
  line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
  assert proc.returncode == 0 and line, proc.stderr[-2000:]
  total, batch, mesh, *contract = eval(line[0][len("RESULT ") :])
  assert (total, batch) == (7, 4)
  assert mesh == (("data", 2), ("fsdp", 2), ("tensor", 2))
  assert len(contract) == 4


@pytest.mark.parametrize("rows_per_batch, slots_per_batch", [(0, 0), (10, 8)])
def test_batch_spec_is_what_the_input_yields(tmp_path, rows_per_batch, slots_per_batch):
  """The trainer compiles its step from batch_spec before reading data: the spec must be
  the keys, shapes and dtypes of real batches of choice, classification and span tasks."""
  tokenizer_dir = str(tmp_path)
  synthetic.save_tokenizer(tokenizer_dir)
  heads = [
    HeadSpec("multiple_choice", "multiple_choice"),
    HeadSpec("pair", "classification", synthetic.num_classes("pair")),
    HeadSpec("span", "span"),
  ]
  layout = dict(
    num_examples=3,
    max_length=96,
    max_choices=synthetic.NUM_CHOICES,
    rows_per_batch=rows_per_batch,
    slots_per_batch=slots_per_batch,
  )
  convert = input_pipeline.make_converter(tokenizer_dir, TASKS, [0, 1, 2], heads, **layout)
  sources = [input_pipeline.ExampleSource(t, "train", seed=3) for t in TASKS]
  sampler = input_pipeline.MixtureSampler([1, 1, 1], "heterogeneous", seed=3, total_steps=4)
  pipe = input_pipeline.TrainInput(TASKS, sources, sampler, 6, 2, convert)
  spec = {k: (s.shape, s.dtype) for k, s in input_pipeline.batch_spec(accum=2, **layout).items()}
  kinds = set()
  for _ in range(4):
    batch, metas = next(pipe)  # [accum=2, ...]
    assert {k: (v.shape, v.dtype) for k, v in batch.items()} == spec
    kinds |= {m["kind"] for micro in metas for m in micro}
  assert kinds == {"choice", "classification", "span"}
  micro = input_pipeline.batch_spec(**layout)
  assert {k: s.shape for k, s in micro.items()} == {k: shape[1:] for k, (shape, _) in spec.items()}


def test_skip_overlong_leaves_out_an_example_whose_option_alone_is_too_long(tmp_path):
  """data.skip_overlong: the example's slot stays empty and the rest of the batch is built;
  without it the same example is an error."""
  tokenizer_dir = str(tmp_path)
  synthetic.save_tokenizer(tokenizer_dir)
  task = synthetic.task_name("mc", "en")
  examples = [synthetic.make_example("mc", "en", "train", i) for i in range(2)]
  long_option = " ".join([examples[0]["options"][0]] * 40)
  examples[0] = dict(examples[0], id="too-long", options=[long_option] + examples[0]["options"][1:])
  kwargs = dict(
    tasks=[task],
    head_of_task=[0],
    head_specs=[HeadSpec("multiple_choice", "multiple_choice")],
    num_examples=2,
    max_length=48,
    max_choices=synthetic.NUM_CHOICES,
  )
  with pytest.raises(ValueError, match="too-long"):
    input_pipeline.make_converter(tokenizer_dir, **kwargs)(examples)
  batch, metas = input_pipeline.make_converter(tokenizer_dir, skip_overlong=True, **kwargs)(
    examples
  )
  assert [m["id"] for m in metas] == [examples[1]["id"]]
  assert batch["input_ids"].shape == (2 * synthetic.NUM_CHOICES, 48)


def test_a_classification_dataset_gets_one_head_across_its_languages():
  from mrc_jax.data import catalog, tasks
  from mrc_jax.train import trainer

  for lang in ("en", "de"):
    clean = catalog.CleanTask(
      name=f"pairs_for_heads.{lang}",
      dataset="pairs_for_heads",
      lang=lang,
      kind="classification",
      files={"train": ()},
      source="test",
      read_split=lambda *args: iter(()),
      num_classes=3,
    )
    tasks.register_task(clean.name, tasks.file_task_info(clean), lambda *args: iter(()))
  specs, head_of_task = trainer.resolve_heads(["pairs_for_heads.en", "pairs_for_heads.de"])
  assert specs == [HeadSpec("pairs_for_heads", "classification", 3)]
  assert head_of_task == [0, 0]
