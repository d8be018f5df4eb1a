"""Data layer: source readers, unified examples, seqio tasks, feature converters."""

from mrc_jax.data.load import load_examples
from mrc_jax.data.schema import DataError, SkipReport

__all__ = ["load_examples", "DataError", "SkipReport"]
