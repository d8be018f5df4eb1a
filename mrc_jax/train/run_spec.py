"""The run specification: what a training workdir's model is and how its batches were laid
out, written once by the trainer and read by everything that uses the workdir afterwards
(evaluation, ``init_from``, the study), so none of them guesses a field or its default.

``WORKDIR/config.json`` holds ``{"config": <the ConfigDict>, "resolved": <RunSpec>}``;
:func:`read` is the one reader of ``resolved`` and :func:`load_params` the one
weights-only restore of a workdir's checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import jax
from flax import nnx

from mrc_jax.models import families
from mrc_jax.models.multitask import HeadSpec
from mrc_jax.train import checkpoint as checkpoint_lib

CONFIG_FILE = "config.json"


@dataclasses.dataclass(frozen=True)
class RunSpec:
  """A trained model and its input layout.

  ``encoder`` is the model's architecture: an ``EncoderConfig``, or for an encoder-decoder
  a ``Seq2SeqConfig`` (``families``; its ``model_type`` tells them apart in the JSON form).
  ``head_of_task[i]`` is the index in ``heads`` of ``tasks[i]``'s head. ``options_first``,
  ``max_length`` and ``max_choices`` are the multiple-choice layout, row length and choice
  slots the model was trained with. Evaluation always uses the trained layout; its row
  length is the evaluation config's (it may need longer rows than training did).
  """

  encoder: families.ModelConfig
  heads: tuple[HeadSpec, ...]
  tasks: tuple[str, ...]
  head_of_task: tuple[int, ...]
  tokenizer_dir: str
  options_first: bool = False
  max_length: int = 0
  max_choices: int = 0
  mesh: dict = dataclasses.field(default_factory=dict)

  def to_json(self) -> dict:
    return dict(
      encoder=families.to_fields(self.encoder),
      heads=[dataclasses.asdict(h) for h in self.heads],
      tasks=list(self.tasks),
      head_of_task=list(self.head_of_task),
      tokenizer_dir=self.tokenizer_dir,
      options_first=self.options_first,
      max_length=self.max_length,
      max_choices=self.max_choices,
      mesh=dict(self.mesh),
    )

  @classmethod
  def from_json(cls, resolved: dict, path: str) -> "RunSpec":
    """The spec of a ``resolved`` section; a missing field is an error naming ``path``."""
    missing = [
      f for f in ("encoder", "heads", "tasks", "head_of_task", "tokenizer_dir") if f not in resolved
    ]
    if missing:
      raise ValueError(f"{path}: fields {['resolved.' + f for f in missing]} are missing")
    return cls(
      encoder=families.from_fields(resolved["encoder"]),
      heads=tuple(HeadSpec(**h) for h in resolved["heads"]),
      tasks=tuple(resolved["tasks"]),
      head_of_task=tuple(int(i) for i in resolved["head_of_task"]),
      tokenizer_dir=resolved["tokenizer_dir"],
      options_first=bool(resolved.get("options_first", False)),
      max_length=int(resolved.get("max_length", 0)),
      max_choices=int(resolved.get("max_choices", 0)),
      mesh=dict(resolved.get("mesh", {})),
    )


def write(workdir: str, config, spec: RunSpec) -> None:
  """``WORKDIR/config.json``: the config as given and the spec it resolved to."""
  if jax.process_index() == 0:
    with open(os.path.join(workdir, CONFIG_FILE), "w") as f:
      json.dump(
        {"config": json.loads(config.to_json_best_effort()), "resolved": spec.to_json()},
        f,
        indent=2,
        sort_keys=True,
      )


def read(workdir: str) -> RunSpec:
  """The spec a training run wrote into ``workdir``."""
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.isfile(path):
    raise FileNotFoundError(
      f"{path} not found: {workdir} is not a training workdir "
      "(run launch/train.py with --workdir first)"
    )
  with open(path) as handle:
    saved = json.load(handle)
  if "resolved" not in saved:
    raise ValueError(f"{path}: no `resolved` section (not written by this trainer)")
  return RunSpec.from_json(saved["resolved"], path)


def latest_step(workdir: str) -> int | None:
  """The newest checkpoint step of a workdir, without restoring anything."""
  manager = checkpoint_lib.CheckpointManager(
    os.path.join(os.path.abspath(workdir), "checkpoints"), asynchronous=False
  )
  try:
    return manager.latest_step()
  finally:
    manager.close()


def load_params(workdir: str, step: int | None = None) -> tuple[dict[str, Any], int]:
  """(parameters as a nested dict on this process's first device, step) of a workdir's
  checkpoint.

  Only the parameters are restored (no optimizer state); ``step=None`` takes the latest.
  """
  spec = read(workdir)
  manager = checkpoint_lib.CheckpointManager(
    os.path.join(workdir, "checkpoints"), asynchronous=False
  )
  try:
    step = manager.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"{workdir}/checkpoints holds no checkpoint")
    skeleton = nnx.eval_shape(lambda: families.build(spec.encoder, spec.heads, rngs=nnx.Rngs(0)))
    # This process's own first device: on several processes jax.devices()[0] is process 0's.
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    target = jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device),
      nnx.state(skeleton, nnx.Param).to_pure_dict(),
    )
    return manager.restore_params(target, step), int(step)
  finally:
    manager.close()
