"""Similarity matrices between the rows of a sparse rating matrix, as Surprise defines them.

Rows are the objects compared (users for user-based kNN, items for item-based), columns the
objects that co-rate them. Rating similarities use only the **co-rated** entries of a pair (the
``support`` ``n`` of the pair), exactly as ``surprise.similarities``:

* ``cosine``: ``sum x_i y_i / sqrt(sum x_i^2 * sum y_i^2)``;
* ``msd``: ``1 / (sum (x_i - y_i)^2 / n + 1)``;
* ``pearson``: the sample correlation over the co-rated entries (0 where a variance is 0);
* ``pearson_baseline``: the cosine of the residuals ``r - b`` (baseline estimates), shrunk by
  ``(n - 1) / (n - 1 + shrinkage)``; pairs need ``n >= max(2, min_support)``;

and on implicit data (sets of interactions):

* ``cosine``: ``|A & B| / sqrt(|A| |B|)``; ``jaccard``: ``|A & B| / |A | B|``.

Pairs with support below ``min_support`` get 0; the diagonal is 1. The co-rating statistics are
sparse products (a handful of arrays with one entry per co-rating pair); the result is a dense
[n_rows, n_rows] float64 matrix (float64 as Surprise, so that ties between neighbours are the same).

Example:
  >>> import scipy.sparse as sp
  >>> m = sp.csr_matrix(np.array([[5.0, 3.0, 0.0], [4.0, 0.0, 2.0]]))
  >>> similarity_matrix("msd", m).round(3).tolist()    # one co-rated column: (5 - 4)^2 = 1
  [[1.0, 0.5], [0.5, 1.0]]
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tfrec.recommenders.knn.params import SIMILARITIES

__all__ = ["similarity_matrix"]


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den != 0)
    return out


class _CoRatings:
    """Per-pair sums over co-rated entries, as arrays aligned with the pairs that co-rate anything.

    ``pattern`` is the CSR structure of ``B B^T`` (``B`` the 0/1 matrix of observed entries): one
    entry per pair with support >= 1. Every other statistic is a sparse product with the same
    operand structures, so scipy emits its entries in the same order; an exact zero sum (dropped
    by scipy) is detected and realigned.
    """

    def __init__(self, values: sp.csr_matrix):
        self.x = values.astype(np.float64).tocsr()
        self.b = self.x.copy()
        self.b.data = np.ones_like(self.b.data)
        self.x2 = self.x.copy()
        self.x2.data = self.x.data**2
        self.xt, self.bt, self.x2t = (m.T.tocsr() for m in (self.x, self.b, self.x2))
        both = (self.b + 1j * self.x2) @ self.bt  # real part >= 1 on every co-rated pair: nothing dropped
        self.indptr, self.indices = both.indptr, both.indices
        self.freq, self.sqi = both.data.real.copy(), both.data.imag.copy()

    def _aligned(self, product: sp.csr_matrix) -> np.ndarray:
        if product.nnz == len(self.indices) and np.array_equal(product.indices, self.indices):
            return product.data
        n = product.shape[1]
        rows = np.repeat(np.arange(product.shape[0], dtype=np.int64), np.diff(product.indptr))
        keys = rows * n + product.indices
        order = np.argsort(keys)
        want = np.repeat(np.arange(len(self.indptr) - 1, dtype=np.int64), np.diff(self.indptr)) * n + self.indices
        at = np.minimum(np.searchsorted(keys[order], want), max(len(keys) - 1, 0))
        found = keys[order][at] == want if len(keys) else np.zeros(len(want), bool)
        return np.where(found, product.data[order][at] if len(keys) else 0.0, 0.0)

    def prods(self) -> np.ndarray:
        return self._aligned(self.x @ self.xt)

    def sums(self):
        """(sum of the row's values, sum of the other row's values) over co-rated entries."""
        return self._aligned(self.x @ self.bt), self._aligned(self.b @ self.xt)

    def sqj(self) -> np.ndarray:
        """Sum of the other row's squares over co-rated entries."""
        return self._aligned(self.b @ self.x2t)

    def rows(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))


def _cosine(st: _CoRatings) -> np.ndarray:
    return _safe_divide(st.prods(), np.sqrt(st.sqi * st.sqj()))


def _msd(st: _CoRatings) -> np.ndarray:
    sq_diff = np.maximum(st.sqi + st.sqj() - 2.0 * st.prods(), 0.0)
    return 1.0 / (sq_diff / st.freq + 1.0)


def _pearson(st: _CoRatings) -> np.ndarray:
    si, sj = st.sums()
    n = st.freq
    num = n * st.prods() - si * sj
    den = np.sqrt(np.maximum((n * st.sqi - si**2) * (n * st.sqj() - sj**2), 0.0))
    return _safe_divide(num, den)


def similarity_matrix(name: str, values: sp.csr_matrix, *, min_support: int = 1, shrinkage: float = 100.0,
                      implicit: bool = False) -> np.ndarray:
    """All pairwise similarities between the rows of ``values``.

    Args:
      name: one of ``cosine``, ``msd``, ``pearson``, ``pearson_baseline``, ``jaccard``.
      values: [n_rows, n_cols] sparse matrix; a stored entry is an observed rating (explicit zeros
        count as observed). For ``pearson_baseline`` pass the residuals ``r - b_ui``.
      min_support: pairs with fewer co-rated columns get 0. Default 1.
      shrinkage: ``pearson_baseline`` shrinkage. Default 100.
      implicit: ``values`` are sets (``cosine`` and ``jaccard`` over interactions). Default False.

    Returns:
      [n_rows, n_rows] float64 symmetric similarities, diagonal 1.

    Raises:
      ValueError: an unknown ``name``, or ``jaccard`` without ``implicit``.
    """
    if name not in SIMILARITIES:
        raise ValueError(f"Unknown similarity {name!r}. Valid similarities: {', '.join(SIMILARITIES)}.")
    if name == "jaccard" and not implicit:
        raise ValueError("similarity 'jaccard' compares sets of interactions: use it with implicit=True.")
    st = _CoRatings(sp.csr_matrix(values))
    n = st.x.shape[0]
    freq = st.freq
    if implicit:
        counts = np.diff(st.x.indptr).astype(np.float64)
        ci, cj = counts[st.rows()], counts[st.indices]
        sim = freq / (np.sqrt(ci * cj) if name == "cosine" else ci + cj - freq)
    elif name in ("cosine", "pearson_baseline"):
        sim = _cosine(st)
        if name == "pearson_baseline":
            sim *= _safe_divide(freq - 1.0, freq - 1.0 + shrinkage)
    elif name == "msd":
        sim = _msd(st)
    else:
        sim = _pearson(st)
    min_sprt = max(2, min_support) if name == "pearson_baseline" else min_support
    sim[freq < min_sprt] = 0.0
    out = sp.csr_matrix((sim, st.indices, st.indptr), shape=(n, n)).toarray()
    np.fill_diagonal(out, 1.0)
    return out
