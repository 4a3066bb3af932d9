"""Top-k ranking metrics on a hits matrix (vectorized NumPy).

Every metric takes

* ``hits``: [n_users, L] bool (or 0/1) array; ``hits[u, i]`` is True when the ``i``-th recommended
  item of user ``u`` (best first) is relevant. Build it with :func:`hits_matrix`.
* ``num_relevant``: [n_users] int, the number of relevant items of each user (all of them, not only
  those that were recommended). :func:`relevant_counts` gives it.
* ``k``: cut-off; default ``L``. ``k < L`` uses the first ``k`` columns; ``k > L`` treats the
  missing positions as misses (a list shorter than ``k``): precision still divides by ``k`` and the
  ideal DCG still runs over ``min(num_relevant, k)`` positions.

Users with ``num_relevant == 0`` have no defined score: they are left out of the mean, and their
entry is NaN in the per-user array (``reduce=False``). If no user has a relevant item the mean is
NaN.

Example:
  >>> import numpy as np
  >>> from tfrec import metrics
  >>> recommended = np.array([[3, 1, 2], [0, 4, 1]])
  >>> hits = metrics.hits_matrix(recommended, [{1, 3}, {2}])
  >>> hits.astype(int).tolist()
  [[1, 1, 0], [0, 0, 0]]
  >>> metrics.hit_rate_at_k(hits, [2, 1])
  0.5
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Union

import numpy as np
import scipy.sparse as sp

from tfrec.metrics._checks import as_1d_numbers, as_2d, as_binary, nanmean, positive_int, same_length

__all__ = [
    "hits_matrix",
    "relevant_counts",
    "precision_at_k",
    "recall_at_k",
    "ndcg_at_k",
    "map_at_k",
    "hit_rate_at_k",
    "arhr_at_k",
    "reciprocal_rank_sum_at_k",
    "mrr_at_k",
    "cumulative_hit_rate",
    "rating_hit_rate",
]

Relevant = Union[sp.spmatrix, sp.sparray, Sequence]


def _relevant_csr(relevant, n_users: int, min_items: int) -> sp.csr_matrix:
    if sp.issparse(relevant):
        csr = sp.csr_matrix(relevant, copy=True)
        if csr.shape[0] != n_users:
            raise ValueError(
                f"relevant has {csr.shape[0]} rows but recommended has {n_users}; one row per user in both."
            )
        csr.eliminate_zeros()
        csr.sum_duplicates()
        csr.sort_indices()
        return csr
    if isinstance(relevant, (str, bytes)) or not hasattr(relevant, "__len__"):
        raise TypeError(
            "relevant must be a scipy.sparse matrix [n_users, n_items] or a list of sets of item indices. "
            f"Received: {type(relevant).__name__}."
        )
    if len(relevant) != n_users:
        raise ValueError(f"relevant has {len(relevant)} entries but recommended has {n_users} rows.")
    rows, cols = [], []
    for u, items in enumerate(relevant):
        items = np.unique(np.asarray(list(items), dtype=np.int64))
        rows.append(np.full(len(items), u, np.int64))
        cols.append(items)
    cols_all = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    if cols_all.size and cols_all.min() < 0:
        raise ValueError(f"relevant holds negative item indices such as {int(cols_all.min())}.")
    n_items = max(int(cols_all.max()) + 1 if cols_all.size else 0, min_items)
    rows_all = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    return sp.csr_matrix((np.ones(len(cols_all), np.int8), (rows_all, cols_all)), shape=(n_users, n_items))


def hits_matrix(recommended, relevant: Relevant) -> np.ndarray:
    """Marks which recommended items are relevant.

    Args:
      recommended: [n_users, k] int item indices, best first; ``-1`` pads lists shorter than k
        (never a hit). A repeated item counts each time it appears: pass lists without repeats.
      relevant: either a scipy.sparse [n_users, n_items] matrix whose nonzero entries are the
        relevant items (vectorized lookup), or a list of n_users sets of item indices.

    Returns:
      [n_users, k] bool array.
    """
    rec = as_2d(recommended, "recommended")
    if not np.issubdtype(rec.dtype, np.integer):
        raise TypeError(f"recommended must hold integer item indices. Received dtype {rec.dtype}.")
    rec = rec.astype(np.int64)
    n_users = rec.shape[0]
    csr = _relevant_csr(relevant, n_users, int(rec.max()) + 1 if rec.size else 0)
    n_items = csr.shape[1]
    if rec.size and rec.max() >= n_items:
        raise ValueError(
            f"recommended holds item index {int(rec.max())} but relevant has only {n_items} item columns."
        )
    if rec.size and rec.min() < -1:
        raise ValueError(f"recommended holds {int(rec.min())}; use item indices >= 0 and -1 for padding.")
    # keys user * n_items + item of the relevant pairs are sorted because csr indices are sorted
    row_of = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(csr.indptr))
    keys = row_of * n_items + csr.indices.astype(np.int64)
    query = np.arange(n_users, dtype=np.int64)[:, None] * n_items + np.maximum(rec, 0)
    pos = np.searchsorted(keys, query)
    found = keys[np.minimum(pos, len(keys) - 1)] == query if len(keys) else np.zeros(rec.shape, bool)
    return found & (rec >= 0)


def relevant_counts(relevant: Relevant) -> np.ndarray:
    """[n_users] number of relevant items per user (nonzeros of a sparse row, or set sizes)."""
    if sp.issparse(relevant):
        csr = sp.csr_matrix(relevant, copy=True)
        csr.eliminate_zeros()
        csr.sum_duplicates()
        return np.diff(csr.indptr).astype(np.int64)
    return np.array([len(set(items)) for items in relevant], np.int64)


def _prepare(hits, num_relevant, k: Optional[int]):
    """(hits [n, min(k, L)] float, num_relevant float, k, mask of users with relevant items)."""
    h = as_binary(as_2d(hits, "hits"), "hits")
    nrel = as_1d_numbers(num_relevant, "num_relevant")
    same_length(h, nrel, "hits", "num_relevant")
    if (nrel < 0).any() or (nrel != np.round(nrel)).any():
        raise ValueError("num_relevant must hold non-negative integer counts.")
    k = h.shape[1] if k is None else positive_int(k, "k")
    h = h[:, :k].astype(np.float64)
    too_many = h.sum(axis=1) > nrel
    if too_many.any():
        u = int(np.flatnonzero(too_many)[0])
        raise ValueError(
            f"User row {u} has {int(h[u].sum())} hits but num_relevant={int(nrel[u])}: a list repeats an "
            "item, or num_relevant is not the count of relevant items."
        )
    return h, nrel, k, nrel > 0


def _finish(per_user: np.ndarray, valid: np.ndarray, reduce: bool):
    per_user = np.where(valid, per_user, np.nan)
    return nanmean(per_user) if reduce else per_user


def precision_at_k(hits, num_relevant, k: Optional[int] = None, reduce: bool = True):
    """Precision@k: hits in the top k / k, averaged over users with relevant items.

    Args:
      hits: [n_users, L] bool hits matrix.
      num_relevant: [n_users] int relevant-item counts.
      k: int cut-off, default L.
      reduce: True for the mean (float), False for the [n_users] per-user array (NaN where
        num_relevant is 0).
    """
    h, nrel, k, valid = _prepare(hits, num_relevant, k)
    return _finish(h.sum(axis=1) / k, valid, reduce)


def recall_at_k(hits, num_relevant, k: Optional[int] = None, reduce: bool = True):
    """Recall@k: hits in the top k / num_relevant (can stay below 1 when num_relevant > k)."""
    h, nrel, k, valid = _prepare(hits, num_relevant, k)
    return _finish(h.sum(axis=1) / np.maximum(nrel, 1), valid, reduce)


def ndcg_at_k(hits, num_relevant, k: Optional[int] = None, reduce: bool = True):
    """NDCG@k with binary gains: DCG = sum_i hits_i / log2(i + 2) (i from 0), over the ideal DCG of
    ``min(num_relevant, k)`` hits in the first places."""
    h, nrel, k, valid = _prepare(hits, num_relevant, k)
    discounts = 1.0 / np.log2(np.arange(k) + 2.0)
    dcg = h @ discounts[: h.shape[1]]
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])
    idcg = ideal[np.minimum(nrel, k).astype(np.int64)]
    return _finish(dcg / np.where(idcg > 0, idcg, 1.0), valid, reduce)


def map_at_k(hits, num_relevant, k: Optional[int] = None, reduce: bool = True, denominator: str = "num_relevant"):
    """Mean average precision@k.

    Per user: AP = sum over hit positions i (1-based, i <= k) of precision@i, divided by
    ``num_relevant`` (``denominator="num_relevant"``, default: Microsoft Recommenders' ``map`` and
    its ``map_at_k`` before release 1.2, Spark's ``meanAveragePrecision``) or by
    ``min(num_relevant, k)`` (``denominator="min"``: Spark's ``meanAveragePrecisionAt(k)`` and
    Microsoft Recommenders' ``map_at_k`` from 1.2). The two agree when num_relevant <= k.
    """
    if denominator not in ("num_relevant", "min"):
        raise ValueError(f"denominator must be 'num_relevant' or 'min'. Received: denominator={denominator!r}")
    h, nrel, k, valid = _prepare(hits, num_relevant, k)
    precision_at_i = np.cumsum(h, axis=1) / np.arange(1, h.shape[1] + 1)
    denom = nrel if denominator == "num_relevant" else np.minimum(nrel, k)
    return _finish((precision_at_i * h).sum(axis=1) / np.maximum(denom, 1), valid, reduce)


def hit_rate_at_k(hits, num_relevant, k: Optional[int] = None, reduce: bool = True):
    """Hit rate@k: fraction of users with at least one hit in the top k (HR@k of leave-one-out)."""
    h, nrel, k, valid = _prepare(hits, num_relevant, k)
    return _finish(h.any(axis=1).astype(np.float64), valid, reduce)


def reciprocal_rank_sum_at_k(hits, num_relevant, k: Optional[int] = None, reduce: bool = True):
    """Per user, the sum of 1/rank over every hit in the top k, averaged over users.

    With several relevant items per user this sum can exceed 1 (hits at ranks 1 and 2 give 1.5); it
    is *not* ARHR, which is defined with one held-out item per user (see :func:`arhr_at_k`).
    """
    h, nrel, k, valid = _prepare(hits, num_relevant, k)
    return _finish(h @ (1.0 / np.arange(1, h.shape[1] + 1)), valid, reduce)


def arhr_at_k(hits, num_relevant, k: Optional[int] = None, reduce: bool = True):
    """Average reciprocal hit rank of leave-one-out: 1/rank of each user's held-out item in the top k
    (0 when it is not there), averaged over users.

    This is F. Kane's ``RecommenderMetrics.AverageReciprocalHitRank`` and equals :func:`mrr_at_k`
    there. It is defined for one relevant item per user only; with several, use
    :func:`reciprocal_rank_sum_at_k` (the per-user sum) or :func:`mrr_at_k` (the first hit).

    Raises:
      ValueError: a user has more than one relevant item.
    """
    h, nrel, k, valid = _prepare(hits, num_relevant, k)
    if (nrel > 1).any():
        raise ValueError(
            f"arhr_at_k is defined for leave-one-out (one held-out item per user); {int((nrel > 1).sum())} users "
            f"have more (up to {int(nrel.max())}). Use reciprocal_rank_sum_at_k for the per-user sum of 1/rank, "
            "or mrr_at_k for the rank of the first hit.")
    return _finish(h @ (1.0 / np.arange(1, h.shape[1] + 1)), valid, reduce)


def mrr_at_k(hits, num_relevant, k: Optional[int] = None, reduce: bool = True):
    """Mean reciprocal rank: 1 / rank of the first hit in the top k (0 without a hit)."""
    h, nrel, k, valid = _prepare(hits, num_relevant, k)
    any_hit = h.any(axis=1)
    first = np.argmax(h, axis=1) if h.shape[1] else np.zeros(len(h), np.int64)
    return _finish(np.where(any_hit, 1.0 / (first + 1.0), 0.0), valid, reduce)


def _hits_any(hits_any) -> np.ndarray:
    arr = np.asarray(hits_any)
    if arr.ndim == 2:
        arr = as_binary(arr, "hits_any").any(axis=1)
    if arr.ndim != 1:
        raise ValueError(f"hits_any must be [n] (or an [n, k] hits matrix). Received shape {arr.shape}.")
    return as_binary(arr, "hits_any")


def cumulative_hit_rate(hits_any, ratings, threshold: float = 4.0) -> float:
    """Hit rate counting only left-out items rated at least ``threshold`` (F. Kane's cHR).

    Args:
      hits_any: [n] bool, whether each left-out item was in its user's top-N (or an [n, k] hits
        matrix, reduced with ``any``).
      ratings: [n] actual ratings of the left-out items.
      threshold: float, minimum rating counted. Default 4.0.

    Returns:
      float, hits / count among left-out items with rating >= threshold; NaN if there are none.
    """
    hit = _hits_any(hits_any)
    r = as_1d_numbers(ratings, "ratings")
    same_length(hit, r, "hits_any", "ratings")
    keep = r >= threshold
    return float(hit[keep].mean()) if keep.any() else float("nan")


def rating_hit_rate(hits_any, ratings) -> Dict[float, float]:
    """Hit rate per actual rating value of the left-out items (F. Kane's ``RatingHitRate``).

    Returns:
      {rating: hit rate among left-out items with that rating}, in ascending rating order.
    """
    hit = _hits_any(hits_any)
    r = as_1d_numbers(ratings, "ratings")
    same_length(hit, r, "hits_any", "ratings")
    values, inverse = np.unique(r, return_inverse=True)
    totals = np.bincount(inverse, minlength=len(values))
    hits = np.bincount(inverse, weights=hit.astype(np.float64), minlength=len(values))
    return {float(v): float(h / t) for v, h, t in zip(values, hits, totals)}
