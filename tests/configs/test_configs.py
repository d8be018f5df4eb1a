"""Every study config builds for every argument combination, with the published recipes."""

import itertools
import json
import math
import os
import pathlib

import pytest

import configs
from mrc_jax.data import tasks

REPO = pathlib.Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"


def load(relative: str):
  """A config module of configs/ (the package's own loader)."""
  return configs.load(str(CONFIGS / relative))


def plan(config) -> tasks.Plan:
  """What a training config draws: its registered mixture's tasks and rates."""
  return tasks.plan(config.data.mixture)


@pytest.fixture(scope="module")
def common():
  return load("common.py")


STUDY_CONFIGS = (
  "finetune_race.py",
  "prefinetune_muppet.py",
  "eval_xlingual.py",
  "quickstart.py",
  "minilm_xquad.py",
)


@pytest.mark.parametrize("name", STUDY_CONFIGS)
def test_docstring_opens_with_the_exact_command(name):
  first = load(name).__doc__.strip().splitlines()[0]
  assert first.startswith("python launch/"), first
  assert f"configs/{name}" in first, first
  assert "What to expect" in load(name).__doc__


@pytest.mark.parametrize(
  "name, arg",
  [
    ("smoke.py", ""),
    ("finetune_race.py", "model=minilm,hw=runlocal,runlocal"),
    ("prefinetune_muppet.py", ""),
    ("quickstart.py", "stage=finetune_adv"),
    ("quickstart.py", "stage=eval"),
    ("eval_xlingual.py", ""),
    ("minilm_xquad.py", "stage=eval,data_dir=/data"),
  ],
)
def test_eval_entries_name_registered_evaluators_and_their_schedule(name, arg):
  from mrc_jax.eval import evaluators

  config = load(name).get_config(arg)
  for entry in evaluators.entries(config).values():
    # Accuracy every eval_every_steps in training; the robustness report only in launch/eval.py.
    periodic = entry.type == "accuracy"
    assert entry.every_steps == (config.eval_every_steps if periodic else 0)


@pytest.mark.parametrize(
  "model,adv,hw",
  itertools.product(
    (
      "xlmr-base",
      "xlmr-large",
      "roberta-base",
      "roberta-large",
      "mbert",
      "muppet-roberta-base",
      "muppet-roberta-large",
    ),
    ("none", "advrace", "advrace_multilingual"),
    ("runlocal", "tpu_v4_8", "tpu_v5e_8", "gpu_8"),
  ),
)
def test_finetune_race_builds_with_the_advrace_recipe(model, adv, hw, tmp_path):
  config = load("finetune_race.py").get_config(
    f"model={model},adv={adv},hw={hw},ckpt_dir={tmp_path}"
  )
  assert config.optimizer.learning_rate == 1e-5
  assert config.batch_size == 32
  assert config.data.max_length == 512
  assert config.init_from == str(tmp_path / load("common.py").MODELS[model]["hf_id"])
  # 5 epochs over the fine-tuning data's (approximate) size at batch 32.
  examples = sum(plan(config).rates)
  assert config.total_steps == round(5 * examples / 32)
  assert config.batch_size % config.optimizer.accum_steps == 0
  assert plan(config).tasks[0] == ("race.all" if adv == "none" else "advrace.train_mix")
  if adv == "advrace_multilingual":
    assert plan(config).tasks[1:] == (
      "race.all.homoglyph",
      "race.all.typo_keyboard",
      "race.all.distractor_passage",
    )
  for axis, size in config.mesh:
    assert axis in ("data", "fsdp", "tensor") and (size == -1 or size >= 1)
  assert config.model.dtype == ("float32" if hw == "runlocal" else "bfloat16")


