"""SVD: biased matrix factorization trained by SGD, with Surprise's parameters and defaults.

The model (Koren, Bell and Volinsky 2009; Surprise's ``SVD``) predicts
``r_ui = mu + b_u + b_i + q_i . p_u`` and minimises the squared error plus
``reg * (b_u^2 + b_i^2 + |p_u|^2 + |q_i|^2)`` per rating with stochastic gradient descent: each
rating moves ``b_u += lr_bu (e - reg_bu b_u)``, ``b_i += lr_bi (e - reg_bi b_i)``,
``p_u += lr_pu (e q_i - reg_pu p_u)``, ``q_i += lr_qi (e p_u - reg_qi q_i)`` with ``e`` the error.

Surprise applies these updates one rating at a time (user after user) in Cython. Here the ratings
are shuffled once (``seed``) into minibatches of ``batch_size`` ratings, and each epoch visits the
batches in a new random order: every rating of a batch computes its update from the same parameters
and the updates of a batch are summed per user and per item (sparse products), a few vectorized
NumPy/SciPy operations per batch (float32). ``batch_size: 1`` is the one-at-a-time update. With
the small learning rates of SGD matrix factorization the result stays close to it (on a random
75/25 split of ml-latest-small the test RMSE moved in the fourth decimal between batch sizes 1 and
4096); tests/test_svd.py checks the RMSE against Surprise's on a real slice.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.recommenders._checks import AlgorithmParams, SeedFromParams, validated
from tfrec.recommenders.base import Algorithm

DTYPE = np.float32  # Surprise uses float64; float32 halves the memory traffic of the batch updates


class FactorSGDParams(AlgorithmParams):
    """Parameters shared by SVD and SVD++ (names of Surprise's ``SVD``; defaults of ``SVD``).

    Attributes:
      n_factors: factors per user and item; positive. Default 100.
      n_epochs: passes over the training ratings; positive. Default 20.
      init_mean, init_std_dev: normal initialisation of the factors. Default 0 and 0.1 (>= 0).
      lr_all: learning rate of every parameter; positive. Default 0.005.
      reg_all: regularization of every parameter; >= 0. Default 0.02.
      lr_bu, lr_bi, lr_pu, lr_qi: per-parameter learning rates; None = ``lr_all``. Default None.
      reg_bu, reg_bi, reg_pu, reg_qi: per-parameter regularization; None = ``reg_all``. Default None.
      batch_size: ratings updated at once (see the module docstring); positive. Default 1024. Larger
        batches run faster (SVD++ most: each batch costs a pass over its users' items) but sum more
        steps of one user or item into one: a user with ``c`` ratings in a batch moves ``c * lr``
        times its mean gradient, which must stay well under 1.
      clip: clip predictions to the training rating range (as Surprise's ``predict``). Default True.
      seed: seed of the initialisation and the epoch orders. Default 42.
    """

    n_factors: int = Field(100, gt=0)
    n_epochs: int = Field(20, gt=0)
    init_mean: float = 0.0
    init_std_dev: float = Field(0.1, ge=0)
    lr_all: float = Field(0.005, gt=0)
    reg_all: float = Field(0.02, ge=0)
    lr_bu: Optional[float] = Field(None, gt=0)
    lr_bi: Optional[float] = Field(None, gt=0)
    lr_pu: Optional[float] = Field(None, gt=0)
    lr_qi: Optional[float] = Field(None, gt=0)
    reg_bu: Optional[float] = Field(None, ge=0)
    reg_bi: Optional[float] = Field(None, ge=0)
    reg_pu: Optional[float] = Field(None, ge=0)
    reg_qi: Optional[float] = Field(None, ge=0)
    batch_size: int = Field(1024, gt=0)
    clip: bool = True
    seed: int = 42

    def lr(self, part: str) -> float:
        """Learning rate of ``part`` ("bu", "bi", "pu", "qi", ...): its own or ``lr_all``."""
        own = getattr(self, f"lr_{part}")
        return self.lr_all if own is None else own

    def reg(self, part: str) -> float:
        """Regularization of ``part``: its own or ``reg_all``."""
        own = getattr(self, f"reg_{part}")
        return self.reg_all if own is None else own


class SVDParams(FactorSGDParams):
    """Parameters of :class:`SVDRecommender`: :class:`FactorSGDParams` (Surprise ``SVD``'s defaults) and

    Attributes:
      biased: learn ``mu + b_u + b_i`` (False: ``q_i . p_u`` alone). Default True.
    """

    biased: bool = True


def _scatter_matrix(idx: np.ndarray):
    """(unique indices, [n_unique, len(idx)] CSR 0/1 matrix summing rows per index, count per index)."""
    uniq, inverse, counts = np.unique(idx, return_inverse=True, return_counts=True)
    m = sp.csr_matrix((np.ones(len(idx), DTYPE), (inverse, np.arange(len(idx)))), shape=(len(uniq), len(idx)))
    return uniq, m, counts.astype(DTYPE)


class SVDRecommender(SeedFromParams, Algorithm):
    """Biased matrix factorization by minibatch SGD (see the module docstring); Surprise's ``SVD``.

    Args:
      **params: the fields of :class:`SVDParams` (``n_factors``, ``n_epochs``, ``lr_all``,
        ``reg_all``, ...), with its defaults.
      name: row name. Default "svd".

    Raises:
      ValueError: an unknown or invalid parameter (named).

    Example:
      >>> import pandas as pd
      >>> frame = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "movie_id": [1, 2, 1, 3, 2],
      ...                       "user_rating": [5.0, 3.0, 4.0, 1.0, 2.0]})
      >>> algo = SVDRecommender(n_factors=4, n_epochs=5).fit(TrainingData(frame))
      >>> algo.predict(np.array([0, 2]), np.array([2, 0])).shape
      (2,)
    """

    predicts_ratings = True
    params_schema = SVDParams
    #: the learnt parts of the model, as Surprise names them
    _parts = ("bu", "bi", "pu", "qi")

    def __init__(self, name: Optional[str] = None, **params):
        super().__init__()
        self.params = validated(self.params_schema, self.default_name(), params)
        self.name = name or self.default_name()

    @classmethod
    def default_name(cls) -> str:
        return "svd"

    @property
    def biased(self) -> bool:
        """True when the model has the ``mu + b_u + b_i`` terms."""
        return bool(getattr(self.params, "biased", True))

    # -- training -------------------------------------------------------------------------------
    def fit(self, data: TrainingData) -> "SVDRecommender":
        if data.ratings is None:
            raise ValueError(f"{self.name} predicts ratings; the training data has no rating column {data.columns.rating!r}.")
        p = self.params
        self.data = data
        rng = np.random.default_rng(p.seed)
        users, items = data.users_idx, data.items_idx
        ratings = data.ratings.astype(DTYPE)
        self.global_mean_ = float(ratings.mean())
        self.mu_ = self.global_mean_ if self.biased else 0.0
        self.range_ = (float(ratings.min()), float(ratings.max()))
        self.pu_ = rng.normal(p.init_mean, p.init_std_dev, (data.n_users, p.n_factors)).astype(DTYPE)
        self.qi_ = rng.normal(p.init_mean, p.init_std_dev, (data.n_items, p.n_factors)).astype(DTYPE)
        self.bu_ = np.zeros(data.n_users, DTYPE)
        self.bi_ = np.zeros(data.n_items, DTYPE)
        self._init_implicit(data, rng)
        order = rng.permutation(len(ratings))
        batches = [self._batch(users[b], items[b], ratings[b])
                   for b in (order[s : s + p.batch_size] for s in range(0, len(order), p.batch_size))]
        for _ in range(p.n_epochs):
            for j in rng.permutation(len(batches)):
                self._sgd_step(batches[j])
        self._finish()
        return self

    def _init_implicit(self, data: TrainingData, rng: np.random.Generator) -> None:
        """Hook of SVD++: set up the implicit-feedback factors (nothing here)."""

    def _batch(self, u: np.ndarray, i: np.ndarray, r: np.ndarray) -> Dict[str, Any]:
        """The arrays and sparse scatter matrices of one minibatch, built once before the epochs."""
        (uq, su, cu), (iq, si, ci) = _scatter_matrix(u), _scatter_matrix(i)
        u_rows, i_rows = np.searchsorted(uq, u), np.searchsorted(iq, i)
        return dict(u=u, i=i, r=r, uq=uq, su=su, cu=cu, iq=iq, si=si, ci=ci, u_rows=u_rows, i_rows=i_rows)

    def _implicit_rows(self, batch: Dict[str, Any]) -> Optional[np.ndarray]:
        """Hook of SVD++: [n_batch_users, n_factors] implicit-feedback sums of the batch's users (None here)."""
        return None

    def _update_implicit(self, batch: Dict[str, Any], user_grad: np.ndarray) -> None:
        """Hook of SVD++: SGD step of the implicit factors (nothing here)."""

    def _sgd_step(self, batch: Dict[str, Any]) -> None:
        p = self.params
        u, i, r, uq, su, cu, iq, si, ci = (batch[k] for k in ("u", "i", "r", "uq", "su", "cu", "iq", "si", "ci"))
        pu, qi = self.pu_[u], self.qi_[i]
        implicit = self._implicit_rows(batch)
        if implicit is not None:
            pu += implicit[batch["u_rows"]]  # pu is a copy (fancy indexing)
        err = r - (self.mu_ + self.bu_[u] + self.bi_[i] + np.einsum("ij,ij->i", pu, qi))
        if self.biased:
            err_u = np.bincount(batch["u_rows"], weights=err, minlength=len(uq))
            err_i = np.bincount(batch["i_rows"], weights=err, minlength=len(iq))
            self.bu_[uq] = self.bu_[uq] * (1 - p.lr("bu") * p.reg("bu") * cu) + p.lr("bu") * err_u
            self.bi_[iq] = self.bi_[iq] * (1 - p.lr("bi") * p.reg("bi") * ci) + p.lr("bi") * err_i
        # each rating's step, summed per user / item: x += lr * (sum of gradients - reg * count * x); the
        # scatter matrices carry each rating's weight (e, lr e) in place of 1, which saves two [batch,
        # n_factors] products
        su.data = err[su.indices]
        si.data = (p.lr("qi") * err)[si.indices]
        user_grad = su @ qi  # sum of e q_i over each user's ratings of the batch
        item_step = si @ pu
        rows = self.pu_[uq]
        rows *= (1 - p.lr("pu") * p.reg("pu") * cu)[:, None]
        rows += p.lr("pu") * user_grad
        self.pu_[uq] = rows
        rows = self.qi_[iq]
        rows *= (1 - p.lr("qi") * p.reg("qi") * ci)[:, None]
        rows += item_step
        self.qi_[iq] = rows
        if implicit is not None:
            self._update_implicit(batch, user_grad)

    def _finish(self) -> None:
        """Sets ``user_vectors_`` (the user side of the dot product) after training."""
        self.user_vectors_ = self.pu_

    # -- scoring --------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if self.data is None:
            raise RuntimeError(f"{self.name}: call fit() before predict() or score().")

    def score(self, users):
        """[n, n_items] predicted ratings (unclipped); an unknown user gets ``mu + b_i``."""
        self._check_fitted()
        users = np.asarray(users)
        known = users != OOV_INDEX
        safe = np.where(known, users, 0)
        out = (self.user_vectors_[safe] @ self.qi_.T) * known[:, None]
        out += self.mu_ + self.bi_[None, :] + (self.bu_[safe] * known)[:, None]
        return out.astype(np.float32)

    def predict(self, users, items):
        """[n] predicted ratings: ``mu + b_u + b_i + q_i . p_u`` (the terms of unknown ids left out,
        the training mean where an unbiased model knows neither), clipped to the training range."""
        self._check_fitted()
        users, items = np.asarray(users), np.asarray(items)
        ku, ki = users != OOV_INDEX, items != OOV_INDEX
        su, si = np.where(ku, users, 0), np.where(ki, items, 0)
        est = self.mu_ + self.bu_[su] * ku + self.bi_[si] * ki
        est += np.einsum("ij,ij->i", self.user_vectors_[su], self.qi_[si]) * (ku & ki)
        if not self.biased:
            est = np.where(ku & ki, est, self.global_mean_)
        if self.params.clip:
            est = np.clip(est, *self.range_)
        return est.astype(np.float32)


__all__ = ["FactorSGDParams", "SVDParams", "SVDRecommender"]
