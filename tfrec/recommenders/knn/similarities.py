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

    A sum over co-rated entries of ``f(x_i) g(x_j)`` is the sparse product ``F G^T`` where ``F``, ``G``
    hold ``f``, ``g`` at the observed entries. Two sums travel in one complex product (real and
    imaginary parts), and ``[F1, F2] [G1, G2]^T = F1 G1^T + F2 G2^T`` adds sums inside one product, so
    each similarity needs one to three products (the product, not the arithmetic, is the cost).

    The first product carries the support ``n`` (number of co-rated entries, >= 1 on every pair that
    co-rates anything) in its imaginary part, so scipy drops none of its entries: its structure is
    the pattern. Later products use the same operand structures, so scipy emits their entries in the
    same order; a product whose both parts sum to exactly 0 somewhere (dropped) is realigned.

    Args:
      values: [n_rows, n_cols] CSR; stored entries are the observed ratings.
      first: "sqj" (the pattern product gives ``sum x_j^2`` with ``n``) or "sq_diff" (``sum (x_i -
        x_j)^2`` with ``n``).
    """

    def __init__(self, values: sp.csr_matrix, first: str = "sqj"):
        self.x = values.astype(np.float64).tocsr()
        self.b = self.x.copy()
        self.b.data = np.ones_like(self.b.data)
        self.x2 = self.x.copy()
        self.x2.data = self.x.data**2
        x, b, x2 = self.x, self.b, self.x2
        left, right = ([b, 1j * b], [x2, b]) if first == "sqj" else ([x2 + 1j * b, b, x], [b, x2, -2.0 * x])
        both = self._product(left, right)
        self.indptr, self.indices = both.indptr, both.indices
        self.freq = np.rint(both.data.imag)
        setattr(self, first, both.data.real.copy())

    @staticmethod
    def _product(left, right) -> sp.csr_matrix:
        """``hstack(left) @ hstack(right)^T``: sum over the blocks of each block's co-rated sums."""
        return sp.hstack(left, format="csr") @ sp.hstack(right, format="csr").T.tocsr()

    def _aligned(self, product: sp.csr_matrix) -> np.ndarray:
        if product.nnz == len(self.indices) and np.array_equal(product.indices, self.indices):
            return product.data
        n = product.shape[1]
        keys = self.rows_of(product.indptr) * n + product.indices
        order = np.argsort(keys)
        want = self.rows_of(self.indptr) * n + self.indices
        at = np.minimum(np.searchsorted(keys[order], want), max(len(keys) - 1, 0))
        found = keys[order][at] == want if len(keys) else np.zeros(len(want), bool)
        return np.where(found, product.data[order][at] if len(keys) else 0.0, 0.0)

    def prods_sqi(self):
        """(sum x_i x_j, sum x_i^2) over co-rated entries."""
        data = self._aligned(self._product([self.x, 1j * self.x2], [self.x, self.b]))
        return data.real, data.imag

    def sums(self):
        """(sum x_i, sum x_j) over co-rated entries."""
        data = self._aligned(self._product([self.x, 1j * self.b], [self.b, self.x]))
        return data.real, data.imag

    @staticmethod
    def rows_of(indptr: np.ndarray) -> np.ndarray:
        return np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))


def _cosine(st: _CoRatings) -> np.ndarray:
    prods, sqi = st.prods_sqi()
    return _safe_divide(prods, np.sqrt(sqi * st.sqj))


def _msd(st: _CoRatings) -> np.ndarray:
    return 1.0 / (np.maximum(st.sq_diff, 0.0) / st.freq + 1.0)


def _pearson(st: _CoRatings) -> np.ndarray:
    si, sj = st.sums()
    prods, sqi = st.prods_sqi()
    n = st.freq
    num = n * prods - si * sj
    den = np.sqrt(np.maximum((n * sqi - si**2) * (n * st.sqj - sj**2), 0.0))
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
    st = _CoRatings(sp.csr_matrix(values), "sq_diff" if name == "msd" and not implicit else "sqj")
    n = st.x.shape[0]
    freq = st.freq
    if implicit:
        counts = np.diff(st.x.indptr).astype(np.float64)
        ci, cj = counts[st.rows_of(st.indptr)], counts[st.indices]
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
