"""Generates docs/ATTACKS.md from the registry and the real data files.

python launch/perturb.py --docs=docs/ATTACKS.md --data_dir=$MRC_JAX_DATA_DIR
"""

from __future__ import annotations

import itertools

from mrc_jax.data.languages import BELEBELE
from mrc_jax.perturb import registry, validity_report
from mrc_jax.perturb.core import perturb
from mrc_jax.perturb.support import support_markdown

# One task per script of the shared data; multiple-choice attacks use the MC tasks.
SCRIPT_TASKS = {
  "Latin": "xquad.de",
  "Cyrillic": "xquad.ru",
  "Arabic": "xquad.ar",
  "Han": "xquad.zh",
}
CHOICE_TASKS = {"Latin": "xcopa.it", "Cyrillic": "exams.bg", "Han": "xcopa.zh"}

INTRO = """# Attacks

Every attack is a pure, seeded function on a unified example:
`mrc_jax.perturb.perturb(example, attack, lang, seed, **params)` returns a new example and
appends `{attack, seed, lang, params, changed, edits, degraded, notes}` to
`meta["perturbation"]`; `"charswap|addsent"` chains attacks; `perturb_examples(...)` works on a
whole dataset (needed by `distractor_passage`). Task names `DATASET.LANG.ATTACK` (e.g.
`xquad.zh.charswap`) load perturbed sets through `mrc_jax.data.load_examples`.

Invariants, checked in code after every attack (a violation raises `PerturbationError`
naming the example and field): the gold answer is preserved (span text, or the text of the
correct option); `context[start:start+len(text)] == text` for every answer; every text field
is NFC; edits move whole grapheme clusters (`\\X`), re-segmented to prove none is split.

Words come from ICU word break (dictionary segmentation for zh, ja, th, lo, km, my);
sentences from ICU sentence break; stopwords from `stopwordsiso`; lemmas from `simplemma`;
homoglyphs from the Unicode confusables (`confusable_homoglyphs`). A missing resource
degrades as the support table says, and the degradation is logged and written into
`meta["perturbation"][i]["degraded"]`.

Language codes (`de`, `zh-Hant`, Belebele's `arb_Arab`) are resolved with `langcodes`:
macrolanguages normalised (`arb`->`ar`, `swh`->`sw`, `pes`->`fa`, `npi`->`ne`, `zsm`->`ms`,
`khk`->`mn`), the script kept or else the language's likely one. A resource keyed by a code
serves a language when both have the same script and CLDR's language distance between them
is below 10: `hin_Latn` (romanised Hindi) gets none of the Devanagari `hi` lists, `zho_Hant`
none of the Simplified `zh` ones, and Arabic dialects (`arz`, `ary`, ...) none of the Modern
Standard Arabic ones. A cell is `full` only where every resource the attack uses serves the
language. `addsent` removes a negation only where it is one: two-part negations as a unit
(French `ne`/`n'` ... `pas`/`plus`/`jamais`/`rien`/...; `ne` without a closer is kept), never
a word as often something else (Arabic `ما` "what", Italian `mai` "ever"), nor "... or not?"
and question particles (Vietnamese `... không?`). Where the language asks content
questions in situ (`zh`, `zh-Hant`, `ja`, `ko`, `hi`, `tr`, `th`, `vi`), `addsent` puts the
wrong answer in the wh-phrase's place and drops the question particle or ending
(in `黑豹队的防守丢了多少分` a wrong number of the passage takes `多少`'s place); elsewhere it keeps AdvRACE's form,
question + answer. It swaps a month for another (ICU's names), an option the question names
for another, and one entity: a capitalised word in cased scripts, in caseless ones the
longest chunk the question shares with the passage, for a passage chunk of as many words
that stands next to a word the old one stands by (none such, no swap; ranked by
`span_model=WORKDIR` when given). The support table says which parts apply.

`registry.missing(name, **params)` says what an attack lacks to run with its parameters
(`codeswitch` without `lexicon=`, `dg` and `paraphrase` without `checkpoint=`);
eval configs refuse such attacks when they are built (`require_runnable`).

`dg` and `paraphrase` take `checkpoint=DIR`, a BART / mBART / T5 / mT5 directory with its
`tokenizer.json` (`mrc_jax.models.hf.load_hf_seq2seq`), and decode with beam search
(`mrc_jax.models.generation`, the outputs of transformers' `generate`), `batch_size`
examples at a time. Their inputs are `attacks/seq2seq.py`'s `dg_source(answer, question,
context)` (target: one wrong option) and `paraphrase_source(question)` (target: the
question reworded). For the study's languages start from `google/mt5-base` (101
languages; its release has only `spiece.model`: `AutoTokenizer.from_pretrained(DIR)
.save_pretrained(DIR)` writes `tokenizer.json`) or `facebook/mbart-large-50` (50
languages; its `forced_bos_token_id` fixes the output language, so one directory per
language); neither writes distractors or paraphrases before fine-tuning on those formats.
AdvRACE's DG used 50 beams and 20 new tokens (`num_beams=50, num_return_sequences=50`);
the defaults here are 10 beams.

Parameters are passed by name (`perturb(ex, "charswap", "de", 0, scope="passage_keywords")`);
in a chain each attack takes the ones it declares. Word-level attacks share `scope`
(`question` or `passage_keywords`), `rate` (share of eligible words edited, at least one;
AdvRACE edits all) and `min_clusters`. Examples whose question is a fixed prompt (XCOPA's
"What was the cause?", or `meta["question_template"]`) have their premise edited instead,
and `addsent` uses the wrong option alone. `distractor_extraction(scorer=...)` takes a
registered scorer name (`register_span_scorer(name, fn)`) or a callable
`fn(example, spans, lang) -> scores` over `(start, end)` passage spans: the hook for a span
model. Examples without a gold label (`label == -1`) are left unchanged, with a note, by the
attacks that need to know the answer.

Change rates per language and throughput are in `BENCHMARKS.md` ("Perturbation").
This file is generated by `python launch/perturb.py --docs=docs/ATTACKS.md --data_dir=D`.
"""


