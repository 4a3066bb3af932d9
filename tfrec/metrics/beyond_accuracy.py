"""Beyond-accuracy metrics of top-N lists: coverage, diversity, novelty, churn (vectorized NumPy).

``recommended`` is always an [n_users, k] int array of item indices, best first, with ``-1``
padding lists shorter than k; padding is ignored everywhere.

Example:
  >>> import numpy as np
  >>> from tfrec import metrics
  >>> recs = np.array([[0, 1], [1, 2]])
  >>> metrics.catalog_coverage(recs, n_items=4)  # items 0, 1, 2 of 4
  0.75
  >>> metrics.churn(recs, np.array([[0, 1], [1, 3]]))  # user 0 kept both, user 1 lost 1 of 2
  0.25
"""

from __future__ import annotations

from typing import Callable, Optional, Union

import numpy as np

from tfrec.metrics._checks import as_1d_numbers, as_2d, nanmean, positive_int

__all__ = ["catalog_coverage", "user_coverage", "diversity", "novelty", "churn"]


def _recs(recommended, name: str = "recommended") -> np.ndarray:
    rec = as_2d(recommended, name)
    if not np.issubdtype(rec.dtype, np.integer):
        raise TypeError(f"{name} must hold integer item indices. Received dtype {rec.dtype}.")
    if rec.size and rec.min() < -1:
        raise ValueError(f"{name} holds {int(rec.min())}; use item indices >= 0 and -1 for padding.")
    return rec.astype(np.int64)


def catalog_coverage(recommended, n_items: int) -> float:
    """Fraction of the catalog's ``n_items`` items that appear in at least one list."""
    rec = _recs(recommended)
    n_items = positive_int(n_items, "n_items")
    items = np.unique(rec[rec >= 0])
    if items.size and items[-1] >= n_items:
        raise ValueError(f"recommended holds item index {int(items[-1])} but n_items={n_items}.")
    return float(items.size / n_items)


def user_coverage(scores, threshold: float = 4.0, n_users: Optional[int] = None) -> float:
    """Fraction of users with at least one 'good' recommendation (F. Kane's ``UserCoverage``).

    A recommendation is good when its predicted score is at least ``threshold`` (Kane: predicted
    rating >= 4.0), or, for a bool array, when it is True (e.g. a hits matrix: users with at least one
    relevant item in their list).

    Args:
      scores: [n_users_with_lists, k] predicted scores of the recommended items (NaN pads), or a
        bool [n_users_with_lists, k] array.
      threshold: float, used for numeric scores only. Default 4.0.
      n_users: int, the number of users to divide by (Kane divides by all users, including those
        who got no list); default the number of rows.
    """
    arr = as_2d(scores, "scores")
    if arr.dtype == bool:
        good = arr.any(axis=1)
    elif np.issubdtype(arr.dtype, np.number):
        with np.errstate(invalid="ignore"):
            good = (arr >= threshold).any(axis=1)
    else:
        raise TypeError(f"scores must be numeric or bool. Received dtype {arr.dtype}.")
    total = arr.shape[0] if n_users is None else positive_int(n_users, "n_users")
    if total < arr.shape[0]:
        raise ValueError(f"n_users={total} is smaller than the {arr.shape[0]} rows of scores.")
    return float(good.sum() / total) if total else float("nan")


Similarity = Union[np.ndarray, Callable[[np.ndarray, np.ndarray], np.ndarray]]


def diversity(recommended, item_similarity: Similarity, reduce: bool = True, chunk_size: int = 2048):
    """1 - mean pairwise similarity of the items inside each list, averaged over users.

    Per user: mean of ``sim(a, b)`` over the unordered pairs of distinct list positions (padding
    dropped); users with fewer than two items have no pairs and are left out (NaN per user).
    F. Kane's ``Diversity`` averages over all pairs of all users at once; with equal-length lists
    the two agree.

    Args:
      recommended: [n_users, k] int item indices, -1 padding.
      item_similarity: [n_items, n_items] dense array, or a function ``f(i, j) -> sims`` taking two
        equal-length int arrays and returning their similarities (called once per chunk of users).
      reduce: True for the mean, False for the [n_users] per-user array.
      chunk_size: users per vectorized chunk (bounds memory at chunk_size * k^2 values).
    """
    rec = _recs(recommended)
    if callable(item_similarity):
        sim_fn = item_similarity
    else:
        sims = np.asarray(item_similarity)
        if sims.ndim != 2 or sims.shape[0] != sims.shape[1]:
            raise ValueError(f"item_similarity must be a square [n_items, n_items] array. Received shape {sims.shape}.")
        if rec.size and rec.max() >= sims.shape[0]:
            raise ValueError(f"recommended holds item {int(rec.max())} but item_similarity covers {sims.shape[0]} items.")
        sim_fn = lambda i, j: sims[i, j]  # noqa: E731
    n, k = rec.shape
    iu, ju = np.triu_indices(k, 1)
    out = np.full(n, np.nan)
    for lo in range(0, n, positive_int(chunk_size, "chunk_size")):
        block = rec[lo:lo + chunk_size]
        a, b = block[:, iu], block[:, ju]
        valid = (a >= 0) & (b >= 0)
        values = np.zeros(a.shape)
        if valid.any():
            values[valid] = np.asarray(sim_fn(a[valid], b[valid]), dtype=np.float64).reshape(-1)
        pairs = valid.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lo:lo + chunk_size] = np.where(pairs > 0, 1.0 - values.sum(axis=1) / pairs, np.nan)
    return nanmean(out) if reduce else out


def novelty(recommended, popularity_rank) -> float:
    """Mean popularity rank of all recommended items (F. Kane's ``Novelty``); higher = more novel.

    Args:
      recommended: [n_users, k] int item indices, -1 padding.
      popularity_rank: [n_items] rank of each item by popularity (1 = most popular).
    """
    rec = _recs(recommended)
    rank = as_1d_numbers(popularity_rank, "popularity_rank")
    items = rec[rec >= 0]
    if items.size == 0:
        return float("nan")
    if items.max() >= len(rank):
        raise ValueError(f"recommended holds item {int(items.max())} but popularity_rank has {len(rank)} items.")
    return float(rank[items].mean())


def churn(recs_a, recs_b, reduce: bool = True, chunk_size: int = 4096):
    """Mean fraction of each user's list that changed between two runs.

    Per user: |items of a not in b| / |items of a| (padding dropped; users whose list ``a`` is
    empty are left out, NaN per user). 0 = same items (order ignored), 1 = all new.

    Args:
      recs_a: [n_users, k] int, the earlier lists; recs_b: [n_users, k2] int, the later ones, same
        users in the same rows.
      reduce: True for the mean, False for the [n_users] per-user array.
    """
    a = _recs(recs_a, "recs_a")
    b = _recs(recs_b, "recs_b")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"recs_a and recs_b need the same users (rows). Received {a.shape[0]} and {b.shape[0]}.")
    out = np.full(a.shape[0], np.nan)
    for lo in range(0, a.shape[0], positive_int(chunk_size, "chunk_size")):
        aa, bb = a[lo:lo + chunk_size], b[lo:lo + chunk_size]
        valid = aa >= 0
        kept = (aa[:, :, None] == bb[:, None, :]).any(axis=2) & valid
        n_valid = valid.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lo:lo + chunk_size] = np.where(n_valid > 0, 1.0 - kept.sum(axis=1) / n_valid, np.nan)
    return nanmean(out) if reduce else out
