"""codeswitch: content words replaced by their translations into another language (English
by default), from a lexicon induced by aligning the example's parallel dataset with a
multilingual encoder (:mod:`mrc_jax.perturb.parallel`), or from a MUSE-style file."""

from __future__ import annotations

import functools
import os
import unicodedata

from mrc_jax.data import languages as data_languages
from mrc_jax.perturb import alignment, embedder, languages, parallel, words
from mrc_jax.perturb.registry import (
  DEGRADED,
  FULL,
  UNSUPPORTED,
  PerturbationError,
  Support,
  register,
)


@functools.lru_cache(maxsize=16)
def load_lexicon(path: str) -> dict[str, tuple[str, ...]]:
  """A MUSE-style word-pair file: one 'source target' pair per line (space or tab separated).

  Several lines with the same source give several translations, kept in file order.
  """
  if not os.path.exists(path):
    raise PerturbationError(f"codeswitch: lexicon file {path!r} does not exist")
  pairs: dict[str, list[str]] = {}
  with open(path, encoding="utf-8") as f:
    for number, line in enumerate(f, 1):
      if not line.strip():
        continue
      parts = line.split()
      if len(parts) != 2:
        raise PerturbationError(
          f"codeswitch: {path}: line {number}: expected 'source target', got {line.rstrip()!r}"
        )
      source, target = (unicodedata.normalize("NFC", p) for p in parts)
      pairs.setdefault(source.casefold(), []).append(target)
  if not pairs:
    raise PerturbationError(f"codeswitch: lexicon file {path!r} is empty")
  return {k: tuple(dict.fromkeys(v)) for k, v in pairs.items()}


def _translate(lexicon):
  def edit(word, step):
    translations = lexicon.get(word.casefold())
    if not translations:
      return None
    target = step.rng.choice(translations)
    if word[:1].isupper() and target[:1].islower():
      target = target[:1].upper() + target[1:]
    return target, "translate"

  return edit


def lexicon_missing(params: dict) -> list[str]:
  path = params.get("lexicon")
  if path:
    if not os.path.exists(path):
      return [f"a bilingual lexicon: lexicon file {os.fspath(path)!r} does not exist"]
    return []
  return embedder.checkpoint_missing(params.get("encoder"))


def _dataset_lexicon(example: dict, step) -> dict[str, tuple[str, ...]] | None:
  """The induced lexicon of the example's parallel dataset, or None (with a note) when the
  example is already in the target language."""
  task = str(example.get("task", ""))
  dataset, _, rest = task.partition(".")
  source = rest.split(".")[0] or step.lang
  if dataset not in parallel.PARALLEL_DATASETS:
    raise PerturbationError(
      f"codeswitch: example {example.get('id')!r} of task {task!r}: no parallel data is "
      f"registered for {dataset!r} (parallel: {sorted(parallel.PARALLEL_DATASETS)}); pass "
      "lexicon=PATH (a MUSE-style word-pair file)"
    )
  target = parallel.target_code(dataset, step.params["target"])
  if languages.base_language(source) == languages.base_language(target):
    step.notes.append(f"already in the target language {target!r}: unchanged")
    return None
  lexicon, path = parallel.induced_lexicon(
    dataset,
    source,
    step.params["target"],
    encoder=os.fspath(step.params["encoder"] or embedder.default_checkpoint()),
    data_dir=step.params["data_dir"],
    layer=int(step.params["layer"]),
    max_pairs=int(step.params["max_pairs"]),
  )
  step.notes.append(f"lexicon induced from {dataset} ({len(lexicon)} words, {path})")
  return lexicon


# Languages with a parallel English set registered (XQuAD's; Belebele's variants resolve
# through their FLORES codes, which the support table does not list one by one).
_PARALLEL_LANGUAGES = frozenset(data_languages.XQUAD) - {"en"}


def codeswitch_support(lang: str) -> Support:
  if languages.base_language(lang) == "en":
    return Support(UNSUPPORTED, "English is the default target: pass target=LANG")
  if languages.best_key(lang, _PARALLEL_LANGUAGES):  # same script: zh-Hant is not XQuAD's zh
    return Support(
      FULL, "into English, words induced from XQuAD / Belebele with encoder alignments"
    )
  return Support(
    DEGRADED, "by default only on Belebele examples (parallel with English); elsewhere lexicon=PATH"
  )


@register(
  "codeswitch",
  advrace="none (cross-lingual code-switching)",
  description="replace content words of the question (scope=passage_keywords: also "
  "matching passage words) by their translations into `target` (English): a lexicon "
  "induced by aligning the example's parallel dataset (XQuAD, XQuAD-MC, Belebele) with the "
  "encoder's contextual embeddings (SimAlign IterMax), or lexicon=PATH (MUSE-style file)",
  params={
    "lexicon": None,
    "target": "en",
    "encoder": None,
    "layer": alignment.DEFAULT_LAYER,
    "data_dir": None,
    "max_pairs": 0,
    "scope": "question",
    "rate": 1.0,
    "min_clusters": 1,
  },
  support=codeswitch_support,
  requires=lexicon_missing,
)
def codeswitch(example, step):
  lacking = lexicon_missing(step.params)
  if lacking:
    raise PerturbationError("codeswitch needs " + lacking[0])
  if step.params["lexicon"]:
    lexicon = load_lexicon(os.fspath(step.params["lexicon"]))
  else:
    lexicon = _dataset_lexicon(example, step)
    if lexicon is None:
      return example
  found = [
    t
    for t in words.targets(example, step, int(step.params["min_clusters"]))
    if example[t[0]][t[1] : t[2]].casefold() in lexicon
  ]
  return words.rewrite(example, step, words.choose(found, step), _translate(lexicon))
