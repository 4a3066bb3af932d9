"""CTR shard folders (``tfrec data synth --like criteo``, ``tfrec data convert`` of a Criteo file) with flat memory.

:func:`numeric_normalizers` fits one :class:`~tfrec.data.preprocessing.Normalizer` per numeric column
in one streaming pass over the (training) shards: float64 running count, sum and sum of squares of the
finite transformed values, so memory does not grow with the rows. :func:`ctr_dataset` streams
``(features, label)`` batches through :func:`tfrec.data.stream.shard_dataset` with those normalizers
applied in the ``tf.data`` graph (NaN -> the normalizer's ``missing_value``).

Statistics come from the folder they are given: pass the training folder only (the test rows are a
separate folder, e.g. synthesized with another seed).

:func:`scan_ctr_split` is the split of one folder instead (``data.format: shards`` with the CTR
families): a seeded hash of each row's categorical ids puts it in the fit, validation or test rows,
and one streaming pass counts them and computes the numeric statistics of the fit rows exactly as
``FeatureLayer.adapt`` would (:class:`CTRShardSplit`; ``transform_for`` filters read batches).

Example:
  >>> norms = numeric_normalizers("data/criteo-train", [f"I{j}" for j in range(1, 14)])   # doctest: +SKIP
  >>> ds = ctr_dataset("data/criteo-train", norms, [f"C{j}" for j in range(1, 27)], 4096)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from tfrec.data.errors import DataFormatError
from tfrec.data.manifest import Manifest, read_manifest
from tfrec.data.preprocessing import Normalizer
from tfrec.data.stream import check_shards, iter_batches, shard_dataset

__all__ = ["CTRShardSplit", "ctr_columns", "ctr_dataset", "numeric_normalizers", "scan_ctr_split"]


def _manifest(source: Union[str, Path, Manifest]) -> Manifest:
    return source if isinstance(source, Manifest) else read_manifest(source)


class _Moments:
    """Streaming count, mean and population std per column, shifted by each column's first finite value
    (sums of ``t - shift`` stay accurate where the mean is far from zero)."""

    def __init__(self, columns: int):
        self.count, self.total, self.squares = np.zeros(columns), np.zeros(columns), np.zeros(columns)
        self.shift = np.full(columns, np.nan)

    def add(self, j: int, t: np.ndarray) -> None:
        """Adds the finite values of ``t`` (float64) to column ``j``."""
        t = t[np.isfinite(t)]
        if not t.size:
            return
        if np.isnan(self.shift[j]):
            self.shift[j] = t[0]
        d = t - self.shift[j]
        self.count[j] += d.size
        self.total[j] += d.sum()
        self.squares[j] += np.dot(d, d)

    def mean_std(self, j: int) -> Optional[Tuple[float, float]]:
        """(mean, std; a constant column gets std 1) of column ``j``, or None when it had no finite value."""
        if self.count[j] == 0:
            return None
        mean_d = self.total[j] / self.count[j]
        std = float(np.sqrt(max(self.squares[j] / self.count[j] - mean_d ** 2, 0.0)))
        return float(self.shift[j] + mean_d), (std if std > 0 else 1.0)


def numeric_normalizers(source, columns: Sequence[str], log1p: bool = True,
                        read_rows: int = 1 << 16) -> Dict[str, Normalizer]:
    """One streaming pass: a Normalizer per numeric column, equal to ``Normalizer.fit`` on the whole column.

    Args:
      source: a Parquet shard folder (with ``manifest.json``) or a :class:`Manifest`: the training rows.
      columns: numeric columns, e.g. ``I1..I13``.
      log1p: standardize ``sign(x) * log1p(|x|)`` (heavy-tailed counts). Default True.
      read_rows: rows per Parquet read (memory: ``read_rows x len(columns)`` values). Default 65,536 (one
        row group of the shards tfrec writes).

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
    moments = _Moments(len(columns))
    for path in manifest.paths():
        for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=read_rows, columns=columns):
            for j, c in enumerate(columns):
                x = batch.column(c).to_numpy(zero_copy_only=False).astype(np.float64)
                moments.add(j, np.sign(x) * np.log1p(np.abs(x)) if log1p else x)
    out = {}
    for j, c in enumerate(columns):
        stats = moments.mean_std(j)
        if stats is None:
            raise DataFormatError(manifest.folder, f"numeric column {c!r} has no finite value in {manifest.rows} rows")
        out[c] = Normalizer(mean=stats[0], std=stats[1], log1p=log1p)
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


