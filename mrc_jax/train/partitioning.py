"""Device mesh, logical-axis rules and the NamedShardings they give.

Parameters carry logical axis names (``'vocab'``, ``'embed'``, ``'mlp'``, ``'heads'``,
``'kv'``, ``'layers'``); a rules table in the config maps each name to mesh axes, as in
T5X, so a sharding layout is a config change. Batches use the logical name ``'batch'``.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import jax
import numpy as np
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AxisRules = Sequence[tuple[str, Any]]  # (logical name, mesh axis | tuple of axes | None)


def resolve_mesh_shape(
  mesh_axes: Iterable[tuple[str, int]], num_devices: int
) -> tuple[tuple[str, ...], tuple[int, ...]]:
  """Fills the single -1 entry so the product of axis sizes equals ``num_devices``."""
  names = tuple(str(name) for name, _ in mesh_axes)
  sizes = [int(size) for _, size in mesh_axes]
  if len(set(names)) != len(names):
    raise ValueError(f"config.mesh repeats an axis name: {names}")
  fills = [i for i, s in enumerate(sizes) if s == -1]
  if len(fills) > 1:
    raise ValueError(f"config.mesh may have at most one -1 entry, got {list(mesh_axes)}")
  if any(s == 0 or s < -1 for s in sizes):
    raise ValueError(f"config.mesh sizes must be positive or -1, got {list(mesh_axes)}")
  known = math.prod(s for s in sizes if s != -1)
  if fills:
    if num_devices % known:
      raise ValueError(
        f"config.mesh {list(mesh_axes)}: {num_devices} devices are not "
        f"divisible by the fixed axes' product {known}"
      )
    sizes[fills[0]] = num_devices // known
  if math.prod(sizes) != num_devices:
    raise ValueError(
      f"config.mesh {list(mesh_axes)} needs {math.prod(sizes)} devices, {num_devices} are available"
    )
  return names, tuple(sizes)


def make_mesh(mesh_axes: Iterable[tuple[str, int]], devices=None) -> Mesh:
  """The mesh of ``config.mesh`` over all (or the given) devices."""
  devices = jax.devices() if devices is None else list(devices)
  names, sizes = resolve_mesh_shape(mesh_axes, len(devices))
  if devices == jax.devices():
    return jax.make_mesh(sizes, names, axis_types=(jax.sharding.AxisType.Auto,) * len(names))
  return Mesh(
    np.asarray(devices).reshape(sizes), names, axis_types=(jax.sharding.AxisType.Auto,) * len(names)
  )


def _as_tuple(axes) -> tuple[str, ...]:
  if axes is None:
    return ()
  return (axes,) if isinstance(axes, str) else tuple(axes)


def logical_to_spec(
  logical: Sequence[str | None], shape: Sequence[int], rules: AxisRules, mesh: Mesh
) -> PartitionSpec:
  """Maps one array's logical axis names to a PartitionSpec.

  A dimension stays replicated when its rule is missing or None, when a mesh axis it
  would use is already taken by an earlier dimension, or when its size is not divisible
  by the product of the mesh axes (small heads, odd vocabularies).
  """
  table = {name: _as_tuple(axes) for name, axes in rules}
  used: set[str] = set()
  spec = []
  for name, size in zip(logical, shape):
    axes = tuple(a for a in table.get(name, ()) if a in mesh.shape and mesh.shape[a] > 1)
    if not axes or used & set(axes) or size % math.prod(mesh.shape[a] for a in axes):
      spec.append(None)
      continue
    used |= set(axes)
    spec.append(axes[0] if len(axes) == 1 else axes)
  return PartitionSpec(*spec)


def _sharding_names(variable) -> tuple | None:
  meta = variable.get_metadata()
  for key in ("out_sharding", "sharding_names", "sharding"):
    if meta.get(key):
      return tuple(meta[key])
  return None


def param_shardings(params: nnx.State, rules: AxisRules, mesh: Mesh) -> Any:
  """NamedShardings for an nnx parameter state, from its logical axis metadata.

  Returns a pure-dict tree matching ``params.to_pure_dict()``.
  """

  def one(variable):
    shape = variable.get_value().shape
    names = _sharding_names(variable) or (None,) * len(shape)
    return NamedSharding(mesh, logical_to_spec(names, shape, rules, mesh))

  tree = jax.tree.map(one, params, is_leaf=lambda x: isinstance(x, nnx.Variable))
  return nnx.State(tree).to_pure_dict() if isinstance(tree, nnx.State) else tree


def batch_sharding(mesh: Mesh, rules: AxisRules, ndim: int, batch_axis: int = 0) -> NamedSharding:
  """Sharding of a batch array: axis ``batch_axis`` over the 'batch' rule's mesh axes.

  Gradient accumulation stacks micro-batches on a leading axis, so there the batch
  axis is 1.
  """
  axes = tuple(
    a for a in dict((n, _as_tuple(a)) for n, a in rules).get("batch", ()) if a in mesh.shape
  )
  lead = axes[0] if len(axes) == 1 else (axes or None)
  spec = [None] * ndim
  spec[batch_axis] = lead
  return NamedSharding(mesh, PartitionSpec(*spec))


def batch_shards(mesh: Mesh, rules: AxisRules) -> int:
  """How many parts :func:`batch_sharding` splits a batch axis into."""
  lead = batch_sharding(mesh, rules, 1).spec[0]
  return math.prod(mesh.shape[a] for a in _as_tuple(lead))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, PartitionSpec())
