r"""Smoke run: a tiny BERT-style encoder on the built-in synthetic reading tasks.

    python launch/train.py --config=configs/smoke.py --workdir=/tmp/smoke

trains for about a minute on a 2-core CPU in heterogeneous batches of four task kinds
(two multiple-choice kinds, sentence-pair classification, extractive span) in six
languages, with checkpoints, evaluation and a Hugging Face export in the workdir. The span
loss falls first (the model learns which tokens can be answers); matching the question's person to
the right fact, which multiple choice needs, takes a randomly initialised encoder far
longer than a minute, so that accuracy stays near chance (25%) here. Argument
(``--config=configs/smoke.py:mc_only``): multiple-choice tasks only (mixture
``synthetic_mc_blend`` instead of ``synthetic_blend``). ``:seq2seq``: a tiny BART-style
encoder-decoder instead, on ``synthetic_seq2seq_blend`` (the four kinds plus lead-sentence
summarization), its classification, multiple-choice and span heads on the decoder's states
and its generation head trained with teacher forcing, evaluated by ROUGE too. Contract overrides work from the command line, e.g. ``--config.total_steps=20
--config.batch_size=8 --config.mesh="(('data',2),('fsdp',2),('tensor',2))"``.
"""

import ml_collections

from configs import common
from mrc_jax.data import synthetic, tasks


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  options = common.parse_arg(arg, mc_only=False, seq2seq=False)
  config = ml_collections.ConfigDict()

  # Contract fields.
  config.seed = 0
  config.total_steps = 120
  config.batch_size = 16
  config.checkpoint_every_steps = 40
  config.eval_every_steps = 60
  config.init_from = ""
  config.mesh = (("data", -1), ("fsdp", 1), ("tensor", 1))

  # Logical axis -> mesh axes. Batches split over data and fsdp; parameters are sharded
  # (FSDP-style) over fsdp on their embed axis and tensor-parallel over tensor.
  config.axis_rules = (
    ("batch", ("data", "fsdp")),
    ("vocab", "tensor"),
    ("embed", "fsdp"),
    ("mlp", "tensor"),
    ("heads", "tensor"),
    ("kv", None),
    ("layers", None),
  )

  config.log_every_steps = 20
  config.keep_checkpoints = 3
  # Several processes all-gather their SIGINT flags (and SIGTERM's without JAX's preemption
  # service) every this many steps to stop at one step: a blocking collective, so not every
  # step. One process reads its flag after every step.
  config.preemption_sync_every_steps = 10
  config.init_head_map = ml_collections.ConfigDict()  # new head name -> source head name
  config.tokenizer = "synthetic"  # or a Hugging Face directory with its tokenizer files
  # What the classification and multiple-choice heads read: "first" (the Hugging Face task
  # classes' first-token input) or "mean" (mean of the example's tokens, as sentence
  # encoders such as E5 were trained).
  config.head_pooling = "first"
  config.peak_flops_per_device = 0.0  # 0: vendor figure, or measured matmul rate on CPU

  config.model = ml_collections.ConfigDict(
    dict(
      model_type="bert",
      vocab_size=0,  # vocab_size comes from the tokenizer
      hidden_size=64,
      num_layers=2,
      num_heads=4,
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
      scan_unroll=2,
    )
  )  # all layers unrolled: faster on CPU

  if options.seq2seq:
    config.model = _seq2seq_model()

  config.data = ml_collections.ConfigDict(
    dict(
      # A registered seqio mixture or task (mrc_jax/data/mixtures.py): its rates and
      # mixing mode decide what is drawn.
      mixture=(
        "synthetic_seq2seq_blend"
        if options.seq2seq
        else "synthetic_mc_blend"
        if options.mc_only
        else "synthetic_blend"
      ),
      batching="heterogeneous",  # | homogeneous | sequential
      max_length=96,
      max_choices=synthetic.NUM_CHOICES,
      options_first=False,  # multiple-choice layout: [CLS] option+question [SEP] context
      skip_overlong=False,  # True: leave out (and log) examples whose question/option alone
      # exceeds max_length; False: an error
      rows_per_batch=0,  # 0: one row per choice of every example slot
      slots_per_batch=0,  # 0: one slot per example (span windows take a slot each)
      data_dir="",
    )
  )

  # task_weights: (regex, weight) pairs on task names, on top of the 1/log(n) scaling; the
  # first match sets a task's loss weight (others 1).
  config.loss = ml_collections.ConfigDict(dict(scale_by_log_classes=True, task_weights=()))
  config.r3f = ml_collections.ConfigDict(dict(weight=0.0, noise="uniform", eps=1e-5))
  config.optimizer = ml_collections.ConfigDict(
    dict(
      learning_rate=2e-3,
      warmup_fraction=0.05,
      warmup_steps=0,
      weight_decay=0.01,
      clip_norm=1.0,
      b1=0.9,
      b2=0.999,
      eps=1e-6,
      accum_steps=1,
      # Regexes (re.search) on parameter paths such as "encoder/embeddings/word": those
      # parameters are neither differentiated nor updated and get no optimizer state.
      freeze=(),
      # (regex, factor) pairs on the same paths: the first match scales that parameter's
      # learning rate, e.g. (("^heads/", 50.0),) for fresh heads on a pre-trained encoder.
      lr_mults=(),
    )
  )

  config.evals = ml_collections.ConfigDict()
  # Every entry names a registered evaluator (mrc_jax.eval.evaluators); launch/eval.py runs
  # them all on the restored checkpoint. Accuracy runs every eval_every_steps in training.
  config.evals.validation = ml_collections.ConfigDict(
    dict(
      type="accuracy",
      tasks=tasks.plan(config.data.mixture).tasks,
      split="validation",
      num_examples=16,
    )
  )
  # The robustness report: two languages, clean and under two attacks (in training only
  # with every_steps > 0: its attacked cells are expensive).
  config.evals.robustness = ml_collections.ConfigDict(
    dict(
      type="robustness",
      tasks=tuple(synthetic.task_name("mc", lang) for lang in synthetic.LANGS[:2]),
      attacks=("charswap", "addsent"),
      split="test",
      num_examples=200,
    )
  )

  if options.seq2seq:
    # Greedy decoding of the lead sentence, in training too (the model is tiny).
    config.evals.summaries = ml_collections.ConfigDict(
      dict(
        type="rouge",
        tasks=(synthetic.task_name("summary", "en"), synthetic.task_name("summary", "de")),
        split="validation",
        num_examples=16,
        max_new_tokens=24,
        every_steps=config.eval_every_steps,
      )
    )

  config.export = ml_collections.ConfigDict(dict(enabled=True, heads=()))
  return config


def _seq2seq_model() -> ml_collections.ConfigDict:
  """A tiny BART (models.seq2seq.Seq2SeqConfig fields) over the synthetic vocabulary: its
  [CLS] / [SEP] / [PAD] serve as BART's <s> / </s> / <pad>."""
  return ml_collections.ConfigDict(
    dict(
      model_type="bart",
      vocab_size=0,  # vocab_size comes from the tokenizer
      d_model=64,
      encoder_layers=2,
      decoder_layers=2,
      num_heads=4,
      head_dim=16,
      d_ff=128,
      max_position_embeddings=128,
      pad_token_id=synthetic.PAD_ID,
      bos_token_id=synthetic.CLS_ID,
      eos_token_id=synthetic.SEP_ID,
      decoder_start_token_id=synthetic.SEP_ID,  # BART starts decoding from </s>
      hidden_dropout=0.0,
      attention_dropout=0.0,
      dtype="float32",
      param_dtype="float32",
    )
  )
