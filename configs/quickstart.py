r"""python launch/study.py --config=configs/quickstart.py --workdir=/tmp/quickstart

The whole study at toy scale, offline, in a few minutes on 2 CPU cores, on SYNTHETIC data
only (procedural reading tasks of mrc_jax.data.synthetic; no real text anywhere):

  1. prefinetune      a tiny BERT-style encoder (2 layers, hidden 64, 2 heads) trained from
                      scratch Muppet-style on a blend of distinct synthetic tasks (multiple
                      choice answered by lookup and by binding a value to its person,
                      sentence-pair classification, extractive span) in 6 languages (en de
                      ru zh ar hi: Latin, Cyrillic, Han, Arabic, Devanagari scripts),
                      heterogeneous batches, losses scaled by 1/log(classes), the lookup
                      task up-weighted (rate x2, loss x50);
  2. finetune_clean   fine-tuned from its exported weights on the lookup multiple-choice
                      task in the 6 languages (the RACE analogue: the answer is the one
                      option the passage states);
  3. finetune_adv     the same plus AdvRACE-style adversarial augmentation: English examples
                      perturbed by charswap, addsent and distractor_extraction
                      (mrc_jax.perturb), each at a quarter of the clean rate;
  4. eval             both fine-tuned models on all 6 languages, clean and under 5 attacks
                      (the 3 trained on plus typo_keyboard and distractor_passage, never seen
                      in training), and the report comparing them:
                      /tmp/quickstart/report/robustness.{json,csv,md,png}.

Each stage is also a plain training config:
``python launch/train.py --config=configs/quickstart.py:stage=finetune_adv,root=/tmp/quickstart
--workdir=/tmp/quickstart/finetune_adv``; ``seed=N`` changes the initialisation and data.

What to expect (measured, docs/RESULTS.md): about 3 minutes on a quiet 2-core CPU; all
report files, 6 languages x 5 attacks x 2 regimes and their paired differences. Clean
accuracy 99-100% in both regimes (chance 25%) with the default seed, and >= 90% in both
for each of seeds 0-4. The model answers from the options and the passage alone, so the
attacks split cleanly: addsent (a sentence stating a wrong option) and distractor_passage
(another passage, which can state wrong options) cost ~55-60 and ~30 points, while
charswap and typo_keyboard, which edit only the question's words here, and
distractor_extraction (wrong options taken from the passage, but names and template
words, not values) cost 0-7 points.
Adversarial fine-tuning changes these by a few points at most. Numbers are synthetic:
they show the loop works, not a finding about real models.
"""

import os

from configs import common
from mrc_jax.data import mixtures, synthetic

STAGES = ("prefinetune", "finetune_clean", "finetune_adv")
# The pre-finetuned weights fine-tuning starts from: the Hugging Face export of the
# encoder with its multiple-choice head (weights only, as init_from takes them).
PREFINETUNED_EXPORT = ("prefinetune", "export", "hf", "multiple_choice")
FINETUNED = ("finetune_clean", "finetune_adv")
LANGS = synthetic.LANGS
# The fine-tuning and evaluation task (the RACE analogue): multiple choice answered by the
# one option the passage states. The binding kind ("mc") stays in the blend only. Each
# stage trains on its registered mixture, quickstart_STAGE (mrc_jax/data/mixtures.py).
TARGET_KIND = mixtures.QUICKSTART_TARGET_KIND
TRAIN_ATTACKS = mixtures.QUICKSTART_TRAIN_ATTACKS
EVAL_ATTACKS = (
  "charswap",
  "addsent",
  "distractor_extraction",
  "typo_keyboard",
  "distractor_passage",
)
DATA_LABEL = "SYNTHETIC data: procedural reading tasks from mrc_jax.data.synthetic (not real text)"


