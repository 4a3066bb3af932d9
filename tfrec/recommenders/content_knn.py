"""Content-based KNN: item-item similarity from item content (genres, release year, dense feature files).

The similarity of two items is the product of one similarity per feature set (the course's
``ContentKNNAlgorithm`` multiplies genre and year similarity):

* ``genres``: cosine of the multi-hot genre vectors;
* ``year``: ``exp(-|year_i - year_j| / year_scale)`` (1 when either year is unknown);
* a dense feature file (:func:`~tfrec.data.item_features.read_item_features`, e.g. mise-en-scene
  visual features): columns z-normalised over the training items found in the file, then
  ``(1 + cosine) / 2`` in [0, 1] (1 when either item is not in the file).

An item is not its own neighbour. The predicted rating of ``(u, i)`` is the similarity-weighted mean
of ``u``'s ratings of the ``k`` items most similar to ``i`` among those ``u`` rated (positive
similarities only; ``u``'s mean rating when there are none). Top-N ranks every item by that
prediction (implicit data: by the sum of the ``k`` largest similarities).

Example:
  >>> import pandas as pd
  >>> frame = pd.DataFrame({"user_id": ["a", "a", "b"], "movie_id": ["1", "2", "3"],
  ...                       "user_rating": [5.0, 3.0, 4.0], "movie_genres": [[0, 1], [0], [1]],
  ...                       "year": [1990, 2000, 1990]})
  >>> from tfrec.data.training_data import TrainingData
  >>> algo = ContentKNNRecommender().fit(TrainingData(frame))
  >>> round(float(algo.sim_[0, 1]), 4)  # cos([1,1],[1,0]) * exp(-10/10)
  0.2601
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np
import pandas as pd

from tfrec.data.item_features import read_item_features
from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.recommenders._checks import check_dense_memory, check_positive
from tfrec.recommenders.base import Algorithm

__all__ = ["ContentKNNRecommender", "weighted_top_k"]

FEATURE_SETS = ("genres", "year")


def weighted_top_k(sims: np.ndarray, values: np.ndarray, k: int) -> "tuple[np.ndarray, np.ndarray]":
    """Similarity-weighted mean of ``values`` over each row's ``k`` largest positive similarities.

    Args:
      sims: [n, m] similarities; entries <= 0 never count (mark non-neighbours with 0).
      values: [n, m] (or [m]) values of the same neighbours.
      k: neighbours per row; clipped to ``m``.

    Returns:
      (mean, weight): two [n] float64 arrays; ``mean`` is NaN where ``weight`` (the sum of the used
      similarities) is 0.
    """
    n, m = sims.shape
    k = min(int(k), m)
    if m == 0:
        return np.full(n, np.nan), np.zeros(n)
    idx = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < m else np.broadcast_to(np.arange(m), (n, m))
    s = np.take_along_axis(sims, idx, axis=1).astype(np.float64)
    s = np.where(s > 0, s, 0.0)
    v = np.take_along_axis(np.broadcast_to(values, (n, m)), idx, axis=1)
    weight = s.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(weight > 0, (s * v).sum(axis=1) / weight, np.nan)
    return mean, weight


def _item_table(data: TrainingData) -> pd.DataFrame:
    """One row per training item (index order): the metadata frame, or the training rows' item columns."""
    if data.items is not None:
        return data.items
    first = data.frame.drop_duplicates("item_idx").set_index("item_idx").sort_index()
    return first.reset_index(drop=True)


def _genre_similarity(table: pd.DataFrame) -> np.ndarray:
    if "movie_genres" not in table.columns:
        raise ValueError("content_knn feature set 'genres' needs a 'movie_genres' column (lists of genre labels) "
                         "in the item metadata or the training rows.")
    lists = [g if isinstance(g, (list, tuple, np.ndarray)) else [] for g in table["movie_genres"]]
    rows = np.repeat(np.arange(len(lists)), [len(g) for g in lists])
    cols = np.concatenate([np.asarray(g, np.int64) for g in lists]) if len(rows) else np.zeros(0, np.int64)
    G = np.zeros((len(lists), int(cols.max()) + 1 if len(cols) else 1), np.float32)
    G[rows, cols] = 1.0
    norms = np.linalg.norm(G, axis=1)
    Gn = G / np.where(norms > 0, norms, 1.0)[:, None]
    return Gn @ Gn.T


def _years(table: pd.DataFrame) -> np.ndarray:
    if "year" in table.columns:
        return pd.to_numeric(table["year"], errors="coerce").to_numpy(np.float64, na_value=np.nan)
    if "movie_title" in table.columns:
        found = table["movie_title"].astype(str).str.extract(r"\((\d{4})\)\s*$", expand=False)
        return pd.to_numeric(found, errors="coerce").to_numpy(np.float64, na_value=np.nan)
    raise ValueError("content_knn feature set 'year' needs a 'year' column (or titles ending in '(YYYY)') in the "
                     "item metadata or the training rows.")


def _year_similarity(years: np.ndarray, scale: float) -> np.ndarray:
    diff = np.abs(years[:, None] - years[None, :])
    return np.where(np.isnan(diff), 1.0, np.exp(-diff / scale)).astype(np.float32)


