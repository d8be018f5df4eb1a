"""Tiny random Hugging Face checkpoints (written with save_pretrained) and input batches;
the real multilingual-e5-small directory when it is there."""

import os

import numpy as np
import pytest

from configs import common

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

CONFIG_CLASSES = {
  "bert": "BertConfig",
  "roberta": "RobertaConfig",
  "xlm-roberta": "XLMRobertaConfig",
}
CLASS_PREFIX = {"bert": "Bert", "roberta": "Roberta", "xlm-roberta": "XLMRoberta"}
TINY = dict(
  vocab_size=101,
  hidden_size=32,
  num_hidden_layers=2,
  num_attention_heads=4,
  intermediate_size=37,
  max_position_embeddings=40,
  type_vocab_size=2,
)


def tiny_hf_config(model_type, **overrides):
  fields = dict(TINY)
  if model_type != "bert":
    fields.update(pad_token_id=1, bos_token_id=0, eos_token_id=2)
  fields.update(overrides)
  return getattr(transformers, CONFIG_CLASSES[model_type])(**fields)


@pytest.fixture(scope="session")
def me5_dir():
  """multilingual-e5-small's directory (the me5-small preset under $MRC_JAX_CKPT_DIR)."""
  path = common.checkpoint_dir("me5-small")
  if not os.path.isfile(os.path.join(path, "model.safetensors")):
    pytest.skip(f"{path} is absent; build it with make_multilingual_e5_small.py")
  return path


@pytest.fixture
def make_hf_checkpoint(tmp_path):
  """Writes a random `<Prefix><suffix>` model to a fresh directory: (path, torch model)."""
  counter = iter(range(1000))

  def make(model_type, suffix="Model", **overrides):
    torch.manual_seed(0)
    config = tiny_hf_config(model_type, **overrides)
    model = getattr(transformers, CLASS_PREFIX[model_type] + suffix)(config).eval()
    # Random layer-norm and bias values so that a transposed or swapped weight shows.
    with torch.no_grad():
      for name, p in model.named_parameters():
        if name.endswith("bias") or "LayerNorm" in name:
          p.add_(0.1 * torch.randn_like(p))
    path = tmp_path / f"{model_type}-{suffix}-{next(counter)}"
    model.save_pretrained(path)
    return str(path), model

  return make


def ragged_batch(
  model_type, batch=3, length=12, vocab=TINY["vocab_size"], seed=0, lengths=(12, 7, 3)
):
  """Token ids with padding, a ragged attention mask and (BERT) two token types."""
  rng = np.random.default_rng(seed)
  pad = 0 if model_type == "bert" else 1
  ids = rng.integers(5, vocab, size=(batch, length)).astype(np.int32)
  mask = (np.arange(length)[None, :] < np.asarray(lengths)[:, None]).astype(np.int32)
  ids = np.where(mask == 1, ids, pad).astype(np.int32)
  types = None
  if model_type == "bert":
    types = ((np.arange(length)[None, :] >= np.asarray(lengths)[:, None] // 2) * mask).astype(
      np.int32
    )
  return ids, mask, types


def torch_forward(model, ids, mask, types=None, **kwargs):
  with torch.no_grad():
    return model(
      input_ids=torch.as_tensor(ids, dtype=torch.long),
      attention_mask=torch.as_tensor(mask, dtype=torch.long),
      token_type_ids=None if types is None else torch.as_tensor(types, dtype=torch.long),
      **kwargs,
    )


@pytest.fixture(name="ragged_batch")
def ragged_batch_fixture():
  return ragged_batch


@pytest.fixture(name="torch_forward")
def torch_forward_fixture():
  return torch_forward


@pytest.fixture(scope="session")
def seq2seq_dir(tmp_path_factory):
  """`seq2seq_dir(model_type, eos_boost=0.0)`: a tiny random directory, written once."""
  from tests.models import seq2seq_checkpoints

  made = {}

  def make(model_type, eos_boost=0.0):
    key = (model_type, eos_boost)
    if key not in made:
      path = tmp_path_factory.mktemp(f"{model_type}_{eos_boost}")
      made[key] = seq2seq_checkpoints.write(model_type, str(path), eos_boost=eos_boost)
    return made[key]

  return make
