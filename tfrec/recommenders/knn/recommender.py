"""User- and item-based k-nearest-neighbour recommenders with Surprise's prediction rules.

For a pair ``(u, i)`` the item-based model (``x = i``, ``y = u``; user-based: ``x = u``, ``y = i``)
predicts from the set ``N`` of the ``k`` items most similar to ``i`` among those ``u`` rated, with
``sim > threshold``:

=================  ======================================================================================
variant            prediction
=================  ======================================================================================
``basic``          ``sum_N sim * r_uj / sum_N sim`` (the global mean when ``|N| < min_k``)
``with_means``     ``mu_i + sum_N sim * (r_uj - mu_j) / sum_N sim``
``with_zscore``    ``mu_i + sigma_i * sum_N sim * (r_uj - mu_j) / sigma_j / sum_N sim``
``baseline``       ``b_ui + sum_N sim * (r_uj - b_uj) / sum_N sim``, ``b_ui = mu + b_u + b_i`` (ALS)
=================  ======================================================================================

(Surprise's ``KNNBasic``, ``KNNWithMeans``, ``KNNWithZScore``, ``KNNBaseline``.) ``mu_x`` and ``sigma_x``
are the mean and population standard deviation of ``x``'s training ratings (the overall one where it
is 0). With fewer than ``min_k`` neighbours the neighbour term is dropped. Unknown users or items
get the global mean (the known part of the baseline for ``baseline``). Predictions are clipped to
the training ratings' range.

Memory: the similarities are a dense [n_x, n_x] float64 matrix (float64 as Surprise, so that equal
similarities tie the same way): about 0.6 GB for 9,000 items, 5.8 GB for 27,000. ``fit`` refuses a matrix
over ``max_similarity_gib`` (default 4 GiB) before allocating it, with a MemoryError that says the size.

Top-N lists score a candidate item by the summed similarity of its neighbourhood: item-based,
``score(u, i) = sum_{j in seen(u), j in K(i)} sim(i, j)`` with ``K(i)`` the ``k`` items most similar
to ``i``; user-based, ``score(u, i) = sum_{v in K(u), v saw i} sim(u, v)``.

Example:
  >>> import pandas as pd
  >>> from tfrec.data.training_data import TrainingData
  >>> rows = [("a", "x", 4.0), ("a", "y", 2.0), ("b", "x", 5.0), ("b", "y", 3.0), ("c", "x", 3.0)]
  >>> data = TrainingData(pd.DataFrame(rows, columns=["user_id", "movie_id", "user_rating"]))
  >>> algo = ItemKNNRecommender(similarity="msd", variant="basic").fit(data)
  >>> float(algo.predict(np.array([2]), np.array([1]))[0])   # c's only rated neighbour of y is x (3.0)
  3.0
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import scipy.sparse as sp

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.recommenders._checks import check_dense_memory
from tfrec.recommenders.base import Algorithm, top_k
from tfrec.recommenders.knn.baselines import als_baselines
from tfrec.recommenders.knn.neighbours import Candidates, neighbour_sums
from tfrec.recommenders.knn.params import KNNParams
from tfrec.recommenders.knn.similarities import similarity_matrix

__all__ = ["ItemKNNRecommender", "KNNRecommender", "UserKNNRecommender"]


def _group_stats(x: np.ndarray, r: np.ndarray, n: int):
    """Per-x mean and population standard deviation of ``r`` (0 where x has no rating)."""
    cnt = np.maximum(np.bincount(x, minlength=n), 1)
    mean = np.bincount(x, weights=r, minlength=n) / cnt
    var = np.bincount(x, weights=(r - mean[x]) ** 2, minlength=n) / cnt
    return mean, np.sqrt(var)


class KNNRecommender(Algorithm):
    """A k-nearest-neighbour recommender; use :class:`UserKNNRecommender` or :class:`ItemKNNRecommender`.

    Args:
      name: row name in result tables. Default ``user_knn`` / ``item_knn``.
      **params: the fields of :class:`~tfrec.recommenders.knn.params.KNNParams` (``similarity``,
        ``variant``, ``k``, ``min_k``, ``min_support``, ``shrinkage``, ``threshold``, ``implicit``,
        ``baseline_reg_u``, ``baseline_reg_i``, ``baseline_epochs``, ``max_similarity_gib``).

    Attributes (after ``fit``):
      sim_: [n_x, n_x] float64 similarities (users for user-based, items for item-based).

    Raises:
      ValueError: an unknown parameter, similarity or variant (the message names the valid ones).
    """

    user_based: bool = True
    predicts_ratings = True

    def __init__(self, name: Optional[str] = None, **params: Any):
        super().__init__()
        self.name = name or ("user_knn" if self.user_based else "item_knn")
        self.params = KNNParams.parse(self.name, params)
        self.predicts_ratings = not self.params.implicit  # implicit similarities rank only
        self._top_n: Optional[sp.csr_matrix] = None

    def _switch(self, users, items):
        return (users, items) if self.user_based else (items, users)

    def fit(self, data: TrainingData) -> "KNNRecommender":
        p = self.params
        if not p.implicit and data.ratings is None:
            raise ValueError(f"{self.name} predicts ratings but the training data has no rating column "
                             f"{data.columns.rating!r}; set implicit: true to rank from interactions.")
        n_x, n_y = self._switch(data.n_users, data.n_items)
        kind = "user" if self.user_based else "item"
        other = "item_knn" if self.user_based else "user_knn"
        check_dense_memory(self.name, f"{kind}-{kind} similarity", n_x, 8, p.max_similarity_gib,
                           f"Fit on fewer {kind}s (drop {kind}s with few ratings, or fit on a sample of them), or "
                           f"use {other} if there are fewer {'items' if self.user_based else 'users'} "
                           f"({n_y:,}); k does not change the size.")
        self.data = data
        self._top_n = None
        r = np.ones(len(data.users_idx)) if p.implicit else data.ratings.astype(np.float64)
        x, y = self._switch(data.users_idx, data.items_idx)
        self.mu_ = float(r.mean())
        self.r_range_ = (float(r.min()), float(r.max()))
        self.bu_ = self.bi_ = None
        if p.needs_baselines:
            self.bu_, self.bi_ = als_baselines(data.users_idx, data.items_idx, r, data.n_users, data.n_items,
                                               reg_u=p.baseline_reg_u, reg_i=p.baseline_reg_i, epochs=p.baseline_epochs)
            bx, by = self._switch(self.bu_, self.bi_)
            residual = r - (self.mu_ + bx[x] + by[y])
        similarity = p.resolved_similarity()
        values = residual if similarity == "pearson_baseline" else r
        self.sim_ = similarity_matrix(similarity, sp.csr_matrix((values, (x, y)), shape=(n_x, n_y)),
                                      min_support=p.min_support, shrinkage=p.shrinkage, implicit=p.implicit)
        self.mean_, sigma = _group_stats(x, r, n_x)
        self.sigma_ = np.where(sigma == 0, r.std(), sigma)
        if p.implicit or p.variant == "basic":
            dev = r
        elif p.variant == "baseline":
            dev = residual
        else:
            dev = (r - self.mean_[x]) / (self.sigma_[x] if p.variant == "with_zscore" else 1.0)
        self._cand = Candidates.build(x, y, dev, n_y)
        return self

    def predict(self, users, items):
        if not self.predicts_ratings:
            return Algorithm.predict(self, users, items)
        users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
        variant = self.params.variant
        out = np.full(len(users), self.mu_)
        if variant == "baseline":
            out += np.where(users != OOV_INDEX, self.bu_[users], 0.0) + np.where(items != OOV_INDEX, self.bi_[items], 0.0)
        known = np.flatnonzero((users != OOV_INDEX) & (items != OOV_INDEX))
        x, y = self._switch(users[known], items[known])
        num, den, count = neighbour_sums(self.sim_, self._cand, x, y, self.params.k, self.params.threshold)
        ok = (count >= self.params.min_k) & (den > 0)
        term = np.divide(num, den, out=np.zeros_like(num), where=ok)
        if variant == "basic":
            out[known] = np.where(ok, term, self.mu_)
        elif variant == "baseline":
            out[known] += term
        else:
            scale = self.sigma_[x] if variant == "with_zscore" else 1.0
            out[known] = self.mean_[x] + scale * term
        return np.clip(out, *self.r_range_).astype(np.float32)

    def _neighbourhoods(self) -> sp.csr_matrix:
        """[n_x, n_x] CSR: row x keeps its ``k`` most similar others with ``sim > threshold``."""
        if self._top_n is None:
            n, k = self.sim_.shape[0], min(self.params.k, self.sim_.shape[0])
            rows, cols, vals = [], [], []
            for start in range(0, n, 1024):
                block = np.array(self.sim_[start : start + 1024], dtype=np.float32)
                block[np.arange(len(block)), np.arange(start, start + len(block))] = -np.inf  # not one's own neighbour
                block[block <= self.params.threshold] = -np.inf
                idx, val = top_k(block, k)
                ok = np.isfinite(val)
                rows.append(np.broadcast_to(np.arange(start, start + len(block))[:, None], idx.shape)[ok])
                cols.append(idx[ok])
                vals.append(val[ok])
            self._top_n = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
        return self._top_n

    def score(self, users):
        if self.data is None:
            raise RuntimeError(f"{type(self).__name__}.score called before fit().")
        users = np.asarray(users, np.int64)
        known = users != OOV_INDEX
        seen, safe = self.data.seen_matrix(), np.where(known, users, 0)
        neighbourhoods = self._neighbourhoods()
        scores = (neighbourhoods[safe] @ seen) if self.user_based else (seen[safe] @ neighbourhoods.T)
        return (scores.toarray() * known[:, None]).astype(np.float32)


class UserKNNRecommender(KNNRecommender):
    """User-based kNN (Surprise ``user_based=True``); see :mod:`tfrec.recommenders.knn.recommender`."""

    user_based = True


class ItemKNNRecommender(KNNRecommender):
    """Item-based kNN (Surprise ``user_based=False``); see :mod:`tfrec.recommenders.knn.recommender`."""

    user_based = False
