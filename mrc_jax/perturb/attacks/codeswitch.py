"""codeswitch: content words replaced by their translations from a bilingual lexicon."""

from __future__ import annotations

import functools
import os
import unicodedata

from mrc_jax.perturb import words
from mrc_jax.perturb.registry import FULL, PerturbationError, Support, register


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
  if not path:
    return ["a bilingual lexicon: set lexicon=PATH to a MUSE-style word-pair file"]
  if not os.path.exists(path):
    return [f"a bilingual lexicon: lexicon file {os.fspath(path)!r} does not exist"]
  return []


@register(
  "codeswitch",
  advrace="none (cross-lingual code-switching)",
  description="replace content words of the question (scope=passage_keywords: also "
  "matching passage words) by translations from a MUSE-style lexicon "
  "(lexicon=PATH, rate of words replaced)",
  params={"lexicon": None, "scope": "question", "rate": 1.0, "min_clusters": 1},
  support=lambda lang: Support(FULL, "with a lexicon file for the language pair"),
  requires=lexicon_missing,
)
def codeswitch(example, step):
  lacking = lexicon_missing(step.params)
  if lacking:
    raise PerturbationError("codeswitch needs " + lacking[0])
  lexicon = load_lexicon(os.fspath(step.params["lexicon"]))
  found = [
    t
    for t in words.targets(example, step, int(step.params["min_clusters"]))
    if example[t[0]][t[1] : t[2]].casefold() in lexicon
  ]
  return words.rewrite(example, step, words.choose(found, step), _translate(lexicon))
