"""Baseline estimates ``b_ui = mu + b_u + b_i`` fitted by alternating least squares (Surprise's ``baseline_als``).

Each sweep sets every item bias to its regularised mean residual given the user biases, then every
user bias given the item biases (Koren 2010, section 2.1):

``b_i = sum_{u in U_i} (r_ui - mu - b_u) / (reg_i + |U_i|)``,
``b_u = sum_{i in I_u} (r_ui - mu - b_i) / (reg_u + |I_u|)``,

starting from zero biases. Surprise's defaults are ``reg_u=15``, ``reg_i=10``, 10 sweeps.

Example:
  >>> users, items = np.array([0, 0, 1]), np.array([0, 1, 0])
  >>> bu, bi = als_baselines(users, items, np.array([5.0, 3.0, 4.0]), 2, 2, reg_u=0.0, reg_i=0.0, epochs=1)
  >>> bi.round(3).tolist()   # mu = 4: item 0 residuals (1, 0) -> 0.5; item 1 (-1) -> -1
  [0.5, -1.0]
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

__all__ = ["als_baselines"]


def als_baselines(users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int, *,
                  reg_u: float = 15.0, reg_i: float = 10.0, epochs: int = 10) -> Tuple[np.ndarray, np.ndarray]:
    """User and item biases around the global mean, by ``epochs`` ALS sweeps.

    Args:
      users, items: [n] int indices of the training ratings.
      ratings: [n] float ratings.
      n_users, n_items: sizes of the index spaces.
      reg_u, reg_i: regularisation of user and item biases. Defaults 15 and 10.
      epochs: number of sweeps (items then users). Default 10.

    Returns:
      (b_u [n_users], b_i [n_items]) float64 arrays.
    """
    ratings = np.asarray(ratings, np.float64)
    mu = ratings.mean()
    cnt_u = np.bincount(users, minlength=n_users) + reg_u
    cnt_i = np.bincount(items, minlength=n_items) + reg_i
    bu = np.zeros(n_users)
    bi = np.zeros(n_items)
    for _ in range(epochs):
        bi = np.bincount(items, weights=ratings - mu - bu[users], minlength=n_items) / np.maximum(cnt_i, 1e-12)
        bu = np.bincount(users, weights=ratings - mu - bi[items], minlength=n_users) / np.maximum(cnt_u, 1e-12)
    return bu, bi
