"""A retrieval tower: the concatenated features of a FeatureLayer, then an optional MLP."""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import pandas as pd

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.features import FeatureLayer
from tfrec.layers.mlp import MLP
from tfrec.models.layer_config import deserialize_layer, serialize_layer


@tf.keras.utils.register_keras_serializable(package="tfrec")
class Tower(tf.keras.layers.Layer):
    """A tower: the concatenated features of a FeatureLayer, then an optional MLP.

    Args:
      feature_layer: an adapted :class:`FeatureLayer` (or its serialized config).
      hidden_units: optional MLP widths, e.g. ``[64, 32]``; the last is the output dimension. ``None``
        -> the concatenated features are the embedding (id-only towers).
      dropout: dropout between MLP layers.
      l2_normalize: L2-normalize the output (cosine similarity; pair with a temperature).

    Call args:
      inputs: dict of raw or encoded feature tensors (see FeatureLayer).

    Returns:
      ``[batch, output_dim]`` float tensor.

    Example:

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"user_id": ["a", "b"], "age": [20.0, 30.0]})
    >>> features = FeatureLayer([{"name": "user_id", "kind": "categorical"},
    ...                          {"name": "age", "kind": "numeric"}], embedding_dim=4)
    >>> features.adapt(frame)
    >>> tower = Tower(features, hidden_units=[8, 3])
    >>> tuple(tower({"user_id": tf.constant(["a"]), "age": tf.constant([25.0])}).shape)
    (1, 3)
    """

    def __init__(self, feature_layer, hidden_units: Optional[Sequence[int]] = None, dropout: float = 0.0,
                 l2_normalize: bool = False, **kwargs):
        super().__init__(**kwargs)
        feature_layer = deserialize_layer(feature_layer)
        if not isinstance(feature_layer, FeatureLayer):
            raise TypeError(f"feature_layer must be a FeatureLayer. Received: {type(feature_layer).__name__}")
        self.feature_layer = feature_layer
        self.hidden_units = list(hidden_units) if hidden_units else None
        self.dropout = float(dropout)
        self.l2_normalize = bool(l2_normalize)
        self.mlp = MLP(self.hidden_units, dropout=self.dropout, name="mlp") if self.hidden_units else None

    @property
    def output_dim(self) -> int:
        return self.hidden_units[-1] if self.hidden_units else self.feature_layer.output_dim

    def call(self, inputs, training=None):
        x = self.feature_layer(inputs, training=training)
        if isinstance(x, Mapping):
            x = self.feature_layer.concat(x)
        elif x.shape.rank == 3:
            x = tf.reshape(x, [-1, self.feature_layer.output_dim])
        if self.mlp is not None:
            x = self.mlp(x, training=training)
        if self.l2_normalize:
            x = tf.math.l2_normalize(x, axis=-1)
        return x

    def get_config(self):
        config = super().get_config()
        config.update({"feature_layer": serialize_layer(self.feature_layer), "hidden_units": self.hidden_units,
                       "dropout": self.dropout, "l2_normalize": self.l2_normalize})
        return config


def make_tower(features, frame: pd.DataFrame, embedding_dim: int = 32,
               hidden_units: Optional[Sequence[int]] = None, dropout: float = 0.0,
               l2_normalize: bool = False, name: Optional[str] = None) -> Tower:
    """Builds a :class:`Tower` whose FeatureLayer is adapted on ``frame`` (training rows only)."""
    layer = FeatureLayer(features, embedding_dim=embedding_dim, output_mode="concat",
                         name=None if name is None else f"{name}_features")
    layer.adapt(frame)
    return Tower(layer, hidden_units=hidden_units, dropout=dropout, l2_normalize=l2_normalize, name=name)


__all__ = ["Tower", "make_tower"]
