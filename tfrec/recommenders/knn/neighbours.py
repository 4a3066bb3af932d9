"""The k most similar neighbours of each prediction, aggregated without a per-user Python loop.

A prediction for the pair ``(x, y)`` (user-based: ``x`` a user, ``y`` an item; item-based the
other way round) looks at the objects ``x2`` that rated ``y`` in training, keeps those with
``sim(x, x2) > threshold``, takes the ``k`` most similar of them and sums ``sim`` and
``sim * dev`` over them, where ``dev`` is the neighbour's rating term of the prediction rule. Ties
are broken by the neighbour's position in the training data (the earlier first), which is the order
Surprise's ``heapq.nlargest`` keeps.

All pairs' candidate lists are laid out flat in chunks; lists longer than ``k`` are cut with one
partition per group of similar length (the k-th largest similarity of each list, on a padded
matrix), so the work is a few NumPy calls per chunk and group.
"""

from __future__ import annotations

import dataclasses
from typing import Tuple

import numpy as np


__all__ = ["Candidates", "neighbour_sums"]

#: candidate entries handled at once: the flat arrays stay at a few MB, reused from the heap (fresh large
#: arrays would each be faulted in page by page)
_CHUNK_ENTRIES = 1 << 19


@dataclasses.dataclass(frozen=True)
class Candidates:
    """The training ratings grouped by ``y``: row ``y`` lists the ``x2`` that rated it, in data order.

    Attributes:
      indptr: [n_y + 1] int64 row starts.
      neighbour: [n_ratings] int x indices.
      dev: [n_ratings] float64 the rating term each entry contributes (e.g. ``r - mean(x2)``).
    """

    indptr: np.ndarray
    neighbour: np.ndarray
    dev: np.ndarray

    @classmethod
    def build(cls, x: np.ndarray, y: np.ndarray, dev: np.ndarray, n_y: int) -> "Candidates":
        """Groups the ratings ``(x[j], y[j])`` with terms ``dev[j]`` by ``y``, keeping data order within a row."""
        order = np.argsort(y, kind="stable")
        indptr = np.concatenate([[0], np.cumsum(np.bincount(y, minlength=n_y))]).astype(np.int64)
        return cls(indptr, np.asarray(x)[order], np.asarray(dev, np.float64)[order])


def _kth_largest(s: np.ndarray, starts: np.ndarray, lens: np.ndarray, k: int) -> np.ndarray:
    """The ``k``-th largest value of each segment (``-inf`` where a segment has at most ``k`` entries)."""
    kth = np.full(len(lens), -np.inf)
    long = np.flatnonzero(lens > k)
    if len(long) == 0:
        return kth
    # groups of segments whose lengths share a power of two: padding at most doubles the work
    bucket = np.floor(np.log2(lens[long])).astype(np.int64)
    for b in np.unique(bucket):
        segs = long[bucket == b]
        seg_lens = lens[segs]
        width = int(seg_lens.max())
        rows = np.repeat(np.arange(len(segs)), seg_lens)
        cols = np.arange(seg_lens.sum()) - np.repeat(np.cumsum(seg_lens) - seg_lens, seg_lens)
        padded = np.full((len(segs), width), -np.inf)
        padded[rows, cols] = s[np.repeat(starts[segs], seg_lens) + cols]
        kth[segs] = np.partition(padded, width - k, axis=1)[:, width - k]
    return kth


def _keep_top_k(seg: np.ndarray, s: np.ndarray, starts: np.ndarray, lens: np.ndarray, k: int) -> np.ndarray:
    """Mask of the entries among the ``k`` largest finite ``s`` of their segment; earlier entries win ties.

    Segments are contiguous (``seg`` sorted, segment ``j`` at ``starts[j]:starts[j] + lens[j]``).
    """
    kth = _kth_largest(s, starts, lens, k)[seg]
    above = s > kth
    tied = (s == kth) & np.isfinite(s)
    need = k - np.bincount(seg, weights=above, minlength=len(lens))
    ties_so_far = np.cumsum(tied)
    before = np.concatenate([[0], ties_so_far])[starts]  # ties in earlier segments
    return above | (tied & (ties_so_far - before[seg] <= need[seg]))


def neighbour_sums(sim: np.ndarray, cand: Candidates, x: np.ndarray, y: np.ndarray, k: int,
                   threshold: float = 0.0) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sums over the ``k`` nearest usable neighbours of each pair ``(x[p], y[p])``.

    Args:
      sim: [n_x, n_x] similarities.
      cand: the training ratings grouped by ``y``.
      x, y: [n] int indices of the pairs (known in training).
      k: most neighbours per pair.
      threshold: a neighbour needs ``sim > threshold``. Default 0.0.

    Returns:
      (num, den, count): [n] float64 ``sum sim * dev``, [n] float64 ``sum sim``, [n] int number of
      neighbours used.
    """
    n = len(x)
    num, den, count = np.zeros(n), np.zeros(n), np.zeros(n, np.int64)
    order = np.argsort(x, kind="stable")  # pairs of one x read one row of sim: cache friendly
    x, y = np.asarray(x)[order], np.asarray(y)[order]
    lengths = cand.indptr[y + 1] - cand.indptr[y]
    ends = np.cumsum(lengths)
    start = 0
    while start < n:
        stop = max(int(np.searchsorted(ends, ends[start] - lengths[start] + _CHUNK_ENTRIES, "right")), start + 1)
        m, lens = stop - start, lengths[start:stop]
        starts = np.cumsum(lens) - lens
        seg = np.repeat(np.arange(m), lens)
        pos = np.repeat(cand.indptr[y[start:stop]] - starts, lens) + np.arange(lens.sum())
        s = sim[np.repeat(x[start:stop], lens), cand.neighbour[pos]]
        s = np.where(s > threshold, s, -np.inf)
        keep = _keep_top_k(seg, s, starts, lens, k)
        w = np.where(keep, s, 0.0)
        num[order[start:stop]] = np.bincount(seg, weights=w * cand.dev[pos], minlength=m)
        den[order[start:stop]] = np.bincount(seg, weights=w, minlength=m)
        count[order[start:stop]] = np.bincount(seg, weights=keep, minlength=m).astype(np.int64)
        start = stop
    return num, den, count