# -- a hash split of a CTR shard folder (``data.format: shards`` for the CTR families) ----------------------

_FNV = np.uint64(0x100000001B3)


def _unit_hash(batch: Dict[str, np.ndarray], columns: Sequence[str], seed: int) -> np.ndarray:
    """[n] floats in [0, 1): a seeded 64-bit hash of each row's values of ``columns`` (integer columns).

    Rows with the same values get the same number, so duplicate rows never straddle the split.
    """
    n = len(batch[columns[0]])
    h = np.full(n, np.uint64((seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % (1 << 64)))
    with np.errstate(over="ignore"):
        for c in columns:
            h ^= batch[c].astype(np.int64).view(np.uint64)
            h *= _FNV
        for shift, mult in ((33, 0xFF51AFD7ED558CCD), (33, 0xC4CEB9FE1A85EC53)):  # splitmix / murmur finalizer
            h ^= h >> np.uint64(shift)
            h *= np.uint64(mult)
        h ^= h >> np.uint64(33)
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _numeric_transform(x: np.ndarray, transform: str) -> np.ndarray:
    """``FeatureLayer``'s numeric transform: ``log1p(max(x, 0))`` for "log", ``x`` for "normalize"."""
    return np.log1p(np.maximum(x, 0.0)) if transform == "log" else x


@dataclass
class CTRShardSplit:
    """The hash split of a CTR shard folder and the training rows' statistics (:func:`scan_ctr_split`).

    Attributes:
      manifest: the folder's :class:`Manifest` (kind "ctr").
      label, numeric, categorical: the label column, numeric and categorical (integer id) columns.
      seed, test_ratio, validation_ratio: the split: a row whose hash ``u`` (a seeded hash of its
        categorical ids, in [0, 1)) is below ``test_ratio`` is a test row, below ``test_ratio +
        validation_ratio`` a validation row, else a fit row.
      rows: {"fit", "val", "test"} row counts.
      fit_ctr: mean label of the fit rows.
      numeric_state: {column: {"mean", "std"}} of the transformed numeric values of the fit rows (NaN
        ignored; population std, 1.0 when 0): ``FeatureLayer.adapt``'s statistics, in one streaming pass.
      transform: the numeric transform the statistics are of ("log" or "normalize").
    """

    manifest: Manifest
    label: str
    numeric: List[str]
    categorical: List[str]
    seed: int
    test_ratio: float
    validation_ratio: float
    rows: Dict[str, int]
    fit_ctr: float
    numeric_state: Dict[str, Dict[str, float]]
    transform: str

    @property
    def columns(self) -> List[str]:
        """label, numeric, categorical columns (the order the streams read)."""
        return [self.label, *self.numeric, *self.categorical]

    def codes(self, batch: Dict[str, np.ndarray]) -> np.ndarray:
        """[n] int8 split of each row of ``batch``: 0 fit, 1 validation, 2 test."""
        u = _unit_hash(batch, self.categorical, self.seed)
        return np.where(u < self.test_ratio, 2, np.where(u < self.test_ratio + self.validation_ratio, 1, 0)).astype(np.int8)

    def transform_for(self, split: str):
        """A ``shard_dataset`` transform keeping the rows of ``split`` ("fit", "val", "test")."""
        code = {"fit": 0, "val": 1, "test": 2}[split]

        def keep(batch: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
            mask = self.codes(batch) == code
            return {c: v[mask] for c, v in batch.items()}

        return keep

    def describe(self) -> str:
        r = self.rows
        return (f"{self.manifest.folder}: {self.manifest.rows:,} CTR rows in {len(self.manifest.shards)} shards, hash "
                f"split (seed {self.seed}) {r['fit']:,} fit / {r['val']:,} validation / {r['test']:,} test rows; "
                f"{len(self.numeric)} numeric, {len(self.categorical)} categorical id columns; fit CTR {self.fit_ctr:.4f}")


def ctr_columns(manifest: Manifest, label: str = "label", numeric: Optional[Sequence[str]] = None,
                categorical: Optional[Sequence[str]] = None) -> Tuple[List[str], List[str]]:
    """(numeric, categorical) columns of a CTR shard folder: those given, else float columns and the
    integer columns other than ``label`` (in schema order).

    Raises:
      DataFormatError: not a CTR folder, no ``label`` column, a categorical column that is not integer or
        has no cardinality in the manifest (ids must be ``0..cardinality-1``).
    """
    where = manifest.folder / "manifest.json"
    if manifest.kind != "ctr":
        raise DataFormatError(where, f"holds {manifest.kind!r} rows; the CTR families need a CTR shard folder "
                                     "(tfrec data synth --like criteo, tfrec data convert of a Criteo file)")
    if label not in manifest.schema:
        raise DataFormatError(where, f"has no label column {label!r}; columns: {', '.join(manifest.schema)}")
    others = [c for c in manifest.schema if c != label]
    numeric = list(numeric) if numeric is not None else [c for c in others if manifest.schema[c].startswith("float")]
    categorical = (list(categorical) if categorical is not None
                   else [c for c in others if manifest.schema[c].startswith("int")])
    for c in [*numeric, *categorical]:
        if c not in manifest.schema:
            raise DataFormatError(where, f"has no column {c!r}; columns: {', '.join(manifest.schema)}")
    for c in categorical:
        if not manifest.schema[c].startswith("int"):
            raise DataFormatError(where, f"categorical column {c!r} is {manifest.schema[c]}, not integer ids "
                                         "(convert the table with tfrec data convert, which maps values to ids)")
        if c not in manifest.cardinality:
            raise DataFormatError(where, f"gives no cardinality for categorical column {c!r}: the embedding "
                                         "table size is read from the manifest's 'cardinality'")
    if not categorical:
        raise DataFormatError(where, "has no categorical id column; the split hashes the categorical ids")
    return numeric, categorical


def scan_ctr_split(source, *, seed: int, test_ratio: float, validation_ratio: float, label: str = "label",
                   numeric: Optional[Sequence[str]] = None, categorical: Optional[Sequence[str]] = None,
                   transform: str = "log", read_rows: int = 1 << 16, log=None) -> CTRShardSplit:
    """One streaming pass over a CTR shard folder: the hash split's row counts, the fit rows' CTR and
    numeric statistics (memory: one read batch).

    Args:
      source: a CTR shard folder (with ``manifest.json``) or its :class:`Manifest`.
      seed, test_ratio, validation_ratio: the split (see :class:`CTRShardSplit`).
      label, numeric, categorical: columns (see :func:`ctr_columns`).
      transform: numeric transform of the statistics, "log" or "normalize" (the feature spec's).
      read_rows: rows per Parquet read (memory: about read_rows x 40 values). Default 65,536.
      log: function of one progress line, or None.

    Raises:
      DataFormatError: see :func:`ctr_columns` and :func:`check_shards`; no fit or no test row.
      ValueError: an unknown transform.
    """
    if transform not in ("log", "normalize"):
        raise ValueError(f"transform must be 'log' or 'normalize' on CTR shards, got {transform!r} (quantile buckets "
                         "need a sort of the training rows)")
    manifest = _manifest(source)
    numeric, categorical = ctr_columns(manifest, label, numeric, categorical)
    split = CTRShardSplit(manifest, label, numeric, categorical, seed, test_ratio, validation_ratio,
                          {"fit": 0, "val": 0, "test": 0}, 0.0, {}, transform)
    moments = _Moments(len(numeric))
    clicks = 0.0
    for i, batch in enumerate(iter_batches(manifest, split.columns, read_rows)):
        codes = split.codes(batch)
        for name, code in (("fit", 0), ("val", 1), ("test", 2)):
            split.rows[name] += int(np.count_nonzero(codes == code))
        fit = codes == 0
        clicks += float(batch[label][fit].astype(np.float64).sum())
        for j, c in enumerate(numeric):
            moments.add(j, _numeric_transform(batch[c][fit].astype(np.float64), transform))
        if log and (i + 1) % 64 == 0:
            log(f"split scan: {sum(split.rows.values()):,} of {manifest.rows:,} rows")
    if not split.rows["fit"] or not split.rows["test"]:
        raise DataFormatError(manifest.folder, f"the hash split leaves {split.rows['fit']} fit and {split.rows['test']} "
                                               f"test rows of {manifest.rows}; the folder needs more rows")
    split.fit_ctr = clicks / split.rows["fit"]
    for j, c in enumerate(numeric):
        mean, std = moments.mean_std(j) or (0.0, 1.0)
        split.numeric_state[c] = {"mean": mean, "std": std}
    return split
