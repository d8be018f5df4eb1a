"""The registered mixtures: what a run's ``config.data.mixture`` names.

Rates are example counts (a task named alone: its number of train examples), turned into
drawing rates by the mixture's ``MixingConfig`` (natural unless stated). Imported by
``tasks`` once every task is registered.

* ``muppet_all``, ``muppet_multilingual``, ``muppet_Ntasks``: Muppet's blend and its nested
  subsets at natural rates (the number-of-tasks ablation changes only this name);
* ``synthetic_blend``, ``synthetic_mc_blend``: the built-in tasks, every kind or multiple
  choice only, in every language at equal rates (the smoke run); ``synthetic_seq2seq_blend``
  adds the generation task (the encoder-decoder smoke run);
* ``quickstart_{prefinetune,finetune_clean,finetune_adv}``: the synthetic study's stages;
* ``{race,advrace,advrace_multilingual}_finetune[_squad]``: RACE fine-tuning, clean, with
  AdvRACE's train mix, or that plus script-level attacks; ``_squad`` adds SQuAD v1.1;
* ``xquad_en_finetune_{clean,adv}``: English XQuAD articles 0-35, clean or with attacks;
* ``dream_mctest_{clean,advrace}``, ``offline_prefinetune``: the offline study on real text;
* ``dg_finetune[_offline]``: distractor-generation training data from RACE, DREAM and MCTest
  (offline: DREAM and MCTest only).
"""

from __future__ import annotations

from mrc_jax.data import derived, muppet, synthetic
from mrc_jax.data.tasks import register_mixture

# AdvRACE's recipe (combine.py): each attack's training copies at a quarter of the clean rate.
ADV_RATE = 0.25

# --- Muppet ------------------------------------------------------------------------------
for _name in muppet.MIXTURES:
  register_mixture(_name, [d.task for d in muppet.mixture_datasets(_name)])

# --- Built-in synthetic data ---------------------------------------------------------------
_every = lambda kind: [synthetic.task_name(kind, lang) for lang in synthetic.LANGS]  # noqa: E731
register_mixture(
  "synthetic_blend", [(t, 1.0) for kind in synthetic.KINDS for t in _every(kind)]
)  # endless tasks: equal rates
register_mixture("synthetic_mc_blend", [(t, 1.0) for t in _every("mc")])
# An encoder-decoder's blend: every kind plus generation (an encoder's run leaves that out),
# generation at SEQ2SEQ_GENERATION_RATE times each other task's rate: its loss, scaled by
# 1/log(vocabulary), is the smallest of the blend.
SEQ2SEQ_GENERATION_RATE = 4.0
register_mixture(
  "synthetic_seq2seq_blend",
  [(t, 1.0) for kind in synthetic.KINDS for t in _every(kind)]
  + [(t, SEQ2SEQ_GENERATION_RATE) for kind in synthetic.GENERATION_KINDS for t in _every(kind)],
)

# The quickstart's fine-tuning task (the RACE analogue): multiple choice answered by the one
# option the passage states; in pre-finetuning at twice each other task's rate.
QUICKSTART_TARGET_KIND = "lookup"
QUICKSTART_TARGET_RATE = 2.0
QUICKSTART_TRAIN_LANG = "en"
QUICKSTART_TRAIN_ATTACKS = ("charswap", "addsent", "distractor_extraction")
register_mixture(
  "quickstart_prefinetune",
  [
    (t, QUICKSTART_TARGET_RATE if kind == QUICKSTART_TARGET_KIND else 1.0)
    for kind in synthetic.KINDS
    for t in _every(kind)
  ],
)
register_mixture("quickstart_finetune_clean", [(t, 1.0) for t in _every(QUICKSTART_TARGET_KIND)])
register_mixture(
  "quickstart_finetune_adv",
  [(t, 1.0) for t in _every(QUICKSTART_TARGET_KIND)]
  + [
    (f"{synthetic.task_name(QUICKSTART_TARGET_KIND, QUICKSTART_TRAIN_LANG)}.{attack}", ADV_RATE)
    for attack in QUICKSTART_TRAIN_ATTACKS
  ],
)

