"""AdvRACE JSON: one object mapping ``RACE/test/high/1001.txt-0`` to ``{"question",
"context", "options": [4 str], "label": 0..3}`` (test sets and train-format files alike).

The adversarial training set is built as Attacks/AddSent/combine.py of
github.com/NoviScl/AdvRACE builds it: RACE train, then one ``random`` generator seeded 2020
draws ``random.sample(list(ids), int(n * 0.25))`` from the AddSent, CharSwap and DE train
sets in that order (only sets of more than 50,000 questions; combine.py leaves smaller ones
undefined), each drawn id suffixed (``_addsent``, ``_charswap``, ``_extract``); the DG set
(already a 25% sample, ``train_25_dis.json``) is added whole with ``_unilm``. combine.py's
RACE part is ``RACE/train.json`` (Attacks/convert_RACE_to_json.py: the same questions and
ids as the RACE release's train files, which are read here). The train sets are not in the
repository; their paths are those combine.py reads, relative to its data root (the folder
that also holds ``final_distractor_datasets/``), which is ``advrace/`` here.
"""

from __future__ import annotations

import os
import random
from typing import Any, Callable, Iterator

from mrc_jax.data.schema import DataError, FieldError
from mrc_jax.data.sources.common import read_json, field, passage


def iter_advrace_records(path: str) -> Iterator[tuple[str, Any]]:
  document = read_json(path)
  if not isinstance(document, dict):
    raise DataError(path, None, "<file>", "expected one JSON object mapping ids to questions")
  for record_id, record in document.items():
    yield record_id, record


def advrace_converter(task: str, split: str, attack: str) -> Callable[[str, Any], dict]:
  def convert(record_id: str, record: Any) -> dict:
    options = field(record, "options", list)
    label = field(record, "label", int)
    if not 0 <= label < len(options):
      raise FieldError("label", f"{label} is out of range [0, {len(options)})")
    return {
      "id": record_id,
      "task": task,
      "lang": "en",
      "context": passage(record, "context"),
      "question": field(record, "question"),
      "options": options,
      "label": label,
      "meta": {"split": split, "attack": attack},
    }

  return convert


TRAIN_SEED = 2020
TRAIN_FRACTION = 0.25
TRAIN_MIN_SIZE = 50_000  # combine.py samples a set only when it has more questions
# (path under the data root combine.py reads, id suffix, attack name, sampled), in its order.
TRAIN_SETS = (
  ("AddSent/finalAddSent/train_dis.json", "_addsent", "addsent", True),
  ("charSwap/charSwap_train/train_dis.json", "_charswap", "charswap", True),
  ("final_distractor_datasets/extractive_old/train_dis.json", "_extract", "de", True),
  ("unilm/train_25_dis.json", "_unilm", "dg", False),
)


def iter_train_mix_sets(advrace_dir: str) -> Iterator[tuple[str, str, list[tuple[str, Any]]]]:
  """(path, attack, [(suffixed id, record)]) per train set, in combine.py's order and draw.

  The draw is over every id of a file, bad records included (combine.py draws before it
  looks at a record), so skipping bad records never shifts which ids are chosen."""
  rng = random.Random(TRAIN_SEED)
  for relative, suffix, attack, sampled in TRAIN_SETS:
    path = os.path.join(advrace_dir, relative)
    records = dict(iter_advrace_records(path))
    ids = list(records)
    if sampled:
      if len(ids) <= TRAIN_MIN_SIZE:
        raise DataError(
          path,
          None,
          "<file>",
          f"{len(ids)} questions; combine.py draws only from sets of more than "
          f"{TRAIN_MIN_SIZE} (a full AdvRACE train perturbation set)",
        )
      ids = rng.sample(ids, int(len(ids) * TRAIN_FRACTION))
    yield path, attack, [(record_id + suffix, records[record_id]) for record_id in ids]
