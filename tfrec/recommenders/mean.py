"""Mean-rating baselines: the global mean and the damped item mean."""

from __future__ import annotations

from typing import Optional

import numpy as np

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.recommenders.base import Algorithm
from tfrec.recommenders.popularity import PopularityRecommender


class GlobalMeanRecommender(Algorithm):
    """Predicts the training mean rating for every pair; ranks items by popularity."""

    predicts_ratings = True

    def __init__(self, name: Optional[str] = None):
        super().__init__()
        self.name = name or "global_mean"

    def fit(self, data: TrainingData) -> "GlobalMeanRecommender":
        if data.ratings is None:
            raise ValueError(f"{type(self).__name__} needs ratings; the training data has no rating column {data.columns.rating!r}.")
        self.data = data
        self.mean_ = float(np.mean(data.ratings))
        self._pop = PopularityRecommender().fit(data)
        return self

    def score(self, users):
        return self._pop.score(users)

    def predict(self, users, items):
        return np.full(len(users), self.mean_, np.float32)


class ItemMeanRecommender(GlobalMeanRecommender):
    """Predicts each item's damped mean training rating ``(sum + m * mu) / (count + m)``;
    unknown items get the global mean. Ranks items by that mean."""

    def __init__(self, damping: float = 5.0, name: Optional[str] = None):
        super().__init__(name=name or "item_mean")
        if damping < 0:
            raise ValueError(f"damping must be >= 0. Received: damping={damping}")
        self.damping = damping

    def fit(self, data: TrainingData) -> "ItemMeanRecommender":
        super().fit(data)
        sums = np.bincount(data.items_idx, weights=data.ratings, minlength=data.n_items)
        counts = np.bincount(data.items_idx, minlength=data.n_items)
        self.item_means_ = ((sums + self.damping * self.mean_) / np.maximum(counts + self.damping, 1e-9)).astype(np.float32)
        return self

    def score(self, users):
        return np.broadcast_to(self.item_means_, (len(users), self.data.n_items))

    def predict(self, users, items):
        items = np.asarray(items)
        out = np.full(len(items), self.mean_, np.float32)
        known = items != OOV_INDEX
        out[known] = self.item_means_[items[known]]
        return out


__all__ = ["GlobalMeanRecommender", "ItemMeanRecommender"]
