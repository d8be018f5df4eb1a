"""Importing this package registers every attack."""

from mrc_jax.perturb.attacks import addsent, characters, codeswitch  # noqa: F401
from mrc_jax.perturb.attacks import options, passage, seq2seq  # noqa: F401
