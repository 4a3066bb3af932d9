"""The NCF MLP model (He et al., WWW 2017): ``logit = h^T ReLU-tower([p_u, q_i]) + b``.

Not to be confused with :class:`tfrec.layers.mlp.MLP`, the generic dense tower layer.
"""

from __future__ import annotations

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.layers.mlp_interaction import MLPInteraction
from tfrec.models.ncf_base import NCFBase, prediction_layer


@tf.keras.utils.register_keras_serializable(package="tfrec", name="NCFMLP")
class MLP(NCFBase):
    """Multi-layer perceptron over concatenated embeddings: ``logit = h^T ReLU-tower([p_u, q_i]) + b``.

    Args:
      num_users: int, number of user indices.
      num_items: int, number of item indices.
      embedding_dim: int, size of each of ``p_u`` and ``q_i``. Default 32.
      hidden_units: sequence of int, ReLU layer sizes (each halving in the paper). Default (32, 16, 8).
      l2: float >= 0, L2 penalty on embeddings and dense kernels. Default 0.
      init_stddev: float, standard deviation of the embeddings' initializer. Default 0.01.
      **kwargs: passed to ``tf.keras.Model``.

    Inputs: dict with ``"user_idx"`` and ``"item_idx"``, each [batch] int.
    Output: [batch] float32 logits.

    Example:

    >>> model = MLP(num_users=3, num_items=4, embedding_dim=4, hidden_units=[4, 2])
    >>> model({"user_idx": tf.constant([0, 2]), "item_idx": tf.constant([1, 3])}).shape
    TensorShape([2])
    """

    def __init__(self, num_users, num_items, embedding_dim=32, hidden_units=(32, 16, 8), l2=0.0,
                 init_stddev=0.01, **kwargs):
        super().__init__(**kwargs)
        self.mlp = MLPInteraction(num_users, num_items, embedding_dim, hidden_units, l2, init_stddev, name="mlp")
        self.prediction = prediction_layer()

    def features(self, inputs):
        return self.mlp(inputs)

    def get_config(self):
        m = self.mlp
        return {"num_users": m.num_users, "num_items": m.num_items, "embedding_dim": m.embedding_dim,
                "hidden_units": list(m.hidden_units), "l2": m.l2, "init_stddev": m.init_stddev}


__all__ = ["MLP"]