def test_finetune_race_options(tmp_path):
  module = load("finetune_race.py")
  half = module.get_config(f"adv=none,fraction=0.5,ckpt_dir={tmp_path}")
  full = module.get_config(f"adv=none,ckpt_dir={tmp_path}")
  assert half.data.train_fraction == 0.5
  assert (
    half.total_steps == round(5 * 87_866 * 0.5 / 32) == pytest.approx(full.total_steps / 2, abs=1)
  )
  squad = module.get_config(f"span=squad,init={tmp_path}/pft,ckpt_dir={tmp_path}")
  assert plan(squad).tasks[-1] == "squad.en" and squad.init_from == f"{tmp_path}/pft"
  local = module.get_config("runlocal")
  assert local.total_steps == 4 and local.batch_size == 4
  with pytest.raises(ValueError, match="adv='adversarial'"):
    module.get_config("adv=adversarial")
  with pytest.raises(ValueError, match="unknown config argument 'modle'"):
    module.get_config("modle=xlmr-base")
  with pytest.raises(ValueError, match="model"):
    module.get_config("model=gpt2")


@pytest.mark.parametrize(
  "model,tasks,batching,hw",
  itertools.product(
    ("xlmr-base", "xlmr-large", "roberta-base", "roberta-large"),
    ("all", "5", "10", "15", "20", "25", "30", "40"),
    ("heterogeneous", "homogeneous", "sequential"),
    ("tpu_v4_8", "gpu_8"),
  ),
)
def test_prefinetune_muppet_builds(model, tasks, batching, hw):
  config = load("prefinetune_muppet.py").get_config(
    f"model={model},tasks={tasks},batching={batching},hw={hw}"
  )
  expected = 48 if tasks == "all" else int(tasks)
  drawn = plan(config)
  assert len(drawn.tasks) >= min(expected, 46 if tasks == "all" else expected)
  assert all(task.startswith("muppet.") for task in drawn.tasks)
  assert all(rate > 0 for rate in drawn.rates)
  assert config.data.batching == batching
  assert config.loss.scale_by_log_classes and config.r3f.weight > 0
  assert config.optimizer.learning_rate == 3e-5 and config.batch_size == 256


def test_prefinetune_mixtures_are_nested():
  module = load("prefinetune_muppet.py")
  previous = set()
  for n in module.TASK_COUNTS:
    tasks = set(plan(module.get_config(f"tasks={n}")).tasks)
    assert len(tasks) == n and previous <= tasks
    previous = tasks
  everything = set(plan(module.get_config("tasks=all")).tasks)
  assert previous <= everything
  multilingual = set(plan(module.get_config("tasks=all,multilingual")).tasks)
  assert everything < multilingual
  with pytest.raises(ValueError, match="tasks=all"):
    module.get_config("tasks=10,multilingual")


def test_eval_xlingual_sets_and_attacks():
  module = load("eval_xlingual.py")
  config = module.get_config(
    "sets=belebele,xquad,mlqa,exams,xcopa,attacks=charswap,addsent,distractor_extraction"
  )
  assert sorted(config.evals) == ["belebele", "exams", "mlqa", "xcopa", "xquad"]
  assert len(config.evals.belebele.tasks) == 122
  assert config.evals.xquad.tasks[0] == "xquad.ar" and len(config.evals.xquad.tasks) == 12
  # distractor_extraction rewrites options: multiple choice only.
  assert config.evals.xquad.attacks == ("charswap", "addsent")
  assert config.evals.exams.attacks == ("charswap", "addsent", "distractor_extraction")
  same = module.get_config(
    "sets=belebele+xquad+mlqa+exams+xcopa,attacks=charswap+addsent+distractor_extraction"
  )
  assert same.evals.to_dict() == config.evals.to_dict()
  small = module.get_config("sets=xquad,langs=de+zh,runlocal")
  assert small.evals.xquad.tasks == ("xquad.de", "xquad.zh")
  assert small.evals.xquad.num_examples == 16
  with pytest.raises(Exception, match="nosuchattack"):
    module.get_config("attacks=nosuchattack")
  with pytest.raises(ValueError, match="sets"):
    module.get_config("sets=squad")


