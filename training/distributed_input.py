"""Shard input for several workers: each worker's input pipeline streams its own files of a shard folder.

:func:`distributed_shards` wraps :func:`tfrec.data.stream.shard_dataset` in
``strategy.distribute_datasets_from_function``: under ``MultiWorkerMirroredStrategy`` with as many
shard files as workers, worker i reads files i, i + n, ... (FILE sharding: no row is read twice, no
worker reads the whole set); with fewer files every worker reads every file and keeps every n-th
batch. Workers must run the same number of steps per epoch (each step is an all-reduce), so the
dataset repeats and :func:`steps_per_epoch` is the step count of the worker with the fewest rows.

Example:
  >>> strategy = tf.distribute.MultiWorkerMirroredStrategy()                      # doctest: +SKIP
  >>> ds = distributed_shards(strategy, "data/ratings", ["user", "item", "rating"], 1024)  # doctest: +SKIP
  >>> model.fit(ds, epochs=3, steps_per_epoch=steps_per_epoch(strategy, "data/ratings", 1024))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

from tfrec.data.manifest import Manifest, read_manifest
from tfrec.data.stream import shard_dataset, shard_files

__all__ = ["distributed_shards", "pipeline_rows", "steps_per_epoch", "worker_files"]


def _manifest(source) -> Manifest:
    return source if isinstance(source, Manifest) else read_manifest(source)


def pipeline_rows(source, pipelines: int) -> list:
    """Rows each of ``pipelines`` input pipelines reads per pass (FILE or DATA sharding, as ``shard_dataset``).

    Returns:
      A list of ``pipelines`` row counts (with DATA sharding the total split evenly).

    Raises:
      ValueError: ``pipelines`` < 1.
    """
    if pipelines < 1:
        raise ValueError(f"pipelines must be a positive integer. Received: pipelines={pipelines}")
    manifest = _manifest(source)
    if pipelines > 1 and len(manifest.shards) >= pipelines:
        return [sum(s.rows for s in manifest.shards[i::pipelines]) for i in range(pipelines)]
    return [manifest.rows // pipelines] * pipelines


def steps_per_epoch(strategy, source, global_batch: int) -> int:
    """Steps every worker runs per epoch: the fewest full per-replica batches among the input pipelines.

    Args:
      strategy: the ``tf.distribute.Strategy`` (its ``num_replicas_in_sync`` and number of workers).
      source: a shard folder or a :class:`Manifest`.
      global_batch: rows per step over all replicas.

    Raises:
      ValueError: a pipeline's files hold fewer rows than one batch.
    """
    pipelines = _pipelines(strategy)
    per_pipeline = global_batch // pipelines
    rows = pipeline_rows(source, pipelines)
    steps = min(rows) // per_pipeline
    if steps < 1:
        raise ValueError(f"{_manifest(source).folder}: an input pipeline reads {min(rows)} rows per pass, fewer "
                         f"than one batch of {per_pipeline} ({global_batch} global / {pipelines} pipelines); "
                         "use a smaller training.batch_size or more rows per shard.")
    return steps


def distributed_shards(strategy, source, columns: Sequence[str], global_batch: int, *, shuffle_buffer: int = 0,
                       seed: int = 0, map_fn: Optional[Callable] = None):
    """A distributed dataset of the shard folder's batches, one input pipeline per worker, repeated.

    Args:
      strategy: the ``tf.distribute.Strategy``.
      source: a shard folder or a :class:`Manifest` (every shard is checked against it first).
      columns: the columns to read.
      global_batch: rows per step over all replicas; each pipeline batches
        ``input_context.get_per_replica_batch_size(global_batch)`` rows.
      shuffle_buffer: rows in each pipeline's shuffle buffer (0 = file order).
      seed: seed of the file order and shuffle.
      map_fn: applied to every batch ``{column: [batch] tensor}`` (e.g. to ``(features, label)``).

    Returns:
      A ``tf.distribute.DistributedDataset``; train with ``steps_per_epoch`` from :func:`steps_per_epoch`.

    Raises:
      DataFormatError: a shard does not match the manifest (wrong schema, truncated, row count).
    """
    manifest = _manifest(source)

    def make(input_context):
        per_replica = input_context.get_per_replica_batch_size(global_batch)
        ds = shard_dataset(manifest, columns, per_replica, shuffle_buffer=shuffle_buffer, seed=seed, repeat=True,
                           input_context=input_context, drop_remainder=True)
        return ds.map(map_fn) if map_fn is not None else ds

    return strategy.distribute_datasets_from_function(make)


def worker_files(strategy, source) -> list:
    """The shard files this worker's input pipeline reads (FILE sharding), as strings."""
    pipelines = _pipelines(strategy)
    index = _worker_index(strategy)
    return [str(p) for p in shard_files(_manifest(source), index, pipelines)]


def _pipelines(strategy) -> int:
    resolver = getattr(strategy, "cluster_resolver", None)
    spec = resolver.cluster_spec().as_dict() if resolver is not None else {}
    return max(1, len(spec.get("worker", [])) + len(spec.get("chief", [])))


def _worker_index(strategy) -> int:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return 0
    has_chief = bool(resolver.cluster_spec().as_dict().get("chief"))
    return resolver.task_id + (1 if has_chief and resolver.task_type == "worker" else 0)
