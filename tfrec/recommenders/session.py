"""The interface of session-based next-item recommenders and the GRU4Rec evaluation protocol.

:class:`SessionScorer`: ``predict_next(items, k)``, ``evaluate_sessions(test, k)`` over an item
vocabulary; :class:`SessionRecommender` adds ``fit(sessions)`` (closed-form algorithms fitted on a
click log). The protocol: every test event except the last of its session is a query, the relevant
item is the next click, ranks are taken against ALL training items as ``(scores > target_score).sum()
+ 1`` (the official code's "standard" mode, :func:`ranks_against_all`), and Recall@k / MRR@k are
averaged over the queries. Test events whose item is not in the training data are dropped first, as
the official code does.

Session recommenders do not fit the user-item :class:`~tfrec.recommenders.Algorithm` interface (there is
no user; the input is a click sequence). The session families of ``tfrec train`` (gru4rec and the
baselines) evaluate their trained model through this class::

    algo = SuccessorRule().fit(load_sessions(train_path))
    metrics = algo.evaluate_sessions(load_sessions(test_path), k=20)   # {"recall@20", "mrr@20", ...}

Implementations: :mod:`tfrec.recommenders.session_baselines` (popularity, successor rule) and
:class:`tfrec.recommenders.gru4rec.GRU4RecScorer` (a trained GRU4Rec network).
"""

from __future__ import annotations

import abc
from typing import Dict, Sequence, Tuple

import numpy as np
import pandas as pd

from tfrec.data.session_batches import ITEM_KEY, check_session_frame, session_parallel_batches, sort_sessions


def ranks_against_all(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Rank of each target: the number of items with a strictly higher score, plus one.

    Args:
      scores: [n, n_items] scores of every item.
      targets: [n] item index of the relevant item.

    Returns:
      [n] int ranks (1 = best), the official GRU4Rec "standard" mode ``(scores > target).sum() + 1``.
    """
    target_scores = scores[np.arange(len(targets)), targets]
    return (scores > target_scores[:, None]).sum(axis=1) + 1


class SessionScorer(abc.ABC):
    """Base class of next-item scorers over an item vocabulary (see the module docstring).

    A subclass sets the vocabulary (:meth:`set_items`) and implements :meth:`_scores` (scores of all
    items for a batch of slots given their current item and whether each slot starts a new session).
    """

    name: str = "session_scorer"

    def __init__(self):
        self.item_ids: np.ndarray | None = None
        self._item_lookup: pd.Index | None = None

    # -- vocabulary
    def set_items(self, item_ids) -> None:
        """Sets the vocabulary: ``item_ids`` [n_items] raw ids, index i = item i of the scores."""
        self.item_ids = np.asarray(item_ids, dtype=object)
        self._item_lookup = pd.Index(self.item_ids)
        if not self._item_lookup.is_unique:
            raise ValueError(f"item_ids must be unique; {len(self.item_ids) - self._item_lookup.nunique()} "
                             "duplicate id(s) received.")

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return len(self.item_ids)

    def item_index(self, raw_ids) -> np.ndarray:
        """Raw item ids -> indices; ids unseen in training map to -1."""
        self._check_fitted()
        return self._item_lookup.get_indexer(pd.Index(np.asarray(raw_ids, dtype=object))).astype(np.int32)

    def _check_fitted(self):
        if self._item_lookup is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(train_sessions) first.")

    # -- interface
    @abc.abstractmethod
    def _scores(self, items: np.ndarray, reset: np.ndarray) -> np.ndarray:
        """[B] current item indices, [B] bool new-session flags -> [B, n_items] float scores."""

    def _begin(self, batch_size: int) -> None:
        """Called before a pass of :meth:`_scores` calls with ``batch_size`` slots (state holders)."""

    def predict_next(self, item_sequence: Sequence, k: int = 20) -> Tuple[np.ndarray, np.ndarray]:
        """The ``k`` most likely next items after a session's clicks so far.

        Args:
          item_sequence: raw item ids of the session's clicks, oldest first (unknown ids are skipped).
          k: list length.

        Returns:
          (item_ids, scores): [k] raw ids best first and their scores.
        """
        self._check_fitted()
        idx = self.item_index(list(item_sequence))
        idx = idx[idx >= 0]
        if len(idx) == 0:
            raise ValueError(
                "predict_next needs at least one item seen in training; none of "
                f"{list(item_sequence)[:10]} is in the vocabulary."
            )
        self._begin(1)
        scores = None
        for t, item in enumerate(idx):
            scores = self._scores(np.array([item]), np.array([t == 0]))
        order = np.lexsort((np.arange(self.n_items), -scores[0]))[:k]
        return self.item_ids[order], scores[0, order]

    def evaluate_sessions(self, test: pd.DataFrame, k: int = 20, batch_size: int = 512) -> Dict[str, float]:
        """Recall@k and MRR@k of next-click prediction over every test event (GRU4Rec protocol).

        Args:
          test: test clicks (``SessionId``, ``ItemId``, ``Time``); never used for training.
          k: cut-off. Default 20.
          batch_size: sessions evaluated in parallel.

        Returns:
          ``{"recall@k", "mrr@k", "n_queries", "n_dropped_events"}``.
        """
        check_session_frame(test, "test")
        idx = self.item_index(test[ITEM_KEY].to_numpy())
        dropped = int((idx < 0).sum())
        test = test[idx >= 0]
        offsets, order, sorted_test = sort_sessions(test, order="id")
        items = self.item_index(sorted_test[ITEM_KEY].to_numpy())
        batches = session_parallel_batches(items, offsets, order, batch_size)
        self._begin(batch_size)
        hits, rr, n = 0.0, 0.0, 0
        for t in range(batches.n_steps):
            scores = self._scores(batches.inputs[t], batches.reset[t])
            v = batches.valid[t]
            ranks = ranks_against_all(scores[v], batches.targets[t][v])
            hits += float((ranks <= k).sum())
            rr += float(np.where(ranks <= k, 1.0 / ranks, 0.0).sum())
            n += int(v.sum())
        return {f"recall@{k}": hits / n, f"mrr@{k}": rr / n, "n_queries": n, "n_dropped_events": dropped}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class SessionRecommender(SessionScorer):
    """A :class:`SessionScorer` fitted on a click log by its own :meth:`fit` (the counting baselines)."""

    name: str = "session_recommender"

    def _set_items(self, train: pd.DataFrame) -> np.ndarray:
        """Builds the item vocabulary from ``train`` and returns the item index of every row."""
        codes, uniques = pd.factorize(train[ITEM_KEY])
        self.set_items(uniques)
        return codes.astype(np.int32)

    @abc.abstractmethod
    def fit(self, sessions: pd.DataFrame) -> "SessionRecommender":
        """Fits on a click log (``SessionId``, ``ItemId``, ``Time``) and returns ``self``."""


__all__ = ["SessionRecommender", "SessionScorer", "ranks_against_all"]
