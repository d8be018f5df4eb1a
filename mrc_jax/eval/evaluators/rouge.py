"""``type="rouge"``: ROUGE of an encoder-decoder's generated text against each example's
target, per generation task (``metrics.rouge``: rouge-score, in percent).

    config.evals.summaries = dict(type="rouge", tasks=("muppet.xsum",), split="validation",
                                  num_examples=500, max_new_tokens=62, num_beams=6)

reports ``eval/NAME/TASK/{rouge1,rouge2,rougeL,rougeLsum}``; in training only when the entry
sets ``every_steps`` (decoding is slow). Sources are laid out as the training batches lay
out generation examples (``data.features``), ``batch_size`` rows per call of
``models.generation.generate`` (greedy with ``num_beams=1``); a prediction is the text of
the generated tokens up to the first end-of-sequence token, special tokens left out.
"""

from __future__ import annotations

import numpy as np

from mrc_jax.data import features, tasks, vocab
from mrc_jax.data.schema import example_kind
from mrc_jax.eval import metrics
from mrc_jax.eval.evaluators import registry
from mrc_jax.models import families, generation
from mrc_jax.train import input_pipeline


@registry.register(
  "rouge",
  required=("tasks",),
  optional=(
    "split",
    "num_examples",
    "max_new_tokens",
    "min_new_tokens",
    "num_beams",
    "length_penalty",
    "batch_size",
  ),
  periodic=False,
  description="ROUGE of generated text per generation task (encoder-decoders)",
)
class RougeEvaluator:
  def __init__(self, name: str, entry, context: registry.EvalContext):
    spec = context.spec
    if not families.is_seq2seq(spec.encoder):
      raise ValueError(
        f"config.evals.{name} (rouge): the model is an encoder ({spec.encoder.model_type}); "
        "ROUGE scores generated text, which needs an encoder-decoder"
      )
    self.name, self.context = name, context
    self.tasks = tuple(entry.tasks)
    self.split = entry.get("split", "validation")
    self.limit = int(entry.get("num_examples", 0))
    self.batch_size = int(entry.get("batch_size", 8))
    self.decode_args = dict(
      max_new_tokens=int(entry.get("max_new_tokens", 64)),
      min_new_tokens=int(entry.get("min_new_tokens", 0)),
      num_beams=int(entry.get("num_beams", 1)),
      length_penalty=float(entry.get("length_penalty", 1.0)),
    )
    self.max_length = int(context.config.data.max_length)
    self.tokenizer = vocab.load_tokenizer(spec.tokenizer_dir)
    self.layout = input_pipeline.decoder_layout(spec.encoder)
    self.eos_id = spec.encoder.eos_token_id
    # Left out of predictions whether or not the tokenizer file marks them special.
    tok = self.tokenizer
    self.specials = {tok.cls_id, tok.sep_id, tok.pad_id, spec.encoder.pad_token_id} - {None}
    self._examples = {task: self._read(task) for task in self.tasks}

  def _read(self, task: str) -> list[dict]:
    source = input_pipeline.ExampleSource(
      task, self.split, int(self.context.config.get("seed", 0)), self.context.data_dir, ordered=True
    )
    total = min(self.limit, source.num_examples) if self.limit else source.num_examples
    examples = [source[i] for i in range(total)]
    kinds = {example_kind(e) for e in examples}
    if kinds != {"generation"}:
      raise ValueError(
        f"config.evals.{self.name} (rouge): task {task!r} ({self.split}) has {sorted(kinds)} "
        "examples; ROUGE needs generation examples (a target_text)"
      )
    return examples

  def _text(self, tokens: np.ndarray) -> str:
    """The text of generated ``[1 + new]`` tokens (start token first) before the first
    end-of-sequence token."""
    new = list(tokens[1:])
    if self.eos_id in new:
      new = new[: new.index(self.eos_id)]
    return self.tokenizer.decode([t for t in new if t not in self.specials])

  def predictions(self, model, task: str) -> tuple[list[str], list[str]]:
    """(targets, predictions) of a task's examples, in file order."""
    batches = features.make_batches(
      self._examples[task],
      self.tokenizer,
      task_index={task: 0},
      head_index={task: 0},
      examples_per_batch=self.batch_size,
      rows_per_batch=self.batch_size,
      lengths=(self.max_length,),
      max_choices=1,
      pack=False,
      decoder=self.layout,
    )
    targets, predictions = [], []
    for batch, meta in batches:
      # Every row, padding ones too: one compiled shape for every batch.
      out = generation.generate(
        model.seq2seq,
        batch["input_ids"],
        (batch["segment_ids"] > 0).astype(np.int32),
        **self.decode_args,
      )  # [rows, 1 + max_new_tokens]
      out = np.asarray(out)
      rows = batch["pool_row"][: len(meta), 0]
      predictions += [self._text(out[row]) for row in rows]
      targets += [m["target_text"] for m in meta]
    return targets, predictions

  def __call__(self, params) -> dict[str, float]:
    model = self.context.model_of(params)
    scalars = {}
    for task in self.tasks:
      targets, predictions = self.predictions(model, task)
      for metric, value in metrics.rouge(targets, predictions, tasks.info(task).lang).items():
        scalars[f"eval/{self.name}/{task}/{metric}"] = value
    return scalars
