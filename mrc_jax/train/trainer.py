"""``train_and_evaluate(config, workdir)``: multi-task (pre-)fine-tuning with exact resume.

Sections: distributed setup; tasks and heads; model and initial weights (resume order:
workdir checkpoint > ``init_from`` > fresh); shardings and the jitted step; the loop
(metrics, NaN stop, evaluation, checkpoints); export.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import optax
import seqio
from absl import logging
from flax import nnx
from jax.experimental import multihost_utils

from mrc_jax.data import synthetic
from mrc_jax.data import tasks as tasks_lib
from mrc_jax.eval import evaluators
from mrc_jax.models import families, head_kinds, hf
from mrc_jax.models import init_from as init_from_lib
from mrc_jax.models.multitask import HeadSpec
from mrc_jax.train import checkpoint as ckpt_lib
from mrc_jax.train import input_pipeline, preemption
from mrc_jax.train import metrics as metrics_lib
from mrc_jax.train import partitioning
from mrc_jax.train import run_spec
from mrc_jax.train.lock import WorkdirLock
from mrc_jax.train.optimizer import Freeze, check_lr_mults, make_optimizer
from mrc_jax.train.step import TrainState, make_train_step, num_parameters


class NonFiniteError(FloatingPointError):
  """The loss or gradients became NaN or inf."""


# The exit status of a run stopped by SIGTERM or SIGINT after saving a checkpoint:
# sysexits' EX_TEMPFAIL, "try again later"; rerunning the command resumes the run.
PREEMPTED_EXIT_CODE = 75


class Preempted(Exception):
  """The run stopped early on a signal, with a checkpoint at ``step``."""

  def __init__(self, step: int, signal_name: str, checkpoint: str):
    super().__init__(
      f"stopped by {signal_name} after step {step}; checkpoint {checkpoint} written, "
      "rerun the same command to resume"
    )
    self.step = step


# --- Distributed setup -----------------------------------------------------------------


def initialize_distributed() -> None:
  """Calls ``jax.distributed.initialize`` when this is one of several processes.

  ``JAX_COORDINATOR_ADDRESS`` (``host:port`` of process 0, which serves there),
  ``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID`` in the environment name the run; what they
  leave unset JAX detects from a pod slice's or cluster's own environment (Cloud TPU,
  SLURM, Open MPI), which alone also counts as several processes.
  """
  env = os.environ
  several = (
    bool(env.get("JAX_COORDINATOR_ADDRESS"))
    or "," in env.get("TPU_WORKER_HOSTNAMES", "")
    or int(env.get("SLURM_NTASKS", "1")) > 1
    or int(env.get("OMPI_COMM_WORLD_SIZE", "1")) > 1
  )
  if not several:
    return
  # CPU processes exchange arrays through gloo (the default of recent JAX, set for older).
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(
    env.get("JAX_COORDINATOR_ADDRESS") or None,
    int(env["JAX_NUM_PROCESSES"]) if env.get("JAX_NUM_PROCESSES") else None,
    int(env["JAX_PROCESS_ID"]) if env.get("JAX_PROCESS_ID") else None,
  )


# --- Tasks and heads -------------------------------------------------------------------


def run_plan(data, decoder: bool = False) -> tasks_lib.Plan:
  """What the run draws: ``data.mixture`` (a registered mixture or task) at its rates.

  Without a ``decoder`` (an encoder's run), tasks that need one (generation: Muppet's
  summarization) are left out, with a log line, and the others keep their rates.
  """
  if not data.get("mixture"):
    raise ValueError(
      "config.data.mixture names no task or mixture; registered mixtures: "
      f"{sorted(seqio.MixtureRegistry.names())}"
    )
  plan = tasks_lib.plan(data.mixture)
  keep = [i for i, t in enumerate(plan.tasks) if decoder or tasks_lib.info(t).kind != "generation"]
  left_out = sorted(set(plan.tasks) - {plan.tasks[i] for i in keep})
  if left_out:
    logging.info("%s: left out (they need a decoder): %s", data.mixture, left_out)
  if not keep:
    raise ValueError(f"mixture {data.mixture!r} has no task an encoder can train")
  return tasks_lib.Plan(
    tuple(plan.tasks[i] for i in keep), tuple(plan.rates[i] for i in keep), plan.mixing
  )


def resolve_heads(tasks: Sequence[str], pooling: str = "first") -> tuple[list[HeadSpec], list[int]]:
  """The head table and each task's head id, from the registered tasks' heads.

  Multiple-choice tasks share one 'multiple_choice' head, span tasks one 'span' head and
  generation tasks one 'generation' head (an encoder-decoder's own); every classification
  or regression dataset has its own head. ``pooling`` (``'first'`` or ``'mean'``) is what
  every head but the span and generation heads reads.
  """
  infos, head_of_task = tasks_lib.head_table(tasks)
  specs = []
  for task in infos:
    kind = head_kinds.for_example_kind(task.kind).name
    specs.append(
      HeadSpec(
        task.head,
        kind,
        int(task.num_classes) if kind == "classification" else 0,
        "first" if kind in ("span", "generation") else pooling,
      )
    )
  return specs, head_of_task


def task_weights(patterns, tasks: Sequence[str]) -> tuple[float, ...] | None:
  """``loss.task_weights``: (regex, weight) pairs; the first match on a task name sets
  that task's loss weight (others 1). A pattern matching no task is an error."""
  patterns = [(re.compile(p), float(w)) for p, w in patterns]
  if not patterns:
    return None
  unused = [p.pattern for p, _ in patterns if not any(p.search(t) for t in tasks)]
  if unused:
    raise ValueError(f"loss.task_weights patterns {unused} match none of the tasks {list(tasks)}")
  return tuple(next((w for p, w in patterns if p.search(t)), 1.0) for t in tasks)


# --- Model and initial weights ---------------------------------------------------------


def _model_config(config: ml_collections.ConfigDict) -> families.ModelConfig:
  """The architecture: ``init_from``'s own config if set, else ``config.model`` (an
  encoder or, by its ``model_type``, an encoder-decoder: ``models.families``).

  From ``init_from`` only the run-time fields (dtypes, dropout, layer unrolling) of
  ``config.model`` apply.
  """
  fields = dict(config.model)
  if config.tokenizer == "synthetic":
    fields["vocab_size"] = synthetic.vocab_size()
  source = config.init_from
  if not source:
    return families.from_fields(fields)
  runtime = {
    k: fields[k]
    for k in (
      "dtype",
      "param_dtype",
      "hidden_dropout",
      "attention_dropout",
      "activation_dropout",
      "scan_unroll",
    )
    if k in fields
  }
  if os.path.isfile(os.path.join(source, "config.json")) and not ckpt_lib.is_training_workdir(
    source
  ):
    return families.from_hf_dir(source, **runtime)
  if ckpt_lib.is_training_workdir(source):
    trained = run_spec.read(source).encoder
    names = {f.name for f in dataclasses.fields(trained)}
    return dataclasses.replace(trained, **{k: v for k, v in runtime.items() if k in names})
  raise FileNotFoundError(
    f"init_from {source!r} is neither a Hugging Face directory "
    "(config.json) nor a training workdir (checkpoints/)"
  )


def _source_weights(source: str) -> init_from_lib.SourceWeights:
  """The weights (and heads' poolings) of an ``init_from`` source, on the host."""
  if not ckpt_lib.is_training_workdir(source):
    return init_from_lib.from_hf(source)
  params, _ = run_spec.load_params(source)
  trunk = "seq2seq" if families.is_seq2seq(run_spec.read(source).encoder) else "encoder"
  return init_from_lib.SourceWeights(
    name=source,
    encoder=params[trunk],
    heads=dict(params.get("heads", {})),
    poolings={h.name: h.pooling for h in run_spec.read(source).heads},
    trunk=trunk,
  )


# --- The run ---------------------------------------------------------------------------


def _tokenizer_dir(config, workdir: str) -> str:
  """Directory holding the run's tokenizer.json (the synthetic one is written out)."""
  if config.tokenizer == "synthetic":
    directory = os.path.join(workdir, "tokenizer")
    if jax.process_index() == 0:
      synthetic.save_tokenizer(directory)
    if jax.process_count() > 1:  # the others read it only once it is written
      multihost_utils.sync_global_devices("synthetic tokenizer written")
    return directory
  return config.tokenizer


def _check_finite(pending: list) -> None:
  """Raises naming the first step whose loss or gradients were not finite."""
  for step, finite in pending:
    if not bool(jax.device_get(finite)):
      raise NonFiniteError(
        f"loss or gradients not finite at step {step}; the last good checkpoint is kept"
      )
  pending.clear()


@dataclasses.dataclass
class Setup:
  """The compiled-step ingredients of a run, shared by the trainer, tests and benchmarks."""

  mesh: Any
  rules: list
  head_specs: list[HeadSpec]
  enc_cfg: families.ModelConfig  # EncoderConfig, or Seq2SeqConfig for an encoder-decoder
  graphdef: Any  # with the parameters, the whole model (dropout keys are step arguments)
  abstract_state: TrainState
  state_sh: TrainState
  train_step: Any  # pure (state, batch) -> (state, metrics)
  fresh_model: Any  # () -> the multi-task model (families.build) with the run's seed
  optimizer: Any  # acts on freeze's trainable part of the parameters only
  freeze: Freeze

  def init_state(self, params: dict) -> TrainState:
    """Fresh optimizer state around ``params`` (placed with the run's shardings)."""
    return jax.jit(self._init, out_shardings=self.state_sh)(params)

  def fresh_state(self) -> TrainState:
    return jax.jit(
      lambda: self._init(nnx.state(self.fresh_model(), nnx.Param).to_pure_dict()),
      out_shardings=self.state_sh,
    )()

  def _init(self, params):
    return TrainState(
      step=jnp.zeros((), jnp.int32),
      params=params,
      opt_state=self.optimizer.init(self.freeze.trainable(params)),
    )

  def jit_step(self, batch_ndims: dict):
    """``jax.jit`` of the step with in/out shardings and the state donated."""
    batch_sh = {
      k: partitioning.batch_sharding(self.mesh, self.rules, n, batch_axis=1)
      for k, n in batch_ndims.items()
    }
    return jax.jit(
      self.train_step,
      in_shardings=(self.state_sh, batch_sh),
      out_shardings=(self.state_sh, partitioning.replicated(self.mesh)),
      donate_argnums=(0,),
    )


def make_setup(
  config,
  mesh,
  head_specs: Sequence[HeadSpec],
  enc_cfg: families.ModelConfig,
  tasks: Sequence[str],
) -> Setup:
  """Builds the model template, shardings, optimizer and train step of ``config`` over the
  run's ``tasks`` (their order is the step's task ids)."""
  rules = [tuple(r) for r in config.axis_rules]
  optimizer, schedule = make_optimizer(config)
  seed = int(config.seed)

  def fresh_model():
    return families.build(enc_cfg, head_specs, rngs=nnx.Rngs(params=seed))

  graphdef, abstract_params = nnx.split(nnx.eval_shape(fresh_model), nnx.Param)
  param_sh = partitioning.param_shardings(abstract_params, rules, mesh)
  abstract_params = abstract_params.to_pure_dict()
  freeze = Freeze(config.optimizer.get("freeze", ()), abstract_params)
  check_lr_mults(config.optimizer.get("lr_mults", ()), freeze.trainable(abstract_params))
  frozen = num_parameters(freeze.split(abstract_params)[1])
  logging.info(
    "parameters: %d trainable, %d frozen (optimizer.freeze %s)",
    num_parameters(abstract_params) - frozen,
    frozen,
    list(freeze.patterns),
  )
  replicated = partitioning.replicated(mesh)
  abstract_state = jax.eval_shape(
    lambda p: TrainState(
      step=jnp.zeros((), jnp.int32), params=p, opt_state=optimizer.init(freeze.trainable(p))
    ),
    abstract_params,
  )
  state_sh = TrainState(
    step=replicated,
    params=param_sh,
    opt_state=_opt_state_shardings(
      optimizer, abstract_state.opt_state, freeze.trainable(param_sh), replicated
    ),
  )
  train_step = make_train_step(
    graphdef,
    optimizer,
    schedule,
    head_specs,
    num_tasks=len(tasks),
    seed=seed,
    scale_loss=config.loss.scale_by_log_classes,
    task_weights=task_weights(config.loss.get("task_weights", ()), tasks),
    r3f_weight=config.r3f.weight,
    r3f_noise=config.r3f.noise,
    r3f_eps=config.r3f.eps,
    freeze=freeze,
  )
  return Setup(
    mesh=mesh,
    rules=rules,
    head_specs=list(head_specs),
    enc_cfg=enc_cfg,
    graphdef=graphdef,
    abstract_state=abstract_state,
    state_sh=state_sh,
    train_step=train_step,
    fresh_model=fresh_model,
    optimizer=optimizer,
    freeze=freeze,
  )


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> TrainState:
  """Trains ``config`` in ``workdir`` (resuming from its latest complete checkpoint if any).

  Raises ``lock.WorkdirInUseError`` if another run holds the workdir, ``Preempted`` when
  SIGTERM or SIGINT stopped it after a checkpoint, ``checkpoint.CheckpointWriteError``
  when a checkpoint could not be written.
  """
  workdir = os.path.abspath(workdir)
  os.makedirs(workdir, exist_ok=True)
  with (
    WorkdirLock(workdir),
    preemption.StopRequest(config.preemption_sync_every_steps) as stop,
  ):
    return _run(config, workdir, stop)


def _run(config, workdir: str, stop: preemption.StopRequest) -> TrainState:
  # --- Mesh and the run specification ----------------------------------------------------
  mesh = partitioning.make_mesh(config.mesh)
  enc_cfg = _model_config(config)
  plan = run_plan(config.data, decoder=families.is_seq2seq(enc_cfg))
  tasks = list(plan.tasks)
  head_specs, head_of_task = resolve_heads(tasks, config.get("head_pooling", "first"))
  tokenizer_dir = _tokenizer_dir(config, workdir)
  # The input layout travels with the model, as its tokenizer does.
  spec = run_spec.RunSpec(
    encoder=enc_cfg,
    heads=tuple(head_specs),
    tasks=tuple(tasks),
    head_of_task=tuple(head_of_task),
    tokenizer_dir=tokenizer_dir,
    options_first=bool(config.data.get("options_first", False)),
    max_length=int(config.data.max_length),
    max_choices=int(config.data.max_choices),
    mesh=dict(mesh.shape),
  )
  run_spec.write(workdir, config, spec)

  # --- Input ---------------------------------------------------------------------------
  input_ = _train_input(config, plan, head_of_task, head_specs, tokenizer_dir, enc_cfg)

  # --- Model and optimizer ---------------------------------------------------------------
  setup = make_setup(config, mesh, head_specs, enc_cfg, tasks)

  # --- Evals: every entry checked before a checkpoint is read ------------------------------
  evals = evaluators.build(
    evaluators.entries(config),
    evaluators.EvalContext(
      config,
      spec,
      # The one place evaluation rebuilds the model from parameters.
      lambda params: nnx.merge(setup.graphdef, params),
      mesh,
      setup.rules,
      config.data.data_dir or None,
    ),
    training=True,
  )

  manager = ckpt_lib.CheckpointManager(
    os.path.join(workdir, "checkpoints"), keep=config.keep_checkpoints
  )
  try:
    # --- Restore: this workdir's checkpoint > init_from weights > fresh weights ----------
    state = _restore_or_init(config, setup, input_, manager)

    with jax.set_mesh(mesh):
      # --- Loop --------------------------------------------------------------------------
      state = _train_loop(config, workdir, setup, state, input_, manager, tasks, evals, stop)
  finally:
    # A failing run (e.g. NonFiniteError) still finishes its pending good checkpoints.
    manager.wait()
    manager.close()

  # --- Export ----------------------------------------------------------------------------
  if config.export.enabled:
    export_hf(config, workdir, setup, state.params, tokenizer_dir)
  return state


def _restore_or_init(config, setup, input_, manager) -> TrainState:
  """The train state to start from, with the input position restored on resume."""
  mesh, head_specs = setup.mesh, setup.head_specs
  step = manager.resume_step()
  resume = step is not None
  # Read outside the mesh context: building the source's module skeleton there would try
  # to place its logical axes on the mesh.
  source = _source_weights(config.init_from) if config.init_from and not resume else None
  rename = dict(config.get("init_head_map", {}))  # new head name -> source head name
  if source is not None:
    init_from_lib.check_head_pooling(source, head_specs, rename)
  with jax.set_mesh(mesh):
    if resume:
      abstract = jax.tree.map(
        lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
        setup.abstract_state,
        setup.state_sh,
      )
      state, position = manager.restore(abstract, step)
      input_.restore(position)
    elif config.init_from:
      fresh = jax.device_get(
        jax.jit(lambda: nnx.state(setup.fresh_model(), nnx.Param).to_pure_dict())()
      )
      params = init_from_lib.initial_params(source, fresh, rename)
      state = setup.init_state(jax.device_put(params, setup.state_sh.params))
    else:
      state = setup.fresh_state()
  logging.info(
    "model: %d parameters, heads %s, mesh %s",
    num_parameters(state.params),
    [h.name for h in head_specs],
    dict(mesh.shape),
  )
  return state


def _opt_state_shardings(optimizer, abstract_opt_state, param_sh, replicated):
  """Optimizer moments follow their parameters' shardings; counters are replicated."""
  return optax.tree_map_params(
    optimizer,
    lambda _, s: s,
    abstract_opt_state,
    param_sh,
    transform_non_params=lambda _: replicated,
  )


def _train_input(
  config, plan: tasks_lib.Plan, head_of_task, head_specs, tokenizer_dir, model_config
) -> input_pipeline.TrainInput:
  data = config.data
  # data.train_fraction: the sample-efficiency ablation's fixed subset of every task.
  fraction = float(data.get("train_fraction", 1.0))
  sources = [
    input_pipeline.ExampleSource(
      t, "train", int(config.seed), data.data_dir or None, fraction=fraction
    )
    for t in plan.tasks
  ]
  epoch_sizes = [s.num_examples for s in sources] if plan.mixing.mode == "epoch" else None
  sampler = input_pipeline.MixtureSampler(
    plan.rates, data.batching, int(config.seed), int(config.total_steps), epoch_sizes
  )
  accum = int(config.optimizer.accum_steps)
  convert = input_pipeline.config_converter(
    config,
    tokenizer_dir,
    plan.tasks,
    head_of_task,
    head_specs,
    num_examples=config.batch_size // accum // jax.process_count(),
    decoder=input_pipeline.decoder_layout(model_config),
  )
  return input_pipeline.TrainInput(
    plan.tasks,
    sources,
    sampler,
    int(config.batch_size),
    accum,
    convert,
    jax.process_index(),
    jax.process_count(),
  )


def _global_batch(local: dict, mesh, rules) -> dict:
  """Host-local ``[accum, ...]`` numpy arrays -> global arrays sharded on the batch axis."""
  return input_pipeline.global_batch(local, mesh, rules, batch_axis=1)


def _train_loop(config, workdir, setup: Setup, state, input_, manager, tasks, evals, stop):
  """Runs steps up to ``config.total_steps``; logs, evaluates and checkpoints on schedule.

  When ``stop`` says so, saves the step just finished and raises ``Preempted``.
  """
  mesh, rules, enc_cfg = setup.mesh, setup.rules, setup.enc_cfg
  accum = int(config.optimizer.accum_steps)
  # This host's [accum, ...] batch, known from the layout before any batch is read.
  seq2seq = families.is_seq2seq(enc_cfg)
  spec = input_pipeline.config_batch_spec(
    config,
    num_examples=config.batch_size // accum // jax.process_count(),
    accum=accum,
    decoder=seq2seq,
  )
  step_fn = setup.jit_step({k: s.ndim for k, s in spec.items()})
  _, rows, length = spec["input_ids"].shape
  rows *= jax.process_count() * accum
  if seq2seq:
    lm_head = any(h.kind == "generation" for h in setup.head_specs)
    flops = metrics_lib.seq2seq_train_flops(enc_cfg, rows, length, lm_head)
  else:
    flops = metrics_lib.encoder_train_flops(enc_cfg, rows, length)
  flops *= 2 if config.r3f.weight else 1  # R3F runs a second forward + backward
  peak, peak_source = metrics_lib.peak_flops_per_device(config.peak_flops_per_device)
  logging.info("MFU reference: %.3g FLOP/s per device (%s)", peak, peak_source)
  writer = metrics_lib.create_writer(workdir)
  step = int(jax.device_get(state.step))
  progress = metrics_lib.Progress(config.total_steps, step, flops / mesh.size, peak)
  sums, pending = None, []
  while step < config.total_steps:
    local, _ = next(input_)
    state, metrics = step_fn(state, _global_batch(local, mesh, rules))
    step += 1
    pending.append((step, metrics["finite"]))
    sums = metrics if sums is None else jax.tree.map(jnp.add, sums, metrics)
    last = step == config.total_steps
    if step % config.log_every_steps == 0 or last:
      _check_finite(pending)
      host = jax.device_get(sums)
      scalars = metrics_lib.summarise(host, tasks)
      if config.r3f.weight:  # mean symmetric KL between clean and noised outputs
        scalars["r3f"] = float(host["r3f_sum"] / max(float(host["examples"]), 1.0))
      # Norms and the learning rate of the interval's last step, not summed.
      scalars.update(
        {
          k: float(jax.device_get(metrics[k]))
          for k in ("l2_grads", "l2_params", "l2_updates", "learning_rate")
        }
      )
      rates = progress.update(step, float(host["tokens"]))
      scalars.update(rates)
      writer.write_scalars(step, scalars)
      logging.info("%s", progress.line(step, scalars["loss"], rates))
      sums = None
    eval_scalars = evaluators.due(evals, state.params, step, last)
    if eval_scalars:
      writer.write_scalars(step, eval_scalars)
    if step % config.checkpoint_every_steps == 0 or last:
      _check_finite(pending)
      manager.save(state, input_.position(), force=last)
    if not last and stop.should_stop(step):
      _check_finite(pending)
      manager.save(state, input_.position(), force=True)
      manager.wait()
      writer.flush()
      error = Preempted(step, stop.received, os.path.join(manager.directory, str(step)))
      logging.warning("%s", error)
      raise error
  writer.flush()
  return state


def export_hf(config, workdir: str, setup: Setup, params: dict, tokenizer_dir: str) -> list[str]:
  """Writes one Hugging Face directory per head (encoder + that head + tokenizer).

  A Hugging Face directory holds a single task head, so ``export/hf/HEAD`` per head keeps
  every head loadable by transformers. ``config.export.heads`` limits the set. An
  encoder-decoder's heads go through ``hf.export_seq2seq_heads`` (its generation head is
  the generation class, which the dg and paraphrase attacks load).
  """
  # Every process takes part in gathering parameters sharded across hosts; process 0 writes.
  if jax.process_count() > 1:
    params = multihost_utils.process_allgather(params, tiled=True)
  if jax.process_index() != 0:
    return []
  model = nnx.merge(setup.graphdef, jax.device_get(params))
  wanted = list(config.export.heads) or [h.name for h in setup.head_specs]
  directory = os.path.join(workdir, "export", "hf")
  if families.is_seq2seq(setup.enc_cfg):
    paths = hf.export_seq2seq_heads(model, wanted, directory, tokenizer_dir)
    logging.info("exported Hugging Face directories: %s", paths)
    return paths
  paths = hf.export_heads(
    model.encoder,
    setup.enc_cfg,
    {name: model.heads[name] for name in wanted},
    os.path.join(workdir, "export", "hf"),
    tokenizer_dir,
  )
  logging.info("exported Hugging Face directories: %s", paths)
  return paths
