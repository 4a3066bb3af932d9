"""The two counting baselines of session-based next-item recommendation: popularity and the successor rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tfrec.data.session_batches import check_session_frame, sort_sessions
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


__all__ = ["SessionPopularity", "SuccessorRule"]
