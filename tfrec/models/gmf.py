"""GMF, generalized matrix factorization (He et al., WWW 2017): ``logit = h^T (p_u * q_i) + b``."""

from __future__ import annotations

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.layers.gmf_interaction import GMFInteraction
from tfrec.models.ncf_base import NCFBase, prediction_layer


@tf.keras.utils.register_keras_serializable(package="tfrec")
class GMF(NCFBase):
    """Generalized matrix factorization: ``logit(u, i) = h^T (p_u * q_i) + b``.

    Args:
      num_users: int, number of user indices.
      num_items: int, number of item indices.
      embedding_dim: int, number of predictive factors. Default 8.
      l2: float >= 0, L2 penalty on the embedding tables. Default 0.
      init_stddev: float, standard deviation of the embeddings' initializer. Default 0.01.
      **kwargs: passed to ``tf.keras.Model``.

    Inputs: dict with ``"user_idx"`` and ``"item_idx"``, each [batch] int.
    Output: [batch] float32 logits; ``tf.sigmoid`` gives the predicted probability of interaction.

    Example:

    >>> model = GMF(num_users=3, num_items=4, embedding_dim=2)
    >>> model({"user_idx": tf.constant([0, 2]), "item_idx": tf.constant([1, 3])}).shape
    TensorShape([2])
    """

    def __init__(self, num_users, num_items, embedding_dim=8, l2=0.0, init_stddev=0.01, **kwargs):
        super().__init__(**kwargs)
        self.gmf = GMFInteraction(num_users, num_items, embedding_dim, l2, init_stddev, name="gmf")
        self.prediction = prediction_layer()

    def features(self, inputs):
        return self.gmf(inputs)

    def get_config(self):
        g = self.gmf
        return {"num_users": g.num_users, "num_items": g.num_items, "embedding_dim": g.embedding_dim,
                "l2": g.l2, "init_stddev": g.init_stddev}


__all__ = ["GMF"]
