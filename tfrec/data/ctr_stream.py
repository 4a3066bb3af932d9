"""CTR shard folders (``tfrec data synth --like criteo``, ``tfrec data convert`` of a Criteo file) with flat memory.

:func:`numeric_normalizers` fits one :class:`~tfrec.data.preprocessing.Normalizer` per numeric column
in one streaming pass over the (training) shards: float64 running count, sum and sum of squares of the
finite transformed values, so memory does not grow with the rows. :func:`ctr_dataset` streams
``(features, label)`` batches through :func:`tfrec.data.stream.shard_dataset` with those normalizers
applied in the ``tf.data`` graph (NaN -> the normalizer's ``missing_value``).

Statistics come from the folder they are given: pass the training folder only (the test rows are a
separate folder, e.g. synthesized with another seed).

Example:
  >>> norms = numeric_normalizers("data/criteo-train", [f"I{j}" for j in range(1, 14)])   # doctest: +SKIP
  >>> ds = ctr_dataset("data/criteo-train", norms, [f"C{j}" for j in range(1, 27)], 4096)  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Sequence, Union

import numpy as np

from tfrec.data.errors import DataFormatError
from tfrec.data.manifest import Manifest, read_manifest
from tfrec.data.preprocessing import Normalizer
from tfrec.data.stream import check_shards, shard_dataset

__all__ = ["ctr_dataset", "numeric_normalizers"]


def _manifest(source: Union[str, Path, Manifest]) -> Manifest:
    return source if isinstance(source, Manifest) else read_manifest(source)


def numeric_normalizers(source, columns: Sequence[str], log1p: bool = True,
                        read_rows: int = 1 << 20) -> Dict[str, Normalizer]:
    """One streaming pass: a Normalizer per numeric column, equal to ``Normalizer.fit`` on the whole column.

    Args:
      source: a Parquet shard folder (with ``manifest.json``) or a :class:`Manifest`: the training rows.
      columns: numeric columns, e.g. ``I1..I13``.
      log1p: standardize ``sign(x) * log1p(|x|)`` (heavy-tailed counts). Default True.
      read_rows: rows per Parquet read (memory: ``read_rows x len(columns)`` values). Default 1M.

    Returns:
      ``{column: Normalizer}`` (population std; a constant column gets std 1).

    Raises:
      DataFormatError: not Parquet, a shard that does not match the manifest, or a column with no
        finite value (names the folder and column).
    """
    import pyarrow.parquet as pq

    manifest = _manifest(source)
    columns = list(columns)
    check_shards(manifest, columns)
    if manifest.file_format != "parquet":
        raise DataFormatError(manifest.folder / "manifest.json",
                              f"numeric statistics need Parquet shards, got {manifest.file_format!r}")
    count = np.zeros(len(columns))
    total = np.zeros(len(columns))
    squares = np.zeros(len(columns))
    shift = np.full(len(columns), np.nan)  # first finite value per column: sums of (t - shift) stay accurate
    for path in manifest.paths():
        for batch in pq.ParquetFile(path).iter_batches(batch_size=read_rows, columns=columns):
            for j, c in enumerate(columns):
                x = batch.column(c).to_numpy(zero_copy_only=False).astype(np.float64)
                x = x[np.isfinite(x)]
                if not x.size:
                    continue
                t = np.sign(x) * np.log1p(np.abs(x)) if log1p else x
                if np.isnan(shift[j]):
                    shift[j] = t[0]
                d = t - shift[j]
                count[j] += d.size
                total[j] += d.sum()
                squares[j] += np.dot(d, d)
    out = {}
    for j, c in enumerate(columns):
        if count[j] == 0:
            raise DataFormatError(manifest.folder, f"numeric column {c!r} has no finite value in {manifest.rows} rows")
        mean_d = total[j] / count[j]
        std = float(np.sqrt(max(squares[j] / count[j] - mean_d ** 2, 0.0)))
        out[c] = Normalizer(mean=float(shift[j] + mean_d), std=std if std > 0 else 1.0, log1p=log1p)
    return out


def ctr_dataset(source, normalizers: Dict[str, Normalizer], categorical: Sequence[str], batch_size: int, *,
                label: str = "label", shuffle_buffer: int = 0, seed: int = 0, repeat: bool = False,
                drop_remainder: bool = False, input_context=None):
    """``(features, label)`` batches streamed from a CTR shard folder.

    Args:
      source: a shard folder or a :class:`Manifest`.
      normalizers: ``{numeric column: Normalizer}`` (from :func:`numeric_normalizers` on the training folder).
      categorical: categorical id columns (int32 ids ``0..cardinality-1``), passed through.
      batch_size: rows per batch (per input pipeline).
      label: the label column (0/1). Default "label".
      shuffle_buffer, seed, repeat, drop_remainder, input_context: as :func:`shard_dataset`.

    Returns:
      A dataset of ``({"numeric": [batch, n_numeric] float32, <categorical>: [batch] int32}, [batch] float32)``.

    Raises:
      DataFormatError: a shard does not match the manifest, or a column the manifest lacks.
    """
    import tensorflow as tf

    manifest = _manifest(source)
    numeric, categorical = list(normalizers), list(categorical)
    missing = [c for c in [label, *numeric, *categorical] if c not in manifest.schema]
    if missing:
        raise DataFormatError(manifest.folder / "manifest.json",
                              f"columns {missing} are not in the shards' schema {sorted(manifest.schema)}")
    norms = [normalizers[c] for c in numeric]
    mean = tf.constant([n.mean for n in norms], tf.float32)
    std = tf.constant([n.std for n in norms], tf.float32)
    fill = tf.constant([n.missing_value for n in norms], tf.float32)
    logs = tf.constant([n.log1p for n in norms])
    ds = shard_dataset(manifest, [label, *numeric, *categorical], batch_size, shuffle_buffer=shuffle_buffer,
                       seed=seed, repeat=repeat, drop_remainder=drop_remainder, input_context=input_context)

    def encode(batch):
        x = tf.stack([tf.cast(batch[c], tf.float32) for c in numeric], axis=1)
        t = tf.where(logs, tf.sign(x) * tf.math.log1p(tf.abs(x)), x)
        z = tf.where(tf.math.is_finite(x), (t - mean) / std, fill)
        features = {"numeric": z, **{c: tf.cast(batch[c], tf.int32) for c in categorical}}
        return features, tf.cast(batch[label], tf.float32)

    return ds.map(encode, num_parallel_calls=tf.data.AUTOTUNE)
