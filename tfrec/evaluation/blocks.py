"""Full-catalog top-k evaluation in blocks of users, with bounded memory, for catalogs and test sets
too large for one ``[n_users, n_items]`` score matrix.

:func:`evaluate_blocks` scores ``block_users`` users at a time (``[block, n_items]`` scores: 1024 x
59k float32 = 240 MB), removes their training items, takes ``tf.math.top_k`` (ties: the lower item
index first, as :func:`tfrec.recommenders.base.top_k`) and adds each block's per-user metrics to
running sums, so memory never grows with the number of users. The metrics and their names are
those of :class:`tfrec.evaluation.EvaluatedAlgorithm` on a full-catalog protocol (ndcg, precision,
recall, map, hr, reciprocal rank sum, catalog coverage, diversity, novelty); a progress line with
the ETA is printed while it runs.

Beyond-accuracy metrics need no users x users (nor users x items dense) matrix: diversity uses
:func:`cosine_pair_similarity`, the cosine of two items' training-user sets computed per pair from
the sparse ``[n_items, n_users]`` interaction matrix in chunks of bounded size; novelty the items'
training popularity ranks; coverage one flag per item.

Example:
  >>> import numpy as np, scipy.sparse as sp
  >>> rel = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 0]], np.float32))
  >>> scores = lambda users: np.array([[0.1, 0.9, 0.5], [0.2, 0.3, 0.4]], np.float32)[users]
  >>> out = evaluate_blocks(scores, np.array([0, 1]), [1], rel, np.array([1, 1]), 3, progress=False)
  >>> out["hr@1"], out["catalog_coverage"]
  (0.5, 0.6666666666666666)
"""

from __future__ import annotations

import sys
from typing import Callable, Dict, Optional, Sequence

import numpy as np
import scipy.sparse as sp

from tfrec import metrics as M
from tfrec.progress import Progress

__all__ = ["cosine_pair_similarity", "evaluate_blocks", "sample_users"]

Similarity = Callable[[np.ndarray, np.ndarray], np.ndarray]


