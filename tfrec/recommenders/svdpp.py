"""SVD++: SVD with an implicit-feedback term, with Surprise's parameters and defaults.

The model (Koren 2008; Surprise's ``SVDpp``) predicts
``r_ui = mu + b_u + b_i + q_i . (p_u + |I_u|^-1/2 sum_{j in I_u} y_j)`` where ``I_u`` are the items
``u`` rated in training. Each rating also moves every ``y_j`` of its user's items:
``y_j += lr_yj (e q_i / sqrt|I_u| - reg_yj y_j)``.

Surprise recomputes the implicit sum and updates ``|I_u|`` item vectors for every rating in Cython,
``O(sum_u |I_u|^2)`` work per epoch (minutes on MovieLens). Here, as in
:class:`~tfrec.recommenders.svd.SVDRecommender`, an epoch visits shuffled minibatches: the implicit
sums of a batch's users are one sparse product ``N[users] @ Y`` (``N`` the [n_users, n_items]
matrix of ``1/sqrt|I_u|``), and the summed ``y_j`` updates of the batch are one more
(``N[users]^T @ (sum of e q_i per user)``), ``O(nnz)`` per batch.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np
from pydantic import Field

from tfrec.data.training_data import TrainingData
from tfrec.recommenders.svd import DTYPE, FactorSGDParams, SVDRecommender


class SVDppParams(FactorSGDParams):
    """Parameters of :class:`SVDppRecommender` (names and defaults of Surprise's ``SVDpp``).

    :class:`~tfrec.recommenders.svd.FactorSGDParams` with other defaults, and the implicit factors'
    rates.

    Attributes:
      n_factors: factors per user and item; positive. Default 20.
      lr_all: learning rate of every parameter; positive. Default 0.007.
      lr_yj: learning rate of the implicit item factors; None = ``lr_all``. Default None.
      reg_yj: regularization of the implicit item factors; None = ``reg_all``. Default None.
    """

    n_factors: int = Field(20, gt=0)
    lr_all: float = Field(0.007, gt=0)
    lr_yj: Optional[float] = Field(None, gt=0)
    reg_yj: Optional[float] = Field(None, ge=0)


class SVDppRecommender(SVDRecommender):
    """SVD++ by minibatch SGD (see the module docstring); Surprise's ``SVDpp``.

    Args:
      **params: the fields of :class:`SVDppParams`, with its defaults.
      name: row name. Default "svdpp".

    Raises:
      ValueError: an unknown or invalid parameter (named).

    Example:
      >>> import pandas as pd
      >>> frame = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "movie_id": [1, 2, 1, 3, 2],
      ...                       "user_rating": [5.0, 3.0, 4.0, 1.0, 2.0]})
      >>> algo = SVDppRecommender(n_factors=4, n_epochs=5).fit(TrainingData(frame))
      >>> algo.score(np.array([0, 1])).shape
      (2, 3)
    """

    params_schema = SVDppParams

    @classmethod
    def default_name(cls) -> str:
        return "svdpp"

    def _init_implicit(self, data: TrainingData, rng: np.random.Generator) -> None:
        p = self.params
        seen = data.seen_matrix().astype(DTYPE)
        self._seen = seen.tocsr()
        lengths = np.asarray(seen.sum(axis=1)).ravel()
        # N[u, j] = 1/sqrt|I_u| for the items j of u
        self._norm = (self._seen.multiply(1.0 / np.sqrt(np.maximum(lengths, 1.0))[:, None]).astype(DTYPE)).tocsr()
        self.yj_ = rng.normal(p.init_mean, p.init_std_dev, (data.n_items, p.n_factors)).astype(DTYPE)

    def _batch(self, u: np.ndarray, i: np.ndarray, r: np.ndarray) -> Dict[str, Any]:
        batch = super()._batch(u, i, r)
        rows = self._norm[batch["uq"]]  # N[users] of the batch
        batch["n_rows"] = rows
        batch["n_rows_t"] = rows.T.tocsr()
        # each rating of user u shrinks every y_j of u's items: number of the batch's ratings per item
        batch["shrink"] = self._seen[batch["uq"]].T @ batch["cu"]
        return batch

    def _implicit_rows(self, batch: Dict[str, Any]) -> Optional[np.ndarray]:
        return batch["n_rows"] @ self.yj_

    def _update_implicit(self, batch: Dict[str, Any], user_grad: np.ndarray) -> None:
        # each rating moves y_j (j in I_u) by lr (e q_i / sqrt|I_u| - reg y_j): summed over the batch
        p = self.params
        self.yj_ *= (1 - p.lr("yj") * p.reg("yj") * batch["shrink"])[:, None]
        self.yj_ += p.lr("yj") * (batch["n_rows_t"] @ user_grad)

    def _finish(self) -> None:
        self.user_vectors_ = self.pu_ + self._norm @ self.yj_


__all__ = ["SVDppParams", "SVDppRecommender"]
