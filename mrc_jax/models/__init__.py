"""Encoders (BERT / RoBERTa / XLM-R), task heads and checkpoint conversion."""

from mrc_jax.models.encoder import Encoder, EncoderConfig
from mrc_jax.models.heads import (
  MultipleChoiceHead,
  RegressionHead,
  SequenceClassificationHead,
  SpanHead,
)