def _dense_similarity(item_ids: np.ndarray, path: str) -> np.ndarray:
    table = read_item_features(path)
    pos = pd.Index(table["movie_id"]).get_indexer(np.asarray(item_ids).astype(str))
    found = pos >= 0
    X = table.iloc[pos[found], 1:].to_numpy(np.float64)
    if len(X):  # z-normalise over the training items in the file (constant columns become 0)
        std = X.std(axis=0)
        X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
    norms = np.linalg.norm(X, axis=1)
    Xn = X / np.where(norms > 0, norms, 1.0)[:, None]
    sim = np.ones((len(item_ids), len(item_ids)), np.float32)
    sim[np.ix_(found, found)] = (1.0 + Xn @ Xn.T) / 2.0
    return sim


class ContentKNNRecommender(Algorithm):
    """Content-based k-nearest neighbours (see the module docstring).

    Args:
      features: the feature sets multiplied into the similarity: "genres", "year". Default
        ["genres", "year"].
      feature_files: dense per-item feature CSVs (id column first), each one more factor. Default [].
      k: neighbours among the user's rated items; positive. Default 40.
      year_scale: the decay of the year similarity, in years; positive. Default 10.0.
      max_similarity_gib: fit refuses (a MemoryError saying the size) to allocate the dense float32
        item-item similarity matrix if it is larger than this many GiB (4 GiB holds about 32,000 x
        32,000; fit holds about three such matrices at its peak). Default 4.0.
      name: the result row's name. Default "content_knn".

    Raises:
      ValueError: an unknown feature set, no feature set at all, or a non-positive ``k``/``year_scale``/
        ``max_similarity_gib``.
    """

    predicts_ratings = True

    def __init__(self, features: Sequence[str] = ("genres", "year"), feature_files: Sequence[str] = (),
                 k: int = 40, year_scale: float = 10.0, max_similarity_gib: float = 4.0, name: Optional[str] = None):
        super().__init__()
        check_positive("k", k)
        check_positive("max_similarity_gib", max_similarity_gib, kind=float)
        if not year_scale > 0:
            raise ValueError(f"year_scale must be positive. Received: year_scale={year_scale!r}")
        unknown = [f for f in features if f not in FEATURE_SETS]
        if unknown:
            raise ValueError(f"unknown content_knn feature set(s) {unknown}; valid: {list(FEATURE_SETS)} (dense "
                             "features go in feature_files).")
        if not features and not feature_files:
            raise ValueError("content_knn needs at least one feature set (features or feature_files).")
        self.features: List[str] = list(features)
        self.feature_files: List[str] = [str(p) for p in feature_files]
        self.k = int(k)
        self.year_scale = float(year_scale)
        self.max_similarity_gib = float(max_similarity_gib)
        self.name = name or "content_knn"

    def fit(self, data: TrainingData) -> "ContentKNNRecommender":
        check_dense_memory(self.name, "item-item content similarity", data.n_items, 4, self.max_similarity_gib,
                           "Fit on fewer items (drop items with few ratings, or a sample of them).")
        self.data = data
        table = _item_table(data)
        sim = np.ones((data.n_items, data.n_items), np.float32)
        if "genres" in self.features:
            sim *= _genre_similarity(table)
        if "year" in self.features:
            sim *= _year_similarity(_years(table), self.year_scale)
        for path in self.feature_files:
            sim *= _dense_similarity(data.item_ids, path)
        np.fill_diagonal(sim, 0.0)
        self.sim_ = sim
        self.predicts_ratings = data.ratings is not None
        values = data.ratings if data.ratings is not None else np.ones(len(data.items_idx), np.float32)
        R = np.zeros((data.n_users, data.n_items), np.float32)
        R[data.users_idx, data.items_idx] = values
        self._R = R
        self._rated = R != 0
        counts = np.bincount(data.users_idx, minlength=data.n_users)
        self._mu = float(values.mean())
        sums = np.bincount(data.users_idx, weights=values, minlength=data.n_users)
        self._user_mean = np.where(counts > 0, sums / np.maximum(counts, 1), self._mu)
        return self

    def predict(self, users, items):
        if not self.predicts_ratings:
            return Algorithm.predict(self, users, items)
        users, items = np.asarray(users), np.asarray(items)
        out = np.full(len(users), self._mu, np.float64)
        known_u = users != OOV_INDEX
        out[known_u] = self._user_mean[users[known_u]]
        ok = np.flatnonzero(known_u & (items != OOV_INDEX))
        for start in range(0, len(ok), 1024):  # bounded memory: [chunk, n_items] at a time
            rows = ok[start:start + 1024]
            u, i = users[rows], items[rows]
            mean, _ = weighted_top_k(np.where(self._rated[u], self.sim_[i], 0.0), self._R[u], self.k)
            out[rows] = np.where(np.isnan(mean), out[rows], mean)
        return out.astype(np.float32)

    def score(self, users):
        users = np.asarray(users)
        out = np.zeros((len(users), self.data.n_items), np.float32)
        for row, u in enumerate(users):  # one user at a time; vectorized over items and neighbours
            if u == OOV_INDEX:
                continue
            rated = np.flatnonzero(self._rated[u])
            mean, weight = weighted_top_k(self.sim_[:, rated], self._R[u, rated], self.k)
            if self.predicts_ratings:
                out[row] = np.where(np.isnan(mean), self._user_mean[u], mean)
            else:
                out[row] = weight
        return out
