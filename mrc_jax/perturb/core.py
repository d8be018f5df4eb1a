"""perturb / perturb_examples: seeded, pure application of (chains of) registered attacks."""

from __future__ import annotations

import copy
import hashlib
import random
import unicodedata
from typing import Any, Iterable, Iterator

from mrc_jax.data.schema import example_kind
from mrc_jax.perturb import registry
from mrc_jax.perturb.registry import PerturbationError, Step

TEXT_FIELDS = ("context", "question")
_NOT_GIVEN = object()


def parse_chain(attack: str) -> list[registry.Attack]:
  """'charswap|addsent' -> the attacks, applied left to right."""
  names = [name.strip() for name in attack.split("|")]
  if not all(names):
    raise PerturbationError(f"empty attack name in {attack!r}")
  return [registry.get(name) for name in names]


def _rng(seed: int, attack: str, position: int, example: dict) -> random.Random:
  # sha256, not hash(): Python salts str hashes per process, which would break determinism.
  key = f"{seed}\x1f{attack}\x1f{position}\x1f{example.get('id', '')}\x1f{example['question']}"
  return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))


def _jsonable(value: Any) -> Any:
  if callable(value):
    return getattr(value, "__name__", type(value).__name__)
  if isinstance(value, (list, tuple)) and len(value) > 8:
    return f"<{len(value)} items>"
  return value


def _nfc_example(example: dict) -> dict:
  """NFC text fields; extractive offsets follow (the answer is normalised on its own)."""
  for field in (*TEXT_FIELDS, "options"):
    if field not in example:
      continue
    if field == "options":
      example["options"] = [unicodedata.normalize("NFC", o) for o in example["options"]]
      continue
    value = example[field]
    if unicodedata.is_normalized("NFC", value):
      continue
    example.setdefault("meta", {})["nfc_normalised"] = True
    if field == "context":
      for answer in example.get("answers", []):
        prefix = value[: answer["start"]]
        answer["start"] = len(unicodedata.normalize("NFC", prefix))
        answer["text"] = unicodedata.normalize("NFC", answer["text"])
    example[field] = unicodedata.normalize("NFC", value)
  return example


def _gold(example: dict) -> Any:
  kind = example_kind(example)
  if kind == "span":
    return sorted(a["text"] for a in example["answers"])
  if kind == "choice":
    label = example["label"]
    return (
      len(example["options"]),
      example["options"][label] if 0 <= label < len(example["options"]) else label,
    )
  return example.get("label")


def check_invariants(gold_before: Any, after: dict, attack: str) -> None:
  """Labels preserved, answer spans exact, NFC text: raise naming example and field."""
  where = f"{attack} on example {after.get('id')!r}"
  if gold_before != _gold(after):
    raise PerturbationError(f"{where}: gold answer changed: {gold_before} -> {_gold(after)}")
  for field in TEXT_FIELDS:
    if not unicodedata.is_normalized("NFC", after[field]):
      raise PerturbationError(f"{where}: field {field!r} is not NFC")
  for i, option in enumerate(after.get("options", [])):
    if not unicodedata.is_normalized("NFC", option):
      raise PerturbationError(f"{where}: field 'options[{i}]' is not NFC")
  context = after["context"]
  for i, answer in enumerate(after.get("answers", [])):
    start, answer_text = answer["start"], answer["text"]
    if context[start : start + len(answer_text)] != answer_text:
      raise PerturbationError(f"{where}: answers[{i}] {answer_text!r} no longer at {start}")


