"""Parallel evaluation sets as a source of word translations for codeswitch.

XQuAD (and XQuAD as multiple choice, whose ids are XQuAD's) and Belebele are translations
of one English set: examples with the same id are translations of each other. Their
questions, and passage sentences where both passages split into as many sentences, are
aligned word by word (:mod:`mrc_jax.perturb.alignment`), and the word pairs induce a
lexicon, cached as a MUSE-style file per (dataset, languages, encoder, layer, method), so
an evaluation pays the alignment once per dataset and language.

The cache lives under ``$MRC_JAX_CACHE_DIR/lexicons`` (default ``~/.cache/mrc_jax``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile

from mrc_jax.perturb import alignment, resources, text

log = logging.getLogger(__name__)

CACHE_DIR_ENV = "MRC_JAX_CACHE_DIR"
# dataset -> the dataset whose parallel files pair its examples (by id).
PARALLEL_DATASETS = {"xquad": "xquad", "xquad_mc": "xquad", "belebele": "belebele"}
# Belebele names languages by FLORES codes; its English file is eng_Latn.
_ENGLISH = {"belebele": "eng_Latn"}


def target_code(dataset: str, target: str) -> str:
  """The dataset's own code for the target language (`en` -> `eng_Latn` in Belebele)."""
  return _ENGLISH.get(dataset, "en") if target == "en" else target


def cache_dir() -> str:
  root = os.environ.get(CACHE_DIR_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "mrc_jax")
  return os.path.join(root, "lexicons")


def _load(dataset: str, lang: str, data_dir: str | None) -> dict[str, dict]:
  from mrc_jax.data import load_examples  # the data package imports this one's registry

  return {str(e["id"]): e for e in load_examples(f"{dataset}.{lang}", data_dir=data_dir)}


def sentence_pairs(
  dataset: str, source: str, target: str, data_dir: str | None = None, max_pairs: int = 0
) -> list[tuple[str, str]]:
  """(source, target) translations: every question, then passage sentences of passages that
  split into as many sentences in both languages (the rest are left out, not guessed)."""
  base = PARALLEL_DATASETS[dataset]
  source_examples = _load(base, source, data_dir)
  target_examples = _load(base, target_code(base, target), data_dir)
  shared = [i for i in source_examples if i in target_examples]
  pairs = [(source_examples[i]["question"], target_examples[i]["question"]) for i in shared]
  seen = set()
  for i in shared:
    source_context, target_context = source_examples[i]["context"], target_examples[i]["context"]
    if source_context in seen:
      continue
    seen.add(source_context)
    source_sentences = text.sentence_spans(source_context, source)
    target_sentences = text.sentence_spans(target_context, target)
    if len(source_sentences) == len(target_sentences):
      pairs += [
        (source_context[a:b].strip(), target_context[c:d].strip())
        for (a, b), (c, d) in zip(source_sentences, target_sentences)
      ]
  return pairs[:max_pairs] if max_pairs else pairs


def content_word(lang: str):
  stopwords = resources.stopwords(lang)[0]
  return lambda word: text.is_letter_word(word) and word.casefold() not in stopwords


def _cache_path(dataset, source, target, encoder, layer, method, max_pairs) -> str:
  key = f"{os.path.abspath(encoder)}|{layer}|{method}|{max_pairs}"
  digest = hashlib.sha256(key.encode()).hexdigest()[:12]
  return os.path.join(cache_dir(), f"{dataset}.{source}-{target}.{method}.{digest}.txt")


def _write(path: str, lexicon: dict[str, tuple[str, ...]]) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".partial")
  with os.fdopen(handle, "w", encoding="utf-8") as f:
    for source in sorted(lexicon):
      for translation in lexicon[source]:
        f.write(f"{source} {translation}\n")
  os.replace(temporary, path)  # readers never see half a file


def _read(path: str) -> dict[str, tuple[str, ...]] | None:
  lexicon: dict[str, list[str]] = {}
  try:
    with open(path, encoding="utf-8") as f:
      for line in f:
        parts = line.split()
        if len(parts) != 2:
          raise ValueError(f"line {line!r}")
        lexicon.setdefault(parts[0], []).append(parts[1])
  except (OSError, ValueError, UnicodeDecodeError) as error:
    log.warning("lexicon cache %s is unreadable (%s): aligning again", path, error)
    return None
  return {k: tuple(v) for k, v in lexicon.items()} if lexicon else None


def induced_lexicon(
  dataset: str,
  source: str,
  target: str = "en",
  *,
  encoder: str,
  data_dir: str | None = None,
  layer: int = alignment.DEFAULT_LAYER,
  method: str = "itermax",
  max_pairs: int = 0,
) -> tuple[dict[str, tuple[str, ...]], str]:
  """(lexicon, path of its cache file) of a parallel dataset's source -> target words."""
  base = PARALLEL_DATASETS[dataset]
  path = _cache_path(base, source, target, encoder, layer, method, max_pairs)
  if os.path.isfile(path):
    cached = _read(path)
    if cached is not None:
      return cached, path
  from mrc_jax.perturb.embedder import shared_embedder  # the model stack, only when aligning

  pairs = sentence_pairs(base, source, target, data_dir, max_pairs)
  aligned = alignment.aligned_words(pairs, source, target, shared_embedder(encoder, layer), method)
  lexicon = alignment.induce_lexicon(aligned, content_word(source), content_word(target))
  log.info("%s %s->%s: %d pairs aligned, %d words", base, source, target, len(pairs), len(lexicon))
  _write(path, lexicon)
  return lexicon, path
