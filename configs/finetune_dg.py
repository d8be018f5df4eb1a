r"""python launch/train.py --config=configs/finetune_dg.py:model=mt5-base,hw=tpu_v4_8 --workdir=$WORKDIR

Fine-tunes an encoder-decoder into a distractor generator for the ``dg`` attack: given
``answer: A question: Q context: P`` (the attack's own input, perturb.attacks.seq2seq.
dg_source) it learns to write each wrong option of RACE-format multiple-choice questions.
The model to give the attack is the exported generation class,

    python launch/perturb.py ... --attacks=dg --attack_params=dg:checkpoint=$WORKDIR/export/hf/generation

(or ``dg_model=$WORKDIR/export/hf/generation`` in configs/eval_xlingual.py). A multilingual
model (mT5, mBART-50) fine-tuned on English distractors is how the study carries DG into
other languages, as the released multilingual checkpoints carry their pre-training.

Arguments (comma-separated):
  model=   mt5-small | mt5-base | mt5-large | mbart-large-50 | bart-base | bart-large (the
           pretrained Hugging Face directory under $MRC_JAX_CKPT_DIR or ckpt_dir=)
  init=    another Hugging Face encoder-decoder directory (its tokenizer beside it) instead
  data=    all      RACE + DREAM + MCTest wrong options (dg_finetune, ~280k targets)
           offline  DREAM + MCTest only (dg_finetune_offline, 16,672 targets; the shared data)
  epochs=3, lr=1e-4, batch=32, max_length=512, seed=0: a plain sequence-to-sequence
           fine-tuning recipe (AdamW, 6% warm-up, linear decay), not a published DG one
  hw=      runlocal | tpu_v4_8 | tpu_v5e_8 | gpu_8 (mesh, dtype, accumulation)
  runlocal (flag) a 4-step wiring check on CPU
  ckpt_dir= root of the Hugging Face checkpoint directories

Evaluation on DREAM's validation distractors: ROUGE of greedy generations and the
teacher-forced loss.
"""

from configs import common
from mrc_jax.data import derived, tasks

DATA = {"all": "dg_finetune", "offline": "dg_finetune_offline"}
EVAL_TASK = derived.distractor_generation("dream.en")


def get_config(arg: str = ""):
  opts = common.parse_arg(
    arg,
    model="mt5-base",
    init="",
    data="all",
    epochs=3,
    lr=1e-4,
    batch=32,
    max_length=512,
    hw="tpu_v4_8",
    runlocal=False,
    ckpt_dir="",
    seed=0,
  )
  common.choose("model", opts.model, common.SEQ2SEQ_MODELS)
  config = common.base_config()
  config.seed = opts.seed
  source = opts.init or common.checkpoint_dir(opts.model, opts.ckpt_dir)
  config.init_from = source
  config.tokenizer = source
  config.model = common.model_arch(opts.model)
  config.data.mixture = common.choose("data", DATA.get(opts.data, opts.data), DATA.values())
  config.data.max_length = opts.max_length
  config.data.max_choices = 1
  config.optimizer.update(learning_rate=opts.lr, warmup_fraction=0.06, weight_decay=0.01)
  common.apply_hardware(config, opts.hw, opts.model, opts.batch)
  examples = sum(tasks.plan(config.data.mixture).rates)
  config.total_steps = max(1, int(round(opts.epochs * examples / opts.batch)))
  config.checkpoint_every_steps = 1000
  config.eval_every_steps = 1000
  config.evals.dg_dev = dict(
    type="accuracy", tasks=(EVAL_TASK,), split="validation", num_examples=2000
  )
  config.evals.dg_rouge = dict(
    type="rouge",
    tasks=(EVAL_TASK,),
    split="validation",
    num_examples=500,
    max_new_tokens=20,
    every_steps=config.eval_every_steps,
  )
  config.export.heads = ("generation",)
  if opts.runlocal:
    common.runlocal(config)
    config.evals.dg_rouge.update(num_examples=4, max_new_tokens=8, batch_size=4)
  return config
