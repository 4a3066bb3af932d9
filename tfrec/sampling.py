"""The one negative sampler: items a user has no training interaction with, seeded.

:class:`NegativeSampler` draws, for each user, items that are *not* among that user's positives,
vectorized over all users at once (rejection sampling on sorted ``user * n_items + item`` keys; no
Python loop per user). Draws are uniform over the catalog, or proportional to ``item_weights``
(popularity sampling: pass the training counts, or counts ** 0.75 as word2vec does). It is stateful:
every call continues the same seeded random stream, so calling it once per epoch gives fresh
negatives each epoch, as in He et al. (2017).

* :meth:`NegativeSampler.sample`: with replacement (NCF / BPR training negatives).
* :meth:`NegativeSampler.sample_distinct`: without replacement (the NCF evaluation protocol's 99
  negatives per test user, :func:`tfrec.splits.ncf_split`).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import scipy.sparse as sp

__all__ = ["NegativeSampler"]


class NegativeSampler:
    """Draws negative items from the items a user has no training interaction with.

    Draws are uniform over the catalog, or proportional to ``item_weights``, conditioned on not
    being one of the user's positives: a drawn item is never a positive. :meth:`sample` draws with
    replacement (the same negative may appear twice for a user, as in the NCF reference code);
    :meth:`sample_distinct` without.

    Args:
      positives: [n_users, n_items] scipy sparse matrix (or anything ``scipy.sparse.csr_matrix``
        accepts); a nonzero entry marks a positive, e.g. ``TrainingData.seen_matrix()``.
      seed: int, sequence of ints (as ``np.random.default_rng`` takes) or None: seed of the NumPy
        generator. Default None.
      max_rounds: int, rejection rounds of :meth:`sample` before the remaining draws are made exactly
        from each user's complement (only reached when a user has almost every item). Default 32.
      item_weights: optional [n_items] non-negative float array: draw item ``i`` with probability
        proportional to ``item_weights[i]`` (popularity sampling, e.g. ``TrainingData.item_popularity()``);
        items of weight 0 are never drawn. Default None (uniform).

    Raises:
      ValueError: if a user has every drawable item as a positive (there is nothing to sample for
        them); the message names such users.

    Example:

    >>> import scipy.sparse as sp
    >>> pos = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 0, 1]]))
    >>> sampler = NegativeSampler(pos, seed=0)
    >>> neg = sampler.sample(np.array([0, 0, 1]), num_negatives=3)
    >>> neg.shape
    (3, 3)
    >>> bool(np.isin(neg[:2], [0, 1]).any() or (neg[2] == 3).any())
    False
    """

    def __init__(self, positives, seed: Union[None, int, Sequence[int]] = None, max_rounds: int = 32,
                 item_weights: Optional[np.ndarray] = None):
        csr = sp.csr_matrix(positives)
        csr.sum_duplicates()
        csr.eliminate_zeros()
        if csr.shape[0] == 0 or csr.shape[1] == 0:
            raise ValueError(f"positives must have at least one user and one item. Received shape {csr.shape}.")
        if not isinstance(max_rounds, int) or max_rounds < 1:
            raise ValueError(f"max_rounds must be a positive integer. Received: max_rounds={max_rounds!r}")
        self.n_users, self.n_items = (int(s) for s in csr.shape)
        self.max_rounds = max_rounds
        rows = np.repeat(np.arange(self.n_users, dtype=np.int64), np.diff(csr.indptr))
        self._keys = np.sort(rows * self.n_items + csr.indices.astype(np.int64))
        self.positive_counts = np.diff(csr.indptr).astype(np.int64)
        self._indptr = csr.indptr
        self._indices = csr.indices
        self._rng = np.random.default_rng(seed)
        self.item_weights = None
        self._cdf = None
        drawable_counts = self.positive_counts
        if item_weights is not None:
            w = np.asarray(item_weights, dtype=np.float64)
            if w.shape != (self.n_items,):
                raise ValueError(
                    f"item_weights must have one weight per item, shape ({self.n_items},). Received shape {w.shape}."
                )
            if not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
                raise ValueError("item_weights must be finite, >= 0 and not all 0. Received weights in "
                                 f"[{w.min() if w.size else None}, {w.max() if w.size else None}], sum {w.sum()}.")
            self.item_weights = w
            self._cdf = np.cumsum(w)
            # positives of weight 0 do not shrink what a user can be given
            drawable_counts = self.positive_counts - np.bincount(rows[w[csr.indices] == 0], minlength=self.n_users)
        # number of items a user can be given: drawable items that are not among their positives
        self._n_drawable = self.n_items if self._cdf is None else int((self.item_weights > 0).sum())
        self._available = self._n_drawable - np.asarray(drawable_counts, np.int64)

    def _draw(self, size) -> np.ndarray:
        """[size] int64 item indices, i.i.d. uniform or proportional to ``item_weights``."""
        if self._cdf is None:
            return self._rng.integers(0, self.n_items, size=size, dtype=np.int64)
        u = self._rng.random(size) * self._cdf[-1]
        return np.minimum(np.searchsorted(self._cdf, u, side="right"), self.n_items - 1).astype(np.int64)

    def _complement(self, user: int) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Items user ``user`` may be given and their probabilities (None: uniform)."""
        own = self._indices[self._indptr[user]:self._indptr[user + 1]]
        free = np.setdiff1d(np.arange(self.n_items), own)
        if self._cdf is None:
            return free, None
        w = self.item_weights[free]
        return free[w > 0], w[w > 0] / w[w > 0].sum()

    def _check_users(self, users: np.ndarray, needed: int) -> None:
        if users.ndim != 1 or not np.issubdtype(users.dtype, np.integer):
            raise ValueError(f"users must be a 1-D integer array. Received dtype={users.dtype}, shape={users.shape}.")
        if users.size and (users.min() < 0 or users.max() >= self.n_users):
            raise ValueError(
                f"user indices must be in [0, {self.n_users}); received values in [{users.min()}, {users.max()}]. "
                "Map unknown users (index -1) out before sampling."
            )
        short = self._available[users] < needed
        if short.any():
            bad = np.unique(users[short])[:5].tolist()
            if self._cdf is None and needed == 1:
                raise ValueError(
                    f"Users {bad} have every one of the {self.n_items} items as a positive, so no negative can be "
                    "drawn for them. Drop these users from the training data."
                )
            what = "items" if self._cdf is None else "items of nonzero weight"
            raise ValueError(
                f"Users {bad} have fewer than {needed} {what} that are not their positives (of {self._n_drawable}), "
                f"so {needed} distinct negatives cannot be drawn for them. Drop these users or ask for fewer negatives."
            )

    def is_positive(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Boolean array, True where ``items[j]`` is a positive of ``users[j]`` (same shapes)."""
        keys = np.asarray(users, np.int64) * self.n_items + np.asarray(items, np.int64)
        if len(self._keys) == 0:
            return np.zeros(keys.shape, bool)
        pos = np.searchsorted(self._keys, keys)
        pos = np.minimum(pos, len(self._keys) - 1)
        return self._keys[pos] == keys

    def sample(self, users: np.ndarray, num_negatives: int = 4) -> np.ndarray:
        """Negative items for each entry of ``users``.

        Args:
          users: [n] int user indices in ``[0, n_users)``; repeats allowed (one row per entry).
          num_negatives: int >= 1, negatives per entry. Default 4.

        Returns:
          [n, num_negatives] int32 item indices, none of them a positive of that row's user.
        """
        users = np.asarray(users)
        if not isinstance(num_negatives, (int, np.integer)) or num_negatives < 1:
            raise ValueError(f"num_negatives must be a positive integer. Received: num_negatives={num_negatives!r}")
        self._check_users(users, 1)
        users64 = users.astype(np.int64)
        out = self._draw((len(users), int(num_negatives)))
        bad_r, bad_c = np.nonzero(self.is_positive(users64[:, None], out))
        for _ in range(self.max_rounds):
            if bad_r.size == 0:
                break
            redraw = self._draw(bad_r.size)
            out[bad_r, bad_c] = redraw
            still = self.is_positive(users64[bad_r], redraw)
            bad_r, bad_c = bad_r[still], bad_c[still]
        for r, c in zip(bad_r, bad_c):  # exact fallback for users with nearly every item positive
            free, p = self._complement(users64[r])
            out[r, c] = self._rng.choice(free, p=p)
        return out.astype(np.int32)

    def sample_distinct(self, users: np.ndarray, num: int, chunk: int = 4096) -> np.ndarray:
        """``num`` distinct negative items for each entry of ``users`` (without replacement).

        Rejection sampling: draw candidates (uniform, or by ``item_weights``), drop positives and
        repeats inside a row, keep the first ``num`` survivors of each row (the first ``num`` distinct
        valid draws of an i.i.d. sequence: a uniform random subset in random order when unweighted,
        successive weighted sampling otherwise). Rows still short get more draws.

        Args:
          users: [n] int user indices in ``[0, n_users)``; repeats allowed (one row per entry).
          num: int >= 1, negatives per entry.
          chunk: rows drawn at once (bounds memory). Default 4096.

        Returns:
          [n, num] int64 item indices; no row holds a positive of its user or an item twice.

        Raises:
          ValueError: a user has fewer than ``num`` items to draw from; the message names them.
        """
        users = np.asarray(users)
        if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 1:
            raise ValueError(f"num must be a positive integer. Received: num={num!r}")
        self._check_users(users, int(num))
        users = users.astype(np.int64)
        n_items, num = self.n_items, int(num)
        out = np.empty((len(users), num), np.int64)
        for lo in range(0, len(users), chunk):
            uu = users[lo:lo + chunk]
            accept = self._available[uu] / n_items
            have = np.full((len(uu), 0), -1, np.int64)
            rows = np.arange(len(uu))  # rows of this chunk still being filled
            for attempt in range(50):
                width = int(math.ceil(num / max(accept[rows].min(), 1e-3) * 1.3)) + 16
                cand = np.concatenate([have, self._draw((len(rows), width))], axis=1)
                valid = cand >= 0
                valid &= ~self.is_positive(uu[rows, None], cand)
                flat = (np.arange(len(rows))[:, None] * n_items + cand).ravel()
                first = np.zeros(flat.size, bool)
                first[np.unique(flat, return_index=True)[1]] = True
                valid &= first.reshape(cand.shape)
                cnt = np.cumsum(valid, axis=1)
                take = valid & (cnt <= num)
                done = cnt[:, -1] >= num
                out[lo + rows[done]] = cand[done][take[done]].reshape(-1, num)
                if done.all():
                    break
                keep = ~done
                short = np.full((int(keep.sum()), num), -1, np.int64)
                k = cnt[keep, -1]
                short[np.arange(num)[None, :] < k[:, None]] = cand[keep][take[keep]]
                have, rows = short, rows[keep]
            else:  # only with nearly every item positive (or weighted away): exact fallback
                for r in rows:
                    free, p = self._complement(uu[r])
                    out[lo + r] = (self._rng.permutation(free)[:num] if p is None
                                   else self._rng.choice(free, size=num, replace=False, p=p))
        return out

    def training_examples(self, users: np.ndarray, items: np.ndarray, num_negatives: int = 4,
                          shuffle: bool = True) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One epoch of pointwise examples: each positive pair plus ``num_negatives`` fresh negatives.

        Args:
          users: [n] int user indices of the positive pairs.
          items: [n] int item indices of the positive pairs.
          num_negatives: int >= 1, negatives per positive. Default 4.
          shuffle: bool, shuffle the examples with the sampler's generator. Default True.

        Returns:
          (users, items, labels): three [n * (1 + num_negatives)] arrays (int32, int32, float32);
          label 1 for the given pairs and 0 for the sampled ones.
        """
        users = np.asarray(users)
        items = np.asarray(items)
        if users.shape != items.shape or users.ndim != 1:
            raise ValueError(f"users and items must be 1-D arrays of the same length. Received shapes {users.shape} and {items.shape}.")
        neg = self.sample(users, num_negatives)
        all_users = np.concatenate([users, np.repeat(users, num_negatives)]).astype(np.int32)
        all_items = np.concatenate([items.astype(np.int32), neg.reshape(-1)])
        labels = np.concatenate([np.ones(len(users), np.float32), np.zeros(neg.size, np.float32)])
        if shuffle:
            perm = self._rng.permutation(len(labels))
            all_users, all_items, labels = all_users[perm], all_items[perm], labels[perm]
        return all_users, all_items, labels

    def pairwise_examples(self, users: np.ndarray, items: np.ndarray, num_negatives: int = 1,
                          shuffle: bool = True) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One epoch of BPR triples: each positive pair repeated with ``num_negatives`` fresh negatives.

        Args:
          users: [n] int user indices of the positive pairs.
          items: [n] int item indices of the positive pairs.
          num_negatives: int >= 1, negatives (hence triples) per positive. Default 1.
          shuffle: bool, shuffle the triples with the sampler's generator. Default True.

        Returns:
          (users, positives, negatives): three [n * num_negatives] int32 arrays; ``negatives[j]`` is
          never a positive of ``users[j]``.
        """
        users = np.asarray(users)
        items = np.asarray(items)
        if users.shape != items.shape or users.ndim != 1:
            raise ValueError(f"users and items must be 1-D arrays of the same length. Received shapes {users.shape} and {items.shape}.")
        neg = self.sample(users, num_negatives).reshape(-1)
        all_users = np.repeat(users, num_negatives).astype(np.int32)
        all_items = np.repeat(items, num_negatives).astype(np.int32)
        if shuffle:
            perm = self._rng.permutation(len(neg))
            all_users, all_items, neg = all_users[perm], all_items[perm], neg[perm]
        return all_users, all_items, neg
