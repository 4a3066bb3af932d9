"""A trained multi-task (retrieval + rating) model as an evaluation ``Algorithm`` (registry name ``multitask``)."""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.data.training_data import TrainingData
from tfrec.recommenders.two_tower import TwoTowerScorer

__all__ = ["MultiTaskScorer"]


class MultiTaskScorer(TwoTowerScorer):
    """A trained :class:`~tfrec.models.multitask.MultiTaskModel` as an evaluation ``Algorithm`` (``predicts_ratings``).

    :meth:`score` ranks the catalog by the retrieval dot product; :meth:`predict` returns the rating
    head's predictions, clipped to the training rating range when ``clip`` is set.

    Args:
      model: the trained ``MultiTaskModel``.
      vocab: the :class:`TrainingData` it was trained on.
      rating_range: ``(low, high)`` training rating range for clipping.
      clip: clip predicted ratings to ``rating_range``. Default True.
      name: the result table's row name. Default "multitask".
      batch_size: pairs per rating-head call. Default 65536.
    """

    predicts_ratings = True

    def __init__(self, model, vocab: TrainingData, rating_range: Tuple[float, float], clip: bool = True,
                 name: Optional[str] = None, batch_size: int = 65536):
        super().__init__(model, vocab, name=name or "multitask")
        self.rating_range_ = (float(rating_range[0]), float(rating_range[1]))
        self.clip = clip
        self.batch_size = batch_size
        self._rate = tf.function(lambda q, c: model.rate(q, c, training=False), reduce_retracing=True)

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """``[n]`` predicted ratings of (user index, item index) pairs (OOV -> the all-unknown embedding)."""
        query, cand = self.query_embeddings(users), self.item_embeddings(items)
        step = self.batch_size
        parts = [self._rate(query[s:s + step], cand[s:s + step]).numpy()[:, 0] for s in range(0, len(query), step)]
        out = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        return (np.clip(out, *self.rating_range_) if self.clip else out).astype(np.float32)
