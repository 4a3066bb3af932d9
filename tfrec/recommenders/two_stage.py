"""Two-stage recommendation: retrieved candidates re-ordered by a rating model (the ``two_stage`` family's scorer)."""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.recommenders.base import Algorithm, top_k


class TwoStageRecommender(Algorithm):
    """Retrieval of ``num_candidates`` items re-ordered by a rating model (``two_stage``).

    The candidates of each user are the top ``num_candidates`` unseen items by retrieval score; their
    score is the ranking model's predicted rating. Items outside the candidates score below every
    candidate, in retrieval order, so :meth:`score` still ranks the whole catalog.

    Args:
      retrieval: an ``Algorithm`` whose :meth:`score` ranks the catalog (the ``two_stage`` family
        gives its trained two-tower scorer).
      ranking: an ``Algorithm`` whose :meth:`predict` gives ratings (the family's trained ranking model).
      num_candidates: retrieval list length re-ranked; positive. Default 100.
      exclude_seen_candidates: draw candidates among the user's unseen training items only. Default True.
      name: the result table's row name. Default "two_stage".

    Raises:
      ValueError: ``num_candidates`` is not a positive integer.
    """

    def __init__(self, retrieval: Algorithm, ranking: Algorithm, num_candidates: int = 100,
                 exclude_seen_candidates: bool = True, name: Optional[str] = None):
        super().__init__()
        if isinstance(num_candidates, bool) or not isinstance(num_candidates, int) or num_candidates <= 0:
            raise ValueError(f"num_candidates must be a positive integer. Received: num_candidates={num_candidates!r}")
        self.retrieval = retrieval
        self.ranking = ranking
        self.num_candidates = num_candidates
        self.exclude_seen_candidates = exclude_seen_candidates
        self.name = name or "two_stage"

    def fit(self, data: TrainingData) -> "TwoStageRecommender":
        """Fits both stages on ``data`` (trained scorers only check the vocabulary and index the catalog)."""
        self.data = data
        start = time.perf_counter()
        self.retrieval.fit(data)
        self.ranking.fit(data)
        self.train_seconds_ = time.perf_counter() - start
        return self

    def candidates(self, users: np.ndarray) -> np.ndarray:
        """``[n, num_candidates]`` retrieved item indices per user, best first; -1 pads rows with
        fewer unseen items than ``num_candidates``."""
        users = np.asarray(users)
        scores = np.asarray(self.retrieval.score(users), dtype=np.float64)
        if self.exclude_seen_candidates:
            scores = self._mask_seen(users, scores)
        idx, val = top_k(scores, self.num_candidates)
        return np.where(np.isfinite(val), idx, OOV_INDEX)

    def _mask_seen(self, users, scores):
        scores = np.array(scores, copy=True)
        known = users != OOV_INDEX
        rows, cols = self.data.seen_matrix()[users[known]].nonzero()
        scores[np.flatnonzero(known)[rows], cols] = -np.inf
        return scores

    def score(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users)
        retrieval = np.asarray(self.retrieval.score(users), dtype=np.float64)
        masked = self._mask_seen(users, retrieval) if self.exclude_seen_candidates else retrieval
        cand = top_k(masked, self.num_candidates)[0]
        rows = np.repeat(np.arange(len(users)), cand.shape[1])
        cols = cand.ravel()
        valid = np.isfinite(masked[rows, cols])  # fewer unseen items than num_candidates: drop seen ones
        rows, cols = rows[valid], cols[valid]
        ranked = np.asarray(self.ranking.predict(users[rows], cols), dtype=np.float64)
        # everything else: below the lowest candidate score of its row, keeping the retrieval order
        lowest = np.full(len(users), np.inf)
        np.minimum.at(lowest, rows, ranked)
        floor = np.where(np.isfinite(lowest), lowest, 0.0) - 1.0
        out = retrieval - retrieval.max(axis=1, keepdims=True) + floor[:, None]
        out[rows, cols] = ranked
        return out.astype(np.float32)


__all__ = ["TwoStageRecommender"]