def _summary(before: dict, after: dict) -> str:
  record = after["meta"]["perturbation"][-1]
  if not record["changed"]:
    return "(unchanged: " + "; ".join(record["notes"] or ["no eligible word"]) + ")"
  fields = {e["field"] for e in record["edits"]}
  lines = []
  if "question" in fields:
    lines.append(f"question: `{before['question']}` -> `{after['question']}`")
  inserted = [e for e in record["edits"] if e["field"] == "context" and not e["old"]]
  for edit in inserted[:2]:
    snippet = edit["new"] if len(edit["new"]) < 160 else edit["new"][:160] + "..."
    lines.append(f"context += `{snippet}` ({edit['op']})")
  swapped = [e for e in record["edits"] if e["field"] == "context" and e["old"]]
  if swapped:
    lines.append("context: " + ", ".join(f"`{e['old']}`->`{e['new']}`" for e in swapped[:4]))
  if any(f.startswith("options") for f in fields):
    lines.append(
      f"options: `{before['options']}` -> `{after['options']}` "
      f"(label {before['label']} -> {after['label']})"
    )
  return "<br>".join(lines)


def _example(load, task: str, attack: str, params: dict) -> str:
  examples = list(itertools.islice(load(task), 200))
  lang = examples[0]["lang"]
  pool = [e["context"] for e in examples]
  for example in examples[::7]:
    after = perturb(example, attack, lang, 0, pool=pool, **params)
    if after["meta"]["perturbation"][-1]["changed"]:
      return _summary(example, after)
  return _summary(examples[0], perturb(examples[0], attack, lang, 0, pool=pool, **params))


