"""A trained rating MLP (:class:`~tfrec.models.ranking.RankingModel`) as an evaluation ``Algorithm`` (scoring only).

The ``ranking`` family (``tfrec.training.families.ranking``) trains the model with the Trainer; its
``algorithm()`` is a :class:`RankingScorer`. :class:`PairScorer` scores (user, item) index pairs from
the encoded per-user and per-item feature rows, so scoring the catalog never re-encodes a feature.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
import pandas as pd

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.data.side_features import entity_frame
from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.features import FeatureLayer, FeatureSpec
from tfrec.recommenders.base import Algorithm
from tfrec.recommenders.feature_frames import oov_frame
from tfrec.recommenders.two_tower import same_vocabulary


class PairScorer:
    """Scores (user index, item index) pairs from encoded per-user and per-item feature rows."""

    def __init__(self, model: tf.keras.Model, layer: FeatureLayer, user_names: Sequence[str],
                 item_names: Sequence[str], user_frame: pd.DataFrame, item_frame: pd.DataFrame):
        self.model = model
        self.users = self._rows(layer, user_frame, user_names)
        self.items = self._rows(layer, item_frame, item_names)
        self.fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    @staticmethod
    def _rows(layer, frame, names):
        spec = FeatureSpec([layer.spec[n] for n in names])
        frame = pd.concat([frame[spec.columns], oov_frame(spec)], ignore_index=True)  # last row = unknown
        return {k: v.numpy() for k, v in layer.encode_frame(frame, names).items()}

    def __call__(self, users: np.ndarray, items: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        users, items = np.asarray(users), np.asarray(items)
        u = np.where(users == OOV_INDEX, len(next(iter(self.users.values()))) - 1, users)
        i = np.where(items == OOV_INDEX, len(next(iter(self.items.values()))) - 1, items)
        out = np.empty(len(u), np.float32)
        for start in range(0, len(u), batch_size):
            sl = slice(start, start + batch_size)
            x = {k: v[u[sl]] for k, v in self.users.items()}
            x.update({k: v[i[sl]] for k, v in self.items.items()})
            out[sl] = self.fn(x).numpy()[:, 0]
        return out


class RankingScorer(Algorithm):
    """A trained :class:`~tfrec.models.ranking.RankingModel` as an evaluation ``Algorithm`` (``predicts_ratings``).

    ``fit`` does not train: it checks that the evaluator's training data has the vocabulary the model
    was trained with, then encodes every user's and item's feature row once (:class:`PairScorer`).

    Args:
      model: the trained ``RankingModel``.
      layer: its adapted :class:`~tfrec.features.FeatureLayer`.
      user_names / item_names: the names of the user and item features in ``layer.spec``.
      vocab: the :class:`TrainingData` the model was trained on.
      rating_range: ``(lowest, highest)`` training rating.
      clip: clip predictions to ``rating_range``. Default True.
      name: the result table's row name. Default "ranking".
    """

    predicts_ratings = True

    def __init__(self, model: tf.keras.Model, layer: FeatureLayer, user_names: Sequence[str],
                 item_names: Sequence[str], vocab: TrainingData, rating_range: Tuple[float, float],
                 clip: bool = True, name: Optional[str] = None):
        super().__init__()
        self.model = model
        self.layer = layer
        self.user_names, self.item_names = list(user_names), list(item_names)
        self.vocab = vocab
        self.rating_range_ = (float(rating_range[0]), float(rating_range[1]))
        self.clip = clip
        self.name = name or "ranking"
        self._scorer: Optional[PairScorer] = None

    def fit(self, data: TrainingData) -> "RankingScorer":
        """Checks the vocabulary of ``data`` and encodes its users' and items' feature rows (no training)."""
        same_vocabulary(data, self.vocab)
        self.data = data
        spec = self.layer.spec
        user_columns = FeatureSpec([spec[n] for n in self.user_names]).columns
        item_columns = FeatureSpec([spec[n] for n in self.item_names]).columns
        self._scorer = PairScorer(self.model, self.layer, self.user_names, self.item_names,
                                  entity_frame(data, "user", user_columns), entity_frame(data, "item", item_columns))
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        if self._scorer is None:
            raise RuntimeError(f"{type(self).__name__} is not indexed: call fit(training_data) first.")
        out = self._scorer(users, items)
        return np.clip(out, *self.rating_range_) if self.clip else out

    def score(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users)
        n_items = self.vocab.n_items
        flat = self.predict(np.repeat(users, n_items), np.tile(np.arange(n_items), len(users)))
        return flat.reshape(len(users), n_items)


__all__ = ["PairScorer", "RankingScorer"]
