r"""python launch/study.py --config=configs/study_me5.py --workdir=/tmp/study_me5

The study's 2 x 2 on a real multilingual encoder, offline on a 2-core CPU:
multilingual-e5-small (preset ``me5-small``: BERT 12 x 384, XLM-R's SentencePiece vocabulary,
~100 languages; built by ``../shared/tools/make_multilingual_e5_small.py`` under
``$MRC_JAX_CKPT_DIR``) fine-tuned on English multiple choice, clean or with AdvRACE's recipe of
adversarial training, each from the checkpoint or after Muppet-style pre-finetuning:

  ft_clean       DREAM + MCTest train (English), from the checkpoint;
  ft_adv         the same plus AdvRACE's adversarial copies: the training set under the
                 suite's addsent, charswap and distractor_extraction (AdvRACE's AddSent,
                 CharSwap and DE; DG needs a seq2seq model), each at a quarter of the clean
                 rate (combine.py's 25% samples), same number of steps (compute-matched);
  pft            Muppet-style pre-finetuning on the real tasks available offline: DREAM,
                 MCTest, XCOPA validation (9 languages), EXAMS train with paragraphs (5),
                 XQuAD spans of articles 0-35 (8 languages) and a QNLI-style classification
                 made from them (does this sentence answer the question?), one head per
                 classification dataset, shared multiple-choice and span heads,
                 heterogeneous batches, losses scaled by 1/log(classes), natural proportions;
  pft_ft_clean,  the two fine-tunings again, from the pre-finetuned encoder and its
  pft_ft_adv     multiple-choice head.

Every arm is then evaluated on XQuAD-MC of the held-out articles 36-47 (xquad_mc_36_48:
no question whose passage the pre-finetuning saw, in any language) in the 8 shared XQuAD
languages, EXAMS with paragraphs (dev, 6 languages), XCOPA (test, 9) and DREAM dev, clean
and under charswap, addsent, typo_keyboard, homoglyph and distractor_extraction (where an
attack applies to the set). The study report (WORKDIR/report/robustness.{json,csv,md,png})
has accuracy, drop, flip rate and gap to English per cell with bootstrap intervals, and the
paired differences adversarial vs clean and pre-finetuned vs not (McNemar / paired
bootstrap p-values). ``:smoke`` runs the same stages for two steps each and evaluates every
set on its first two languages under the first two attacks, a few examples per cell: a
wiring check with the real checkpoint and data (a few minutes).

Scaled to this machine (and said so in docs/RESULTS.md): AdvRACE's recipe trains
RoBERTa-large for 5 epochs at lr 1e-5, batch 32, length 512; here each fine-tuning runs
``ft_steps`` updates of ``batch`` examples at length ``max_length`` (a fraction of one epoch)
with a higher learning rate for the few steps, the 250k-row word-embedding table frozen
(``optimizer.freeze``: most of the step's cost on CPU, and the one table English-only
fine-tuning should not move for other languages), and evaluation cells of ``eval_examples``
examples (English clean cells of DREAM and XQuAD-MC larger: ``en_examples``).

Arguments: smoke (flag), ft_steps=, pft_steps=, batch=, pft_batch=, max_length=, lr=,
head_lr_mult= (the heads' learning rate over lr), pooling= (first | mean: what the heads
read), eval_examples=, en_examples=, attacks= ('+'-separated), data_dir=, ckpt_dir=, seed=.

What to expect (measured, docs/RESULTS.md): about 50 minutes on a shared 2-core CPU. At
these settings no arm leaves chance: 60 updates do not move a fresh multiple-choice head on
e5's untrained first-token state off its plateau (DREAM dev ~33-39%, chance 33; XQuAD-MC
~18-28%, chance 25; every interval contains chance). The adversarial arms learn the
distractor_extraction artefact instead (DREAM under that attack 86% vs 53% clean-trained).
The published anchors (AdvRACE: every attack lowers every model; Muppet: fewer than ~15
pre-finetuning tasks can hurt) need far more compute: raise ft_steps / pft_steps on an
accelerator, from pooling=mean,head_lr_mult=100 (e5's mean-pooled features hold a linear
DREAM signal, 41% dev for a probe on the frozen encoder; its first token none, 36%).
"""

import os

from configs import common
from configs import eval_xlingual
from mrc_jax.data import derived, mixtures