# Examples per (attack, task) cell of the validity table, and of them those the encoder
# reads: on a 2-core CPU the encoder costs far more than every other measure.
VALIDITY_EXAMPLES = 100
VALIDITY_COS_EXAMPLES = 30

VALIDITY_INTRO = """## Validity

Whether an attacked example still means the same (character attacks) and still has the same
answer (insertion and option attacks), measured on {count} examples per cell, spread evenly
over the split (XQuAD test; XCOPA and EXAMS validation), seed 0, default parameters; cosines
on the first {cos_count} of them. `python launch/perturb.py --validity --out=validity.md
--data_dir=D` measures any tasks, attacks, seed and size (`mrc_jax.perturb.validity`).

- changed: share of examples with any edit.
- chars, words: Levenshtein distance between the clean and the attacked text over the clean
  text's length, in code points and in ICU words; each cell reads
  *mean over changed examples / mean over all*.
- cos: cosine of the clean and the attacked text's multilingual-e5-small sentence vectors
  (mean-pooled, `query: ` prefix, up to 512 tokens so that a whole attacked passage counts);
  an unchanged text counts 1.
- answer in insertions: examples whose inserted text (an edit with an empty `old`) contains
  a gold answer / examples with an insertion. Must be 0. Casefolded, and as whole words
  where the script separates words ('War' is not in 'Khwarezmids'), anywhere in zh.
- answer in new options: new options equal to or containing the correct option's text in
  the same way / new options. Must be 0.
"""


def validity_section(load, data_dir: str) -> str:
  """The validity table of every shared span and multiple-choice task."""
  count, cos_count = VALIDITY_EXAMPLES, VALIDITY_COS_EXAMPLES
  plan = validity_report.default_plan(data_dir)
  cells = validity_report.build_cells(plan, load, data_dir, max_examples=count, seed=0)
  _, markdown = validity_report.report(cells, cos_examples=cos_count)
  return VALIDITY_INTRO.format(count=count, cos_count=cos_count) + "\n" + markdown


def attacks_markdown(load, data_dir: str | None = None) -> str:
  """The whole ATTACKS.md; `load(task, split=None)` yields the unified examples of a clean
  task; with `data_dir`, the validity table of the tasks under it is included."""
  parts = [INTRO, "## The attacks\n"]
  for name in registry.list_attacks():
    spec = registry.get(name)
    parts.append(f"### `{name}`\n")
    parts.append(f"{spec.description}.\n")
    parts.append(f"- AdvRACE counterpart: {spec.advrace}")
    parts.append(
      f"- applies to: {', '.join(spec.kinds)} examples"
      + (" (draws passages from the dataset)" if spec.needs_pool else "")
    )
    parts.append(
      "- parameters: "
      + (", ".join(f"`{k}={v!r}`" for k, v in spec.params.items()) or "none")
      + "\n"
    )
    lacking = registry.missing(name)
    if lacking:
      parts.append("No real example: needs " + "; and ".join(lacking) + ".\n")
      continue
    tasks = CHOICE_TASKS if spec.kinds == ("choice",) else SCRIPT_TASKS
    parts.append("| script | task | before -> after (seed 0) |\n|---|---|---|")
    for script, task in tasks.items():
      parts.append(f"| {script} | `{task}` | {_example(load, task, name, {})} |")
    parts.append("")
  if data_dir:
    parts.append(validity_section(load, data_dir))
  parts.append("## Support by language\n")
  parts.append(
    "Generated from each attack's `support(lang)` in the registry; "
    "`python launch/perturb.py --list` prints the same table.\n"
  )
  parts.append(support_markdown())
  parts.append("\n## Support on Belebele's languages\n")
  parts.append(
    "The same table for the 122 FLORES codes of Belebele (`mrc_jax.data.languages.BELEBELE`).\n"
  )
  parts.append(support_markdown(BELEBELE))
  return "\n".join(parts) + "\n"
