"""Baselines of session-based next-item recommendation: popularity, the successor rule and session KNN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tfrec.data.session_batches import SESSION_KEY, TIME_KEY, check_session_frame, sort_sessions
from tfrec.recommenders.session import SessionRecommender


class SessionPopularity(SessionRecommender):
    """Recommends the items clicked most often in training, whatever the session.

    Example:

    >>> train = pd.DataFrame({"SessionId": [1, 1, 2, 2], "ItemId": ["a", "b", "b", "c"], "Time": [0, 1, 2, 3]})
    >>> SessionPopularity().fit(train).predict_next(["a"], k=2)[0].tolist()
    ['b', 'a']
    """

    name = "popularity"

    def fit(self, sessions: pd.DataFrame) -> "SessionPopularity":
        check_session_frame(sessions, "sessions")
        codes = self._set_items(sessions)
        self.counts = np.bincount(codes, minlength=len(self.item_ids)).astype(np.float32)
        return self

    def _scores(self, items, reset):
        return np.broadcast_to(self.counts, (len(items), len(self.counts)))


class SuccessorRule(SessionRecommender):
    """Item-to-item successor rule: recommends the items that most often directly follow the current
    item in the training sessions.

    ``score(j | current i) = count(i -> j) + pop(j) / (max_pop + 1)``: the number of times ``j`` was
    clicked right after ``i`` in the same training session; the popularity term (always < 1) only
    orders items with equal counts, so items that never followed ``i`` come after those that did,
    most popular first (with plain counts thousands of zero-count items would tie and the ``>``
    ranking would flatter them).

    Args:
      popularity_tiebreak: add the popularity term. Default True.

    Example:

    >>> train = pd.DataFrame({"SessionId": [1, 1, 2, 2, 3, 3], "ItemId": ["a", "b", "a", "c", "a", "c"],
    ...                       "Time": [0, 1, 2, 3, 4, 5]})
    >>> SuccessorRule().fit(train).predict_next(["a"], k=2)[0].tolist()
    ['c', 'b']
    """

    name = "successor_rule"

    def __init__(self, popularity_tiebreak: bool = True):
        super().__init__()
        self.popularity_tiebreak = bool(popularity_tiebreak)

    def fit(self, sessions: pd.DataFrame) -> "SuccessorRule":
        check_session_frame(sessions, "sessions")
        codes = self._set_items(sessions)
        offsets, _, sorted_frame = sort_sessions(sessions.assign(_code=codes), order="id")
        items = sorted_frame["_code"].to_numpy()
        same = np.ones(len(items) - 1, bool)
        same[offsets[1:-1] - 1] = False  # the last event of a session has no successor
        n = len(self.item_ids)
        self.successors = sp.csr_matrix(
            (np.ones(int(same.sum()), np.float32), (items[:-1][same], items[1:][same])), shape=(n, n)
        )  # duplicates are summed: counts
        pop = np.bincount(codes, minlength=n).astype(np.float64)
        self.tiebreak = (pop / (pop.max() + 1.0)) if self.popularity_tiebreak else np.zeros(n)
        return self

    def _scores(self, items, reset):
        return self.successors[items].toarray().astype(np.float64) + self.tiebreak[None, :]


class SessionKNN(SessionRecommender):
    """Session-based k-nearest neighbours (S-KNN; Jannach & Ludewig, RecSys 2017): recommends the items
    of the training sessions most similar to the current session so far.

    ``sim(s, n) = |s & n| / sqrt(|s| |n|)`` (cosine of the binary item sets of the current session
    ``s`` and a training session ``n``); ``score(j | s) = sum of sim(s, n)`` over the ``k`` most similar
    training sessions ``n`` that contain ``j``. Every training session is a candidate neighbour (no
    recency sampling); of sessions equally similar at the k-th place the more recent ones (later last
    click) are kept. Items no neighbour holds score 0 and, as in :class:`SuccessorRule`, a popularity
    term (below 1e-6) orders them, most popular first, so that they do not tie with the target.

    Args:
      k: neighbour sessions per query; positive. Default 100.

    Example:

    >>> train = pd.DataFrame({"SessionId": [1, 1, 2, 2, 3, 3], "ItemId": ["a", "b", "a", "c", "d", "c"],
    ...                       "Time": [0, 1, 2, 3, 4, 5]})
    >>> SessionKNN(k=1).fit(train).predict_next(["a", "b"], k=2)[0].tolist()
    ['a', 'b']
    """

    name = "sknn"

    def __init__(self, k: int = 100):
        super().__init__()
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0:
            raise ValueError(f"k must be a positive integer. Received: k={k!r}")
        self.k = int(k)

    def fit(self, sessions: pd.DataFrame) -> "SessionKNN":
        check_session_frame(sessions, "sessions")
        codes = self._set_items(sessions)
        sid, uniques = pd.factorize(sessions[SESSION_KEY])
        ends = pd.Series(sessions[TIME_KEY].to_numpy(np.float64)).groupby(sid).max().to_numpy()
        recency = np.empty(len(uniques), np.int64)  # row of each session: ordered by its last click
        recency[np.argsort(ends, kind="stable")] = np.arange(len(uniques))
        n = len(self.item_ids)
        sets = sp.csr_matrix((np.ones(len(codes), np.float64), (recency[sid], codes)), shape=(len(uniques), n))
        sets.data[:] = 1.0  # item sets: a repeated click counts once
        self.sessions = sets
        self.session_norms = np.sqrt(np.asarray(sets.sum(axis=1)).ravel())
        pop = np.bincount(codes, minlength=n).astype(np.float64)
        self.tiebreak = 1e-6 * pop / (pop.max() + 1.0)
        return self

    def _begin(self, batch_size):
        self._current = np.zeros((batch_size, len(self.item_ids)), bool)  # each slot's item set so far

    def _scores(self, items, reset):
        n_rows = len(items)
        current = self._current[:n_rows]
        current[np.asarray(reset, bool)] = False
        current[np.arange(n_rows), items] = True
        query = sp.csr_matrix(current, dtype=np.float64)
        sims = (query @ self.sessions.T).tocsr()  # [B, n_sessions] shared items, only sessions sharing one
        sims.sort_indices()
        rows = np.repeat(np.arange(n_rows), np.diff(sims.indptr))
        sims.data /= np.sqrt(np.diff(query.indptr))[rows] * self.session_norms[sims.indices]
        keep = np.ones(len(sims.data), bool)
        for row in range(n_rows):  # the k most similar sessions of each row, ties: the more recent
            start, end = sims.indptr[row], sims.indptr[row + 1]
            if end - start > self.k:
                keep[start:end] = False
                order = np.lexsort((-sims.indices[start:end], -sims.data[start:end]))
                keep[start + order[: self.k]] = True
        sims.data[~keep] = 0.0
        sims.eliminate_zeros()
        return (sims @ self.sessions).toarray() + self.tiebreak[None, :]


__all__ = ["SessionKNN", "SessionPopularity", "SuccessorRule"]
