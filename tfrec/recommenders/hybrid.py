"""A weighted blend of recommenders: :class:`HybridRecommender`.

Ranking scores of each component are normalised per user (``minmax``: to [0, 1]; ``z``: zero mean,
unit std; ``none``) and summed with the weights. Rating predictions (when every component predicts
ratings) are the weighted mean of the components' predictions, on the rating scale.

Weights are given, or tuned on a validation carve of the *training* rows (``tune_weights``): a
seeded ``validation_ratio`` of the training rows is held out, every component is fitted on the rest,
and each weight vector of a simplex grid (step ``grid_step``) is scored there -- validation RMSE when
every component predicts ratings, else recall@``k`` of the blended top-``k``. The best weights are kept
and the components are refitted on all training rows. Test rows never reach this search.

Example:
  >>> import numpy as np
  >>> normalize_scores(np.array([[1.0, 3.0, 2.0]]), "minmax").tolist()
  [[0.0, 1.0, 0.5]]
  >>> simplex_grid(2, 0.5).tolist()
  [[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]]
"""

from __future__ import annotations

import copy
import itertools
import logging
from typing import List, Optional, Sequence

import numpy as np

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.metrics import rmse
from tfrec.recommenders.base import Algorithm

__all__ = ["NORMALIZATIONS", "HybridRecommender", "normalize_scores", "simplex_grid", "validation_carve"]

logger = logging.getLogger(__name__)

NORMALIZATIONS = ("minmax", "z", "none")


def normalize_scores(scores: np.ndarray, method: str) -> np.ndarray:
    """Each row of ``scores`` normalised on its finite entries (``-inf`` stays ``-inf``).

    Args:
      scores: [n_users, n_items] scores.
      method: "minmax" ((s - min) / (max - min), a constant row -> 0), "z" ((s - mean) / std, a
        constant row -> 0) or "none".

    Returns:
      [n_users, n_items] float64.
    """
    if method not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {NORMALIZATIONS}. Received: normalize={method!r}")
    s = np.asarray(scores, np.float64)
    if method == "none":
        return s.copy()
    finite = np.isfinite(s)
    masked = np.where(finite, s, np.nan)
    with np.errstate(invalid="ignore"):
        if method == "minmax":
            lo, hi = np.nanmin(masked, axis=1, keepdims=True), np.nanmax(masked, axis=1, keepdims=True)
            span = hi - lo
            out = np.where(span > 0, (s - lo) / np.where(span > 0, span, 1.0), 0.0)
        else:
            mean, std = np.nanmean(masked, axis=1, keepdims=True), np.nanstd(masked, axis=1, keepdims=True)
            out = np.where(std > 0, (s - mean) / np.where(std > 0, std, 1.0), 0.0)
    return np.where(finite, out, s)


def simplex_grid(n: int, step: float) -> np.ndarray:
    """Every weight vector of ``n`` non-negative multiples of ``step`` summing to 1, [n_vectors, n]."""
    units = int(round(1.0 / step))
    if units < 1 or abs(units * step - 1.0) > 1e-9:
        raise ValueError(f"grid_step must divide 1 (e.g. 0.1, 0.05, 0.25). Received: grid_step={step!r}")
    rows = [c for c in itertools.product(range(units + 1), repeat=n) if sum(c) == units]
    return np.asarray(rows, np.float64) / units


def validation_carve(data: TrainingData, ratio: float, seed: int) -> "tuple[TrainingData, np.ndarray]":
    """Splits the training rows into (TrainingData of the rest, indices of the held-out rows in ``data.frame``).

    A seeded ``ratio`` of the rows is held out; held-out rows whose user or item is not in the rest
    are dropped (they cannot be scored). Item and user metadata go with the rest.

    Raises:
      ValueError: ``ratio`` outside (0, 1), or a carve that leaves nothing to fit or to score.
    """
    if not 0 < ratio < 1:
        raise ValueError(f"validation_ratio must be in (0, 1). Received: validation_ratio={ratio!r}")
    rng = np.random.default_rng(seed)
    held = rng.random(len(data.frame)) < ratio
    rest = data.frame.loc[~held].drop(columns=["user_idx", "item_idx"])
    if len(rest) == 0:
        raise ValueError("the validation carve left no training rows; lower validation_ratio.")
    part = TrainingData(rest, data.columns, items=data.items, users=data.users)
    val = np.flatnonzero(held)
    cols = data.columns
    ok = (part.user_index(data.frame[cols.user].to_numpy()[val]) != OOV_INDEX) & \
         (part.item_index(data.frame[cols.item].to_numpy()[val]) != OOV_INDEX)
    if not ok.any():
        raise ValueError("the validation carve has no row whose user and item remain in the rest; raise "
                         "validation_ratio or use more data.")
    return part, val[ok]


