"""The popularity baseline: the most-interacted training items, the same list for every user.

With ``half_life_days`` each interaction counts ``0.5 ** (age_days / half_life_days)``, its age taken
from the newest training interaction (recency-decayed popularity: what is popular *now*).

Example:
  >>> import pandas as pd
  >>> from tfrec.data.training_data import TrainingData
  >>> day = 86400
  >>> frame = pd.DataFrame({"user_id": ["a", "b", "c"], "movie_id": ["old", "old", "new"],
  ...                       "timestamp": [0, 0, 20 * day]})
  >>> PopularityRecommender().fit(TrainingData(frame)).score([0]).tolist()
  [[0.5, 1.0]]
  >>> PopularityRecommender(half_life_days=10).fit(TrainingData(frame)).score([0]).tolist()
  [[1.0, 0.5]]
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from tfrec.data.training_data import TrainingData
from tfrec.recommenders.base import Algorithm

_DAY = 86400.0


class PopularityRecommender(Algorithm):
    """Recommends the items with the most training interactions (the same list for every user).

    Args:
      half_life_days: None (default): plain counts; a positive number: each interaction weighs
        ``0.5 ** (age / half_life_days)``, age in days before the newest training interaction
        (needs the timestamp column, Unix seconds).
      name: the result row's name. Default "popularity".

    Raises:
      ValueError: a non-positive ``half_life_days``; at fit, ``half_life_days`` without timestamps.
    """

    def __init__(self, half_life_days: Optional[float] = None, name: Optional[str] = None):
        super().__init__()
        if half_life_days is not None and not half_life_days > 0:
            raise ValueError(f"half_life_days must be positive or None. Received: half_life_days={half_life_days!r}")
        self.half_life_days = half_life_days
        self.name = name or "popularity"

    def fit(self, data: TrainingData) -> "PopularityRecommender":
        self.data = data
        if self.half_life_days is None:
            weights = None
        else:
            time_col = data.columns.time
            if time_col is None or time_col not in data.frame.columns:
                raise ValueError(f"popularity with half_life_days needs the timestamp column {time_col!r} in the "
                                 "training rows.")
            t = data.frame[time_col].to_numpy(np.float64)
            weights = 0.5 ** ((t.max() - t) / (_DAY * self.half_life_days))
        counts = np.bincount(data.items_idx, weights=weights, minlength=data.n_items).astype(np.float32)
        self._scores = counts / max(float(counts.max()), 1e-12)
        return self

    def score(self, users):
        return np.broadcast_to(self._scores, (len(users), self.data.n_items))


__all__ = ["PopularityRecommender"]
