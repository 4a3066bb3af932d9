"""Logistic (or, for ratings, linear) regression over first-order feature weights: the classic CTR baseline."""

from __future__ import annotations

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)

import tensorflow as tf

from tfrec.models.feature_interaction import FeatureInteractionModel, _apply, _tensors, linear_term
from tfrec.models.layer_config import serialize_layer


@tf.keras.utils.register_keras_serializable(package="tfrec")
class LogisticRegression(FeatureInteractionModel):
    """Logistic (or, for ratings, linear) regression: ``y = w0 + sum_f w_f(x_f)``.

    Args:
      linear_layer: embedding layer with one dimension per field, e.g.
        ``FeatureLayer(spec, embedding_dim=1, output_mode="stack")`` (one weight per category, a
        linear weight on numerics); output [batch, n_fields, 1] or dict of [batch, 1].
      task, label_key, initial_bias, embedding_l2: see :class:`FeatureInteractionModel`
        (``embedding_l2`` is the L2 penalty on the weights used in a batch).

    Example:

    ```python
    import tfrec
    import tensorflow as tf
    from tfrec.models.logreg import LogisticRegression

    class OneField(tf.keras.layers.Layer):  # stand-in for FeatureLayer(spec, embedding_dim=1)
        def __init__(self, **kw):
            super().__init__(**kw)
            self.w = tf.keras.layers.Embedding(10, 1)
        def call(self, f):
            return self.w(f["x"])[:, None, :]  # [batch, 1 field, 1]

    model = LogisticRegression(OneField())
    model({"x": tf.constant([1, 2])})  # [2, 1] click probabilities
    ```
    """

    _layer_args = ("linear_layer",)

    def __init__(self, linear_layer: tf.keras.layers.Layer, task: str = "ctr", label_key: str = "label",
                 initial_bias: float = 0.0, embedding_l2: float = 0.0, **kwargs):
        super().__init__(task=task, label_key=label_key, initial_bias=initial_bias, embedding_l2=embedding_l2, **kwargs)
        self.linear_layer = linear_layer

    def compute_logits(self, features, training=False):
        weights = _apply(self.linear_layer, features, training)
        return linear_term(weights), self._penalty(*_tensors(weights))

    def get_config(self):
        config = super().get_config()
        config["linear_layer"] = serialize_layer(self.linear_layer)
        return config


__all__ = ["LogisticRegression"]
