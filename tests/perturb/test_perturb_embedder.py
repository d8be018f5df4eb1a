"""The attacks' text embedder against transformers' BertModel on the same real checkpoint:
token states of a chosen layer, their character offsets, and E5's mean pooling."""

import numpy as np
import pytest
import torch
import transformers

from mrc_jax.perturb import embedder as embedder_lib

TEXTS = [
  "Wer war der Kapitän der Mannschaft im Jahr 1998?",
  "黑豹队的防守丢了多少分？",
  "كم نقطة تخلى عنها دفاع البانثرز؟",
  "Сколько очков уступила защита?",
  "A",
]


@pytest.fixture(scope="module")
def reference(me5_dir):
  model = transformers.BertModel.from_pretrained(me5_dir, add_pooling_layer=False).eval()
  tokenizer = transformers.AutoTokenizer.from_pretrained(me5_dir)

  def run(texts):
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
      out = model(**batch, output_hidden_states=True)
    return batch, out.hidden_states

  return run


@pytest.mark.parametrize("layer", [8, None])
def test_token_states_equal_the_layers_hidden_states(me5_dir, reference, layer):
  embedder = embedder_lib.TextEmbedder(me5_dir, layer=layer, batch_size=2)
  batch, hidden = reference(TEXTS)
  expected = hidden[layer if layer else -1].numpy()  # [texts, length, hidden]
  for i, (states, offsets) in enumerate(embedder.token_states(TEXTS)):
    count = int(batch["attention_mask"][i].sum()) - 2
    assert states.shape == (count, expected.shape[-1])
    np.testing.assert_allclose(states, expected[i, 1 : 1 + count], atol=1e-4, rtol=1e-4)
    assert len(offsets) == count and all(0 <= a <= b <= len(TEXTS[i]) for a, b in offsets)
  assert embedder.layer == (layer or 12)


def test_sentence_vectors_are_e5_mean_pooling(me5_dir, reference):
  vectors = embedder_lib.TextEmbedder(me5_dir).sentence_vectors(TEXTS[:3])
  batch, hidden = reference(["query: " + t for t in TEXTS[:3]])
  mask = batch["attention_mask"].numpy()[..., None]
  mean = (hidden[-1].numpy() * mask).sum(1) / mask.sum(1)
  expected = mean / np.linalg.norm(mean, axis=-1, keepdims=True)
  np.testing.assert_allclose(vectors, expected, atol=1e-5)
  assert vectors[0] @ vectors[1] < 0.99  # different questions differ


def test_a_missing_checkpoint_is_a_requirement(me5_dir, tmp_path, monkeypatch):
  monkeypatch.setenv(embedder_lib.CKPT_DIR_ENV, str(tmp_path))
  (lacking,) = embedder_lib.checkpoint_missing(None)
  assert "multilingual-e5-small" in lacking and str(tmp_path) in lacking
  with pytest.raises(FileNotFoundError, match="config.json"):
    embedder_lib.TextEmbedder()
  with pytest.raises(ValueError, match="layer"):
    embedder_lib.TextEmbedder(me5_dir, layer=0)
