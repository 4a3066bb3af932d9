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
sparse products, one block of rows at a time (arrays with one entry per co-rating pair of the
block), each block only from its first row's column on (the upper triangle; the lower one is
mirrored from the blocks above, at least 8 blocks so that about half the work is skipped); the
result is a dense [n_rows, n_rows] float64 matrix (float64 as Surprise, so that ties between
neighbours are the same).

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


#: co-rating pairs per block of rows: each block's arrays stay at tens of MB, reused from the heap
#: (fresh large arrays would each be faulted in page by page)
_BLOCK_PAIRS = 1 << 21
#: at least this many blocks: a block computes only the columns from its first row on (the matrix is
#: symmetric), so thinner blocks skip more of the lower triangle
_MIN_BLOCKS = 8


def _row_blocks(x: sp.csr_matrix):
    """Slices of rows whose co-rating pairs (an upper bound from the rows' column counts) fit a block."""
    col_counts = np.bincount(x.indices, minlength=x.shape[1]).astype(np.float64)
    # pairs of row i <= sum over its columns of the column's count
    rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
    work = np.bincount(rows, weights=col_counts[x.indices], minlength=x.shape[0])
    bounds = np.cumsum(np.minimum(work, x.shape[0]))
    most_rows = -(-x.shape[0] // _MIN_BLOCKS)
    start = 0
    while start < x.shape[0]:
        stop = max(int(np.searchsorted(bounds, bounds[start] - min(work[start], x.shape[0]) + _BLOCK_PAIRS, "right")),
                   start + 1)
        stop = min(stop, start + most_rows)
        yield slice(start, stop)
        start = stop


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den != 0)
    return out


class _Operands:
    """The stacked left and transposed right operands of each product, built once for all row blocks.

    A sum over co-rated entries of ``f(x_i) g(x_j)`` is the sparse product ``F G^T`` where ``F``, ``G``
    hold ``f``, ``g`` at the observed entries. Two sums travel in one complex product (real and
    imaginary parts), and ``[F1, F2] [G1, G2]^T = F1 G1^T + F2 G2^T`` adds sums inside one product, so
    each similarity needs one to three products (the product, not the arithmetic, is the cost).
    """

    def __init__(self, values: sp.csr_matrix):
        x = values.astype(np.float64).tocsr()
        b, x2 = x.copy(), x.copy()
        b.data = np.ones_like(b.data)
        x2.data = x.data**2
        self.x = x
        # product -> (left blocks, right blocks)
        plans = {"sqj": ([b, 1j * b], [x2, b]), "sq_diff": ([x2 + 1j * b, b, x], [b, x2, -2.0 * x]),
                 "prods_sqi": ([x, 1j * x2], [x, b]), "sums": ([x, 1j * b], [b, x])}
        self._plans, self._built = plans, {}

    def product(self, kind: str, rows: slice) -> sp.csr_matrix:
        """Rows ``rows`` of ``hstack(left) @ hstack(right)^T`` of product ``kind``, columns from ``rows.start`` on.

        The similarities are symmetric: a block of rows needs only the columns from its first row on
        (the upper triangle and its own square); :func:`similarity_matrix` mirrors the rest.
        """
        if kind not in self._built:
            left, right = self._plans[kind]
            self._built[kind] = (sp.hstack(left, format="csr"), sp.hstack(right, format="csr"))
        left, right = self._built[kind]
        return left[rows] @ right[rows.start :].T


class _CoRatings:
    """Per-pair sums over co-rated entries of a block of rows, aligned with the pairs that co-rate anything.

    The first product carries the support ``n`` (number of co-rated entries, >= 1 on every pair that
    co-rates anything) in its imaginary part, so scipy drops none of its entries: its structure is
    the pattern. Later products use the same operand structures, so scipy emits their entries in the
    same order; a product whose both parts sum to exactly 0 somewhere (dropped) is realigned.

    Args:
      ops: the operands.
      rows: the block of rows.
      first: "sqj" (the pattern product gives ``sum x_j^2`` with ``n``) or "sq_diff" (``sum (x_i -
        x_j)^2`` with ``n``).
    """

    def __init__(self, ops: _Operands, rows: slice, first: str = "sqj"):
        self.ops, self.rows = ops, rows
        both = ops.product(first, rows)
        self.indptr, self.indices = both.indptr, both.indices
        self.freq = np.rint(both.data.imag)
        setattr(self, first, both.data.real.copy())

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
        data = self._aligned(self.ops.product("prods_sqi", self.rows))
        return data.real, data.imag

    def sums(self):
        """(sum x_i, sum x_j) over co-rated entries."""
        data = self._aligned(self.ops.product("sums", self.rows))
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
    ops = _Operands(sp.csr_matrix(values))
    n = ops.x.shape[0]
    counts = np.diff(ops.x.indptr).astype(np.float64)
    min_sprt = max(2, min_support) if name == "pearson_baseline" else min_support
    out = np.zeros((n, n))
    for rows in _row_blocks(ops.x):
        st = _CoRatings(ops, rows, "sq_diff" if name == "msd" and not implicit else "sqj")
        freq = st.freq
        if implicit:
            ci, cj = counts[rows][st.rows_of(st.indptr)], counts[rows.start + st.indices]
            sim = freq / (np.sqrt(ci * cj) if name == "cosine" else ci + cj - freq)
        elif name in ("cosine", "pearson_baseline"):
            sim = _cosine(st)
            if name == "pearson_baseline":
                sim *= _safe_divide(freq - 1.0, freq - 1.0 + shrinkage)
        elif name == "msd":
            sim = _msd(st)
        else:
            sim = _pearson(st)
        sim[freq < min_sprt] = 0.0
        flat = (rows.start + st.rows_of(st.indptr)) * n + (rows.start + st.indices)
        out.reshape(-1)[flat] = sim  # the pairs that co-rate nothing stay 0
        out[rows, : rows.start] = out[: rows.start, rows].T  # the lower triangle, from the blocks above
    np.fill_diagonal(out, 1.0)
    return out
