r"""python launch/eval.py --config=configs/eval_xlingual.py:sets=belebele,exams,xcopa,attacks=charswap,addsent,typo_keyboard,homoglyph,distractor_extraction --workdir=$FINETUNED_WORKDIR

The cross-lingual robustness evaluation of a fine-tuned workdir: every language of each
set, clean and under each attack, written to ``$WORKDIR/report/robustness.{json,csv,md,png}``
(accuracy or EM/F1, drop, relative robustness, flip rate and gap to English per language x
attack, with 95% bootstrap intervals). Data come from ``$MRC_JAX_DATA_DIR`` (or
``data_dir=``) in the upstream layout (``launch/prepare_data.py``).

Arguments (comma-separated; a list continues over the following bare words, or use a+b):
  sets=     belebele, xquad, mlqa, tydiqa, exams, xcopa, dream, mctest, c3, xquad_mc
            (xquad_mc: XQuAD as 4-way multiple choice, the same options in every language;
            multiple-choice sets need the multiple_choice head: finetune_race.py; span sets
            need the span head: finetune_race.py:...,span=squad)
  attacks=  any of the perturbation registry (``python launch/perturb.py --list``); an
            attack that does not apply to a set's kind (e.g. distractor_extraction on
            extractive QA) is left out for that set only; an attack that cannot run
            (dg, paraphrase without dg_model= / paraphrase_model=; codeswitch without
            lexicon= or the encoder) is refused here, naming what it lacks
  lexicon=  MUSE-style word-pair file for codeswitch (its source language is the
            evaluated one: restrict langs= to it); without it codeswitch translates into
            English with words induced from the set's own parallel data (XQuAD, XQuAD-MC,
            Belebele) by multilingual-e5-small's alignments ($MRC_JAX_CKPT_DIR), aligned
            once per set and language and cached; sets without parallel data
            (EXAMS, XCOPA, DREAM, ...) are evaluated without it unless lexicon= is given
  align_pairs=N   align at most N parallel sentence pairs per language for codeswitch
                  (0 = all: ~1,800 for XQuAD, about 1.5 minutes per language on 2 CPU cores)
  de_model= training workdir with a span head (e.g. the study's pre-finetuned run, whose
            XQuAD span heads read every shared language): distractor_extraction takes
            its best-ranked passage spans, as AdvRACE's DE does; without it the lexical
            scorer ranks them
  dg_model= a seq2seq directory (BART / mBART / T5 / mT5 with tokenizer.json) trained to
            write distractors (docs/ATTACKS.md): dg replaces the wrong options with its beams
  paraphrase_model= a seq2seq directory trained to paraphrase questions, for paraphrase
  langs=    restrict every set to these languages (default: all of each set)
  max_examples=N  evaluate the first N examples per language (0 = all)
  max_length=N    row length of every set (default 512; a model trained on short rows is
                  evaluated faster at its own length, where the sets' questions fit)
  batch_size=N    example slots per batch (default 32)
  runlocal  (flag) two languages and 16 examples per cell: a wiring check
  data_dir= data directory (default $MRC_JAX_DATA_DIR)

What to expect: a RACE-fine-tuned XLM-R base reaches roughly 55-60% on Belebele English
and ~10 points less on distant languages (Belebele paper's fine-tuned XLM-R numbers); on
EXAMS cross-lingual with paragraphs ~35-45%; XCOPA ~55-65% zero-shot. Attacks that edit
the question (charswap, typos, homoglyph) cost a few points and more in non-Latin scripts;
distractor_extraction costs the most on multiple choice (tens of points on RACE in the
AdvRACE paper). These are the quantities the study compares between RACE and
RACE + AdvRACE fine-tuning.
"""

from configs import common
from mrc_jax import perturb
from mrc_jax.perturb import parallel
from mrc_jax.data import languages

# set -> (task name pattern, languages, split of the upstream release evaluated, kind)
SETS = {
  "belebele": ("belebele.{lang}", languages.BELEBELE, "test", "choice"),
  "xquad": ("xquad.{lang}", languages.XQUAD, "test", "span"),
  "mlqa": ("mlqa.{lang}", languages.MLQA, "test", "span"),
  "tydiqa": ("tydiqa.{lang}", tuple(languages.TYDIQA), "validation", "span"),
  "exams": ("exams.{lang}", languages.EXAMS_CROSS_LINGUAL, "validation", "choice"),
  "xcopa": ("xcopa.{lang}", languages.XCOPA, "test", "choice"),
  "dream": ("dream.{lang}", languages.DREAM, "validation", "choice"),
  "mctest": ("mctest.{lang}", languages.MCTEST, "test", "choice"),
  "c3": ("c3.{lang}", languages.C3, "validation", "choice"),
  "xquad_mc": ("xquad_mc.{lang}", languages.XQUAD_MC, "test", "choice"),
}
DEFAULT_ATTACKS = (
  "charswap",
  "addsent",
  "typo_keyboard",
  "homoglyph",
  "codeswitch",
  "distractor_extraction",
)
RUNLOCAL_LANGS = 2