MODEL = "me5-small"
STAGES = ("ft_clean", "ft_adv", "pft", "pft_ft_clean", "pft_ft_adv")
FINETUNED = ("ft_clean", "ft_adv", "pft_ft_clean", "pft_ft_adv")
# (baseline, other): adversarial vs clean fine-tuning, pre-finetuned vs not.
PAIRS = (
  ("ft_clean", "ft_adv"),
  ("pft_ft_clean", "pft_ft_adv"),
  ("ft_clean", "pft_ft_clean"),
  ("ft_adv", "pft_ft_adv"),
)
PREFINETUNED = "pft"  # the pre-finetuned arms start from this stage's training workdir

# Each training stage's registered mixture (mrc_jax/data/mixtures.py).
MIXTURES = {
  "ft_clean": "dream_mctest_clean",
  "ft_adv": "dream_mctest_advrace",
  "pft": "offline_prefinetune",
  "pft_ft_clean": "dream_mctest_clean",
  "pft_ft_adv": "dream_mctest_advrace",
}
XQUAD_LANGS = mixtures.STUDY_XQUAD_LANGS
EXAMS_DEV = ("bg", "hu", "it", "pl", "pt", "tr")
XCOPA_LANGS = mixtures.STUDY_XCOPA_LANGS
EVAL_ATTACKS = ("charswap", "addsent", "typo_keyboard", "homoglyph", "distractor_extraction")
# The longest XQuAD context in the me5 tokenizer's pieces (vi, 850): span rows for it.
XQUAD_LONGEST_CONTEXT = 850
PFT_MAX_CHOICES = 5  # EXAMS has 5-option questions (hu, tr)
XCOPA_LENGTH = 64
# EXAMS dev: its longest question + option is 235 pieces; paragraphs fill the rest.
EXAMS_LENGTH = 256  # premise + connective + option: at most 46 pieces
# :smoke evaluates every set on its first two languages (English among them) and the first
# two attacks: the same code paths in a few minutes.
SMOKE_LANGS, SMOKE_ATTACKS = 2, 2
DATA_LABEL = (
  "real text: DREAM, MCTest, XQuAD (held-out articles, as multiple choice), "
  "EXAMS, XCOPA; multilingual-e5-small"
)


# --- The study ---------------------------------------------------------------------------


def _options(arg: str):
  opts = common.parse_arg(
    arg,
    stage="ft_clean",
    root="/tmp/study_me5",
    smoke=False,
    ft_steps=60,
    pft_steps=30,
    batch=8,
    pft_batch=8,
    max_length=160,
    lr=2e-4,
    head_lr_mult=1.0,
    pooling="first",
    eval_examples=16,
    en_examples=64,
    attacks=EVAL_ATTACKS,
    data_dir=os.environ.get(common.DATA_DIR_ENV, ""),
    ckpt_dir="",
    seed=12,
  )
  common.choose("stage", opts.stage, STAGES + ("eval",))
  if opts.smoke:
    opts.update(
      ft_steps=2,
      pft_steps=2,
      batch=4,
      pft_batch=2,
      max_length=128,
      eval_examples=4,
      en_examples=4,
      attacks=opts.attacks[:SMOKE_ATTACKS],
    )
  if not opts.data_dir:
    raise ValueError(f"study_me5 needs the data directory: set ${common.DATA_DIR_ENV} or data_dir=")
  return opts


