"""DCN-V2: Deep & Cross Network V2 (Wang et al., WWW 2021, https://arxiv.org/abs/2008.13535).

The field embeddings are flattened into ``x0``; a :class:`~tfrec.layers.interaction.CrossNetwork`
learns explicit bounded-degree crosses and an MLP learns implicit ones, either

* ``"stacked"``: ``top(deep(cross(x0)))`` (the TFRS DCN tutorial's layout), or
* ``"parallel"``: ``top(concat(cross(x0), deep(x0)))``.

Full-rank or low-rank crosses are chosen on the cross network (``projection_dim``). An optional
first-order ("wide") term ``sum_f w_f(x_f)`` over the same features is added to the logit (as in
DeepCTR's DCN and the original DCN's linear part); with it and a zero-initialised ``top_layer`` the
model starts as a logistic regression and the cross/deep part only adds what lowers the loss.
"""

from __future__ import annotations

from typing import Optional

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)

import tensorflow as tf

from tfrec.layers.interaction import CrossNetwork
from tfrec.layers.mlp import MLP
from tfrec.models.feature_interaction import (
    FeatureInteractionModel,
    _apply,
    _tensors,
    flat_embeddings,
)
from tfrec.models.layer_config import serialize_layer

#: Valid values of ``DCN(structure=...)``.
STRUCTURES = ("stacked", "parallel")


@tf.keras.utils.register_keras_serializable(package="tfrec")
class DCN(FeatureInteractionModel):
    """DCN-V2 for rating prediction or CTR.

    Args:
      embedding_layer: maps the feature dict to embeddings: [batch, n_fields, dim]
        (``FeatureLayer(spec, embedding_dim=dim, output_mode="stack")``), [batch, d], or a dict of
        [batch, d_f] tensors (concatenated in key order). Required.
      cross_network: layer [batch, d] -> [batch, d]; default ``CrossNetwork(num_layers=2)``
        (full rank). Pass ``CrossNetwork(projection_dim=r)`` for low rank.
      deep_network: layer [batch, *] -> [batch, h]; default
        ``MLP([192, 192], output_activation="relu")`` (the TFRS DCN tutorial's deep part).
      top_layer: layer mapping the last hidden layer to one logit; default ``Dense(1)``.
      structure: ``"stacked"`` (default) or ``"parallel"``.
      task: ``"rating"`` or ``"ctr"`` (default); see
        :class:`~tfrec.models.feature_interaction.FeatureInteractionModel`.
      label_key: label name in the feature dict; default ``"label"``.
      initial_bias: start value of the global bias (mean rating, or the click log-odds); default 0.
      embedding_l2: L2 penalty on the batch's embeddings (and first-order weights); default 0.
      linear_l2: separate L2 penalty on the batch's first-order weights (None: they use ``embedding_l2``).
      linear_layer: optional first-order weights ``w_f``: output [batch, n_fields, 1] or a dict of
        [batch, 1] (``FeatureLayer(spec, embedding_dim=1, output_mode="stack")``); their sum is added
        to the logit. Default ``None`` (no first-order term: the DCN-V2 paper's model).
      **kwargs: passed to ``tf.keras.Model``.

    Call:
      features: dict of [batch] feature tensors. Returns [batch, 1] ratings or click probabilities.

    Example:

    ```python
    import tfrec
    import tensorflow as tf
    from tfrec.layers.interaction import CrossNetwork
    from tfrec.models.dcn import DCN

    class TwoFields(tf.keras.layers.Layer):  # stand-in for FeatureLayer(output_mode="stack")
        def __init__(self, **kw):
            super().__init__(**kw)
            self.a = tf.keras.layers.Embedding(5, 4)
            self.b = tf.keras.layers.Embedding(7, 4)
        def call(self, f):
            return tf.stack([self.a(f["a"]), self.b(f["b"])], axis=1)  # [batch, 2, 4]

    model = DCN(TwoFields(), cross_network=CrossNetwork(2, projection_dim=2), structure="parallel",
                task="rating", initial_bias=3.5)
    model({"a": tf.constant([0, 1]), "b": tf.constant([3, 6])})  # [2, 1] ratings
    ```
    """

    _layer_args = ("embedding_layer", "cross_network", "deep_network", "top_layer", "linear_layer")

    def __init__(
        self,
        embedding_layer: tf.keras.layers.Layer,
        cross_network: Optional[tf.keras.layers.Layer] = None,
        deep_network: Optional[tf.keras.layers.Layer] = None,
        top_layer: Optional[tf.keras.layers.Layer] = None,
        structure: str = "stacked",
        task: str = "ctr",
        label_key: str = "label",
        initial_bias: float = 0.0,
        embedding_l2: float = 0.0,
        linear_layer: Optional[tf.keras.layers.Layer] = None,
        linear_l2: Optional[float] = None,
        **kwargs,
    ):
        if structure not in STRUCTURES:
            raise ValueError(
                f"Received an invalid value for structure: {structure!r}. Valid values: {', '.join(STRUCTURES)}."
            )
        if embedding_layer is None:
            raise ValueError(
                "DCN needs an embedding_layer, e.g. FeatureLayer(spec, embedding_dim=16, output_mode='stack'). "
                "Received: embedding_layer=None"
            )
        super().__init__(task=task, label_key=label_key, initial_bias=initial_bias, embedding_l2=embedding_l2,
                         linear_l2=linear_l2, **kwargs)
        self.structure = structure
        self.embedding_layer = embedding_layer
        self.cross_network = cross_network if cross_network is not None else CrossNetwork(num_layers=2)
        if deep_network is None:
            deep_network = MLP([192, 192], output_activation="relu", name="deep")
        self.deep_network = deep_network
        self.top_layer = top_layer if top_layer is not None else tf.keras.layers.Dense(1, name="top")
        self.linear_layer = linear_layer

    def compute_logits(self, features, training=False):
        emb = _apply(self.embedding_layer, features, training)
        x0 = flat_embeddings(emb)
        cross = self.cross_network(x0, training=training)
        if self.structure == "stacked":
            hidden = self.deep_network(cross, training=training)
        else:
            hidden = tf.concat([cross, self.deep_network(x0, training=training)], axis=-1)
        logits = self.top_layer(hidden)
        tensors = _tensors(emb)
        logits, linear = self._add_first_order(logits, features, training)
        return logits, self._penalties(tensors, linear)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "embedding_layer": serialize_layer(self.embedding_layer),
                "cross_network": serialize_layer(self.cross_network),
                "deep_network": serialize_layer(self.deep_network),
                "top_layer": serialize_layer(self.top_layer),
                "structure": self.structure,
                "linear_layer": serialize_layer(self.linear_layer),
            }
        )
        return config


__all__ = ["DCN", "STRUCTURES"]
