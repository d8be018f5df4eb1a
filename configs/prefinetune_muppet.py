r"""python launch/train.py --config=configs/prefinetune_muppet.py:model=xlmr-base,tasks=all,batching=heterogeneous,hw=tpu_v4_8 --workdir=$WORKDIR

Muppet pre-finetuning (Aghajanyan et al. 2021): one shared encoder trained on a mixture of
~50 labelled datasets with one head per classification dataset, one shared multiple-choice
head and one shared span head, heterogeneous batches, losses scaled by 1/log(classes),
natural proportions and R3F. Its workdir then feeds fine-tuning:
``configs/finetune_race.py:model=...,init=$WORKDIR``.

Arguments (comma-separated):
  model=     xlmr-base | xlmr-large | roberta-base | roberta-large | mbert | minilm, or an
             encoder-decoder: bart-base | bart-large | mbart-large-50 | mt5-small |
             mt5-base | mt5-large (Muppet's BART runs), which also trains the blend's
             summarization datasets through its generation head
  tasks=     all (mixture muppet_all) | N in 5, 10, 15, 20, 25, 30, 40 (muppet_Ntasks:
             nested supersets stratified by family)
  multilingual (flag, with tasks=all) the multilingual blend muppet_multilingual (adds
             XNLI, PAWS-X and other non-English sets)
  batching=  heterogeneous (Muppet) | homogeneous | sequential (the paper's ablation)
  steps=     total steps (default 20,000 updates of 256 examples: ~1 pass over 4.8M)
  hw=        runlocal | tpu_v4_8 | tpu_v5e_8 | gpu_8
  runlocal   (flag) a 4-step wiring check on CPU
  ckpt_dir=  root of the Hugging Face checkpoint directories

Summarization entries of the blend need a decoder: an encoder's run leaves them out (the
mixture's other tasks keep their natural proportions); an encoder-decoder's trains them
with teacher forcing, articles and summaries cut at data.max_length tokens.

Batches hold any mix of the blend's tasks: data.max_choices is the most options among its
choice tasks (commonsense_qa: 5), and every example gets the slots and rows of its worst
case, a span context of common.LONGEST_SPAN_CONTEXT tokens split into windows (one slot and row
each) or max_choices rows; accumulation grows so each device's rows still fit.

What to expect (Muppet paper, RoBERTa): pre-finetuning on all tasks then fine-tuning
improves RTE by ~9 points (base) and RACE/SQuAD by ~0.5-1 point (large); with fewer than
~15 tasks it hurts; batch-heterogeneous > batch-homogeneous > sequential. Training loss
(scaled) starts near 1.0 per task (a uniform guess) and falls on every task family.
"""

from configs import common
from mrc_jax.data import muppet

TASK_COUNTS = muppet.TASK_COUNTS
BATCHING = ("heterogeneous", "homogeneous", "sequential")


def batch_room(datasets, max_length: int) -> tuple[int, int, int]:
  """(max_choices, slots, rows) one example of the blend may need."""
  max_choices = max((d.num_classes for d in datasets if d.kind == "choice"), default=1)
  windows = common.span_windows(max_length) if any(d.kind == "span" for d in datasets) else 1
  return max_choices, windows, max(windows, max_choices)


def mixture_name(tasks: str, multilingual: bool) -> str:
  """The mrc_jax.data.muppet mixture of a ``tasks=`` argument."""
  if multilingual:
    if tasks != "all":
      raise ValueError("the multilingual blend extends all tasks; use tasks=all with it")
    return "muppet_multilingual"
  if tasks == "all":
    return "muppet_all"
  if tasks.isdigit() and int(tasks) in TASK_COUNTS:
    return f"muppet_{int(tasks)}tasks"
  raise ValueError(f"config argument tasks={tasks!r}: expected all or one of {TASK_COUNTS}")


def get_config(arg: str = ""):
  recipe = common.MUPPET_RECIPE
  opts = common.parse_arg(
    arg,
    model="xlmr-base",
    tasks="all",
    multilingual=False,
    batching="heterogeneous",
    steps=20_000,
    hw="tpu_v4_8",
    runlocal=False,
    ckpt_dir="",
  )
  common.choose("batching", opts.batching, BATCHING)

  config = common.base_config()
  config.model = common.model_arch(opts.model)
  config.init_from = common.checkpoint_dir(opts.model, opts.ckpt_dir)
  config.tokenizer = config.init_from
  # The registered mixture: its tasks at natural proportions (rate = train examples;
  # Muppet found up/down-sampling detrimental). Summarization needs a decoder: the trainer
  # leaves it out of an encoder's run.
  config.data.mixture = mixture_name(opts.tasks, opts.multilingual)
  # Every subset gets the whole blend's worst-case batch room, so the number-of-tasks
  # ablation's runs differ in the mixture alone (same shapes, same compiled step).
  datasets = muppet.mixture_datasets(mixture_name("all", opts.multilingual))
  if opts.model not in common.SEQ2SEQ_MODELS:
    datasets = muppet.encoder_datasets(datasets)
  config.data.batching = opts.batching
  config.data.max_length = recipe["max_length"]

  config.loss.scale_by_log_classes = True
  config.r3f.weight = recipe["r3f_weight"]
  config.r3f.eps = recipe["r3f_eps"]
  config.optimizer.learning_rate = recipe["learning_rate"]
  config.optimizer.weight_decay = recipe["weight_decay"]
  config.optimizer.warmup_fraction = recipe["warmup_fraction"]
  config.optimizer.clip_norm = recipe["clip_norm"]
  common.apply_hardware(config, opts.hw, opts.model, recipe["batch_size"])
  common.fit_rows(config, opts.hw, opts.model, batch_room(datasets, config.data.max_length)[2])
  config.total_steps = opts.steps
  config.checkpoint_every_steps = 1000
  config.eval_every_steps = 2000
  if opts.runlocal:
    common.runlocal(config)
  # Room for the worst case of every example of a micro-batch (per process: the
  # converter gets batch_size / accum / processes examples, never more).
  max_choices, slots, rows = batch_room(datasets, config.data.max_length)
  examples = config.batch_size // config.optimizer.accum_steps
  config.data.max_choices = max_choices
  config.data.slots_per_batch = examples * slots
  config.data.rows_per_batch = examples * rows
  return config
