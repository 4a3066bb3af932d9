"""NeuMF, neural matrix factorization (He et al., WWW 2017): GMF and MLP fused by one prediction layer.

:meth:`NeuMF.load_pretrained` initialises it from a trained GMF and MLP, the output layer being
``[alpha * h_GMF, (1 - alpha) * h_MLP]`` (paper: alpha = 0.5).
"""

from __future__ import annotations

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.layers.gmf_interaction import GMFInteraction
from tfrec.layers.mlp_interaction import MLPInteraction
from tfrec.models.gmf import GMF
from tfrec.models.mlp import MLP
from tfrec.models.ncf_base import NCFBase, prediction_layer


@tf.keras.utils.register_keras_serializable(package="tfrec")
class NeuMF(NCFBase):
    """Neural matrix factorization: one prediction layer over ``[p_u * q_i, MLP-tower([p'_u, q'_i])]``.

    GMF and MLP parts have their own embeddings (the paper's NeuMF).

    Args:
      num_users: int, number of user indices.
      num_items: int, number of item indices.
      mf_dim: int, GMF embedding size. Default 8.
      mlp_embedding_dim: int, size of each MLP embedding. Default 32.
      hidden_units: sequence of int, MLP ReLU layer sizes. Default (32, 16, 8).
      l2: float >= 0, L2 penalty on embeddings and dense kernels. Default 0.
      init_stddev: float, standard deviation of the embeddings' initializer. Default 0.01.
      **kwargs: passed to ``tf.keras.Model``.

    Inputs: dict with ``"user_idx"`` and ``"item_idx"``, each [batch] int.
    Output: [batch] float32 logits.

    Example:

    >>> gmf = GMF(3, 4, embedding_dim=2).build_for_inputs()
    >>> mlp = MLP(3, 4, embedding_dim=4, hidden_units=[4, 2]).build_for_inputs()
    >>> model = NeuMF(3, 4, mf_dim=2, mlp_embedding_dim=4, hidden_units=[4, 2])
    >>> model = model.load_pretrained(gmf, mlp, alpha=0.5)
    >>> model({"user_idx": tf.constant([0, 2]), "item_idx": tf.constant([1, 3])}).shape
    TensorShape([2])
    """

    def __init__(self, num_users, num_items, mf_dim=8, mlp_embedding_dim=32, hidden_units=(32, 16, 8),
                 l2=0.0, init_stddev=0.01, **kwargs):
        super().__init__(**kwargs)
        self.gmf = GMFInteraction(num_users, num_items, mf_dim, l2, init_stddev, name="gmf")
        self.mlp = MLPInteraction(num_users, num_items, mlp_embedding_dim, hidden_units, l2, init_stddev, name="mlp")
        self.prediction = prediction_layer()

    def features(self, inputs):
        return tf.concat([self.gmf(inputs), self.mlp(inputs)], axis=1)

    def load_pretrained(self, gmf: GMF, mlp: MLP, alpha: float = 0.5) -> "NeuMF":
        """Copies the weights of a trained GMF and MLP into this model (He et al. 2017, Sec. 3.4.1).

        Embeddings and the MLP tower are copied as they are; the prediction layer becomes
        ``kernel = [alpha * h_GMF; (1 - alpha) * h_MLP]`` and ``bias = alpha * b_GMF + (1 - alpha) * b_MLP``.

        Args:
          gmf: a built :class:`GMF` with the same ``num_users``, ``num_items`` and ``embedding_dim == mf_dim``.
          mlp: a built :class:`MLP` with the same sizes as this model's MLP part.
          alpha: float in [0, 1], weight of the GMF part. Default 0.5 (the paper).

        Returns:
          ``self``, for chaining.
        """
        if not isinstance(gmf, GMF) or not isinstance(mlp, MLP):
            raise TypeError(f"load_pretrained expects a GMF and an MLP model. Received: {type(gmf).__name__}, {type(mlp).__name__}.")
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"alpha must be in [0, 1]. Received: alpha={alpha}")
        for label, mine, theirs in (("GMF", self.gmf, gmf.gmf), ("MLP", self.mlp, mlp.mlp)):
            want = {k: v for k, v in mine.get_config().items() if k not in ("name", "trainable", "dtype", "l2", "init_stddev")}
            got = {k: v for k, v in theirs.get_config().items() if k in want}
            if want != got:
                raise ValueError(f"The pre-trained {label} does not match this NeuMF's {label} part: "
                                 f"expected sizes {want}, received {got}. Build it with the same sizes.")
        for model in (gmf, mlp):
            if not model.built:
                raise ValueError(f"The pre-trained {type(model).__name__} has no weights yet: train it (or call "
                                 "build_for_inputs()) before load_pretrained.")
        if not self.built:
            self.build_for_inputs()
        self.gmf.set_weights(gmf.gmf.get_weights())
        self.mlp.set_weights(mlp.mlp.get_weights())
        h_gmf, b_gmf = gmf.prediction.get_weights()
        h_mlp, b_mlp = mlp.prediction.get_weights()
        alpha = float(alpha)
        self.prediction.set_weights([
            np.concatenate([alpha * h_gmf, (1.0 - alpha) * h_mlp], axis=0),
            alpha * b_gmf + (1.0 - alpha) * b_mlp,
        ])
        return self

    def get_config(self):
        g, m = self.gmf, self.mlp
        return {"num_users": g.num_users, "num_items": g.num_items, "mf_dim": g.embedding_dim,
                "mlp_embedding_dim": m.embedding_dim, "hidden_units": list(m.hidden_units),
                "l2": g.l2, "init_stddev": g.init_stddev}


__all__ = ["NeuMF"]
