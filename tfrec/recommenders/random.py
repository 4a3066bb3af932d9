"""The random baseline: every item scored uniformly at random (seeded)."""

from __future__ import annotations

from typing import Optional

import numpy as np

from tfrec.data.training_data import TrainingData
from tfrec.recommenders.base import Algorithm


class RandomRecommender(Algorithm):
    """Scores every item uniformly at random (seeded); rating predictions are drawn from the
    training rating distribution."""

    def __init__(self, seed: int = 42, name: Optional[str] = None):
        super().__init__()
        self.seed = seed
        self.name = name or "random"

    def fit(self, data: TrainingData) -> "RandomRecommender":
        self.data = data
        self._rng = np.random.default_rng(self.seed)
        self.predicts_ratings = data.ratings is not None
        return self

    def score(self, users):
        return self._rng.random((len(users), self.data.n_items), dtype=np.float32)

    def predict(self, users, items):
        if self.data.ratings is None:
            return self._rng.random(len(users)).astype(np.float32)
        return self._rng.choice(self.data.ratings, size=len(users)).astype(np.float32)


__all__ = ["RandomRecommender"]
