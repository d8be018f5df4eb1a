"""A linear multiple-choice probe on fixed option features: how much of the answer a frozen
encoder's pooled states hold (``benchmarks/linear_probe.py``)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax


def fit_probe(x, mask, labels, l2, steps, lr):
  """A linear scorer ``(w, mu, sd)`` on standardised option features ``x`` [N, C, H]."""
  real = x[mask > 0]
  mu, sd = real.mean(0), real.std(0) + 1e-6

  def loss(w):
    scores = jnp.where(mask > 0, ((x - mu) / sd) @ w, -1e9)  # [N, C]
    log_probs = jax.nn.log_softmax(scores)
    return -jnp.mean(log_probs[jnp.arange(len(labels)), labels]) + l2 * w @ w

  optimizer = optax.adam(lr)
  w = jnp.zeros(x.shape[-1])
  state = optimizer.init(w)

  @jax.jit
  def step(w, state):
    updates, state = optimizer.update(jax.grad(loss)(w), state)
    return optax.apply_updates(w, updates), state

  for _ in range(steps):
    w, state = step(w, state)
  return w, mu, sd


def correct(probe, x, mask, labels) -> np.ndarray:
  w, mu, sd = probe
  scores = np.where(mask > 0, ((x - mu) / sd) @ np.asarray(w), -np.inf)
  return (scores.argmax(-1) == labels).astype(np.float64)
