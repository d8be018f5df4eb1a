"""Weights-only initialisation from another model (``config.init_from``): a source's encoder
and heads mapped onto a run's freshly initialised parameters.

A source is a Hugging Face directory (:func:`from_hf`) or a training workdir (the trainer
reads it through its run specification). Encoder parameters the source lacks (a pooler)
keep their fresh values and are logged; a parameter of another shape is an error naming
it. Heads are matched by name after ``rename`` (new name -> source name); the run's other
heads start fresh and unused source heads are logged as dropped.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import jax
import numpy as np
from absl import logging
from flax import nnx, traverse_util

from mrc_jax.models import hf
from mrc_jax.models.multitask import HeadSpec


@dataclasses.dataclass(frozen=True)
class SourceWeights:
  """Parameters (nested dicts on the host) of an ``init_from`` source.

  ``encoder`` holds the shared trunk's parameters, which the run's model keeps under
  ``trunk`` ("encoder"; "seq2seq" for an encoder-decoder). ``poolings[name]`` is what each
  source head was trained to read; a Hugging Face directory's task classes all read the
  first token.
  """

  name: str
  encoder: dict
  heads: dict
  poolings: dict
  trunk: str = "encoder"


def from_hf(path: str) -> SourceWeights:
  """The encoder (or encoder-decoder) and task head (if any) of a Hugging Face directory."""
  if hf.is_seq2seq_dir(path):
    model, _, heads = hf.load_hf_seq2seq_with_heads(path)
    trunk = "seq2seq"
  else:
    model, _, heads = hf.load_hf_model(path)
    trunk = "encoder"
  return SourceWeights(
    name=path,
    encoder=nnx.state(model, nnx.Param).to_pure_dict(),
    heads={name: nnx.state(h, nnx.Param).to_pure_dict() for name, h in heads.items()},
    poolings={name: "first" for name in heads},
    trunk=trunk,
  )


def merge_encoder(source_name: str, fresh: dict, source: dict) -> dict:
  """The source's encoder weights; parameters it lacks keep their fresh initialisation.

  Checkpoints without a pooler (``*ForMaskedLM`` / ``*Model`` directories such as
  roberta-base or multilingual-e5-small) leave the run's pooler fresh, as Hugging Face
  does; those parameters are logged.
  """
  fresh_flat = traverse_util.flatten_dict(fresh, sep="/")
  source_flat = traverse_util.flatten_dict(source, sep="/")
  mismatched = [
    f"{k}: {np.shape(source_flat[k])} vs {np.shape(v)}"
    for k, v in fresh_flat.items()
    if k in source_flat and np.shape(source_flat[k]) != np.shape(v)
  ]
  if mismatched:
    raise ValueError(
      f"init_from {source_name}: encoder parameter shapes differ from the "
      f"run's model (source vs run): {mismatched}"
    )
  missing = sorted(set(fresh_flat) - set(source_flat))
  unused = sorted(set(source_flat) - set(fresh_flat))
  if missing:
    logging.warning(
      "init_from %s: no weights for encoder parameters %s; they are freshly initialised",
      source_name,
      missing,
    )
  if unused:
    logging.warning(
      "init_from %s: encoder parameters %s are not part of the run's model and are dropped",
      source_name,
      unused,
    )
  merged = {k: np.asarray(source_flat.get(k, v)) for k, v in fresh_flat.items()}
  return traverse_util.unflatten_dict(merged, sep="/")


def check_head_pooling(
  source: SourceWeights, head_specs: Sequence[HeadSpec], rename: Mapping[str, str]
) -> None:
  """Refuses to carry a head's weights into a head pooled differently: same-shaped weights
  under another pooling would load without complaint and mean something else."""
  for spec in head_specs:
    old = rename.get(spec.name, spec.name)
    if old not in source.heads:
      continue
    pooling = source.poolings.get(old, "first")
    if pooling != spec.pooling:
      raise ValueError(
        f"init_from {source.name}: head {old!r} was trained with {pooling!r} "
        f"pooling; the run's head {spec.name!r} uses {spec.pooling!r} "
        "(config.head_pooling)"
      )


def _shapes(tree) -> list:
  return [tuple(np.shape(x)) for x in jax.tree.leaves(tree)]


def initial_params(source: SourceWeights, fresh: dict, rename: Mapping[str, str]) -> dict:
  """The run's initial parameters: ``fresh`` (``{trunk, "heads"}`` nested dicts) with
  the source's weights wherever they fit."""
  if source.trunk not in fresh:
    raise ValueError(
      f"init_from {source.name}: its {source.trunk!r} weights do not fit the run's model "
      f"(parts {sorted(fresh)}): an encoder and an encoder-decoder do not mix"
    )
  encoder = merge_encoder(source.name, fresh[source.trunk], source.encoder)
  heads, kept, new = {}, [], []
  for name, fresh_head in fresh.get("heads", {}).items():
    old = rename.get(name, name)
    if old in source.heads and _shapes(source.heads[old]) == _shapes(fresh_head):
      heads[name] = source.heads[old]
      kept.append(name if old == name else f"{old} -> {name}")
    else:
      heads[name] = fresh_head
      new.append(name)
  used = {rename.get(n, n) for n in fresh.get("heads", {})}
  dropped = sorted(set(source.heads) - used)
  logging.info(
    "init_from %s: heads kept %s, newly initialised %s, dropped %s",
    source.name,
    kept,
    new,
    dropped,
  )
  # A model whose only head is an encoder-decoder's own LM head has no "heads" part.
  return {source.trunk: encoder, **({"heads": heads} if "heads" in fresh else {})}
