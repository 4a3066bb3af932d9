"""Rating prediction (ranking) with features -> MLP (the TFRS ranking tutorial).

:class:`RankingModel` is a ``tfrs.Model``: a :class:`~tfrec.features.FeatureLayer` (user,
item and side features, concatenated) feeds an :class:`~tfrec.layers.mlp.MLP` that outputs a rating;
``tfrs.tasks.Ranking`` with the squared error and an RMSE metric. Trained by the Trainer as the
``ranking`` family (scored by :class:`tfrec.recommenders.ranking.RankingScorer`) and inside
:class:`tfrec.models.two_stage.TwoStageModel` (the ``two_stage`` family).
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Sequence

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf
import tensorflow_recommenders as tfrs

from tfrec.features import FeatureLayer
from tfrec.layers.mlp import MLP
from tfrec.models.base import Model as MeanLossModel
from tfrec.models.layer_config import deserialize_layer, serialize_layer


@tf.keras.utils.register_keras_serializable(package="tfrec")
class RankingModel(MeanLossModel):
    """Predicts a rating from user, item and side features.

    Args:
      feature_layer: an adapted :class:`FeatureLayer` (or its config) over every input feature.
      hidden_units: MLP widths before the 1-unit output; default ``[256, 64]`` (TFRS tutorial).
      dropout: dropout between MLP layers.
      label_key: feature key of the rating when the inputs are a dict (default ``"user_rating"``);
        ``(features, labels)`` tuples are accepted too.
      output_offset: constant added to the output (e.g. the training mean rating) so training
        starts from a sensible prediction.

    Call args:
      features: dict of raw or encoded feature tensors.

    Returns:
      ``[batch, 1]`` predicted ratings.

    Example:

    >>> import pandas as pd
    >>> from tfrec.features import frame_to_dataset
    >>> frame = pd.DataFrame({"user_id": ["a", "b"], "movie_id": ["1", "2"], "user_rating": [4.0, 2.0]})
    >>> features = FeatureLayer([{"name": "user_id", "kind": "categorical"},
    ...                          {"name": "movie_id", "kind": "categorical"}], embedding_dim=4)
    >>> features.adapt(frame)
    >>> model = RankingModel(features, hidden_units=[8], output_offset=3.0)
    >>> model.compile(optimizer=tf.keras.optimizers.Adam(0.01))
    >>> history = model.fit(frame_to_dataset(frame, features, label="user_rating"), verbose=0)
    >>> tuple(model({"user_id": tf.constant(["a"]), "movie_id": tf.constant(["9"])}).shape)
    (1, 1)
    """

    def __init__(self, feature_layer, hidden_units: Sequence[int] = (256, 64), dropout: float = 0.0,
                 label_key: str = "user_rating", output_offset: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.feature_layer = deserialize_layer(feature_layer)
        if not isinstance(self.feature_layer, FeatureLayer):
            raise TypeError(f"feature_layer must be a FeatureLayer. Received: {type(self.feature_layer).__name__}")
        self.hidden_units = list(hidden_units or [])
        self.dropout = float(dropout)
        self.label_key = label_key
        self.output_offset = float(output_offset)
        self.mlp = MLP(self.hidden_units + [1], dropout=self.dropout, name="mlp")
        self.task = tfrs.tasks.Ranking(loss=tf.keras.losses.MeanSquaredError(),
                                       metrics=[tf.keras.metrics.RootMeanSquaredError(name="rmse")])

    def get_config(self) -> Dict[str, Any]:
        return {"feature_layer": serialize_layer(self.feature_layer), "hidden_units": self.hidden_units,
                "dropout": self.dropout, "label_key": self.label_key, "output_offset": self.output_offset,
                "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def call(self, features, training=None):
        x = self.feature_layer(features, training=training)
        if isinstance(x, Mapping):
            x = self.feature_layer.concat(x)
        elif x.shape.rank == 3:
            x = tf.reshape(x, [-1, self.feature_layer.output_dim])
        return self.mlp(x, training=training) + self.output_offset

    def compute_loss(self, inputs, training: bool = False) -> tf.Tensor:
        if isinstance(inputs, tuple):
            features, labels = inputs[0], inputs[1]
        else:
            if self.label_key not in inputs:
                raise KeyError(f"RankingModel: no label {self.label_key!r} in the inputs (keys: {sorted(inputs)}). "
                               f"Pass (features, labels) tuples or set label_key.")
            features, labels = inputs, inputs[self.label_key]
        predictions = self(features, training=training)
        labels = tf.reshape(tf.cast(labels, tf.float32), [-1, 1])
        return self.task(labels=labels, predictions=predictions)


__all__ = ["RankingModel"]