# --- RACE and AdvRACE ------------------------------------------------------------------------
RACE_TRAIN_QUESTIONS = 87_866
SQUAD_TRAIN_QUESTIONS = 87_599  # SQuAD v1.1
# advrace.train_mix: RACE train + a quarter of each of the 4 attacks' train perturbations;
# each attack's train set is taken to be about RACE train's size (the released files are
# not all full-size, so this over-counts slightly: the epoch count is approximate).
ADVRACE_MIX_QUESTIONS = RACE_TRAIN_QUESTIONS * 2
MULTILINGUAL_ATTACKS = ("homoglyph", "typo_keyboard", "distractor_passage")
RACE_FINETUNE = {
  "race_finetune": [("race.all", RACE_TRAIN_QUESTIONS)],
  "advrace_finetune": [("advrace.train_mix", ADVRACE_MIX_QUESTIONS)],
  "advrace_multilingual_finetune": [("advrace.train_mix", ADVRACE_MIX_QUESTIONS)]
  + [(f"race.all.{a}", RACE_TRAIN_QUESTIONS * ADV_RATE) for a in MULTILINGUAL_ATTACKS],
}
for _name, _entries in RACE_FINETUNE.items():
  register_mixture(_name, _entries)
  register_mixture(f"{_name}_squad", _entries + [("squad.en", SQUAD_TRAIN_QUESTIONS)])

# --- English XQuAD articles ------------------------------------------------------------------
XQUAD_TRAIN_ATTACKS = ("charswap", "addsent")
_xquad_en = derived.articles_task(*derived.TRAIN_ARTICLES, "en")
register_mixture("xquad_en_finetune_clean", [(_xquad_en, 1.0)])
register_mixture(
  "xquad_en_finetune_adv",
  [(_xquad_en, 1.0)] + [(f"{_xquad_en}.{a}", ADV_RATE) for a in XQUAD_TRAIN_ATTACKS],
)

# --- The offline study on real text (configs/study_me5.py) -------------------------------------
STUDY_FT = {"dream.en": 6116, "mctest.en": 1480}  # train questions (MCTest: mc160 + mc500)
STUDY_TRAIN_ATTACKS = ("addsent", "charswap", "distractor_extraction")
STUDY_XQUAD_LANGS = ("ar", "de", "en", "es", "ru", "tr", "vi", "zh")  # the shared XQuAD files
STUDY_XCOPA_LANGS = ("et", "ht", "id", "it", "qu", "sw", "tr", "vi", "zh")  # the shared XCOPA
# Questions of EXAMS train with paragraphs, counted on the release files.
STUDY_EXAMS_TRAIN = {"hu": 1731, "it": 1010, "pl": 1577, "pt": 740, "tr": 1571}
register_mixture("dream_mctest_clean", list(STUDY_FT.items()))
register_mixture(
  "dream_mctest_advrace",
  list(STUDY_FT.items())
  + [
    (f"{task}.{attack}", ADV_RATE * size)
    for attack in STUDY_TRAIN_ATTACKS
    for task, size in STUDY_FT.items()
  ],
)
# Muppet-style pre-finetuning on what is available offline: DREAM, MCTest, XCOPA validation
# (100 questions each), EXAMS train with paragraphs, ~900 XQuAD questions per language in
# articles 0-35 and two QNLI examples of each.
register_mixture(
  "offline_prefinetune",
  list(STUDY_FT.items())
  + [(derived.xcopa_val(lang), 100) for lang in STUDY_XCOPA_LANGS]
  + [(f"exams.{lang}", size) for lang, size in STUDY_EXAMS_TRAIN.items()]
  + [(derived.articles_task(*derived.TRAIN_ARTICLES, lang), 900) for lang in STUDY_XQUAD_LANGS]
  + [(derived.xquad_qnli(lang), 1800) for lang in STUDY_XQUAD_LANGS],
)

# --- Distractor generation (configs/finetune_dg.py) ---------------------------------------------
# Wrong options of the train questions: three per RACE question (taken, not counted: a few
# fold to their answer's text), counted on the DREAM and MCTest release files.
DG_TRAIN = {
  derived.distractor_generation("race.all"): 3 * RACE_TRAIN_QUESTIONS,
  derived.distractor_generation("dream.en"): 12_232,
  derived.distractor_generation("mctest.en"): 4_440,
}
register_mixture("dg_finetune", list(DG_TRAIN.items()))
register_mixture("dg_finetune_offline", [(t, n) for t, n in DG_TRAIN.items() if "race" not in t])
