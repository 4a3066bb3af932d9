"""Uniform negative sampling for implicit-feedback training (NCF, BPR-style models).

:class:`NegativeSampler` draws, for each user, items that are *not* among that user's training
positives, vectorized over all users at once (rejection sampling on sorted ``user * n_items + item``
keys; no Python loop per user). It is stateful: every call continues the same seeded random stream,
so calling it once per epoch gives fresh negatives each epoch, as in He et al. (2017).
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import scipy.sparse as sp

__all__ = ["NegativeSampler"]


class NegativeSampler:
    """Draws negative items uniformly from the items a user has no training interaction with.

    Draws are with replacement (the same negative may appear twice for a user, as in the NCF
    reference code); a drawn item is never one of the user's positives.

    Args:
      positives: [n_users, n_items] scipy sparse matrix (or anything ``scipy.sparse.csr_matrix``
        accepts); a nonzero entry marks a positive, e.g. ``TrainingData.seen_matrix()``.
      seed: int or None, seed of the NumPy generator. Default None.
      max_rounds: int, rejection rounds before the remaining draws are made exactly from each user's
        complement (only reached when a user has almost every item). Default 32.

    Raises:
      ValueError: if a user has every item as a positive (there is nothing to sample for them); the
        message names such users.

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

    def __init__(self, positives, seed: Optional[int] = None, max_rounds: int = 32):
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
        if users.ndim != 1 or not np.issubdtype(users.dtype, np.integer):
            raise ValueError(f"users must be a 1-D integer array. Received dtype={users.dtype}, shape={users.shape}.")
        if not isinstance(num_negatives, (int, np.integer)) or num_negatives < 1:
            raise ValueError(f"num_negatives must be a positive integer. Received: num_negatives={num_negatives!r}")
        if users.size and (users.min() < 0 or users.max() >= self.n_users):
            raise ValueError(
                f"user indices must be in [0, {self.n_users}); received values in [{users.min()}, {users.max()}]. "
                "Map unknown users (index -1) out before sampling."
            )
        full = self.positive_counts[users] >= self.n_items
        if full.any():
            bad = np.unique(users[full])[:5].tolist()
            raise ValueError(
                f"Users {bad} have every one of the {self.n_items} items as a positive, so no negative can be "
                "drawn for them. Drop these users from the training data."
            )
        users64 = users.astype(np.int64)
        out = self._rng.integers(0, self.n_items, size=(len(users), int(num_negatives)), dtype=np.int64)
        bad_r, bad_c = np.nonzero(self.is_positive(users64[:, None], out))
        for _ in range(self.max_rounds):
            if bad_r.size == 0:
                break
            redraw = self._rng.integers(0, self.n_items, size=bad_r.size, dtype=np.int64)
            out[bad_r, bad_c] = redraw
            still = self.is_positive(users64[bad_r], redraw)
            bad_r, bad_c = bad_r[still], bad_c[still]
        for r, c in zip(bad_r, bad_c):  # exact fallback for users with nearly every item positive
            u = users64[r]
            own = self._indices[self._indptr[u]:self._indptr[u + 1]]
            out[r, c] = self._rng.choice(np.setdiff1d(np.arange(self.n_items), own))
        return out.astype(np.int32)

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
