"""The multi-task model of a training workdir, with the weights of one of its checkpoints.

A training workdir holds `config.json` (with the resolved architecture: `encoder`, `heads`,
`tasks`, `tokenizer_dir`) and orbax checkpoints under `checkpoints/`; only the parameters
are restored, so evaluation needs neither the optimizer nor its state.
"""
from __future__ import annotations

import json
import os

import jax
from flax import nnx

from mrc_jax.models.encoder import EncoderConfig
from mrc_jax.models.multitask import HeadSpec, MultiTaskModel
from mrc_jax.train import checkpoint as checkpoint_lib


def read_resolved(workdir: str) -> dict:
    """The `resolved` section of `workdir/config.json` written by the trainer."""
    path = os.path.join(workdir, "config.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} not found: {workdir} is not a training workdir "
                                "(run launch/train.py with --workdir first)")
    with open(path) as handle:
        saved = json.load(handle)
    for field in ("encoder", "heads"):
        if field not in saved.get("resolved", {}):
            raise ValueError(f"{path}: field resolved.{field} is missing")
    return saved["resolved"]


def load_model(workdir: str, step: int | None = None) -> tuple[MultiTaskModel, dict, int]:
    """(model with the checkpoint's weights, resolved config, checkpoint step).

    `step=None` takes the latest checkpoint.
    """
    workdir = os.path.abspath(workdir)
    resolved = read_resolved(workdir)
    encoder_config = EncoderConfig(**resolved["encoder"])
    head_specs = [HeadSpec(**head) for head in resolved["heads"]]
    manager = checkpoint_lib.CheckpointManager(os.path.join(workdir, "checkpoints"),
                                               asynchronous=False)
    try:
        step = manager.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"{workdir}/checkpoints holds no checkpoint to evaluate")
        model = MultiTaskModel(encoder_config, head_specs, rngs=nnx.Rngs(0))
        params = nnx.state(model, nnx.Param)
        device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
        target = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device),
                              params.to_pure_dict())
        params.replace_by_pure_dict(manager.restore_params(target, step))
        nnx.update(model, params)
    finally:
        manager.close()
    return model, resolved, int(step)


def latest_step(workdir: str) -> int | None:
    """The newest checkpoint step of a workdir, without restoring anything."""
    manager = checkpoint_lib.CheckpointManager(os.path.join(os.path.abspath(workdir),
                                                            "checkpoints"), asynchronous=False)
    try:
        return manager.latest_step()
    finally:
        manager.close()
