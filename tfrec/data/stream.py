"""Streaming input from a shard folder (:mod:`tfrec.data.manifest`): a ``tf.data`` pipeline that never
holds the dataset in memory.

:func:`shard_dataset` reads the shards of a manifest with ``interleave`` over files and ``prefetch``,
batches rows into dicts of column tensors, and splits the work between input pipelines (workers)
of a ``tf.distribute`` strategy:

* **FILE** sharding where there are at least as many shards as pipelines: pipeline i reads files
  i, i + n, ... (no file is read twice);
* **DATA** sharding otherwise: every pipeline reads every file and keeps every n-th batch.

Every shard is checked before any row is read: the manifest's byte sizes (a truncated or replaced
file), and for Parquet the file's own row count and column types against the manifest; a mismatch
raises :class:`~tfrec.data.errors.DataFormatError` naming the file and what differs.

Example:
  >>> from tfrec.data.stream import shard_dataset                                  # doctest: +SKIP
  >>> ds = shard_dataset("data/synth-1m", ["user", "item"], batch_size=1024)        # doctest: +SKIP
  >>> next(iter(ds))["user"].shape                                                 # doctest: +SKIP
  TensorShape([1024])
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np

from tfrec.data.errors import DataFormatError
from tfrec.data.manifest import Manifest, read_manifest

__all__ = ["check_shards", "iter_batches", "read_columns", "shard_dataset", "shard_files"]

#: a function of one read batch ``{column: [n] array}`` -> the batch to keep (same columns and dtypes,
#: any number of rows), applied before rows are shuffled and batched (e.g. a holdout filter)
Transform = Callable[[Dict[str, np.ndarray]], Dict[str, np.ndarray]]

_TF_DTYPES = {"int8": "int32", "int32": "int32", "int64": "int64", "float32": "float32", "float64": "float64"}


def _manifest(source: Union[str, Path, Manifest]) -> Manifest:
    return source if isinstance(source, Manifest) else read_manifest(source)


def check_shards(manifest: Manifest, columns: Optional[Sequence[str]] = None) -> None:
    """Checks every Parquet shard's row count and column types against the manifest (metadata only).

    Raises:
      DataFormatError: a shard with other columns, other types, or another row count (names the file).
    """
    unknown = [c for c in (columns or []) if c not in manifest.schema]
    if unknown:
        raise DataFormatError(manifest.folder / "manifest.json",
                              f"no column {unknown[0]!r}; the shards have {', '.join(manifest.schema)}")
    if manifest.file_format != "parquet":
        return
    import pyarrow.parquet as pq

    for shard, path in zip(manifest.shards, manifest.paths()):
        try:
            meta = pq.ParquetFile(path)
        except Exception as e:  # noqa: BLE001 - pyarrow raises several types for a damaged file
            raise DataFormatError(path, f"not a readable Parquet file ({e})") from e
        if meta.metadata.num_rows != shard.rows:
            raise DataFormatError(path, f"has {meta.metadata.num_rows} rows but the manifest lists {shard.rows}")
        schema = {f.name: f.type.to_pandas_dtype().__name__ for f in meta.schema_arrow}
        for name, dtype in manifest.schema.items():
            if name not in schema:
                raise DataFormatError(path, f"has no column {name!r} (manifest schema: "
                                            f"{', '.join(f'{k}:{v}' for k, v in manifest.schema.items())})")
            if schema[name] != dtype:
                raise DataFormatError(path, f"column {name!r} is {schema[name]} but the manifest says {dtype}")


def shard_files(manifest: Manifest, pipeline: int = 0, pipelines: int = 1) -> List[Path]:
    """The files pipeline ``pipeline`` of ``pipelines`` reads under FILE sharding (all files under DATA)."""
    paths = manifest.paths()
    if pipelines > 1 and len(paths) >= pipelines:
        return paths[pipeline::pipelines]
    return paths


def _parquet_batches(path: str, columns: List[str], rows: int) -> Iterator[Dict[str, np.ndarray]]:
    import pyarrow.parquet as pq

    # pre_buffer=False: pyarrow's default pre-buffers the whole file's column chunks (memory grows with the
    # file: ~3x more per reader at 1.25M-row shards); without it one row group at a time is read
    for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=rows, columns=columns):
        yield {c: batch.column(c).to_numpy(zero_copy_only=False) for c in columns}


def shard_dataset(source, columns: Sequence[str], batch_size: int, *, shuffle_buffer: int = 0, seed: int = 0,
                  repeat: bool = False, input_context=None, read_rows: int = 65_536, cycle_length: int = 4,
                  drop_remainder: bool = False, transform: Optional[Transform] = None, block_rows: int = 1):
    """A ``tf.data.Dataset`` of ``{column: [batch] tensor}`` batches streamed from the shards.

    Args:
      source: a shard folder (with ``manifest.json``) or a :class:`Manifest`.
      columns: the columns to read.
      batch_size: rows per batch (per pipeline).
      shuffle_buffer: rows in the shuffle buffer (0: file order; files are then read in order too).
      seed: seed of the file order and the shuffle.
      repeat: repeat forever (for ``steps_per_epoch`` training).
      input_context: a ``tf.distribute.InputContext`` (from ``distribute_datasets_from_function``) or
        None (one pipeline).
      read_rows: rows per read from a Parquet file.
      cycle_length: files read at once (``interleave``).
      drop_remainder: drop the last short batch.
      transform: a function applied to every read batch of ``read_rows`` rows (numpy, before the
        shuffle), returning the rows to keep with the same columns and dtypes; None = keep all.
      block_rows: Parquet: rows move through the shuffle buffer in blocks of this many (a read batch
        is first permuted when shuffling, so a block is a random sample of it) and blocks are cut
        into batches with ``rebatch``: no per-row work in ``tf.data`` (several times faster on a
        loaded CPU). 1 = single rows. Default 1.

    Raises:
      DataFormatError: a shard does not match the manifest (see :func:`check_shards`).
    """
    import tensorflow as tf

    manifest = _manifest(source)
    columns = list(columns)
    check_shards(manifest, columns)
    n = input_context.num_input_pipelines if input_context is not None else 1
    i = input_context.input_pipeline_id if input_context is not None else 0
    files = [str(p) for p in shard_files(manifest, i, n)]
    file_sharded = n > 1 and len(manifest.shards) >= n
    dtypes = {c: tf.as_dtype(_TF_DTYPES.get(manifest.schema[c], "string")) for c in columns}
    files_ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle_buffer:
        files_ds = files_ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if manifest.file_format == "parquet":
        signature = {c: tf.TensorSpec([None], dtypes[c]) for c in columns}

        passes = [0]

        @tf.autograph.experimental.do_not_convert
        def read(path):
            def batches(p):
                passes[0] += 1
                rng = np.random.default_rng([seed, passes[0]])
                for b in _parquet_batches(p.decode(), columns, read_rows):
                    b = {c: v.astype(dtypes[c].as_numpy_dtype, copy=False) for c, v in b.items()}
                    b = transform(b) if transform is not None else b
                    if block_rows == 1:
                        yield b
                        continue
                    if shuffle_buffer:
                        order = rng.permutation(len(b[columns[0]]))
                        b = {c: v[order] for c, v in b.items()}
                    for lo in range(0, len(b[columns[0]]), block_rows):
                        yield {c: v[lo:lo + block_rows] for c, v in b.items()}

            return tf.data.Dataset.from_generator(batches, output_signature=signature, args=(path,))

        rows = files_ds.interleave(read, cycle_length=cycle_length, num_parallel_calls=tf.data.AUTOTUNE,
                                   deterministic=not shuffle_buffer)
        if block_rows > 1:
            if shuffle_buffer:
                rows = rows.shuffle(max(1, shuffle_buffer // block_rows), seed=seed, reshuffle_each_iteration=True)
            if repeat:
                rows = rows.repeat()
            batches = rows.rebatch(batch_size, drop_remainder=drop_remainder)
            if n > 1 and not file_sharded:
                batches = batches.shard(n, i)
            return batches.prefetch(tf.data.AUTOTUNE)
        rows = rows.unbatch()
    elif manifest.file_format == "tfrecord":
        spec = {c: (tf.io.FixedLenFeature([], tf.string) if manifest.schema[c] == "float64"
                    else tf.io.FixedLenFeature([], tf.float32 if dtypes[c].is_floating else tf.int64)) for c in columns}

        def parse(serialized):
            parsed = tf.io.parse_example(serialized, spec)
            out = {}
            for c in columns:
                v = parsed[c]
                if manifest.schema[c] == "float64":
                    v = tf.reshape(tf.io.decode_raw(v, tf.float64), [-1])
                out[c] = tf.cast(v, dtypes[c])
            return out

        rows = files_ds.interleave(lambda p: tf.data.TFRecordDataset(p), cycle_length=cycle_length,
                                   num_parallel_calls=tf.data.AUTOTUNE, deterministic=not shuffle_buffer)
        rows = rows.batch(read_rows).map(parse, num_parallel_calls=tf.data.AUTOTUNE)
        if transform is not None:
            def apply(batch):
                out = tf.numpy_function(lambda *vs: tuple(transform(dict(zip(columns, vs)))[c] for c in columns),
                                        [batch[c] for c in columns], [dtypes[c] for c in columns], stateful=False)
                return {c: tf.ensure_shape(v, [None]) for c, v in zip(columns, out)}

            rows = rows.map(apply)
        rows = rows.unbatch()
    else:
        raise DataFormatError(manifest.folder / "manifest.json",
                              f"file_format {manifest.file_format!r} cannot be streamed; convert to parquet or tfrecord")
    if shuffle_buffer:
        rows = rows.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        rows = rows.repeat()
    batches = rows.batch(batch_size, drop_remainder=drop_remainder)
    if n > 1 and not file_sharded:
        batches = batches.shard(n, i)
    return batches.prefetch(tf.data.AUTOTUNE)


def iter_batches(source, columns: Sequence[str], rows: int = 1 << 20) -> Iterator[Dict[str, np.ndarray]]:
    """Every row of ``columns`` as numpy batches of up to ``rows`` rows, shard by shard, in file order.

    Memory: one batch at a time. Parquet shards are read directly; TFRecord shards through
    :func:`shard_dataset`.

    Raises:
      DataFormatError: a shard does not match the manifest (see :func:`check_shards`).
    """
    manifest = _manifest(source)
    columns = list(columns)
    check_shards(manifest, columns)
    if manifest.file_format != "parquet":
        for batch in shard_dataset(manifest, columns, batch_size=rows, cycle_length=1):
            yield {c: batch[c].numpy() for c in columns}
        return
    for path in manifest.paths():
        for batch in _parquet_batches(str(path), columns, rows):
            yield {c: v.astype(np.dtype(manifest.schema[c]), copy=False) for c, v in batch.items()}


def read_columns(source, columns: Sequence[str]) -> Dict[str, np.ndarray]:
    """All rows of ``columns`` as compact numpy arrays (the manifest's dtypes), shard by shard.

    Memory: the arrays themselves (e.g. 25M int32 user and item ids = 200 MB), no per-row objects.
    """
    manifest = _manifest(source)
    columns = list(columns)
    if manifest.file_format != "parquet":
        parts: Dict[str, list] = {c: [] for c in columns}
        for batch in iter_batches(manifest, columns, 1 << 16):
            for c in columns:
                parts[c].append(batch[c])
        return {c: np.concatenate(v) if v else np.empty(0) for c, v in parts.items()}
    out = {c: np.empty(manifest.rows, dtype=np.dtype(manifest.schema[c])) for c in columns}
    at = 0
    for batch in iter_batches(manifest, columns):
        n = len(batch[columns[0]])
        for c in columns:
            out[c][at:at + n] = batch[c]
        at += n
    return out