def perturb(example: dict, attack: str, lang: str, seed: int, **params) -> dict:
  """A perturbed copy of `example` (never mutated): same inputs, same output.

  `attack` names one registered attack or a chain ('charswap|addsent'). Each step appends
  {attack, seed, params, changed, edits, degraded, notes} to meta['perturbation'].
  `prepared` (internal, from `perturb_examples`) is the first attack's `prepare` output
  for this example, computed in a batch.
  """
  chain = parse_chain(attack)
  prepared = params.pop("prepared", _NOT_GIVEN)
  accepted = set().union(*(a.params for a in chain), {"pool"})
  unknown = set(params) - accepted
  if unknown:
    raise PerturbationError(f"{attack}: unknown parameter(s) {sorted(unknown)}")
  result = _nfc_example(copy.deepcopy(example))
  result.setdefault("meta", {})
  records = list(result["meta"].get("perturbation", []))
  for position, spec in enumerate(chain):
    step_params = {
      **spec.params,
      **{k: v for k, v in params.items() if k in spec.params or k == "pool"},
    }
    step = Step(spec.name, lang, _rng(seed, spec.name, position, result), step_params)
    kind = example_kind(result)
    if kind in spec.kinds:
      gold_before = _gold(result)
      if spec.prepare is not None:
        given = prepared is not _NOT_GIVEN and position == 0
        step.prepared = prepared if given else spec.prepare([result], [lang], step_params)[0]
      result = spec.apply(result, step)
      check_invariants(gold_before, result, spec.name)
    else:
      step.notes.append(f"not applicable to {kind} examples: left unchanged")
    records.append(
      {
        "attack": spec.name,
        "seed": seed,
        "lang": lang,
        "params": {k: _jsonable(v) for k, v in step_params.items() if k != "pool"},
        "changed": bool(step.edits),
        "edits": step.edits,
        "degraded": step.degraded,
        "notes": step.notes,
      }
    )
  result["meta"]["perturbation"] = records
  return result


def perturb_examples(
  examples: Iterable[dict], attack: str, lang: str | None, seed: int, **params
) -> Iterator[dict]:
  """Perturb a dataset. Attacks that draw other passages (distractor_passage) draw them from
  the distinct contexts of these examples in the same language, so the whole iterable is
  read first for them.

  `lang=None` uses each example's own 'lang'. An attack with a `prepare` (a model run over
  examples) at the head of the chain gets it run on batches of `batch_size` examples.
  """
  chain = parse_chain(attack)
  if chain[0].prepare is not None:
    yield from _perturb_batched(examples, attack, lang, seed, chain[0], params)
    return
  pools: dict[str, list[str]] = {}
  if any(spec.needs_pool for spec in chain) and "pool" not in params:
    examples = list(examples)
    for example in examples:  # one pool per language, so a mixed set stays in-language
      pools.setdefault(example.get("lang", ""), []).append(
        unicodedata.normalize("NFC", example["context"])
      )
    pools = {k: list(dict.fromkeys(v)) for k, v in pools.items()}
  for example in examples:
    step_params = params
    if pools:
      step_params = {**params, "pool": pools[example.get("lang", "")]}
    yield perturb(example, attack, lang or example["lang"], seed, **step_params)


def _perturb_batched(examples, attack, lang, seed, head: registry.Attack, params) -> Iterator[dict]:
  step_params = {**head.params, **{k: v for k, v in params.items() if k in head.params}}
  size = int(step_params.get("batch_size") or 1)
  batch: list[dict] = []

  def flush():
    ready = [_nfc_example(copy.deepcopy(e)) for e in batch]
    langs = [lang or e["lang"] for e in ready]
    applicable = [i for i, e in enumerate(ready) if example_kind(e) in head.kinds]
    prepared = {}
    if applicable:
      computed = head.prepare(
        [ready[i] for i in applicable], [langs[i] for i in applicable], step_params
      )
      prepared = {i: {"prepared": value} for i, value in zip(applicable, computed)}
    for i, (example, example_lang) in enumerate(zip(batch, langs)):
      yield perturb(example, attack, example_lang, seed, **prepared.get(i, {}), **params)
    batch.clear()

  for example in examples:
    batch.append(example)
    if len(batch) == size:
      yield from flush()
  if batch:
    yield from flush()
