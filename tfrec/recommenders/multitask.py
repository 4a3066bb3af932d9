"""The multi-task (retrieval + rating) model as a recommender (registry name ``multitask``)."""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.models.multitask import MultiTaskModel
from tfrec.recommenders.two_tower import TwoTowerRecommender


class MultiTaskRecommender(TwoTowerRecommender):
    """The multi-task model as an evaluator algorithm (``multitask``; ``predicts_ratings``).

    :meth:`score` ranks the catalog by the retrieval dot product; :meth:`predict` returns the rating
    head's predictions (clipped to the training rating range).

    Args:
      retrieval_weight, rating_weight: loss weights (1.0 each).
      rating_units: rating head hidden widths (``[256, 128]``).
      clip: clip predicted ratings to the training range.
      **kwargs: every :class:`~tfrec.recommenders.two_tower.TwoTowerRecommender` argument (features, towers,
        temperature, log-Q, optimizer, epochs, batch size, ...).
    """

    predicts_ratings = True

    def __init__(self, retrieval_weight: float = 1.0, rating_weight: float = 1.0,
                 rating_units: Sequence[int] = (256, 128), clip: bool = True, name: Optional[str] = None,
                 **kwargs):
        super().__init__(name=name or "multitask", **kwargs)
        self.retrieval_weight = retrieval_weight
        self.rating_weight = rating_weight
        self.rating_units = list(rating_units)
        self.clip = clip

    def build_model(self, data: TrainingData, train) -> MultiTaskModel:
        base = super().build_model(data, train)
        label = data.columns.rating
        return MultiTaskModel(
            base.query_tower, base.candidate_tower, rating_units=self.rating_units,
            retrieval_weight=self.retrieval_weight, rating_weight=self.rating_weight, label_key=label,
            output_offset=float(train[label].mean()), temperature=base.temperature,
            num_hard_negatives=base.num_hard_negatives, remove_accidental_hits=base.remove_accidental_hits,
            candidate_id_key=base.candidate_id_key, sampling_probability_key=base.sampling_probability_key)

    def fit(self, data: TrainingData,
            on_epoch_end: Optional[Callable[[int, "MultiTaskRecommender"], None]] = None) -> "MultiTaskRecommender":
        """Trains both tasks on ``data``; ``on_epoch_end(epoch, self)`` as in the two-tower ``fit``
        (:meth:`predict` works inside it)."""
        if data.ratings is None:
            raise ValueError(f"{type(self).__name__} needs ratings; the training data has no rating column "
                             f"{data.columns.rating!r}.")
        self._label = data.columns.rating
        self.rating_range_ = (float(np.min(data.ratings)), float(np.max(data.ratings)))
        self._rate = tf.function(lambda q, c: self.model.rate(q, c, training=False), reduce_retracing=True)
        super().fit(data, on_epoch_end=on_epoch_end)
        return self

    def _dataset_label(self):
        return self._label

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        self._require_fit()
        users, items = np.asarray(users), np.asarray(items)
        query = self.query_embeddings(users)
        cand = self._candidates[np.where(items == OOV_INDEX, 0, items)].copy()
        cand[items == OOV_INDEX] = self._oov_candidate
        out = np.concatenate([self._rate(query[s:s + 65536], cand[s:s + 65536]).numpy()[:, 0]
                              for s in range(0, len(users), 65536)]) if len(users) else np.zeros(0, np.float32)
        return (np.clip(out, *self.rating_range_) if self.clip else out).astype(np.float32)


__all__ = ["MultiTaskRecommender"]
