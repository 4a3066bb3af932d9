"""Devices: ``tf.distribute`` strategy, mixed precision and the cluster role of this process.

``training.strategy`` takes:

==================  ============================================================================
``auto``            one GPU -> ``OneDeviceStrategy("/gpu:0")``; several -> ``MirroredStrategy``;
                    none -> the default (CPU) strategy, with a log line saying so.
``cpu``             CPU only (``OneDeviceStrategy("/cpu:0")`` where GPUs exist, else the default).
``gpu``             ``OneDeviceStrategy("/gpu:0")``; an error where TensorFlow sees no GPU.
``mirrored``        ``MirroredStrategy`` over all local GPUs (or the CPU where there is none).
``multi_worker``    ``MultiWorkerMirroredStrategy``; the cluster and this worker's role come from
                    the ``TF_CONFIG`` environment variable, e.g. for worker 0 of two::

                        TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
                                    "task": {"type": "worker", "index": 0}}'

                    Run the same ``tfrec train`` command on every worker (same config, same
                    ``--run-dir`` on a shared file system, or one per worker); worker 0 is the
                    chief that writes the run folder, the others write
                    ``<run_dir>/workers/worker_<i>/``.
``parameter_server``  ``ParameterServerStrategy`` with a ``TFConfigClusterResolver``: ``TF_CONFIG``
                    lists ``chief``, ``worker`` and ``ps`` tasks. Start ``tfrec train`` with the same
                    config on every task: ``worker`` and ``ps`` tasks start a ``tf.distribute.Server``
                    and serve until killed, the ``chief`` (coordinator) trains. Training runs
                    ``steps_per_epoch`` = examples // global batch steps per epoch. Variables
                    (the embedding tables) are sharded along their first axis across the ``ps``
                    tasks: ``training.ps_shards`` fixed shards, or by ``training.min_shard_bytes``
                    (at most one shard per ``ps`` task); the run's ``metrics.json`` lists
                    where each shard of every sharded variable lives (``variable_shards``).
==================  ============================================================================

The global batch is ``training.batch_size x strategy.num_replicas_in_sync``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

logger = logging.getLogger("tfrec.training")


class DeviceError(RuntimeError):
    """The requested devices or cluster are not available."""


@dataclass
class Placement:
    """The strategy of a run and this process's role in it.

    Attributes:
      strategy: the ``tf.distribute.Strategy``.
      name: the config value that chose it ("auto", "cpu", ...).
      description: a one-line human description (logged and stored in metrics.json).
      devices: names of the devices training runs on.
      task_type: "chief", "worker", "ps" or None (single process).
      task_index: index of this task, or None.
      is_chief: this process writes the run folder.
      replicas: ``strategy.num_replicas_in_sync``.
    """

    strategy: Any
    name: str
    description: str
    devices: List[str]
    task_type: Optional[str] = None
    task_index: Optional[int] = None
    is_chief: bool = True
    replicas: int = 1

    @property
    def worker_name(self) -> str:
        return f"{self.task_type}_{self.task_index}" if self.task_type else "local"


def tf_config() -> Dict[str, Any]:
    """The parsed ``TF_CONFIG`` environment variable ({} when unset)."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise DeviceError(f"TF_CONFIG is not valid JSON ({e}). Received: {text[:200]!r}") from e
    if not isinstance(value, dict) or "cluster" not in value or "task" not in value:
        raise DeviceError(
            "TF_CONFIG must be a JSON object with 'cluster' and 'task', e.g. "
            '{"cluster": {"worker": ["localhost:12345", "localhost:12346"]}, "task": {"type": "worker", "index": 0}}. '
            f"Received: {text[:200]!r}"
        )
    return value


