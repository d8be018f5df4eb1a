"""Greedy and beam-search decoding for `models/seq2seq.Seq2Seq`, jitted with a static cache.

`generate` returns what transformers' `generate(do_sample=False, ...)` returns for the same
model and arguments, its leading decoder start token included, at a fixed width of
`1 + max_new_tokens`: the positions transformers would crop hold its fill value (the pad
id after a finished greedy row; for beams its `pad_token_id or eos_token_id`, i.e. the
end-of-sequence id where the pad id is 0). Beam search follows transformers' vectorised
implementation step for step (top 2 x beams candidates, finished hypotheses scored by
sum log p / length ** length_penalty, its early-stop heuristic), so ties aside the same
hypotheses win. The logits processors are the ones a BART / T5 generation config sets:
minimum new tokens, forced first (`forced_bos_token_id`) and last (`forced_eos_token_id`)
tokens.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from mrc_jax.models.seq2seq import Seq2Seq

_UNSET = object()
_LARGE_NEGATIVE = -1.0e9  # transformers' score for beams that must not be chosen


@dataclasses.dataclass(frozen=True)
class DecodeOptions:
  """Everything besides the inputs that decides the output; hashable, so a jit static."""

  max_new_tokens: int
  min_new_tokens: int
  num_beams: int
  num_return_sequences: int
  length_penalty: float
  early_stopping: bool | str
  decoder_start_token_id: int
  eos_token_ids: tuple[int, ...]
  pad_token_id: int
  forced_bos_token_id: int | None
  forced_eos_token_id: int | None

  @property
  def max_length(self) -> int:
    return 1 + self.max_new_tokens


def generate(
  model: Seq2Seq,
  input_ids: jax.Array,
  attention_mask: jax.Array,
  *,
  max_new_tokens: int,
  min_new_tokens: int = 0,
  num_beams: int = 1,
  num_return_sequences: int = 1,
  length_penalty: float = 1.0,
  early_stopping: bool | str = False,
  decoder_start_token_id: int | None = None,
  eos_token_id: int | Sequence[int] | None = None,
  pad_token_id: int | None = None,
  forced_bos_token_id=_UNSET,
  forced_eos_token_id=_UNSET,
) -> jax.Array:
  """Decodes `[batch, source]` inputs into `[batch * num_return_sequences, 1 + max_new_tokens]`
  token ids (each input's best `num_return_sequences` beams, best first, as transformers).

  Token ids default to the model config's, forced tokens too (BART's configs force the
  last token to be end-of-sequence); pass None to switch a forced token off.
  """
  c = model.config
  if num_beams < 1 or max_new_tokens < 1:
    raise ValueError(
      f"num_beams and max_new_tokens must be >= 1, got {num_beams}, {max_new_tokens}"
    )
  if not 1 <= num_return_sequences <= num_beams:
    raise ValueError(
      f"num_return_sequences must be between 1 and num_beams ({num_beams}), "
      f"got {num_return_sequences}"
    )
  if early_stopping not in (True, False, "never"):
    raise ValueError(f"early_stopping must be True, False or 'never', got {early_stopping!r}")
  eos = c.eos_token_id if eos_token_id is None else eos_token_id
  options = DecodeOptions(
    max_new_tokens=int(max_new_tokens),
    min_new_tokens=int(min_new_tokens),
    num_beams=int(num_beams),
    num_return_sequences=int(num_return_sequences),
    length_penalty=float(length_penalty),
    early_stopping=early_stopping,
    decoder_start_token_id=int(
      c.decoder_start_token_id if decoder_start_token_id is None else decoder_start_token_id
    ),
    eos_token_ids=tuple(int(e) for e in ([eos] if isinstance(eos, int) else eos)),
    pad_token_id=int(c.pad_token_id if pad_token_id is None else pad_token_id),
    forced_bos_token_id=c.forced_bos_token_id
    if forced_bos_token_id is _UNSET
    else forced_bos_token_id,
    forced_eos_token_id=c.forced_eos_token_id
    if forced_eos_token_id is _UNSET
    else forced_eos_token_id,
  )
  graphdef, state = nnx.split(model)
  return _generate(graphdef, state, jnp.asarray(input_ids), jnp.asarray(attention_mask), options)


@functools.partial(jax.jit, static_argnums=(0, 4))
def _generate(graphdef, state, input_ids, attention_mask, options: DecodeOptions):
  model = nnx.merge(graphdef, state)
  encoded = model.encode(input_ids, attention_mask)
  if options.num_beams == 1:
    return _greedy(model, encoded, attention_mask, options)
  return _beam_search(model, encoded, attention_mask, options)


def _process(log_probs: jax.Array, cur_len, options: DecodeOptions) -> jax.Array:
  """transformers' logits processors, in its order, for the next token after `cur_len`
  tokens (decoder start included); `log_probs` is `[rows, vocab]`."""
  vocab = log_probs.shape[-1]
  ids = jnp.arange(vocab)
  eos = jnp.isin(ids, jnp.asarray(options.eos_token_ids))
  if options.min_new_tokens > 0:
    too_short = cur_len - 1 < options.min_new_tokens
    log_probs = jnp.where(too_short & eos, -jnp.inf, log_probs)

  def force(scores, token, when):
    forced = jnp.where(ids == token, 0.0, -jnp.inf)
    return jnp.where(when, forced, scores)

  if options.forced_bos_token_id is not None:
    log_probs = force(log_probs, options.forced_bos_token_id, cur_len == 1)
  if options.forced_eos_token_id is not None:
    log_probs = force(log_probs, options.forced_eos_token_id, cur_len == options.max_length - 1)
  return log_probs


def _is_eos(tokens, options: DecodeOptions):
  return jnp.isin(tokens, jnp.asarray(options.eos_token_ids))


def _greedy(model, encoded, attention_mask, options: DecodeOptions):
  batch = encoded.shape[0]
  width = options.max_length
  cache = model.init_cache(encoded, attention_mask, width)
  tokens = jnp.full((batch, width), options.pad_token_id, jnp.int32)
  tokens = tokens.at[:, 0].set(options.decoder_start_token_id)

  def cond(carry):
    step, _, done, _ = carry
    return (step < options.max_new_tokens) & ~jnp.all(done)

  def body(carry):
    step, tokens, done, cache = carry
    logits, cache = model.decode_step(tokens[:, step], step, cache)
    scores = _process(logits, step + 1, options)
    next_token = jnp.argmax(scores, axis=-1).astype(jnp.int32)
    next_token = jnp.where(done, options.pad_token_id, next_token)
    tokens = tokens.at[:, step + 1].set(next_token)
    return step + 1, tokens, done | _is_eos(next_token, options), cache

  init = (jnp.int32(0), tokens, jnp.zeros((batch,), bool), cache)
  return jax.lax.while_loop(cond, body, init)[1]


def _gather(x, index):
  """`x[b, index[b, k], ...]` for `[batch, beams, ...]` arrays."""
  return jax.vmap(lambda row, i: row[i])(x, index)


def _beam_search(model, encoded, attention_mask, o: DecodeOptions):
  batch = encoded.shape[0]
  beams = o.num_beams
  keep = max(2, 1 + len(o.eos_token_ids)) * beams
  width = o.max_length
  flat = batch * beams
  encoded = jnp.repeat(encoded, beams, axis=0)  # [batch * beams, source, d_model]
  cache = model.init_cache(encoded, jnp.repeat(attention_mask, beams, axis=0), width)
  fill = o.pad_token_id or o.eos_token_ids[0]  # transformers' fill value, see the docstring
  running = (
    jnp.full((batch, beams, width), fill, jnp.int32).at[:, :, 0].set(o.decoder_start_token_id)
  )
  running_scores = jnp.zeros((batch, beams), jnp.float32).at[:, 1:].set(_LARGE_NEGATIVE)
  top_beams = jnp.arange(keep) < beams  # [keep]
  state = dict(
    cur_len=jnp.int32(1),
    running=running,
    running_scores=running_scores,
    sequences=running,
    scores=jnp.full((batch, beams), _LARGE_NEGATIVE, jnp.float32),
    finished=jnp.zeros((batch, beams), bool),
    improvable=jnp.ones((batch, 1), bool),
    hits=jnp.zeros((batch, keep), bool),
    cache=cache,
  )

  def cond(s):
    # transformers' three conditions; `hits` covers the maximum length.
    improvement_possible = jnp.any(s["improvable"])
    open_beam = ~(jnp.all(s["finished"]) & (o.early_stopping is True))
    continuations = ~jnp.all(s["hits"])
    return improvement_possible & open_beam & continuations

  def body(s):
    cur_len = s["cur_len"]
    tokens = s["running"][:, :, cur_len - 1].reshape(flat)
    logits, cache = model.decode_step(tokens, cur_len - 1, s["cache"])
    log_probs = _process(jax.nn.log_softmax(logits, axis=-1), cur_len, o)
    vocab = log_probs.shape[-1]
    log_probs = log_probs.reshape(batch, beams, vocab) + s["running_scores"][:, :, None]
    top_scores, top_index = jax.lax.top_k(log_probs.reshape(batch, beams * vocab), keep)
    source_beam = top_index // vocab  # [batch, keep]
    top_tokens = (top_index % vocab).astype(jnp.int32)
    candidates = _gather(s["running"], source_beam).at[:, :, cur_len].set(top_tokens)
    hits = _is_eos(top_tokens, o) | (cur_len + 1 >= width)  # [batch, keep]

    # Running beams for the next step: the best candidates that did not stop.
    open_scores = top_scores + hits.astype(jnp.float32) * _LARGE_NEGATIVE
    next_index = jax.lax.top_k(open_scores, beams)[1]
    running = _gather(candidates, next_index)
    running_scores = _gather(open_scores, next_index)
    reorder = (_gather(source_beam, next_index) + jnp.arange(batch)[:, None] * beams).reshape(flat)
    cache = cache._replace(self_kv=jnp.take(cache.self_kv, reorder, axis=2))

    # Finished hypotheses: merge the candidates that stopped among the top `beams`.
    just_finished = hits & top_beams[None, :]
    final = top_scores / ((cur_len + 1 - 1).astype(jnp.float32) ** o.length_penalty)
    full = jnp.all(s["finished"], axis=-1, keepdims=True) & (o.early_stopping is True)
    final = final + full.astype(jnp.float32) * _LARGE_NEGATIVE
    final = final + (~s["improvable"]).astype(jnp.float32) * _LARGE_NEGATIVE
    final = final + (~just_finished).astype(jnp.float32) * _LARGE_NEGATIVE
    merged_scores = jnp.concatenate([s["scores"], final], axis=1)
    best = jax.lax.top_k(merged_scores, beams)[1]
    sequences = _gather(jnp.concatenate([s["sequences"], candidates], axis=1), best)
    scores = _gather(merged_scores, best)
    finished = _gather(jnp.concatenate([s["finished"], just_finished], axis=1), best)

    cur_len = cur_len + 1
    if o.early_stopping == "never" and o.length_penalty > 0.0:
      best_length = jnp.float32(width - 1)
    else:
      best_length = (cur_len - 1).astype(jnp.float32)
    best_running = running_scores[:, :1] / best_length**o.length_penalty
    worst_finished = jnp.where(finished, jnp.min(scores, axis=1, keepdims=True), _LARGE_NEGATIVE)
    improvable = s["improvable"] & jnp.any(best_running > worst_finished, axis=-1, keepdims=True)
    return dict(
      cur_len=cur_len,
      running=running,
      running_scores=running_scores,
      sequences=sequences,
      scores=scores,
      finished=finished,
      improvable=improvable,
      hits=hits,
      cache=cache,
    )

  sequences = jax.lax.while_loop(cond, body, state)["sequences"]  # [batch, beams, width]
  return sequences[:, : o.num_return_sequences].reshape(-1, width)