def _tiny_model():
  return common.ml_collections.ConfigDict(
    dict(
      model_type="bert",
      vocab_size=0,  # from the synthetic tokenizer
      hidden_size=64,
      num_layers=2,
      num_heads=2,
      intermediate_size=128,
      hidden_act="gelu",
      max_position_embeddings=128,
      type_vocab_size=2,
      pad_token_id=0,
      position_offset=0,
      layer_norm_eps=1e-12,
      hidden_dropout=0.0,
      attention_dropout=0.0,
      dtype="float32",
      param_dtype="float32",
      with_pooler=True,
      # From scratch, the option must be matched against the passage before the loss
      # moves; these make that a short plateau instead of a seed-dependent stall
      # (docs/RESULTS.md, "Third round"): copies attend to each other from step 0
      # (mimetic), [CLS] attends to its neighbours, the option among them (sinusoidal,
      # with data.options_first), and a wider init gives the choice scores a signal.
      attention_init="mimetic",
      position_init="sinusoidal",
      initializer_range=0.05,
      scan_unroll=2,
    )
  )  # unrolled: faster on CPU


def _target_tasks() -> tuple[str, ...]:
  return tuple(synthetic.task_name(TARGET_KIND, lang) for lang in LANGS)


def get_config(arg: str = ""):
  opts = common.parse_arg(
    arg,
    stage="prefinetune",
    root="/tmp/quickstart",
    prefinetune_steps=800,
    finetune_steps=300,
    batch=16,
    target_weight=50.0,
    seed=0,
    eval_examples=200,
  )
  common.choose("stage", opts.stage, STAGES + ("eval",))
  config = common.base_config()
  config.tokenizer = "synthetic"
  config.seed = opts.seed
  config.model = _tiny_model()
  config.data.data_dir = ""
  config.batch_size = opts.batch
  config.data.max_length = 96
  config.data.max_choices = synthetic.NUM_CHOICES
  # [CLS] option question [SEP] passage [SEP]: the option sits next to [CLS].
  config.data.options_first = True
  config.log_every_steps = 50
  config.keep_checkpoints = 1
  config.export.enabled = False
  # b2 0.98 (RoBERTa's) rather than 0.999: Adam's second moment then forgets the large
  # early span-task gradients sooner, and the choice task's moves sooner (RESULTS.md).
  config.optimizer.update(
    learning_rate=2e-3, warmup_fraction=0.05, weight_decay=0.01, clip_norm=1.0, b2=0.98
  )
  config.data_label = DATA_LABEL

  if opts.stage in STAGES:
    config.data.mixture = f"quickstart_{opts.stage}"
  if opts.stage == "prefinetune":
    config.total_steps = opts.prefinetune_steps
    # The fine-tuning task's kind has twice each other kind's share of the batches (the
    # mixture) and target_weight x their loss weight. Its gradient starts ~1e-5 (the
    # choice scores barely differ at init) and, unweighted, is drowned by the span task's
    # in Adam's shared normalisation: it stays at chance at any rate (RESULTS.md).
    config.loss.task_weights = ((f"^{synthetic.TASK_PREFIX[TARGET_KIND]}\\.", opts.target_weight),)
    config.evals.validation = dict(
      type="accuracy", tasks=_target_tasks(), split="validation", num_examples=64
    )
    # Fine-tuning starts from the exported encoder + multiple-choice head.
    config.export.enabled = True
    config.export.heads = ("multiple_choice",)
  elif opts.stage in FINETUNED:
    config.total_steps = opts.finetune_steps
    config.init_from = os.path.join(opts.root, *PREFINETUNED_EXPORT)
    config.optimizer.learning_rate = 1e-3
    # finetune_adv adds AdvRACE-style copies: English examples under each training
    # attack, each at a quarter of the clean rate.
    config.evals.validation = dict(
      type="accuracy", tasks=_target_tasks(), split="validation", num_examples=64
    )
  else:
    config.total_steps = 1
    config.evals.robustness = dict(
      type="robustness",
      tasks=_target_tasks(),
      attacks=EVAL_ATTACKS,
      split="test",
      num_examples=opts.eval_examples,
      batch_size=32,
    )
  config.checkpoint_every_steps = config.total_steps
  config.eval_every_steps = config.total_steps
  return config


def study(arg: str = "") -> dict:
  """What launch/study.py runs: training stages in order, then the compared evaluation."""
  return dict(train=STAGES, compare=FINETUNED, eval_config="stage=eval", data_label=DATA_LABEL)
