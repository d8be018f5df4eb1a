"""configs/finetune_dg.py: the distractor-generation data made from the real DREAM and MCTest
files, and a run whose exported model the dg attack loads."""

import os

import pytest

from configs import finetune_dg
from mrc_jax import perturb
from mrc_jax.data import derived, load_examples, mixtures
from mrc_jax.perturb.attacks.seq2seq import dg_source, same_option
from mrc_jax.train import train_and_evaluate
from tests.models import seq2seq_checkpoints as tiny

DATA_DIR = os.environ.get("MRC_JAX_DATA_DIR", "")
needs_data = pytest.mark.skipif(
  not os.path.isfile(os.path.join(DATA_DIR, "dream", "data", "train.json")),
  reason="the DREAM and MCTest files are not under $MRC_JAX_DATA_DIR",
)


@pytest.mark.integration
@needs_data
@pytest.mark.parametrize("base", ["dream.en", "mctest.en"])
def test_one_target_per_wrong_option_with_the_attacks_input(base):
  task = derived.distractor_generation(base)
  questions = {e["id"]: e for e in load_examples(base, "train", DATA_DIR)}
  made = list(load_examples(task, "train", DATA_DIR))
  assert len(made) == mixtures.DG_TRAIN[task]  # the mixture's rate is the real count
  for example in made:
    question = questions[example["meta"]["source_id"]]
    answer = question["options"][question["label"]]
    assert example["context"] == dg_source(answer, question["question"], question["context"])
    assert example["target_text"] == question["options"][example["meta"]["option"]]
    assert example["meta"]["option"] != question["label"]
    assert not same_option(example["target_text"], answer)
  per_question = {e["meta"]["source_id"] for e in made}
  wrong = sum(len(q["options"]) - 1 for q in questions.values())
  assert len(per_question) == len(questions) and len(made) <= wrong


def test_config_arguments():
  config = finetune_dg.get_config("model=mbart-large-50,data=offline,hw=gpu_8")
  assert (
    config.init_from.endswith("facebook/mbart-large-50") and config.tokenizer == config.init_from
  )
  assert config.data.mixture == "dg_finetune_offline" and config.export.heads == ("generation",)
  assert config.total_steps == round(3 * (12_232 + 4_440) / 32)
  assert config.model.dtype == "bfloat16" and config.optimizer.accum_steps == 1
  with pytest.raises(ValueError, match="model='xlmr-base'"):
    finetune_dg.get_config("model=xlmr-base")


@pytest.mark.slow
@pytest.mark.integration
@needs_data
def test_runlocal_trains_a_model_the_dg_attack_loads(tmp_path):
  source = tiny.write("mt5", str(tmp_path / "mt5"))
  config = finetune_dg.get_config(f"init={source},data=offline,hw=runlocal,runlocal")
  config.data.data_dir = DATA_DIR
  workdir = str(tmp_path / "run")
  train_and_evaluate(config, workdir)
  generator = os.path.join(workdir, "export", "hf", "generation")
  assert os.path.isfile(os.path.join(generator, "tokenizer.json"))

  questions = list(load_examples("dream.en", "test", DATA_DIR))[:3]
  attacked = list(
    perturb.perturb_examples(questions, "dg", "en", 0, checkpoint=generator, max_new_tokens=6)
  )
  for before, after in zip(questions, attacked, strict=True):
    assert after["options"][after["label"]] == before["options"][before["label"]]
    assert len(after["options"]) == len(before["options"])
    (record,) = after["meta"]["perturbation"]
    assert record["attack"] == "dg"