def _base(opts):
  config = common.base_config()
  checkpoint = common.checkpoint_dir(MODEL, opts.ckpt_dir)
  if not os.path.isfile(os.path.join(checkpoint, "config.json")):
    raise FileNotFoundError(
      f"{checkpoint}: no multilingual-e5-small checkpoint; build it with "
      "`python ../shared/tools/make_multilingual_e5_small.py "
      f"${common.CKPT_DIR_ENV}/multilingual-e5-small`"
    )
  config.seed = opts.seed
  config.model = common.model_arch(MODEL, dropout=0.1)
  config.model.scan_unroll = config.model.num_layers  # a CPU run: unrolled layers are faster
  config.init_from = checkpoint
  config.tokenizer = checkpoint
  config.data.data_dir = opts.data_dir
  config.data.max_length = opts.max_length
  config.data.max_choices = 4
  # A few DREAM questions + options alone exceed max_length: left out and logged.
  config.data.skip_overlong = True
  config.batch_size = opts.batch
  # Micro-batches of 4 examples: 16 examples of 5 x 256-token rows at once needed 22 GiB
  # on CPU (measured); accumulation keeps the study near 6.5 GiB.
  config.optimizer.accum_steps = max(1, opts.batch // 4)
  config.optimizer.update(
    learning_rate=opts.lr, warmup_fraction=0.1, weight_decay=0.01, clip_norm=1.0, b2=0.999, eps=1e-6
  )
  config.optimizer.freeze = ("encoder/embeddings/word$",)
  # e5 was trained as a mean-pooled sentence encoder and has no pooler: pooling=mean heads
  # read what it learned; head_lr_mult speeds up the fresh heads (docs/RESULTS.md measures
  # both: neither leaves chance at this budget, so the recorded defaults are kept).
  config.head_pooling = opts.pooling
  if opts.head_lr_mult != 1.0:
    config.optimizer.lr_mults = (("^heads/", float(opts.head_lr_mult)),)
  config.log_every_steps = 1 if opts.smoke else 5
  config.keep_checkpoints = 1
  config.export.enabled = False
  config.data_label = DATA_LABEL
  return config


def _finetune(config, opts) -> None:
  config.data.mixture = MIXTURES[opts.stage]
  config.total_steps = opts.ft_steps
  if opts.stage.startswith("pft_"):
    # The training workdir, not a Hugging Face export: it keeps the heads' mean pooling,
    # which no transformers class has.
    config.init_from = os.path.join(opts.root, PREFINETUNED)


def _prefinetune(config, opts) -> None:
  config.data.mixture = MIXTURES[opts.stage]
  config.total_steps = opts.pft_steps
  config.batch_size = opts.pft_batch
  config.optimizer.accum_steps = max(1, opts.pft_batch // 2)
  config.loss.scale_by_log_classes = True
  # 28 of EXAMS' 6,629 train questions have a question + option longer than 180 pieces
  # (up to 307): left out and logged, not truncated.
  config.data.skip_overlong = True
  # Every example gets the room of its worst case: the longest XQuAD context's windows,
  # or EXAMS' 5 options.
  windows = common.span_windows(config.data.max_length, XQUAD_LONGEST_CONTEXT)
  examples = config.batch_size // config.optimizer.accum_steps
  config.data.max_choices = PFT_MAX_CHOICES
  config.data.slots_per_batch = examples * windows
  config.data.rows_per_batch = examples * max(windows, PFT_MAX_CHOICES)


def _evaluate(config, opts) -> None:
  config.total_steps = 1
  langs = lambda all_langs: all_langs[:SMOKE_LANGS] if opts.smoke else all_langs
  # The attacks of the list that apply to multiple choice (all of the default ones).
  attacks = eval_xlingual.applicable_attacks(tuple(opts.attacks), "choice")
  entry = lambda tasks, n, **kw: dict(
    type="robustness",
    tasks=tasks,
    attacks=attacks,
    split="test",
    num_examples=n,
    batch_size=8,
    **kw,
  )
  # English (larger cells: its clean accuracy is the anchor) and the other languages.
  config.evals.xquad_mc_en = entry((derived.xquad_mc_heldout("en"),), opts.en_examples)
  config.evals.xquad_mc = entry(
    tuple(
      derived.xquad_mc_heldout(lang) for lang in langs(tuple(l for l in XQUAD_LANGS if l != "en"))
    ),
    opts.eval_examples,
  )
  config.evals.dream = dict(entry(("dream.en",), opts.en_examples), split="validation")
  config.evals.exams = dict(
    entry(
      tuple(f"exams.{lang}" for lang in langs(EXAMS_DEV)),
      opts.eval_examples,
      max_length=EXAMS_LENGTH,
    ),
    split="validation",
  )
  # XCOPA's rows are a quarter as long: twice the examples for a fraction of the cost.
  config.evals.xcopa = entry(
    tuple(f"xcopa.{lang}" for lang in langs(XCOPA_LANGS)),
    2 * opts.eval_examples,
    max_length=XCOPA_LENGTH,
  )


def get_config(arg: str = ""):
  opts = _options(arg)
  config = _base(opts)
  if opts.stage == "pft":
    _prefinetune(config, opts)
  elif opts.stage == "eval":
    _evaluate(config, opts)
  else:
    _finetune(config, opts)
  config.checkpoint_every_steps = config.total_steps
  config.eval_every_steps = 0
  return config


def study(arg: str = "") -> dict:
  """What launch/study.py runs: the five training stages, then the four arms compared."""
  del arg
  return dict(
    train=STAGES, compare=FINETUNED, pairs=PAIRS, eval_config="stage=eval", data_label=DATA_LABEL
  )