def make_placement(name: str, log: Callable[[str], None] = logger.info, ps_shards: Optional[int] = None,
                   min_shard_bytes: int = 256 << 10) -> Placement:
    """Builds the strategy named by ``training.strategy`` and logs the devices it uses.

    Must run before any other TensorFlow operation of the process when ``name`` is ``multi_worker``
    (TensorFlow's collective ops must be configured first).

    Args:
      name: the ``training.strategy`` value.
      log: where the one-line device description goes.
      ps_shards: ``parameter_server`` only: fixed number of shards per variable; None = by size.
      min_shard_bytes: ``parameter_server`` only, with ``ps_shards`` None: smallest shard in bytes.

    Raises:
      DeviceError: ``gpu`` without a GPU; ``multi_worker``/``parameter_server`` without a usable TF_CONFIG.
      ValueError: an unknown name.
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    gpu_names = [f"/gpu:{i}" for i in range(len(gpus))]
    if name == "auto":
        if len(gpus) == 1:
            return _single(tf.distribute.OneDeviceStrategy("/gpu:0"), name, "one GPU (/gpu:0)", ["/gpu:0"], log)
        if len(gpus) > 1:
            return _single(tf.distribute.MirroredStrategy(), name, f"MirroredStrategy over {len(gpus)} GPUs",
                           gpu_names, log)
        log("strategy auto: no GPU found (tf.config.list_physical_devices('GPU') is empty); falling back to CPU.")
        return _single(tf.distribute.get_strategy(), name, "CPU (default strategy)", ["/cpu:0"], log)
    if name == "cpu":
        strategy = tf.distribute.OneDeviceStrategy("/cpu:0") if gpus else tf.distribute.get_strategy()
        return _single(strategy, name, "CPU", ["/cpu:0"], log)
    if name == "gpu":
        if not gpus:
            raise DeviceError(
                "training.strategy is 'gpu' but TensorFlow sees no GPU (tf.config.list_physical_devices('GPU') "
                "is empty). Install a GPU build (pip install 'tensorflow[and-cuda]'), check the driver with "
                "nvidia-smi, or set training.strategy to 'auto' (falls back to CPU) or 'cpu'."
            )
        return _single(tf.distribute.OneDeviceStrategy("/gpu:0"), name, "one GPU (/gpu:0)", ["/gpu:0"], log)
    if name == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
        devices = list(strategy.extended.worker_devices)
        return _single(strategy, name, f"MirroredStrategy over {', '.join(devices)}", devices, log)
    if name == "multi_worker":
        cfg = tf_config()
        if not cfg:
            raise DeviceError(
                "training.strategy is 'multi_worker' but the TF_CONFIG environment variable is not set. Set it on "
                'every worker, e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                '"task": {"type": "worker", "index": 0}}\', or use strategy auto/mirrored on one machine.'
            )
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        resolver = strategy.cluster_resolver
        task_type, task_index = resolver.task_type, resolver.task_id
        n_workers = len(cfg["cluster"].get("worker", [])) + len(cfg["cluster"].get("chief", []))
        is_chief = task_type == "chief" or (task_type == "worker" and task_index == 0 and "chief" not in cfg["cluster"])
        devices = list(strategy.extended.worker_devices)
        desc = (f"MultiWorkerMirroredStrategy: {n_workers} workers, {strategy.num_replicas_in_sync} replicas; "
                f"this is {task_type} {task_index}{' (chief)' if is_chief else ''} on {', '.join(devices)}")
        log(f"devices: {desc}")
        return Placement(strategy, name, desc, devices, task_type, task_index, is_chief,
                         strategy.num_replicas_in_sync)
    if name == "parameter_server":
        return _parameter_server(log, ps_shards, min_shard_bytes)
    raise ValueError(f"Unknown strategy {name!r}; valid: auto, cpu, gpu, mirrored, multi_worker, parameter_server.")


def _single(strategy, name: str, desc: str, devices: List[str], log) -> Placement:
    log(f"devices: {desc} (strategy {name}, {strategy.num_replicas_in_sync} replica(s))")
    return Placement(strategy, name, desc, devices, replicas=strategy.num_replicas_in_sync)


def variable_partitioner(n_ps: int, ps_shards: Optional[int] = None, min_shard_bytes: int = 256 << 10):
    """The ``variable_partitioner`` of a ``ParameterServerStrategy`` over ``n_ps`` parameter servers.

    Args:
      n_ps: number of ``ps`` tasks; positive.
      ps_shards: fixed shards per variable (``FixedShardsPartitioner``); None = ``MinSizePartitioner``
        with ``min_shard_bytes`` and at most ``n_ps`` shards.
      min_shard_bytes: smallest shard in bytes when ``ps_shards`` is None.

    Returns:
      A partitioner: a callable ``(shape, dtype) -> [num_partitions_per_axis]``.
    """
    import tensorflow as tf

    partitioners = tf.distribute.experimental.partitioners
    if ps_shards is not None:
        return partitioners.FixedShardsPartitioner(num_shards=ps_shards)
    return partitioners.MinSizePartitioner(min_shard_bytes=min_shard_bytes, max_shards=n_ps)


def ps_summary(model) -> Dict[str, Any]:
    """What a ``parameter_server`` run stores in ``metrics.json``.

    Returns:
      ``{"variable_shards": variable_shards(model), "optimizer_steps": the optimizer's step count}``.
    """
    return {"variable_shards": variable_shards(model), "optimizer_steps": int(model.optimizer.iterations.numpy())}


def variable_shards(model) -> Dict[str, List[Dict[str, Any]]]:
    """Where the shards of each sharded variable of ``model`` live.

    A ``variable_partitioner`` splits a variable ``<name>`` into ``<name>/part_<i>`` pieces (Keras lists
    the pieces, not the ``ShardedVariable``, in ``model.variables``).

    Returns:
      ``{variable name: [{"part": i, "device": "/job:ps/replica:0/task:0/device:CPU:0", "shape": [rows, dim]},
      ...]}`` in part order, for every sharded variable; {} when none is sharded.
    """
    out: Dict[str, List[Dict[str, Any]]] = {}
    for var in model.variables:
        match = _PART.match(var.name)
        if match:
            out.setdefault(match.group(1), []).append(
                {"part": int(match.group(2)), "device": var.device, "shape": [int(d) for d in var.shape]})
    return {name: sorted(parts, key=lambda p: p["part"]) for name, parts in sorted(out.items())}


_PART = re.compile(r"^(.*)/part_(\d+)(?::\d+)?$")


def _parameter_server(log, ps_shards: Optional[int] = None, min_shard_bytes: int = 256 << 10) -> Placement:
    import tensorflow as tf

    cfg = tf_config()
    cluster = cfg.get("cluster", {})
    if not cluster.get("ps") or not cluster.get("worker"):
        raise DeviceError(
            "training.strategy is 'parameter_server' but TF_CONFIG does not list 'ps' and 'worker' tasks. Example: "
            'TF_CONFIG=\'{"cluster": {"chief": ["h0:2222"], "worker": ["h1:2222"], "ps": ["h2:2222"]}, '
            '"task": {"type": "chief", "index": 0}}\'. Received: ' + json.dumps(cfg)[:300]
        )
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    task_type, task_index = resolver.task_type, resolver.task_id
    if task_type in ("worker", "ps"):
        # Not a trainer: serve this task until killed (the coordinator drives the training).
        return Placement(None, "parameter_server", f"{task_type} {task_index} server", [], task_type, task_index,
                         is_chief=False, replicas=0)
    n_ps = len(cluster["ps"])
    strategy = tf.distribute.ParameterServerStrategy(
        resolver, variable_partitioner=variable_partitioner(n_ps, ps_shards, min_shard_bytes))
    sharding = (f"{ps_shards} shards per variable" if ps_shards is not None else
                f"variables sharded into pieces of >= {min_shard_bytes} bytes, at most {n_ps}")
    desc = (f"ParameterServerStrategy: {len(cluster['worker'])} workers, {n_ps} parameter servers ({sharding}); "
            f"this is the coordinator ({task_type} {task_index})")
    log(f"devices: {desc}")
    return Placement(strategy, "parameter_server", desc, [], task_type, task_index, True,
                     strategy.num_replicas_in_sync)


def serve_forever(placement: Placement, log: Callable[[str], None] = logger.info) -> None:
    """Runs this process's ``tf.distribute.Server`` (parameter-server ``worker``/``ps`` tasks); never returns."""
    import tensorflow as tf

    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    log(f"parameter_server: starting {placement.task_type} {placement.task_index} server; serving until killed.")
    server = tf.distribute.Server(
        resolver.cluster_spec(), job_name=resolver.task_type, task_index=resolver.task_id,
        protocol=resolver.rpc_layer or "grpc", start=True,
    )
    server.join()


def set_mixed_precision(enabled: bool, placement: Placement, log: Callable[[str], None] = logger.info) -> bool:
    """Sets the global Keras policy: ``mixed_float16`` on GPU, ``float32`` otherwise.

    Returns:
      True when mixed precision is on. On CPU a requested mixed precision is ignored with a warning
      (float16 matmuls are slower than float32 there).
    """
    import tensorflow as tf

    on_gpu = any("gpu" in d.lower() for d in placement.devices) or (
        placement.name in ("multi_worker", "parameter_server", "mirrored") and tf.config.list_physical_devices("GPU")
    )
    if enabled and not on_gpu:
        log("WARNING: training.mixed_precision is true but training runs on CPU; ignoring it (float32).")
        enabled = False
    tf.keras.mixed_precision.set_global_policy("mixed_float16" if enabled else "float32")
    if enabled:
        log("mixed precision: mixed_float16 compute, float32 variables, embeddings and outputs.")
    return enabled
