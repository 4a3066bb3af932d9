"""A leakage-free, streaming-friendly train / validation / test split of a ratings shard folder.

The split is a deterministic hash of each row's (user, item) pair and ``seed``
(:func:`split_codes`): ``test_ratio`` of the pairs are test rows, ``validation_ratio`` of the rest
validation rows (early stopping), the others fit rows. A row's side never depends on the file order,
the shard count or the batch it is read in, so a streamed reader can filter every batch on its own,
and every (user, item) pair, repeated or not, lies on one side only.

:func:`scan_split` makes one streaming pass over the shards (user, item and rating columns, one
batch at a time) and builds the *training vocabulary* from the training rows (fit + validation)
only: user and item indices 0..n-1 in raw-index order. Test rows whose user is not in it are
dropped from the evaluation and counted (``rows["test_unknown_user"]``); test rows of a known user
whose item is unknown stay as relevant items that can never be recommended (misses, as in
``tfrec.evaluation.EvaluationData``) and are counted (``rows["test_unknown_item"]``).

Example:
  >>> import numpy as np
  >>> codes = split_codes(np.arange(1000), np.zeros(1000, np.int32), seed=1, test_ratio=0.2,
  ...                     validation_ratio=0.1)
  >>> sorted(set(codes.tolist())) == [FIT, VAL, TEST]
  True
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Dict, Optional

import numpy as np

from tfrec.data.errors import DataFormatError
from tfrec.data.manifest import MANIFEST, Manifest, read_manifest
from tfrec.data.stream import Transform, iter_batches

__all__ = ["FIT", "VAL", "TEST", "ShardSplit", "scan_split", "split_codes"]

FIT, VAL, TEST = 0, 1, 2
_SPLITS = {"fit": (FIT,), "val": (VAL,), "train": (FIT, VAL), "test": (TEST,)}
COLUMNS = ("user", "item", "rating")


def split_codes(user: np.ndarray, item: np.ndarray, seed: int, test_ratio: float,
                validation_ratio: float) -> np.ndarray:
    """[n] int8 side of each (user, item) row: ``FIT`` (0), ``VAL`` (1) or ``TEST`` (2).

    A splitmix64 hash of ``(user << 32) ^ item`` and ``seed`` gives a uniform number h in [0, 1):
    ``h < test_ratio`` is a test row, ``h < test_ratio + validation_ratio * (1 - test_ratio)`` a
    validation row (``validation_ratio`` is a share of the training rows), the rest fit rows.

    Args:
      user, item: [n] non-negative integer ids (raw shard indices).
      seed: the split's seed.
      test_ratio, validation_ratio: in [0, 1).
    """
    with np.errstate(over="ignore"):
        x = (np.asarray(user).astype(np.uint64) << np.uint64(32)) ^ np.asarray(item).astype(np.uint64)
        x = x + np.uint64((int(seed) * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % (1 << 64))
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    h = (x >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    codes = np.full(h.shape, FIT, np.int8)
    codes[h < test_ratio + validation_ratio * (1.0 - test_ratio)] = VAL
    codes[h < test_ratio] = TEST
    return codes


@dataclasses.dataclass
class ShardSplit:
    """The split of a ratings shard folder and its training vocabulary (see the module docstring).

    Attributes:
      manifest: the checked manifest of the folder.
      seed, test_ratio, validation_ratio: the split's settings.
      min_rating: training rows rated below it are left out of fit/validation and the vocabulary
        (retrieval positives), or None.
      user_map: [max raw user index + 1] int32 training index of each raw index (-1: not in training).
      item_map: likewise for items.
      user_ids: [n_users] raw user ids of the training vocabulary (the manifest's vocabulary file
        line, or the raw index as text), in training-index order.
      item_ids: [n_items] likewise.
      item_counts: [n_items] training rows (fit + validation) of each item.
      rows: row counts: "fit", "val", "test" (rows of known users), "test_unknown_user",
        "test_unknown_item", "below_min_rating".
      fit_rating_mean: mean rating of the fit rows.
    """

    manifest: Manifest
    seed: int
    test_ratio: float
    validation_ratio: float
    min_rating: Optional[float]
    user_map: np.ndarray
    item_map: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray
    item_counts: np.ndarray
    rows: Dict[str, int]
    fit_rating_mean: float

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def describe(self) -> str:
        r = self.rows
        return (f"{self.manifest.folder}: hash split of (user, item) pairs, seed {self.seed}, test {self.test_ratio:g}, "
                f"validation {self.validation_ratio:g} of the rest: {r['fit']:,} fit / {r['val']:,} validation / "
                f"{r['test']:,} test rows ({r['test_unknown_user']:,} test rows of users unseen in training "
                f"dropped); {self.n_users:,} users, {self.n_items:,} items")

    def codes(self, batch: Dict[str, np.ndarray]) -> np.ndarray:
        """[n] side of each row of a raw batch (see :func:`split_codes`)."""
        return split_codes(batch["user"], batch["item"], self.seed, self.test_ratio, self.validation_ratio)

    def transform(self, split: str) -> Transform:
        """The rows of ``split`` ("fit", "val", "train" = fit + validation, "test") of a raw batch,
        ids mapped to training indices.

        Training splits keep rows whose user and item are in the vocabulary (all of them, by
        construction) and rated at least ``min_rating``; "test" keeps the rows of known users, with
        item -1 where the item is unknown.
        """
        if split not in _SPLITS:
            raise ValueError(f"split must be one of {', '.join(_SPLITS)}. Received: split={split!r}")
        wanted = _SPLITS[split]
        test = split == "test"

        def apply(batch: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
            codes = self.codes(batch)
            keep = np.isin(codes, wanted) if len(wanted) > 1 else codes == wanted[0]
            if not test and self.min_rating is not None:
                keep &= batch["rating"] >= self.min_rating
            user = _lookup(self.user_map, batch["user"][keep])
            item = _lookup(self.item_map, batch["item"][keep])
            known = user >= 0 if test else (user >= 0) & (item >= 0)
            out = {"user": user[known], "item": item[known]}
            for c, v in batch.items():
                if c not in out:
                    out[c] = v[keep][known]
            return out

        return apply


def _lookup(table: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """``table[raw]`` with -1 for raw indices outside the table (or negative)."""
    ok = (raw >= 0) & (raw < len(table))
    return np.where(ok, table[np.where(ok, raw, 0)], -1).astype(np.int32)


def _raw_ids(manifest: Manifest, column: str, present: np.ndarray) -> np.ndarray:
    """Raw ids of the raw indices ``present``: the manifest's vocabulary file lines, else the index as text."""
    rel = manifest.vocab.get(column)
    if not rel:
        return present.astype(str).astype(object)
    lines = (manifest.folder / rel).read_text().splitlines()
    if len(present) and present[-1] >= len(lines):
        raise DataFormatError(manifest.folder / rel, f"has {len(lines)} ids but the shards hold {column} index "
                                                     f"{int(present[-1])}")
    return np.asarray(lines, dtype=object)[present]


