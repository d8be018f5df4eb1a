"""Eval configs refuse attacks that cannot run, naming what they lack; runnable ones build."""

import pathlib

import pytest

import configs
from mrc_jax import perturb

REPO = pathlib.Path(__file__).resolve().parents[2]
LEXICON = REPO / "tests" / "perturb" / "fixtures" / "de_en.lexicon.txt"


def load(relative: str):
  return configs.load(str(REPO / "configs" / relative))


@pytest.fixture(scope="module")
def eval_xlingual():
  return load("eval_xlingual.py")


@pytest.mark.parametrize(
  "arg,message",
  [
    ("attacks=dg", "dg needs a seq2seq checkpoint"),
    ("sets=belebele,attacks=charswap,paraphrase", "paraphrase needs a seq2seq checkpoint"),
    (
      "sets=xquad,langs=de,attacks=codeswitch,lexicon=/no/such/de-en.txt",
      "lexicon file '/no/such/de-en.txt' does not exist",
    ),
  ],
)
def test_unrunnable_attacks_are_refused_when_the_config_is_built(eval_xlingual, arg, message):
  with pytest.raises(perturb.PerturbationError, match=message):
    eval_xlingual.get_config(arg)


def test_codeswitch_without_a_file_needs_the_encoder(eval_xlingual, tmp_path, monkeypatch):
  monkeypatch.setenv("MRC_JAX_CKPT_DIR", str(tmp_path))
  with pytest.raises(
    perturb.PerturbationError, match="multilingual encoder checkpoint.*config.json"
  ):
    eval_xlingual.get_config("sets=xquad,langs=de,attacks=codeswitch")
  # A lexicon file needs no encoder.
  config = eval_xlingual.get_config(f"sets=xquad,langs=de,attacks=codeswitch,lexicon={LEXICON}")
  assert config.evals.xquad.attack_params.codeswitch.lexicon == str(LEXICON)


def test_default_and_runnable_configs_build(eval_xlingual):
  from mrc_jax.eval import evaluators

  default = eval_xlingual.get_config("")
  assert sorted(default.evals) == ["belebele", "exams", "xcopa"]
  assert default.evals.belebele.attacks == eval_xlingual.DEFAULT_ATTACKS
  assert all("attack_params" not in entry for entry in default.evals.values())
  config = eval_xlingual.get_config(
    f"sets=xquad+xcopa,langs=de+it,attacks=charswap+codeswitch,lexicon={LEXICON}"
  )
  assert config.evals.xquad.attacks == ("charswap", "codeswitch")
  assert config.evals.xquad.attack_params.codeswitch.lexicon == str(LEXICON)
  # The entries pass the registry's field check of robustness entries.
  entries = evaluators.entries(config)
  assert sorted(entries) == ["xcopa", "xquad"]
  assert {entry.type for entry in entries.values()} == {"robustness"}


def test_entry_params_reach_the_attack(eval_xlingual):
  from mrc_jax.eval import inputs

  config = eval_xlingual.get_config(f"sets=xquad,langs=de,attacks=codeswitch,lexicon={LEXICON}")
  entry = config.evals.xquad
  example = {
    "id": "de-1",
    "task": "xquad.de",
    "lang": "de",
    "meta": {},
    "context": "Die Panthers verloren 24 Spiele.",
    "question": "Wie viele Spiele verloren die Panthers?",
    "answers": [{"text": "24", "start": 22}],
  }
  (out,) = inputs.attacked_examples(
    [example], "codeswitch", 0, **entry.attack_params.get("codeswitch", {})
  )
  assert "lost" in out["question"]


def test_registry_says_what_an_attack_lacks():
  assert perturb.missing("charswap") == []
  assert perturb.missing("codeswitch", lexicon=str(LEXICON)) == []
  (lacking,) = perturb.missing("codeswitch", encoder="/no/encoder")
  assert "multilingual encoder checkpoint: '/no/encoder' has no config.json" in lacking
  assert all("seq2seq checkpoint" in m for a in ("dg", "paraphrase") for m in perturb.missing(a))
  assert perturb.require_runnable("addsent") is perturb.get("addsent")


def test_adversarial_synthetic_tasks_refuse_unrunnable_attacks():
  from mrc_jax.data import load_examples

  with pytest.raises(perturb.PerturbationError, match="dg needs a seq2seq checkpoint"):
    list(load_examples("synthetic.en.dg", "train"))


def test_row_length_and_batch_size_arguments(eval_xlingual):
  default = eval_xlingual.get_config("sets=xquad_mc+xcopa,attacks=charswap")
  assert default.data.max_length == 512 and default.batch_size == 32
  given = eval_xlingual.get_config(
    "sets=xquad_mc+xcopa,attacks=charswap,max_length=128,batch_size=8"
  )
  assert given.data.max_length == 128 and given.batch_size == 8


def test_de_model_ranks_distractor_extraction_spans(eval_xlingual, tmp_path):
  with pytest.raises(perturb.PerturbationError, match="not a training workdir"):
    eval_xlingual.get_config(f"sets=xcopa,attacks=distractor_extraction,de_model={tmp_path}")
  (tmp_path / "config.json").write_text("{}")
  config = eval_xlingual.get_config(
    f"sets=xcopa+xquad,attacks=distractor_extraction+charswap,de_model={tmp_path}"
  )
  assert config.evals.xcopa.attack_params.distractor_extraction.span_model == str(tmp_path)
  assert "attack_params" not in config.evals.xquad  # extractive sets have no options to replace


def test_seq2seq_checkpoints_reach_dg_and_paraphrase(eval_xlingual, tmp_path):
  from tests.models import seq2seq_checkpoints as tiny

  pytest.importorskip("transformers")
  with pytest.raises(perturb.PerturbationError, match="dg needs a seq2seq checkpoint.*no config"):
    eval_xlingual.get_config(f"sets=xcopa,attacks=dg,dg_model={tmp_path}")
  checkpoint = tiny.write("t5", str(tmp_path / "t5"))
  config = eval_xlingual.get_config(
    f"sets=xcopa+xquad,attacks=dg+paraphrase,dg_model={checkpoint},paraphrase_model={checkpoint}"
  )
  assert config.evals.xcopa.attack_params.dg.checkpoint == checkpoint
  assert config.evals.xcopa.attack_params.paraphrase.checkpoint == checkpoint
  assert set(config.evals.xquad.attacks) == {"paraphrase"}  # no options to replace
