"""The popularity baseline: the most-interacted training items, the same list for every user."""

from __future__ import annotations

from typing import Optional

import numpy as np

from tfrec.data.training_data import TrainingData
from tfrec.recommenders.base import Algorithm


class PopularityRecommender(Algorithm):
    """Recommends the items with the most training interactions (the same list for every user)."""

    def __init__(self, name: Optional[str] = None):
        super().__init__()
        self.name = name or "popularity"

    def fit(self, data: TrainingData) -> "PopularityRecommender":
        self.data = data
        counts = data.item_popularity().astype(np.float32)
        self._scores = counts / max(counts.max(), 1.0)
        return self

    def score(self, users):
        return np.broadcast_to(self._scores, (len(users), self.data.n_items))


__all__ = ["PopularityRecommender"]
