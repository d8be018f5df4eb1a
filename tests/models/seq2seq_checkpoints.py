"""Tiny random BART / mBART / T5 / mT5 directories written by transformers' save_pretrained,
each with a word-level `tokenizer.json` carrying the model's special-token template."""

import json
import os

import numpy as np

MODEL_TYPES = ("bart", "mbart", "t5", "mt5")
_CLASSES = {
  "bart": ("BartConfig", "BartForConditionalGeneration"),
  "mbart": ("MBartConfig", "MBartForConditionalGeneration"),
  "t5": ("T5Config", "T5ForConditionalGeneration"),
  "mt5": ("MT5Config", "MT5ForConditionalGeneration"),
}
SPECIALS = {"bart": ["<s>", "<pad>", "</s>", "<unk>"], "t5": ["<pad>", "</s>", "<unk>"]}
WORDS = (
  "the a of to in and is was he she it they his her their school teacher student students "
  "book books city river mountain day days week year years old new big small happy sad "
  "because so but then first last good bad more less many few red blue green water food "
  "went came saw made took gave found lost told asked said read wrote play played help "
  "helped home family friend friends mother father morning evening night time money park "
  "train bus car"
).split()
VOCAB_SIZE = 96


def family(model_type: str) -> str:
  return "t5" if model_type in ("t5", "mt5") else "bart"


def vocabulary(model_type: str) -> list[str]:
  tokens = SPECIALS[family(model_type)] + WORDS
  return tokens[:VOCAB_SIZE] + [f"w{i}" for i in range(VOCAB_SIZE - len(tokens))]


def write_tokenizer(model_type: str, path: str) -> None:
  from tokenizers import Tokenizer, models, pre_tokenizers, processors

  vocab = {token: i for i, token in enumerate(vocabulary(model_type))}
  tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
  tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
  if family(model_type) == "bart":
    template = processors.TemplateProcessing(
      single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
  else:
    template = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
  tokenizer.post_processor = template
  tokenizer.add_special_tokens(SPECIALS[family(model_type)])
  tokenizer.save(os.path.join(path, "tokenizer.json"))


def write(model_type: str, path: str, *, seed: int = 0, eos_boost: float = 0.0) -> str:
  """A random model with non-trivial norms and biases; `eos_boost` raises the
  end-of-sequence logit so that beams finish at different lengths."""
  import safetensors.torch
  import torch
  import transformers

  torch.manual_seed(seed)
  config_class, model_class = (getattr(transformers, n) for n in _CLASSES[model_type])
  if family(model_type) == "bart":
    config = config_class(
      vocab_size=VOCAB_SIZE,
      d_model=32,
      encoder_layers=2,
      decoder_layers=2,
      encoder_attention_heads=4,
      decoder_attention_heads=4,
      encoder_ffn_dim=48,
      decoder_ffn_dim=48,
      max_position_embeddings=64,
      scale_embedding=model_type == "mbart",
    )
  else:
    config = config_class(
      vocab_size=VOCAB_SIZE,
      d_model=32,
      d_kv=8,
      d_ff=48,
      num_layers=2,
      num_heads=4,
      decoder_start_token_id=0,
      relative_attention_num_buckets=8,
      relative_attention_max_distance=20,
    )
  model = model_class(config).eval()
  eos = config.eos_token_id
  with torch.no_grad():
    for name, p in model.named_parameters():
      if "norm" in name:
        p.normal_(1.0, 0.2) if name.endswith("weight") else p.normal_(0.0, 0.2)
      elif name.endswith("bias"):
        p.normal_(0.0, 0.2)
    if family(model_type) == "bart":
      model.final_logits_bias.normal_(0.0, 0.5)
      model.final_logits_bias[0, eos] += eos_boost
  model.save_pretrained(path)
  if model_type == "mt5":
    # mT5's released checkpoints keep a separate LM head; transformers unties on load when
    # the file's lm_head differs from the embeddings.
    file = os.path.join(path, "model.safetensors")
    tensors = safetensors.torch.load_file(file)
    generator = torch.Generator().manual_seed(seed + 1)
    head = torch.randn(tensors["shared.weight"].shape, generator=generator) * 0.3
    head[eos] *= 1.0 + eos_boost
    tensors["lm_head.weight"] = head
    safetensors.torch.save_file(tensors, file, metadata={"format": "pt"})
    config_path = os.path.join(path, "config.json")
    with open(config_path) as f:
      fields = json.load(f)
    fields["tie_word_embeddings"] = False
    with open(config_path, "w") as f:
      json.dump(fields, f, indent=2)
  write_tokenizer(model_type, path)
  return path


def ragged_batch(pad_id: int, seed: int = 0):
  """(ids, mask) `[4, 11]` with rows of 11, 7, 4 and 9 real tokens."""
  rng = np.random.default_rng(seed)
  ids = rng.integers(4, VOCAB_SIZE, (4, 11))
  mask = np.zeros_like(ids)
  for row, length in enumerate((11, 7, 4, 9)):
    mask[row, :length] = 1
  ids[mask == 0] = pad_id
  return ids.astype(np.int32), mask.astype(np.int32)
