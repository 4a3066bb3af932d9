"""DeepFM (Guo et al., IJCAI 2017, https://arxiv.org/abs/1703.04247).

``y = w0 + sum_f w_f(x_f)  +  sum_{i<j} <v_i, v_j>  +  top(deep(flatten(v)))``: the first-order
term, the FM pairwise term and an MLP all read the **same** field embeddings ``v``. With
``fm_gate=True`` the FM term is multiplied by a trainable scalar that starts at 0; with a zero
``top_layer`` as well, the model then starts exactly as its first-order part (a logistic regression),
which is what a warm start from a trained LR needs (:func:`tfrec.models.ctr_builder.warm_start_from_lr`).
"""

from __future__ import annotations

from typing import Optional

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)

import tensorflow as tf

from tfrec.layers.interaction import FMInteraction
from tfrec.layers.mlp import MLP
from tfrec.models.feature_interaction import (
    FeatureInteractionModel,
    _apply,
    field_embeddings,
)
from tfrec.models.layer_config import serialize_layer


@tf.keras.utils.register_keras_serializable(package="tfrec")
class DeepFM(FeatureInteractionModel):
    """DeepFM for rating prediction or CTR.

    Args:
      embedding_layer: field embeddings shared by the FM and deep parts: output
        [batch, n_fields, dim] (``FeatureLayer(spec, embedding_dim=dim, output_mode="stack")``) or a
        dict of [batch, dim] tensors of one ``dim``. Required.
      linear_layer: first-order weights: output [batch, n_fields, 1] or a dict of [batch, 1]
        (``FeatureLayer(spec, embedding_dim=1, output_mode="stack")``: one weight per category, a
        linear weight on numerics). ``None`` leaves the first-order term out.
      deep_network: layer [batch, n_fields * dim] -> [batch, h]; default
        ``MLP([200, 200, 200], output_activation="relu")`` (the DeepFM paper's 200-200-200).
      top_layer: hidden -> one logit; default ``Dense(1)``.
      fm_interaction: the pairwise layer; default ``FMInteraction()``.
      task: ``"rating"`` or ``"ctr"`` (default).
      label_key: label name in the feature dict; default ``"label"``.
      initial_bias: start value of the global bias ``w0``; default 0.
      embedding_l2: L2 penalty on the batch's embeddings and first-order weights; default 0.
      linear_l2: separate L2 penalty on the batch's first-order weights (None: they use ``embedding_l2``).
      fm_gate: multiply the FM pairwise term by a trainable scalar ``fm_gate`` initialised at 0
        (default False: the paper's ungated sum). The gate's gradient is the FM term itself, so it
        grows where the pairwise term lowers the loss.
      **kwargs: passed to ``tf.keras.Model``.

    Call:
      features: dict of [batch] feature tensors. Returns [batch, 1] ratings or click probabilities.

    Example:

    ```python
    import tfrec
    import tensorflow as tf
    from tfrec.layers.mlp import MLP
    from tfrec.models.deepfm import DeepFM

    class TwoFields(tf.keras.layers.Layer):  # stand-in for FeatureLayer(output_mode="stack")
        def __init__(self, dim, **kw):
            super().__init__(**kw)
            self.a = tf.keras.layers.Embedding(5, dim)
            self.b = tf.keras.layers.Embedding(7, dim)
        def call(self, f):
            return tf.stack([self.a(f["a"]), self.b(f["b"])], axis=1)  # [batch, 2, dim]

    model = DeepFM(TwoFields(4), linear_layer=TwoFields(1), deep_network=MLP([8], output_activation="relu"))
    model({"a": tf.constant([0, 1]), "b": tf.constant([3, 6])})  # [2, 1] click probabilities
    ```
    """

    _layer_args = ("embedding_layer", "linear_layer", "deep_network", "top_layer", "fm_interaction")

    def __init__(
        self,
        embedding_layer: tf.keras.layers.Layer,
        linear_layer: Optional[tf.keras.layers.Layer] = None,
        deep_network: Optional[tf.keras.layers.Layer] = None,
        top_layer: Optional[tf.keras.layers.Layer] = None,
        fm_interaction: Optional[tf.keras.layers.Layer] = None,
        task: str = "ctr",
        label_key: str = "label",
        initial_bias: float = 0.0,
        embedding_l2: float = 0.0,
        linear_l2: Optional[float] = None,
        fm_gate: bool = False,
        **kwargs,
    ):
        if embedding_layer is None:
            raise ValueError(
                "DeepFM needs an embedding_layer, e.g. FeatureLayer(spec, embedding_dim=8, output_mode='stack'). "
                "Received: embedding_layer=None"
            )
        super().__init__(task=task, label_key=label_key, initial_bias=initial_bias, embedding_l2=embedding_l2,
                         linear_l2=linear_l2, **kwargs)
        self.embedding_layer = embedding_layer
        self.linear_layer = linear_layer
        if deep_network is None:
            deep_network = MLP([200, 200, 200], output_activation="relu", name="deep")
        self.deep_network = deep_network
        self.top_layer = top_layer if top_layer is not None else tf.keras.layers.Dense(1, name="top")
        self.fm_interaction = fm_interaction if fm_interaction is not None else FMInteraction()
        self.fm_gate = bool(fm_gate)
        self.fm_gate_weight = (self.add_weight(name="fm_gate", shape=(), initializer="zeros", trainable=True)
                               if self.fm_gate else None)

    def compute_logits(self, features, training=False):
        v = field_embeddings(_apply(self.embedding_layer, features, training))  # [batch, n, dim]
        flat = tf.reshape(v, [-1, v.shape[1] * v.shape[2]])
        fm = self.fm_interaction(v)
        if self.fm_gate_weight is not None:
            fm = fm * self.fm_gate_weight
        logits = fm + self.top_layer(self.deep_network(flat, training=training))
        tensors = [v]
        logits, linear = self._add_first_order(logits, features, training)
        return logits, self._penalties(tensors, linear)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "embedding_layer": serialize_layer(self.embedding_layer),
                "linear_layer": serialize_layer(self.linear_layer),
                "deep_network": serialize_layer(self.deep_network),
                "top_layer": serialize_layer(self.top_layer),
                "fm_interaction": serialize_layer(self.fm_interaction),
                "fm_gate": self.fm_gate,
            }
        )
        return config


__all__ = ["DeepFM"]
