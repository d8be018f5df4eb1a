r"""python launch/train.py --config=configs/finetune_race.py:model=xlmr-base,init=hf,adv=advrace,hw=tpu_v4_8 --workdir=$WORKDIR

Fine-tunes an encoder on RACE for 4-way multiple-choice reading comprehension, clean or
with AdvRACE-style adversarial augmentation, with AdvRACE's published recipe (Si et al.
2021, run_training.sh of https://github.com/NoviScl/AdvRACE: lr 1e-5, Adam eps 1e-6,
weight decay 0.1, 6% warm-up, 5 epochs, max length 512, batch 32, mixed precision, seed
12). Then
``python launch/eval.py --config=configs/eval_xlingual.py:... --workdir=$WORKDIR``.

Arguments (comma-separated):
  model=   xlmr-base | xlmr-large | roberta-base | roberta-large | mbert |
           muppet-roberta-base | muppet-roberta-large | minilm
  init=    hf (the pretrained Hugging Face directory of the model, under
           $MRC_JAX_CKPT_DIR or ckpt_dir=), or a pre-finetuning workdir / any Hugging Face
           directory path (weights only; the shared multiple-choice head is kept if the
           source has one)
  adv=     none                  RACE train (race.all: high + middle, 87,866 questions)
           advrace               RACE train + AdvRACE's combine.py mix (advrace.train_mix):
                                 a 25% sample (seed 2020) of the AddSent, CharSwap and DE
                                 train perturbations and DG's own 25% file
           advrace_multilingual  advrace plus RACE train under the suite's script-level
                                 attacks (homoglyph, typo_keyboard, distractor_passage),
                                 each at a quarter of RACE's rate
  span=    none | squad          also fine-tune the shared span head on SQuAD v1.1 (needed to
                                 evaluate XQuAD / MLQA / TyDiQA)
  fraction= share of the fine-tuning data (1.0; the sample-efficiency ablation): trains
           on a fixed subset of each task's train split (data.train_fraction; seeded by
           the run's seed, nested across fractions) for the same number of epochs
  epochs=5, lr=1e-5, batch=32, max_length=512, seed=12 (AdvRACE's values)
  hw=      runlocal | tpu_v4_8 | tpu_v5e_8 | gpu_8 (mesh, dtype, accumulation)
  runlocal (flag) a 4-step wiring check on CPU
  ckpt_dir= root of the Hugging Face checkpoint directories

What to expect (RoBERTa-large, from the AdvRACE paper): RACE test accuracy about 83-86%
clean; every AdvRACE attack costs accuracy, the distractor attacks (DE, DG) the most
(tens of points), CharSwap and AddSent a few to ~10 points; adversarial training recovers
much of the drop on the attacks it saw. Base models land ~10 points lower on RACE.
XLM-R on Belebele/EXAMS is the open question this study measures (see README).
"""

from configs import common
from mrc_jax.data import tasks

ADV_CHOICES = ("none", "advrace", "advrace_multilingual")


def mixture_name(adv: str, span: str) -> str:
  """The registered fine-tuning mixture (mrc_jax/data/mixtures.py) of ``adv=`` and ``span=``."""
  name = "race_finetune" if adv == "none" else f"{adv}_finetune"
  return name + ("_squad" if span == "squad" else "")


def get_config(arg: str = ""):
  recipe = common.ADVRACE_RECIPE
  opts = common.parse_arg(
    arg,
    model="xlmr-base",
    init="hf",
    adv="none",
    span="none",
    epochs=recipe["epochs"],
    lr=recipe["learning_rate"],
    batch=recipe["batch_size"],
    max_length=recipe["max_length"],
    hw="tpu_v4_8",
    runlocal=False,
    ckpt_dir="",
    fraction=1.0,
    seed=recipe["seed"],
  )
  common.choose("adv", opts.adv, ADV_CHOICES)
  common.choose("span", opts.span, ("none", "squad"))
  if not 0.0 < opts.fraction <= 1.0:
    raise ValueError(f"config argument fraction={opts.fraction} must be in (0, 1]")

  config = common.base_config()
  config.seed = opts.seed
  config.model = common.model_arch(opts.model)
  config.init_from = (
    common.checkpoint_dir(opts.model, opts.ckpt_dir) if opts.init == "hf" else opts.init
  )
  config.tokenizer = common.checkpoint_dir(opts.model, opts.ckpt_dir)

  config.data.mixture = mixture_name(opts.adv, opts.span)
  config.data.max_length = opts.max_length
  # Sample-efficiency ablation: a fixed random subset of each fine-tuning task, trained
  # for the same number of epochs (so proportionally fewer steps).
  config.data.train_fraction = opts.fraction
  examples = sum(tasks.plan(config.data.mixture).rates) * opts.fraction
  config.optimizer.update(
    learning_rate=opts.lr,
    eps=recipe["adam_eps"],
    b2=recipe["b2"],
    warmup_fraction=recipe["warmup_fraction"],
    weight_decay=recipe["weight_decay"],
    clip_norm=recipe["clip_norm"],
  )
  common.apply_hardware(config, opts.hw, opts.model, opts.batch)
  config.total_steps = max(1, int(round(opts.epochs * examples / opts.batch)))
  config.checkpoint_every_steps = 1000
  config.eval_every_steps = 1000

  config.evals.race_dev = dict(
    type="accuracy", tasks=("race.all",), split="validation", num_examples=2000
  )
  config.export.heads = ("multiple_choice",) + (("span",) if opts.span == "squad" else ())
  if opts.runlocal:
    common.runlocal(config)
  if opts.span == "squad":
    # SQuAD examples take a slot and a row per context window: room for the worst case of
    # every example of a micro-batch beside RACE's four choices.
    windows = common.span_windows(config.data.max_length)
    common.fit_rows(
      config,
      "runlocal" if opts.runlocal else opts.hw,
      opts.model,
      max(windows, config.data.max_choices),
    )
    examples = config.batch_size // config.optimizer.accum_steps
    config.data.slots_per_batch = examples * windows
    config.data.rows_per_batch = examples * max(windows, config.data.max_choices)
  return config
