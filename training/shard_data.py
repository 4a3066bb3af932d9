"""Run data of ``data.format: shards``: a ratings shard folder, split and indexed without a frame of all rows.

:func:`prepare_shards` reads the manifest and makes one streaming pass (``tfrec.data.holdout``:
the hash split and the training vocabulary); nothing per row is kept. Training rows then come

* streamed (``data.stream: true``): :func:`split_dataset` reads the shards through
  ``tfrec.data.stream.shard_dataset`` every epoch, keeping each read batch's rows of the split
  (ids mapped to training indices) before shuffling and batching; or
* in memory (``data.stream: false``): :func:`split_arrays` reads the split's rows once into compact
  int32 / float32 arrays (12 bytes per row), in the same order.

:func:`evaluation_arrays` gives the final evaluation its sparse matrices (training items per user
to exclude, relevant test items) from one more pass.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np
import scipy.sparse as sp

from tfrec.config import RunConfig
from tfrec.data.holdout import COLUMNS, ShardSplit, scan_split, shard_folder
from tfrec.data.stream import iter_batches, shard_dataset

__all__ = ["EvalArrays", "ShardRunData", "evaluation_arrays", "prepare_shards", "split_arrays", "split_dataset"]


@dataclasses.dataclass
class ShardRunData:
    """The data of a shard run.

    Attributes:
      path: the shard folder.
      split: the :class:`~tfrec.data.holdout.ShardSplit` (vocabulary, row counts, transforms).
      stream: stream the rows every epoch (else compact arrays in memory).
      extra: family-specific data (e.g. encoded-id tables).
    """

    path: Path
    split: ShardSplit
    stream: bool
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return self.split.n_users

    @property
    def n_items(self) -> int:
        return self.split.n_items


def prepare_shards(config: RunConfig, log=None) -> ShardRunData:
    """The split and training vocabulary of ``data.path`` (a ratings shard folder; see the module docstring).

    Raises:
      DataFormatError: not a shard folder, not ratings, a shard that does not match its manifest.
    """
    d = config.data
    folder = shard_folder(Path(d.path or d.dataset).expanduser())
    split = scan_split(folder, seed=d.seed, test_ratio=d.test_ratio, validation_ratio=d.validation_ratio,
                       min_rating=d.min_rating, log=log)
    return ShardRunData(folder, split, d.stream)


def split_dataset(run: ShardRunData, split: str, batch_size: int, *, shuffle_buffer: int = 0, seed: int = 0,
                  repeat: bool = False, drop_remainder: bool = False, read_rows: int = 65_536):
    """``tf.data`` of ``{"user", "item", "rating"}`` batches of the rows of ``split`` ("fit", "val", "test").

    Ids are training indices. Without shuffling the files are read one at a time, in order (the
    order of :func:`split_arrays`); with it, four files at a time in a shuffled order, each read
    batch permuted, and blocks of 256 rows through a ``shuffle_buffer``-row buffer
    (``shard_dataset``'s ``block_rows``: no per-row work in ``tf.data``).
    """
    return shard_dataset(run.split.manifest, COLUMNS, batch_size, shuffle_buffer=shuffle_buffer, seed=seed,
                         repeat=repeat, read_rows=read_rows, cycle_length=4 if shuffle_buffer else 1,
                         drop_remainder=drop_remainder, transform=run.split.transform(split), block_rows=256)


def split_arrays(run: ShardRunData, split: str) -> Dict[str, np.ndarray]:
    """The rows of ``split`` as compact arrays: user, item int32 (training indices), rating float32."""
    keep = run.split.transform(split)
    parts = [keep(b) for b in iter_batches(run.split.manifest, COLUMNS)]
    return {c: np.concatenate([p[c] for p in parts]) for c in COLUMNS}


@dataclasses.dataclass
class EvalArrays:
    """What the final evaluation of a shard run needs (training data only, except ``relevant`` and the test rows).

    Attributes:
      seen: [n_users, n_items] bool CSR of training (fit + validation) items per user.
      relevant: [n_users, n_items] float32 CSR of relevant test items (rated at least the threshold).
      num_relevant: [n_users] relevant test rows per user (items unknown to training included).
      test: test rows of known users: user, item (-1 = unknown item), rating.
    """

    seen: sp.csr_matrix
    relevant: sp.csr_matrix
    num_relevant: np.ndarray
    test: Dict[str, np.ndarray]


def evaluation_arrays(run: ShardRunData, relevance_threshold: Optional[float] = None) -> EvalArrays:
    """One pass over the shards: the training items of each user and the relevant test items.

    Memory: 8 bytes per training row (two int32 index arrays while the CSR matrix is built) plus
    the CSR matrix (5 bytes per row).
    """
    train_keep, test_keep = run.split.transform("train"), run.split.transform("test")
    users, items, tests = [], [], []
    for batch in iter_batches(run.split.manifest, COLUMNS):
        t = train_keep(batch)
        users.append(t["user"])
        items.append(t["item"])
        tests.append(test_keep(batch))
    shape = (run.n_users, run.n_items)
    u, i = np.concatenate(users), np.concatenate(items)
    del users, items
    seen = sp.csr_matrix((np.ones(len(u), bool), (u, i)), shape=shape)
    seen.sum_duplicates()
    seen.data[:] = True
    del u, i
    test = {c: np.concatenate([p[c] for p in tests]) for c in COLUMNS}
    rel = np.ones(len(test["user"]), bool)
    if relevance_threshold is not None:
        rel &= test["rating"] >= relevance_threshold
    num_relevant = np.bincount(test["user"][rel], minlength=run.n_users)
    known = rel & (test["item"] >= 0)
    relevant = sp.csr_matrix((np.ones(int(known.sum()), np.float32), (test["user"][known], test["item"][known])),
                             shape=shape)
    relevant.data[:] = 1.0
    return EvalArrays(seen, relevant, num_relevant, test)


def ids_frame_columns(run: ShardRunData) -> Tuple[np.ndarray, np.ndarray]:
    """(user ids, item ids) of the training vocabulary as str arrays (feature-layer vocabularies)."""
    return run.split.user_ids.astype(str), run.split.item_ids.astype(str)