@pytest.mark.parametrize("stage", ("prefinetune", "finetune_clean", "finetune_adv", "eval"))
def test_quickstart_stages_build(stage, tmp_path):
  config = load("quickstart.py").get_config(f"stage={stage},root={tmp_path}")
  assert config.tokenizer == "synthetic"
  assert "SYNTHETIC" in config.data_label
  assert config.data.options_first
  if stage == "prefinetune":
    from mrc_jax.train import trainer

    drawn = plan(config)
    kinds = [task.split(".")[0] for task in drawn.tasks]
    assert set(kinds) == {"synthetic", "synthetic_lookup", "synthetic_pair", "synthetic_span"}
    # The fine-tuning task's kind is up-weighted in the blend, in rate and in loss.
    weights = trainer.task_weights(config.loss.task_weights, drawn.tasks)
    for values in (drawn.rates, weights):
      assert len(values) == len(kinds)
      target = {v for k, v in zip(kinds, values) if k == "synthetic_lookup"}
      others = {v for k, v in zip(kinds, values) if k != "synthetic_lookup"}
      assert others == {1.0} and len(target) == 1 and target.pop() > 1.0
  elif stage == "finetune_adv":
    assert config.init_from == str(tmp_path / "prefinetune" / "export" / "hf" / "multiple_choice")
    languages = ("en", "de", "ru", "zh", "ar", "hi")
    drawn = plan(config)
    assert drawn.tasks[:6] == tuple(f"synthetic_lookup.{lang}" for lang in languages)
    assert drawn.tasks[6:] == (
      "synthetic_lookup.en.charswap",
      "synthetic_lookup.en.addsent",
      "synthetic_lookup.en.distractor_extraction",
    )
    assert drawn.rates == (1.0,) * 6 + (0.25,) * 3
  elif stage == "eval":
    entry = config.evals.robustness
    langs = {task.split(".")[1] for task in entry.tasks}
    assert len(langs) >= 5 and {"ru", "zh", "ar", "hi"} & langs
    assert len(entry.attacks) >= 3


def test_adversarial_synthetic_tasks_load_perturbed_examples():
  from mrc_jax.data import load_examples, synthetic, synthetic_adversarial

  examples = list(load_examples("synthetic.de.charswap", "train"))
  size = synthetic_adversarial.POOL_SIZE
  clean = [synthetic.make_example("mc", "de", "train", i, seed=1) for i in range(size)]
  assert len(examples) == size
  assert all(e["task"] == "synthetic.de.charswap" for e in examples)
  assert [e["label"] for e in examples] == [c["label"] for c in clean]
  assert sum(e["question"] != c["question"] for e, c in zip(examples, clean)) >= 0.8 * size
  assert all(e["meta"]["perturbation"] for e in examples)


def test_adversarial_lookup_tasks_perturb_lookup_examples():
  from mrc_jax.data import load_examples, synthetic

  examples = list(load_examples("synthetic_lookup.ru.distractor_extraction", "train"))[:50]
  clean = [synthetic.make_example("lookup", "ru", "train", i, seed=1) for i in range(50)]
  assert [e["context"] for e in examples] == [c["context"] for c in clean]
  # Lookup distractors are never in the passage; extracted ones are.
  assert all(sum(o in c["context"] for o in c["options"]) == 1 for c in clean)
  assert any(sum(o in e["context"] for o in e["options"]) > 1 for e in examples)
  # Pools exist for the multiple-choice kinds only.
  with pytest.raises(KeyError, match="unknown task"):
    tasks.get("synthetic_span.ru.charswap")


@pytest.mark.parametrize("name", sorted(load("common.py").HARDWARE))
def test_hardware_presets_fill_the_devices(name, common):
  preset = common.HARDWARE[name]
  for size in ("base", "large"):
    mesh = dict(preset[f"mesh_{size}"])
    assert list(mesh) == ["data", "fsdp", "tensor"]
    assert list(mesh.values()).count(-1) == 1
    assert preset["micro_per_device"][size] >= 1


def test_parse_arg_types_lists_and_errors(common):
  opts = common.parse_arg(
    "n=3,x=0.5,flag,name=abc,things=a,b,c+d", n=1, x=1.0, flag=False, name="", things=()
  )
  assert (opts.n, opts.x, opts.flag, opts.name) == (3, 0.5, True, "abc")
  assert opts.things == ("a", "b", "c", "d")
  with pytest.raises(ValueError, match="unknown config argument 'm'"):
    common.parse_arg("m=1", n=1)
  with pytest.raises(ValueError, match="needs a value"):
    common.parse_arg("n", n=1)
  with pytest.raises(ValueError):
    common.parse_arg("n=one", n=1)


