"""The multilingual perturbation suite: AdvRACE's attacks, and more, for any language and script.

perturb(example, "charswap|addsent", "de", seed=0)      # one example, a chain of attacks
perturb_examples(examples, "distractor_passage", "de", 0)  # a dataset
list_attacks(), support_table(), require_runnable("codeswitch", lexicon="de-en.txt")
"""

from mrc_jax.perturb import attacks as _attacks  # noqa: F401  (registers every attack)
from mrc_jax.perturb.attacks.options import lexical_overlap_scorer, register_span_scorer
from mrc_jax.perturb.attacks.seq2seq import Seq2SeqCheckpointRequired
from mrc_jax.perturb.core import check_invariants, parse_chain, perturb, perturb_examples
from mrc_jax.perturb.registry import (
  PerturbationError,
  Support,
  get,
  list_attacks,
  missing,
  require_runnable,
)
from mrc_jax.perturb.support import support_markdown, support_table

__all__ = [
  "perturb",
  "perturb_examples",
  "list_attacks",
  "get",
  "support_table",
  "support_markdown",
  "register_span_scorer",
  "lexical_overlap_scorer",
  "check_invariants",
  "parse_chain",
  "PerturbationError",
  "missing",
  "require_runnable",
  "Seq2SeqCheckpointRequired",
  "Support",
]
