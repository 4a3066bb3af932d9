"""Implicit ALS (weighted regularized matrix factorization, Hu, Koren and Volinsky 2008).

Every user-item pair is a preference ``p_ui`` (1 where the user interacted with the item in
training, else 0) with confidence ``c_ui = 1 + alpha * r_ui`` (``r_ui`` = 1, or the rating with
``use_ratings``; 1 for unobserved pairs). ALS minimises
``sum_ui c_ui (p_ui - x_u . y_i)^2 + regularization * (sum |x_u|^2 + sum |y_i|^2)`` by solving for all
user vectors with the item vectors fixed, then the reverse, ``n_iterations`` times. The user step is
exact: ``x_u = (Y'Y + Y'(C_u - I)Y + lambda I)^-1 Y' C_u p_u``, with ``Y'Y`` computed once per step
and the sparse correction summed over the user's items only (the paper's speed-up, one BLAS
product per user); the systems of a chunk of users are solved with one batched ``numpy.linalg.solve``.
This is the model of Spark MLlib's ``ALS(implicitPrefs=True)`` (which scales the regularization by
each row's count; here it is the paper's constant ``lambda``).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import scipy.sparse as sp
from pydantic import Field
from threadpoolctl import threadpool_limits

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.recommenders._checks import AlgorithmParams, SeedFromParams, validated
from tfrec.recommenders.base import Algorithm

_CHUNK_BYTES = 64 << 20  # memory of the [rows, k, k] systems solved at once


class ALSParams(AlgorithmParams):
    """Parameters of :class:`ALSRecommender`.

    Attributes:
      n_factors: factors per user and item; positive. Default 64.
      n_iterations: alternations (a user step and an item step each); positive. Default 15.
      regularization: ``lambda``, the L2 weight of every factor; >= 0. Default 0.1.
      alpha: confidence slope, ``c = 1 + alpha * r``; >= 0. Default 1.0.
      use_ratings: ``r`` is the rating (True) or 1 for every interaction (False). Default False.
      init_std_dev: standard deviation of the normal initial factors; positive. Default 0.01.
      seed: seed of the initial factors. Default 42.
    """

    n_factors: int = Field(64, gt=0)
    n_iterations: int = Field(15, gt=0)
    regularization: float = Field(0.1, ge=0)
    alpha: float = Field(1.0, ge=0)
    use_ratings: bool = False
    init_std_dev: float = Field(0.01, gt=0)
    seed: int = 42


def solve_side(fixed: np.ndarray, confidence: sp.csr_matrix, regularization: float) -> np.ndarray:
    """One ALS half-step: the least-squares vectors of every row of ``confidence`` given ``fixed``.

    Args:
      fixed: [n_cols, k] float64 factors of the other side.
      confidence: [n_rows, n_cols] CSR matrix of ``c - 1 = alpha * r`` on the observed pairs.
      regularization: ``lambda`` >= 0.

    Returns:
      [n_rows, k] float64: row ``u`` solves ``(F'F + F'(C_u - I)F + lambda I) x = F' C_u 1_u``.
    """
    n_rows, k = confidence.shape[0], fixed.shape[1]
    gram = fixed.T @ fixed + regularization * np.eye(k)
    out = np.empty((n_rows, k))
    chunk = max(1, _CHUNK_BYTES // (8 * k * k))
    # one BLAS thread: a multi-threaded BLAS spends far longer waking its threads than on a [k, k]
    # product (10x slower fits on a busy 2-core machine), as the implicit library warns too
    with threadpool_limits(limits=1, user_api="blas"):
        _solve_rows(fixed, confidence, gram, out, chunk)
    return out


def _solve_rows(fixed: np.ndarray, confidence: sp.csr_matrix, gram: np.ndarray, out: np.ndarray, chunk: int) -> None:
    """Fills ``out`` ([n_rows, k]) with the solutions of :func:`solve_side`, ``chunk`` rows per batched solve."""
    n_rows, k = out.shape
    indptr, cols, extra = confidence.indptr, confidence.indices, confidence.data
    for start in range(0, n_rows, chunk):
        end = min(start + chunk, n_rows)
        lhs = np.empty((end - start, k, k))
        rhs = np.empty((end - start, k))
        for row in range(start, end):  # one BLAS product per row: F_u' diag(c - 1) F_u
            f = fixed[cols[indptr[row] : indptr[row + 1]]]
            w = extra[indptr[row] : indptr[row + 1]]
            lhs[row - start] = (f.T * w) @ f
            rhs[row - start] = (1.0 + w) @ f
        lhs += gram
        out[start:end] = np.linalg.solve(lhs, rhs[..., None])[..., 0]


class ALSRecommender(SeedFromParams, Algorithm):
    """Implicit-feedback ALS (see the module docstring): ranks items by ``x_u . y_i``.

    Args:
      **params: the fields of :class:`ALSParams`, with its defaults.
      name: row name. Default "als".

    Raises:
      ValueError: an unknown or invalid parameter (named); ``use_ratings`` on data without ratings.

    Example:
      >>> import pandas as pd
      >>> frame = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "movie_id": [1, 2, 1, 3, 2]})
      >>> algo = ALSRecommender(n_factors=4, n_iterations=3).fit(TrainingData(frame))
      >>> algo.recommend(np.array([2]), k=2)[0].shape
      (1, 2)
    """

    predicts_ratings = False

    def __init__(self, name: Optional[str] = None, **params):
        super().__init__()
        self.params = validated(ALSParams, "als", params)
        self.name = name or "als"

    def fit(self, data: TrainingData) -> "ALSRecommender":
        p = self.params
        if p.use_ratings and data.ratings is None:
            raise ValueError(f"{self.name}: use_ratings is set but the training data has no rating column "
                             f"{data.columns.rating!r}.")
        self.data = data
        strength = data.ratings.astype(np.float64) if p.use_ratings else np.ones(len(data.users_idx))
        # duplicate pairs add up their strengths
        conf = sp.csr_matrix((p.alpha * strength, (data.users_idx, data.items_idx)), shape=(data.n_users, data.n_items))
        conf.sum_duplicates()
        conf_t = conf.T.tocsr()
        rng = np.random.default_rng(p.seed)
        self.user_factors_ = rng.normal(0.0, p.init_std_dev, (data.n_users, p.n_factors))
        self.item_factors_ = rng.normal(0.0, p.init_std_dev, (data.n_items, p.n_factors))
        for _ in range(p.n_iterations):
            self.user_factors_ = solve_side(self.item_factors_, conf, p.regularization)
            self.item_factors_ = solve_side(self.user_factors_, conf_t, p.regularization)
        return self

    def score(self, users):
        """[n, n_items] float32 ``x_u . y_i``; zeros for an unknown user."""
        if self.data is None:
            raise RuntimeError(f"{self.name}: call fit() before score().")
        users = np.asarray(users)
        known = users != OOV_INDEX
        out = self.user_factors_[np.where(known, users, 0)] @ self.item_factors_.T
        return (out * known[:, None]).astype(np.float32)


__all__ = ["ALSParams", "ALSRecommender", "solve_side"]
