"""Factorization machine (Rendle 2010): first-order terms plus the pairwise FM interaction of field embeddings."""

from __future__ import annotations

from typing import Optional

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)

import tensorflow as tf

from tfrec.layers.interaction import FMInteraction
from tfrec.models.feature_interaction import FeatureInteractionModel, _apply, field_embeddings
from tfrec.models.layer_config import serialize_layer


@tf.keras.utils.register_keras_serializable(package="tfrec")
class FactorizationMachine(FeatureInteractionModel):
    """Factorization machine (Rendle 2010): ``y = w0 + sum_f w_f(x_f) + sum_{i<j} <v_i, v_j>``.

    Args:
      embedding_layer: field embeddings ``v_f``: output [batch, n_fields, dim] (e.g.
        ``FeatureLayer(spec, embedding_dim=k, output_mode="stack")``) or a dict of [batch, dim].
      linear_layer: first-order weights ``w_f``: output [batch, n_fields, 1] or a dict of [batch, 1];
        ``None`` leaves the first-order term out.
      fm_interaction: the pairwise layer; default ``FMInteraction()``.
      task, label_key, initial_bias, embedding_l2: see :class:`FeatureInteractionModel`.

    Example:

    ```python
    import tfrec
    import tensorflow as tf
    from tfrec.models.fm import FactorizationMachine

    class TwoFields(tf.keras.layers.Layer):  # stand-in for FeatureLayer(output_mode="stack")
        def __init__(self, dim, **kw):
            super().__init__(**kw)
            self.a = tf.keras.layers.Embedding(5, dim)
            self.b = tf.keras.layers.Embedding(7, dim)
        def call(self, f):
            return tf.stack([self.a(f["a"]), self.b(f["b"])], axis=1)

    model = FactorizationMachine(TwoFields(4), linear_layer=TwoFields(1))
    model({"a": tf.constant([0, 1]), "b": tf.constant([3, 6])})  # [2, 1] probabilities
    ```
    """

    _layer_args = ("embedding_layer", "linear_layer", "fm_interaction")

    def __init__(self, embedding_layer: tf.keras.layers.Layer, linear_layer: Optional[tf.keras.layers.Layer] = None,
                 fm_interaction: Optional[tf.keras.layers.Layer] = None, task: str = "ctr", label_key: str = "label",
                 initial_bias: float = 0.0, embedding_l2: float = 0.0, linear_l2: Optional[float] = None, **kwargs):
        super().__init__(task=task, label_key=label_key, initial_bias=initial_bias, embedding_l2=embedding_l2,
                         linear_l2=linear_l2, **kwargs)
        self.embedding_layer = embedding_layer
        self.linear_layer = linear_layer
        self.fm_interaction = fm_interaction if fm_interaction is not None else FMInteraction()

    def compute_logits(self, features, training=False):
        v = field_embeddings(_apply(self.embedding_layer, features, training))
        logits = self.fm_interaction(v)
        logits, linear = self._add_first_order(logits, features, training)
        return logits, self._penalties([v], linear)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "embedding_layer": serialize_layer(self.embedding_layer),
                "linear_layer": serialize_layer(self.linear_layer),
                "fm_interaction": serialize_layer(self.fm_interaction),
            }
        )
        return config


__all__ = ["FactorizationMachine"]