class HybridRecommender(Algorithm):
    """A weighted blend of fitted-on-the-same-data recommenders (see the module docstring).

    Args:
      components: the (unfitted) algorithms; at least two.
      weights: one non-negative weight per component (normalised to sum 1); None = equal weights
        (or tuned). Default None.
      normalize: "minmax", "z" or "none": per-user normalisation of ranking scores. Default "minmax".
      tune_weights: search the weights on a validation carve of the training rows. Default False.
      validation_ratio: share of the training rows held out for the search. Default 0.1.
      seed: seed of the carve. Default 42.
      grid_step: step of the simplex grid of the search. Default 0.1.
      k: list length of the ranking objective (recall@k) of the search. Default 10.
      name: the result row's name. Default "hybrid".

    Attributes:
      weights_: [n_components] the weights used (after :meth:`fit`).
      validation_: the search's table (weights -> objective) when tuned, else None.

    Raises:
      ValueError: fewer than two components, a weight count that does not match, negative or
        all-zero weights, ``weights`` together with ``tune_weights``, or an unknown ``normalize``.
    """

    def __init__(self, components: Sequence[Algorithm], weights: Optional[Sequence[float]] = None,
                 normalize: str = "minmax", tune_weights: bool = False, validation_ratio: float = 0.1,
                 seed: int = 42, grid_step: float = 0.1, k: int = 10, name: Optional[str] = None):
        super().__init__()
        self.components: List[Algorithm] = list(components)
        if len(self.components) < 2:
            raise ValueError(f"a hybrid blends at least two components. Received: {len(self.components)}")
        if normalize not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {NORMALIZATIONS}. Received: normalize={normalize!r}")
        if weights is not None:
            if tune_weights:
                raise ValueError("give the hybrid's weights or set tune_weights, not both.")
            w = np.asarray(weights, np.float64)
            if w.shape != (len(self.components),) or (w < 0).any() or w.sum() <= 0:
                raise ValueError(f"weights must be {len(self.components)} non-negative numbers, not all 0. "
                                 f"Received: weights={list(weights)!r}")
        simplex_grid(len(self.components), grid_step)  # checks grid_step
        self.weights = None if weights is None else list(map(float, weights))
        self.normalize = normalize
        self.tune_weights = bool(tune_weights)
        self.validation_ratio = float(validation_ratio)
        self.seed = int(seed)
        self.grid_step = float(grid_step)
        self.k = int(k)
        self.name = name or "hybrid"
        self.weights_: Optional[np.ndarray] = None
        self.validation_: Optional[List[dict]] = None

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, data: TrainingData) -> "HybridRecommender":
        if self.tune_weights:
            self.weights_, self.validation_ = self._search(data)
        elif self.weights is not None:
            self.weights_ = np.asarray(self.weights) / np.sum(self.weights)
        else:
            self.weights_ = np.full(len(self.components), 1.0 / len(self.components))
        for algo in self.components:
            algo.fit(data)
        self.data = data
        self.predicts_ratings = all(a.predicts_ratings for a in self.components)
        logger.info("hybrid %s: weights %s", self.name,
                    ", ".join(f"{a.name}={w:.2f}" for a, w in zip(self.components, self.weights_)))
        return self

    def _search(self, data: TrainingData):
        part, val = validation_carve(data, self.validation_ratio, self.seed)
        fitted = [copy.deepcopy(a).fit(part) for a in self.components]
        cols = data.columns
        users = part.user_index(data.frame[cols.user].to_numpy()[val])
        items = part.item_index(data.frame[cols.item].to_numpy()[val])
        grid = simplex_grid(len(fitted), self.grid_step)
        if all(a.predicts_ratings for a in fitted) and data.ratings is not None:
            preds = np.stack([a.predict(users, items) for a in fitted], axis=1).astype(np.float64)
            truth = data.ratings[val]
            table = [{"weights": w.tolist(), "rmse": rmse(truth, preds @ w)} for w in grid]
            best = min(table, key=lambda r: r["rmse"])
        else:
            table = self._ranking_table(fitted, part, users, items, grid)
            best = max(table, key=lambda r: r[f"recall@{self.k}"])
        return np.asarray(best["weights"]), table

    def _ranking_table(self, fitted, part: TrainingData, users, items, grid) -> List[dict]:
        uniq, inv = np.unique(users, return_inverse=True)
        seen = part.seen_matrix()[uniq].toarray() > 0
        normed = [np.where(seen, -np.inf, normalize_scores(a.score(uniq), self.normalize)) for a in fitted]
        relevant = np.zeros((len(uniq), part.n_items), bool)
        relevant[inv, items] = True
        n_rel = relevant.sum(axis=1)
        table = []
        for w in grid:
            blended = sum(wi * s for wi, s in zip(w, normed) if wi > 0)
            k = min(self.k, part.n_items)
            top = np.argpartition(-blended, k - 1, axis=1)[:, :k]
            hits = np.take_along_axis(relevant, top, axis=1).sum(axis=1)
            table.append({"weights": w.tolist(), f"recall@{self.k}": float(np.mean(hits / n_rel))})
        return table

    # -- scoring ------------------------------------------------------------------------------
    def _weights(self) -> np.ndarray:
        if self.weights_ is None:
            raise RuntimeError(f"HybridRecommender {self.name!r} used before fit().")
        return self.weights_

    def score(self, users):
        w = self._weights()
        out = None
        for wi, algo in zip(w, self.components):
            if wi == 0:
                continue
            part = wi * normalize_scores(algo.score(users), self.normalize)
            out = part if out is None else out + part
        return out.astype(np.float32)

    def predict(self, users, items):
        if not self.predicts_ratings:
            return Algorithm.predict(self, users, items)
        w = self._weights()
        preds = np.stack([a.predict(users, items) for a in self.components], axis=1).astype(np.float64)
        return (preds @ w).astype(np.float32)