def applicable_attacks(attacks, kind: str, set_name: str = "", params=None) -> tuple[str, ...]:
  """The attacks of the list that apply to a set's example kind; codeswitch without a
  lexicon file only to sets with parallel data to induce one from."""
  params = params or {}
  return tuple(
    a
    for a in attacks
    if kind in perturb.get(a).kinds
    and not (
      a == "codeswitch"
      and not params.get(a, {}).get("lexicon")
      and set_name not in parallel.PARALLEL_DATASETS
    )
  )


def attack_params(
  attacks,
  lexicon: str = "",
  span_model: str = "",
  align_pairs: int = 0,
  dg_model: str = "",
  paraphrase_model: str = "",
) -> dict:
  """{attack: parameters} for the attacks that take a resource: codeswitch's lexicon (or
  the cap on the parallel pairs it aligns), the span model that ranks
  distractor_extraction's spans, and the seq2seq checkpoints of dg and paraphrase (each
  given only when set)."""
  checkpoints = {"dg": dg_model, "paraphrase": paraphrase_model}
  params = {}
  for attack in attacks:
    declared = perturb.get(attack).params
    chosen = {}
    if "checkpoint" in declared and checkpoints.get(attack):
      chosen["checkpoint"] = checkpoints[attack]
    if "lexicon" in declared and lexicon:
      chosen["lexicon"] = lexicon
    if "max_pairs" in declared and align_pairs:
      chosen["max_pairs"] = align_pairs
    if "span_model" in declared and span_model:
      chosen["span_model"] = span_model
    if chosen:
      params[attack] = chosen
  return params


def eval_entries(sets, attacks, langs=(), max_examples=0, runlocal=False, params=None) -> dict:
  """``config.evals`` entries: one per set, its tasks (one per language) and attacks.

  ``params`` ({attack: parameters}, default :func:`attack_params`) go into the entries'
  ``attack_params``; an attack that cannot run with them is refused here, naming what it
  lacks, instead of failing once the evaluation reaches it.
  """
  params = attack_params(attacks) if params is None else params
  for attack in attacks:
    perturb.require_runnable(attack, **params.get(attack, {}))
  entries = {}
  for name in sets:
    pattern, set_langs, split, kind = SETS[common.choose("sets", name, SETS)]
    chosen = tuple(lang for lang in set_langs if not langs or lang in langs)
    if not chosen:
      raise ValueError(
        f"set {name}: none of langs={list(langs)} is among its languages {list(set_langs)}"
      )
    if runlocal:
      chosen = chosen[:RUNLOCAL_LANGS]
    applicable = applicable_attacks(attacks, kind, name, params)
    entries[name] = dict(
      type="robustness",
      tasks=tuple(pattern.format(lang=lang) for lang in chosen),
      split=split,
      attacks=applicable,
      num_examples=16 if runlocal else max_examples,
    )
    used = {a: params[a] for a in applicable if a in params}
    if used:
      entries[name]["attack_params"] = used
  return entries


def get_config(arg: str = ""):
  opts = common.parse_arg(
    arg,
    sets=("belebele", "exams", "xcopa"),
    attacks=DEFAULT_ATTACKS,
    langs=(),
    max_examples=0,
    runlocal=False,
    data_dir="",
    max_length=512,
    batch_size=32,
    lexicon="",
    de_model="",
    dg_model="",
    paraphrase_model="",
    align_pairs=0,
  )
  # Entries first: an attack that cannot run fails before anything else is built.
  entries = eval_entries(
    opts.sets,
    opts.attacks,
    opts.langs,
    opts.max_examples,
    opts.runlocal,
    attack_params(
      opts.attacks,
      opts.lexicon,
      opts.de_model,
      opts.align_pairs,
      opts.dg_model,
      opts.paraphrase_model,
    ),
  )
  config = common.base_config()
  config.data.max_length = opts.max_length
  config.batch_size = opts.batch_size
  if opts.data_dir:
    config.data.data_dir = opts.data_dir
  config.max_answer_length = 30
  for name, entry in entries.items():
    config.evals[name] = entry
  return config