@pytest.mark.parametrize("stage", ("finetune_clean", "finetune_adv", "eval"))
def test_minilm_xquad_stages_build(stage, tmp_path):
  config = load("minilm_xquad.py").get_config(f"stage={stage},data_dir={tmp_path}")
  assert config.init_from.endswith("model") and config.tokenizer == config.init_from
  assert config.model.hidden_size == 384 and config.model.num_layers == 6
  if stage == "eval":
    entry = config.evals.robustness
    assert entry.tasks == tuple(
      f"xquad_articles_36_48.{lang}" for lang in ("ar", "de", "en", "es", "ru", "tr", "vi", "zh")
    )
    assert len(entry.attacks) >= 3
  else:
    assert plan(config).tasks[0] == "xquad_articles_0_36.en"
    assert len(plan(config).tasks) == (3 if stage == "finetune_adv" else 1)


@pytest.mark.integration
def test_xquad_article_split_keeps_evaluation_questions_unseen():
  import os

  data_dir = os.environ.get("MRC_JAX_DATA_DIR")
  if not data_dir:
    pytest.skip("MRC_JAX_DATA_DIR is not set")
  from mrc_jax.data import load_examples

  train_task, eval_en, eval_zh = (
    "xquad_articles_0_36.en",
    "xquad_articles_36_48.en",
    "xquad_articles_36_48.zh",
  )
  train = list(load_examples(train_task, "train", data_dir))
  held_en = list(load_examples(eval_en, "test", data_dir))
  held_zh = list(load_examples(eval_zh, "test", data_dir))
  assert len(train) + len(held_en) == 1190
  assert {e["meta"]["article"] for e in train} == set(range(36))
  assert {e["meta"]["article"] for e in held_en} == set(range(36, 48))
  # Parallel across languages: the same held-out ids, none of them trained on.
  assert [e["id"] for e in held_en] == [e["id"] for e in held_zh]
  assert not {e["id"] for e in train} & {e["id"] for e in held_zh}
  assert not {e["meta"]["title"] for e in train} & {e["meta"]["title"] for e in held_en}


@pytest.mark.slow
def test_minilm_xquad_trains_on_real_contexts(tmp_path):
  """Real XQuAD contexts span up to 4 windows at 256 tokens: every batch must fit them."""
  data_dir = os.environ.get("MRC_JAX_DATA_DIR")
  if not data_dir:
    pytest.skip("MRC_JAX_DATA_DIR is not set")
  from mrc_jax.train import trainer  # pylint: disable=import-outside-toplevel

  config = load("minilm_xquad.py").get_config(
    f"stage=finetune_clean,steps=3,batch=8,data_dir={data_dir},root={tmp_path}"
  )
  config.log_every_steps = 1
  trainer.train_and_evaluate(config, str(tmp_path / "run"))
  records = [json.loads(line) for line in open(tmp_path / "run" / "metrics.jsonl")]
  losses = [r["loss"] for r in records if "loss" in r]
  assert len(losses) == 3 and all(math.isfinite(loss) for loss in losses)


def test_the_number_of_tasks_ablation_differs_only_in_the_mixture_name():
  module = load("prefinetune_muppet.py")
  flat = lambda c: dict(_leaves(c.to_dict()))  # noqa: E731
  base = flat(module.get_config("tasks=all"))
  for n in module.TASK_COUNTS:
    other = flat(module.get_config(f"tasks={n}"))
    differ = {k for k in base.keys() | other.keys() if base.get(k) != other.get(k)}
    assert differ == {"data.mixture"}, n
    assert other["data.mixture"] == f"muppet_{n}tasks"


def _leaves(tree, prefix=""):
  for key, value in tree.items():
    if isinstance(value, dict):
      yield from _leaves(value, f"{prefix}{key}.")
    else:
      yield f"{prefix}{key}", value


def test_unknown_config_keys_on_the_command_line_are_refused():
  from absl import flags
  from ml_collections import config_flags

  for override in ("--config.nosuch=1", "--config.data.max_lenght=3"):
    values = flags.FlagValues()
    config_flags.DEFINE_config_file("config", "configs/smoke.py", flag_values=values)
    with pytest.raises(flags.UnrecognizedFlagError, match=override[2:].split("=")[0]):
      values(["train.py", override])
