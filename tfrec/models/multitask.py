"""Joint retrieval + rating model (the TFRS multi-task tutorial).

:class:`MultiTaskModel` shares a query tower and a candidate tower between two tasks: an in-batch
softmax retrieval task on ``query . candidate`` and a rating task on an MLP over
``[query, candidate]``. The loss is ``retrieval_weight * retrieval + rating_weight * rating``.
The ``multitask`` family (``tfrec.training.families.multitask``) trains it; its scorer is
:class:`tfrec.recommenders.multitask.MultiTaskScorer`.
"""

from __future__ import annotations

from typing import Any, Dict, Sequence

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf
import tensorflow_recommenders as tfrs

from tfrec.layers.mlp import MLP
from tfrec.models.retrieval import TwoTowerRetrieval


@tf.keras.utils.register_keras_serializable(package="tfrec")
class MultiTaskModel(TwoTowerRetrieval):
    """Two towers trained jointly for retrieval and rating prediction.

    Args:
      query_tower, candidate_tower: :class:`~tfrec.models.tower.Tower` (or configs) with equal
        output dimensions.
      rating_units: hidden widths of the rating head over ``[query, candidate]`` (``[256, 128]``, as
        in the TFRS tutorial); a 1-unit linear output follows.
      retrieval_weight: weight of the retrieval loss (1.0).
      rating_weight: weight of the rating loss (1.0).
      label_key: rating key in a feature dict (``"user_rating"``); ``(features, labels)`` tuples work too.
      output_offset: constant added to the predicted rating (e.g. the training mean).
      temperature, num_hard_negatives, remove_accidental_hits, candidate_id_key,
        sampling_probability_key: retrieval-task options, see :class:`TwoTowerRetrieval`.

    Call args:
      features: dict of feature tensors.

    Returns:
      ``(query_embeddings [batch, d], candidate_embeddings [batch, d], ratings [batch, 1])``.

    Example:

    >>> import pandas as pd
    >>> from tfrec.features import frame_to_dataset
    >>> from tfrec.models.tower import make_tower
    >>> frame = pd.DataFrame({"user_id": ["a", "b"], "movie_id": ["1", "2"], "user_rating": [4.0, 2.0]})
    >>> q = make_tower([{"name": "user_id", "kind": "categorical"}], frame, embedding_dim=4)
    >>> c = make_tower([{"name": "movie_id", "kind": "categorical"}], frame, embedding_dim=4)
    >>> model = MultiTaskModel(q, c, rating_units=[8], rating_weight=1.0, retrieval_weight=0.5)
    >>> model.compile(optimizer=tf.keras.optimizers.Adagrad(0.1))
    >>> history = model.fit(frame_to_dataset(frame, [q.feature_layer, c.feature_layer], label="user_rating"),
    ...                     verbose=0)
    >>> [tuple(t.shape) for t in model({"user_id": tf.constant(["a"]), "movie_id": tf.constant(["2"])})]
    [(1, 4), (1, 4), (1, 1)]
    """

    def __init__(self, query_tower, candidate_tower, rating_units: Sequence[int] = (256, 128),
                 retrieval_weight: float = 1.0, rating_weight: float = 1.0, label_key: str = "user_rating",
                 output_offset: float = 0.0, **kwargs):
        super().__init__(query_tower, candidate_tower, **kwargs)
        for key, value in (("retrieval_weight", retrieval_weight), ("rating_weight", rating_weight)):
            if not value >= 0:
                raise ValueError(f"{key} must be >= 0. Received: {key}={value!r}")
        if retrieval_weight == 0 and rating_weight == 0:
            raise ValueError("retrieval_weight and rating_weight are both 0: there is nothing to train.")
        self.rating_units = list(rating_units or [])
        self.retrieval_weight = float(retrieval_weight)
        self.rating_weight = float(rating_weight)
        self.label_key = label_key
        self.output_offset = float(output_offset)
        self.rating_head = MLP(self.rating_units + [1], name="rating_head")
        self.rating_task = tfrs.tasks.Ranking(loss=tf.keras.losses.MeanSquaredError(),
                                              metrics=[tf.keras.metrics.RootMeanSquaredError(name="rmse")])

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"rating_units": self.rating_units, "retrieval_weight": self.retrieval_weight,
                       "rating_weight": self.rating_weight, "label_key": self.label_key,
                       "output_offset": self.output_offset})
        return config

    def rate(self, query: tf.Tensor, candidate: tf.Tensor, training=None) -> tf.Tensor:
        """``[batch, 1]`` ratings from query and candidate embeddings ``[batch, d]``."""
        return self.rating_head(tf.concat([query, candidate], axis=1), training=training) + self.output_offset

    def call(self, features, training=None):
        query, candidate = super().call(features, training=training)
        return query, candidate, self.rate(query, candidate, training=training)

    def compute_loss(self, inputs, training: bool = False) -> tf.Tensor:
        if isinstance(inputs, tuple):
            features, labels = inputs[0], inputs[1]
        else:
            if self.label_key not in inputs:
                raise KeyError(f"MultiTaskModel: no label {self.label_key!r} in the inputs (keys: {sorted(inputs)}). "
                               f"Pass (features, labels) tuples or set label_key.")
            features, labels = inputs, inputs[self.label_key]
        query, candidate, ratings = self(features, training=training)
        rating_loss = self.rating_task(labels=tf.reshape(tf.cast(labels, tf.float32), [-1, 1]), predictions=ratings)
        prob = None
        if self.sampling_probability_key and self.sampling_probability_key in features:
            prob = tf.cast(features[self.sampling_probability_key], tf.float32)
        ids = self._candidate_ids(features) if self.remove_accidental_hits else None
        retrieval_loss = self.task(query, candidate, candidate_sampling_probability=prob, candidate_ids=ids,
                                   compute_metrics=not training)
        return self.retrieval_weight * retrieval_loss + self.rating_weight * rating_loss


__all__ = ["MultiTaskModel"]
