"""A trained Keras model that scores (user, item) index pairs, as an evaluation ``Algorithm``.

Used by the families whose model takes ``{"user_idx", "item_idx"}`` (mf, ncf) for the trainer's
final evaluation (``tfrec.evaluation``). Importing this module does not import TensorFlow.
"""

from __future__ import annotations

import numpy as np

from tfrec.data.training_data import TrainingData
from tfrec.recommenders.base import Algorithm

__all__ = ["KerasPairAlgorithm"]


class KerasPairAlgorithm(Algorithm):
    """A trained model that scores (user_idx, item_idx) pairs, as an evaluation ``Algorithm``.

    ``fit`` does not train: it checks that the evaluator's training data has the vocabulary the
    model was trained with (same users and items, same order) and keeps it.

    Args:
      model: a Keras model taking ``{"user_idx", "item_idx"}`` [batch] int32 -> [batch] scores.
      vocab: the run's :class:`TrainingData`.
      predicts_ratings: scores are ratings (RMSE/MAE apply).
      name: table name.
      batch_size: pairs per model call.
    """

    def __init__(self, model, vocab: TrainingData, predicts_ratings: bool, name: str, batch_size: int = 65536):
        super().__init__()
        self.model = model
        self.vocab = vocab
        self.predicts_ratings = predicts_ratings
        self.name = name
        self.batch_size = batch_size
        self._call = None

    def fit(self, data: TrainingData) -> "KerasPairAlgorithm":
        if not (np.array_equal(data.user_ids, self.vocab.user_ids) and np.array_equal(data.item_ids, self.vocab.item_ids)):
            raise ValueError(
                "The evaluation's training data has another vocabulary than the trained model "
                f"({data.n_users} users / {data.n_items} items vs {self.vocab.n_users} / {self.vocab.n_items}); "
                "evaluate with the same training split the model was trained on."
            )
        self.data = data
        return self

    def _pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        if self._call is None:
            model = self.model
            self._call = tf.function(lambda u, i: tf.cast(model({"user_idx": u, "item_idx": i}, training=False),
                                                          tf.float32), reduce_retracing=True)
        out = np.empty(len(users), np.float32)
        for s in range(0, len(users), self.batch_size):
            u = tf.constant(users[s: s + self.batch_size], tf.int32)
            i = tf.constant(items[s: s + self.batch_size], tf.int32)
            out[s: s + self.batch_size] = np.reshape(self._call(u, i).numpy(), [-1])
        return out

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self._pairs(np.asarray(users, np.int32), np.asarray(items, np.int32))

    def score(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users, np.int32)
        n_items = self.vocab.n_items
        grid_u = np.repeat(users, n_items)
        grid_i = np.tile(np.arange(n_items, dtype=np.int32), len(users))
        return self._pairs(grid_u, grid_i).reshape(len(users), n_items)
