"""The shared base of the NCF models (GMF, MLP, NeuMF): logits of one prediction layer over the model's features.

Inputs of every NCF model: a dict with ``"user_idx"`` and ``"item_idx"``, each a [batch] integer
tensor. An index outside ``[0, num_users)`` / ``[0, num_items)`` (e.g. the unknown index -1) reads
a zero embedding instead of failing. ``call`` returns logits; the loss (pointwise log loss,
``BinaryCrossentropy(from_logits=True)``) is set at ``compile`` time.
"""

from __future__ import annotations

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf


def prediction_layer(name="prediction", initializer="lecun_uniform") -> tf.keras.layers.Dense:
    """The one-logit output layer of the NCF models (``Dense(1)``, LeCun uniform init)."""
    return tf.keras.layers.Dense(1, kernel_initializer=initializer, name=name)


class NCFBase(tf.keras.Model):
    """Shared ``call``: logits [batch] of the prediction layer over ``self.features(inputs)``."""

    def features(self, inputs):  # pragma: no cover - overridden
        raise NotImplementedError

    def call(self, inputs, training=False):
        return tf.squeeze(self.prediction(self.features(inputs)), axis=1)

    def build_for_inputs(self):
        """Creates all weights by calling the model on one dummy pair; returns ``self``."""
        self({"user_idx": tf.zeros([1], tf.int32), "item_idx": tf.zeros([1], tf.int32)})
        return self

    @classmethod
    def from_config(cls, config):
        return cls(**config)


__all__ = ["NCFBase", "prediction_layer"]