def _grow(counts: np.ndarray, values: np.ndarray, weights=None) -> np.ndarray:
    if values.size == 0:
        return counts
    add = np.bincount(values, weights=weights, minlength=len(counts))
    if len(add) > len(counts):
        counts = np.concatenate([counts, np.zeros(len(add) - len(counts), counts.dtype)])
    counts[: len(add)] += add.astype(counts.dtype)
    return counts


def scan_split(source, *, seed: int, test_ratio: float, validation_ratio: float,
               min_rating: Optional[float] = None, read_rows: int = 1 << 20,
               log: Optional[Callable[[str], None]] = None) -> ShardSplit:
    """One streaming pass over a ratings shard folder: the split's row counts and training vocabulary.

    Memory: one batch of ``read_rows`` rows plus counts per raw user and item index.

    Args:
      source: a shard folder (with ``manifest.json``) or a :class:`Manifest`.
      seed, test_ratio, validation_ratio: the split (see :func:`split_codes`).
      min_rating: leave training rows rated below it out (retrieval positives); None keeps all.
      read_rows: rows per read.
      log: function of one progress line, or None.

    Raises:
      DataFormatError: the folder is not a ratings shard folder (names ``manifest.json``), a shard
        does not match the manifest or lacks a column (names the shard), a negative id, or no
        training rows.
    """
    manifest = source if isinstance(source, Manifest) else read_manifest(source)
    where = manifest.folder / MANIFEST
    if manifest.kind != "ratings":
        raise DataFormatError(where, f"kind is {manifest.kind!r}; data.format shards trains on a ratings shard folder "
                                     "(columns user, item, rating), as `tfrec data convert` writes from a MovieLens "
                                     "folder or `tfrec data synth --like ml-25m`")
    missing = [c for c in COLUMNS if c not in manifest.schema]
    if missing:
        raise DataFormatError(where, f"has no column {missing[0]!r} (schema: "
                                     f"{', '.join(f'{k}:{v}' for k, v in manifest.schema.items())})")
    users = np.zeros(0, np.int64)
    items = np.zeros(0, np.int64)
    max_user = max_item = -1
    rows = {"fit": 0, "val": 0, "test": 0, "test_unknown_user": 0, "test_unknown_item": 0, "below_min_rating": 0}
    rating_sum, seen = 0.0, 0
    for batch in iter_batches(manifest, COLUMNS, read_rows):
        u, i = batch["user"].astype(np.int64), batch["item"].astype(np.int64)
        if u.size and min(u.min(), i.min()) < 0:
            raise DataFormatError(where, "holds a negative user or item index; ratings shards hold ids 0..n-1")
        if u.size:
            max_user, max_item = max(max_user, int(u.max())), max(max_item, int(i.max()))
        codes = split_codes(u, i, seed, test_ratio, validation_ratio)
        train = codes != TEST
        if min_rating is not None:
            low = train & (batch["rating"] < min_rating)
            rows["below_min_rating"] += int(low.sum())
            train &= ~low
        users, items = _grow(users, u[train]), _grow(items, i[train])
        fit = codes == FIT
        if min_rating is not None:
            fit &= batch["rating"] >= min_rating
        rows["fit"] += int(fit.sum())
        rows["val"] += int(train.sum() - fit.sum())
        rating_sum += float(batch["rating"][fit].astype(np.float64).sum())
        seen += len(u)
        if log and seen % (read_rows * 8) < len(u):
            log(f"split scan: {seen:,} rows read")
    if rows["fit"] == 0 or rows["val"] == 0:
        raise DataFormatError(where, f"the split (seed {seed}, test_ratio {test_ratio}, validation_ratio "
                                     f"{validation_ratio}, min_rating {min_rating}) leaves {rows['fit']} fit and "
                                     f"{rows['val']} validation rows; there is nothing to train on")
    users = np.concatenate([users, np.zeros(max_user + 1 - len(users), np.int64)])
    items = np.concatenate([items, np.zeros(max_item + 1 - len(items), np.int64)])
    present_u, present_i = np.flatnonzero(users), np.flatnonzero(items)
    user_map = np.full(len(users), -1, np.int32)
    user_map[present_u] = np.arange(len(present_u), dtype=np.int32)
    item_map = np.full(len(items), -1, np.int32)
    item_map[present_i] = np.arange(len(present_i), dtype=np.int32)
    split = ShardSplit(manifest, seed, test_ratio, validation_ratio, min_rating, user_map, item_map,
                       _raw_ids(manifest, "user", present_u), _raw_ids(manifest, "item", present_i),
                       items[present_i], rows, rating_sum / rows["fit"])
    # second look at the test rows only needs the maps: count unknown users / items
    for batch in iter_batches(manifest, ("user", "item"), read_rows):
        test = split.codes(batch) == TEST
        u = _lookup(user_map, batch["user"][test])
        i = _lookup(item_map, batch["item"][test])
        rows["test"] += int((u >= 0).sum())
        rows["test_unknown_user"] += int((u < 0).sum())
        rows["test_unknown_item"] += int(((u >= 0) & (i < 0)).sum())
    return split


def shard_folder(path) -> Path:
    """``path`` as a shard folder (a folder with ``manifest.json``), or a DataFormatError saying so."""
    path = Path(path)
    if not (path / MANIFEST).is_file():
        raise DataFormatError(path, f"data.format shards needs a shard folder with {MANIFEST} (written by `tfrec data "
                                    "convert` or `tfrec data synth`)")
    return path
