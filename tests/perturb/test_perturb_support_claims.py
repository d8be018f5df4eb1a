"""Every cell of the support table against the attack's behaviour on text in that language:
a `full` cell changes the language's fixture example with nothing degraded, an
`unsupported` one leaves it unchanged, and every cell runs with the invariants checked."""

import copy

import pytest

from mrc_jax import perturb
from mrc_jax.perturb import text
from mrc_jax.perturb.languages import TABLE_LANGUAGES


def _by_language(script_examples):
  return {e["lang"]: e for e in script_examples if e["id"] == f"{e['lang']}-1"}


def _choice_version(example: dict) -> dict:
  """The extractive example as multiple choice: the answer and three other passage words."""
  if "options" in example:
    return example
  context, answer = example["context"], example["answers"][0]["text"]
  words = [context[a:b] for a, b in text.word_spans(context, example["lang"])]
  others = [w for w in dict.fromkeys(words) if text.is_letter_word(w) and w not in answer]
  options = [answer, *sorted(others, key=len, reverse=True)[:3]]
  choice = {k: v for k, v in example.items() if k != "answers"}
  return {**copy.deepcopy(choice), "id": example["id"] + "-mc", "options": options, "label": 0}


def _pool_partner(example: dict) -> dict:
  """A second passage of the language without the answer: one of the example's sentences."""
  context = example["context"]
  if "options" in example:
    answer = example["options"][example["label"]]
  else:
    answer = example["answers"][0]["text"]
  sentences = [context[a:b].strip() for a, b in text.sentence_spans(context, example["lang"])]
  other = next((s for s in sentences if answer not in s), example["question"])
  partner = {**copy.deepcopy(example), "id": example["id"] + "-2", "context": other}
  if "answers" in partner:
    partner["answers"] = []
  return partner


def _run(name: str, example: dict, lang: str) -> dict:
  attack = perturb.get(name)
  if attack.needs_pool:
    first = perturb.perturb_examples([example, _pool_partner(example)], name, lang, 0)
    return next(iter(first))
  return perturb.perturb(example, name, lang, 0)


@pytest.mark.parametrize("lang", TABLE_LANGUAGES)
def test_every_cell_holds_on_text_in_its_language(lang, script_examples):
  examples = _by_language(script_examples)
  if lang not in examples:
    pytest.fail(f"tests/perturb/fixtures/scripts.jsonl has no {lang}-1 example")
  example = examples[lang]
  wrong = []
  for name, support in perturb.support_table([lang])[lang].items():
    attack = perturb.get(name)
    if perturb.missing(name):  # needs a checkpoint or a file: never full without it
      if support.status == "full":
        wrong.append(f"{name}: full, but lacks {perturb.missing(name)}")
      continue
    subject = example if "span" in attack.kinds else _choice_version(example)
    record = _run(name, subject, lang)["meta"]["perturbation"][-1]
    if support.status == "full" and not (record["changed"] and not record["degraded"]):
      wrong.append(
        f"{name}: full, but changed={record['changed']} {record['degraded']} {record['notes']}"
      )
    if support.status == "unsupported" and record["changed"]:
      wrong.append(f"{name}: unsupported ({support.how}), but changed {record['edits']}")
  assert not wrong, "\n".join(wrong)