def cosine_pair_similarity(seen: sp.spmatrix, max_nnz: int = 8_000_000, dense_limit: int = 50_000_000,
                           bitset_bytes: int = 256 << 20) -> Similarity:
    """Item-item cosine similarity of binary training interaction vectors, as a function of index pairs.

    ``sim(a, b) = |users(a) & users(b)| / sqrt(|users(a)| |users(b)|)``. Small data: a dense
    normalized ``[n_items, n_users]`` matrix. Large data: the most popular items (those a
    recommender lists most) as packed user bitsets (``bitset_bytes`` in all; a pair costs
    ``n_users / 8`` bytes of AND + popcount), the others as sparse rows multiplied in chunks of at
    most ``max_nnz`` stored entries; each distinct pair is computed once per call.

    Args:
      seen: [n_users, n_items] training interactions (nonzero = seen); training data only, so
        the similarity leaks nothing.
      max_nnz: stored entries of the gathered sparse item rows per chunk of pairs (bounds memory);
        a chunk has at least one pair.
      dense_limit: below ``n_items * n_users`` entries the normalized matrix is kept dense.
      bitset_bytes: memory for the popular items' bitsets. Default 256 MiB.

    Returns:
      ``sim(a, b) -> [n] float32`` for two [n] int arrays of item indices.
    """
    m = sp.csr_matrix(seen).T.tocsr().astype(np.float32)  # [n_items, n_users]
    m.data[:] = 1.0
    n_items, n_users = m.shape
    degree = np.diff(m.indptr).astype(np.int64)
    norms = np.sqrt(np.maximum(degree, 1).astype(np.float64))
    if n_items * n_users <= dense_limit:
        dense = (sp.diags((1.0 / norms).astype(np.float32)) @ m).toarray()

        def dense_sim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
            out = np.empty(len(a), np.float32)
            for i in range(0, len(a), 8192):
                out[i:i + 8192] = np.einsum("ij,ij->i", dense[a[i:i + 8192]], dense[b[i:i + 8192]])
            return out

        return dense_sim
    row_bytes = (n_users + 7) // 8
    hot = np.argsort(-degree, kind="stable")[: max(0, min(n_items, bitset_bytes // row_bytes))]
    hot = hot[degree[hot] > 0]
    slot = np.full(n_items, -1, np.int64)
    slot[hot] = np.arange(len(hot))
    bits = np.zeros((len(hot), row_bytes), np.uint8)
    for lo in range(0, len(hot), 1024):
        rows = m[hot[lo:lo + 1024]].tocoo()
        np.bitwise_or.at(bits, (rows.row + lo, rows.col >> 3), (1 << (rows.col & 7)).astype(np.uint8))

    def sim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = np.asarray(a, np.int64).ravel(), np.asarray(b, np.int64).ravel()
        pairs, inverse = np.unique(np.stack([np.minimum(a, b), np.maximum(a, b)], 1), axis=0, return_inverse=True)
        x, y = pairs[:, 0], pairs[:, 1]
        common = np.zeros(len(pairs), np.float64)
        both = (slot[x] >= 0) & (slot[y] >= 0)
        at = np.flatnonzero(both)
        step = max(1, (64 << 20) // max(row_bytes, 1) // 2)
        for lo in range(0, len(at), step):
            i = at[lo:lo + step]
            common[i] = np.bitwise_count(bits[slot[x[i]]] & bits[slot[y[i]]]).sum(axis=1, dtype=np.int64)
        rest = np.flatnonzero(~both)
        cost = np.cumsum(degree[x[rest]] + degree[y[rest]])
        lo = 0
        while lo < len(rest):
            base = cost[lo - 1] if lo else 0
            hi = max(lo + 1, int(np.searchsorted(cost, base + max_nnz, side="right")))
            i = rest[lo:hi]
            common[i] = np.asarray(m[x[i]].multiply(m[y[i]]).sum(axis=1)).ravel()
            lo = hi
        values = (common / (norms[x] * norms[y])).astype(np.float32)
        return values[np.asarray(inverse).ravel()]

    return sim


def sample_users(users: np.ndarray, max_users: Optional[int], seed: int) -> np.ndarray:
    """``users``, or a seeded sample of ``max_users`` of them (sorted) when there are more."""
    users = np.asarray(users)
    if max_users is None or len(users) <= max_users:
        return users
    return np.sort(np.random.default_rng(seed).choice(users, size=max_users, replace=False))


def _top_k(scores, seen: Optional[sp.csr_matrix], users: np.ndarray, k: int) -> np.ndarray:
    import tensorflow as tf

    scores = tf.convert_to_tensor(scores, tf.float32)
    if seen is not None:
        rows, cols = seen[users].nonzero()
        if len(rows):
            where = np.stack([rows, cols], axis=1).astype(np.int64)
            scores = tf.tensor_scatter_nd_update(scores, where, tf.fill([len(rows)], float("-inf")))
    return tf.math.top_k(scores, k=k).indices.numpy().astype(np.int64)


def evaluate_blocks(score_block: Callable[[np.ndarray], object], users: np.ndarray, ks: Sequence[int],
                    relevant: sp.csr_matrix, num_relevant: np.ndarray, n_items: int, *,
                    seen: Optional[sp.csr_matrix] = None, popularity: Optional[np.ndarray] = None,
                    similarity: Optional[Similarity] = None, leave_one_out: bool = False,
                    block_users: int = 1024, progress: bool = True, stream=None) -> Dict[str, float]:
    """Full-catalog top-k metrics of ``users``, computed block by block (see the module docstring).

    Args:
      score_block: ``f(users [b] int) -> [b, n_items]`` float scores (numpy or a tensor), higher better.
      users: [n] int user indices to evaluate (each with ``num_relevant > 0``).
      ks: cut-offs; the metrics of every k are returned, the beyond-accuracy ones (coverage,
        diversity, novelty) of the last k (as the trainer's final evaluation reports them).
      relevant: [n_users, n_items] CSR, nonzero = a relevant test item.
      num_relevant: [n_users] relevant test items per user (items unknown to training included).
      n_items: catalog size.
      seen: [n_users, n_items] CSR of training items to exclude from the lists, or None.
      popularity: [n_items] training interactions per item (novelty), or None.
      similarity: item-pair similarity (diversity, :func:`cosine_pair_similarity`), or None.
      leave_one_out: report ``arhr@k`` (one held-out item per user) instead of ``reciprocal_rank_sum@k``.
      block_users: users scored at once. Default 1024.
      progress: print progress lines with the ETA. Default True.
      stream: where progress goes; default stderr.

    Returns:
      metric name -> value, plus "test_users".

    Raises:
      ValueError: no users, a non-positive k or block size.
    """
    users = np.asarray(users, dtype=np.int64)
    if len(users) == 0:
        raise ValueError("evaluate_blocks received no users: no test user has a relevant item.")
    if block_users <= 0 or not ks or min(ks) <= 0:
        raise ValueError(f"ks must be positive and block_users >= 1. Received: ks={list(ks)}, "
                         f"block_users={block_users}")
    top = min(max(ks), n_items)
    rank = None
    if popularity is not None:
        rank = np.empty(n_items, np.int64)
        rank[np.argsort(-np.asarray(popularity), kind="stable")] = np.arange(1, n_items + 1)
    rr = "arhr" if leave_one_out else "reciprocal_rank_sum"
    fns = {"ndcg": M.ndcg_at_k, "precision": M.precision_at_k, "recall": M.recall_at_k, "map": M.map_at_k,
           "hr": M.hit_rate_at_k, rr: M.arhr_at_k if leave_one_out else M.reciprocal_rank_sum_at_k}
    sums = {f"{name}@{k}": [0.0, 0] for k in ks for name in fns}
    covered = {k: np.zeros(n_items, bool) for k in ks}
    div, nov = {k: [0.0, 0] for k in ks}, {k: [0.0, 0] for k in ks}
    bar = Progress(len(users), desc="evaluate", unit="users", stream=stream or sys.stderr) if progress else None
    for lo in range(0, len(users), block_users):
        batch = users[lo:lo + block_users]
        recs = _top_k(score_block(batch), seen, batch, top)
        hits = M.hits_matrix(recs, relevant[batch])
        n_rel = np.asarray(num_relevant)[batch]
        for k in ks:
            for name, fn in fns.items():
                per_user = fn(hits, n_rel, k=k, reduce=False)
                acc = sums[f"{name}@{k}"]
                acc[0] += float(np.nansum(per_user))
                acc[1] += int(np.count_nonzero(~np.isnan(per_user)))
            r = recs[:, :k]
            covered[k][r.ravel()] = True
            if rank is not None:
                nov[k][0] += float(rank[r].sum())
                nov[k][1] += r.size
            if similarity is not None:
                d = M.diversity(r, similarity, reduce=False)
                div[k][0] += float(np.nansum(d))
                div[k][1] += int(np.count_nonzero(~np.isnan(d)))
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    out = {name: (s / n if n else float("nan")) for name, (s, n) in sums.items()}
    k = ks[-1]
    out["catalog_coverage"] = float(covered[k].sum() / n_items)
    if similarity is not None:
        out["diversity"] = div[k][0] / div[k][1] if div[k][1] else float("nan")
    if rank is not None:
        out["novelty"] = nov[k][0] / nov[k][1]
    out["test_users"] = int(len(users))
    return out
