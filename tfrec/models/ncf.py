"""Neural Collaborative Filtering (He et al., WWW 2017): GMF, MLP and NeuMF.

Three Keras models score a (user, item) pair with one logit:

* :class:`GMF`: ``h^T (p_u * q_i) + b`` (generalized matrix factorization).
* :class:`MLP`: a ReLU tower over ``[p_u, q_i]`` followed by ``h^T z + b``.
* :class:`NeuMF`: both, with separate embeddings, fused by one prediction layer over
  ``[p_u * q_i, z]``. :meth:`NeuMF.load_pretrained` initialises it from a trained GMF and MLP,
  the output layer being ``[alpha * h_GMF, (1 - alpha) * h_MLP]`` (paper: alpha = 0.5).

The models are built from two layers, :class:`GMFInteraction` and :class:`MLPInteraction`, so that
NeuMF reuses exactly what GMF and MLP train. ``call`` returns logits; the loss (pointwise log loss,
``BinaryCrossentropy(from_logits=True)``) is set at ``compile`` time. Negative examples come from
:class:`tfrec.sampling.NegativeSampler`; :class:`NCFRecommender` runs the whole procedure
(``num_negatives`` fresh negatives per positive every epoch) as an
:class:`~tfrec.recommenders.Algorithm` (registry names ``gmf``, ``mlp``, ``neumf``).

Inputs of every model: a dict with ``"user_idx"`` and ``"item_idx"``, each a [batch] integer
tensor. An index outside ``[0, num_users)`` / ``[0, num_items)`` (e.g. the unknown index -1) reads
a zero embedding instead of failing.
"""

from __future__ import annotations

import time
from typing import Callable, Optional, Sequence

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.recommenders.base import Algorithm
from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.sampling import NegativeSampler

__all__ = [
    "GMFInteraction",
    "MLPInteraction",
    "GMF",
    "MLP",
    "NeuMF",
    "BPRMF",
    "NCFRecommender",
    "gmf_recommender",
    "mlp_recommender",
    "neumf_recommender",
]


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"Received an invalid value for {name}, expected a positive integer. Received: {name}={value!r}")
    return int(value)


def _non_negative(name: str, value) -> float:
    if not isinstance(value, (int, float, np.floating, np.integer)) or value < 0:
        raise ValueError(f"Received an invalid value for {name}, expected a float >= 0. Received: {name}={value!r}")
    return float(value)


def _units(hidden_units) -> list:
    if isinstance(hidden_units, (int, np.integer)):
        raise ValueError(
            f"hidden_units must be a sequence of positive integers such as [32, 16, 8]. Received: hidden_units={hidden_units!r}"
        )
    units = list(hidden_units)
    if not units:
        raise ValueError("hidden_units must hold at least one layer size, e.g. [32, 16, 8]. Received: hidden_units=[]")
    return [_positive_int("hidden_units[%d]" % k, u) for k, u in enumerate(units)]


def _safe(idx, n: int):
    """Maps indices outside [0, n) to the extra row n and returns (index, [batch, 1] mask)."""
    idx = tf.cast(tf.reshape(idx, [-1]), tf.int32)
    known = tf.logical_and(idx >= 0, idx < n)
    return tf.where(known, idx, n), tf.cast(known, tf.float32)[:, None]


def _embedding(n: int, dim: int, stddev: float, l2: float, name: str):
    # one extra row (index n) for unknown ids; it is masked to zero on read
    return tf.keras.layers.Embedding(
        n + 1, dim,
        embeddings_initializer=tf.keras.initializers.RandomNormal(stddev=stddev),
        embeddings_regularizer=tf.keras.regularizers.L2(l2) if l2 > 0 else None,
        name=name,
    )


@tf.keras.utils.register_keras_serializable(package="tfrec")
class GMFInteraction(tf.keras.layers.Layer):
    """User and item embeddings multiplied elementwise: ``p_u * q_i``.

    Args:
      num_users: int, number of user indices.
      num_items: int, number of item indices.
      embedding_dim: int, size of ``p_u`` and ``q_i`` (the paper's "predictive factors"). Default 8.
      l2: float >= 0, L2 penalty on the embedding tables (Keras regularizer, as the NCF reference
        code). Default 0.
      init_stddev: float, standard deviation of the normal initializer (paper: 0.01). Default 0.01.
      **kwargs: passed to ``tf.keras.layers.Layer``.

    Input: dict with ``"user_idx"`` and ``"item_idx"``, each [batch] int.
    Output: [batch, embedding_dim] float32.

    Example:

    >>> layer = GMFInteraction(num_users=3, num_items=4, embedding_dim=2)
    >>> layer({"user_idx": tf.constant([0, 2]), "item_idx": tf.constant([1, -1])}).shape
    TensorShape([2, 2])
    """

    def __init__(self, num_users, num_items, embedding_dim=8, l2=0.0, init_stddev=0.01, **kwargs):
        super().__init__(**kwargs)
        self.num_users = _positive_int("num_users", num_users)
        self.num_items = _positive_int("num_items", num_items)
        self.embedding_dim = _positive_int("embedding_dim", embedding_dim)
        self.l2 = _non_negative("l2", l2)
        self.init_stddev = _non_negative("init_stddev", init_stddev)
        self.user_embedding = _embedding(self.num_users, self.embedding_dim, self.init_stddev, self.l2, "user_embedding")
        self.item_embedding = _embedding(self.num_items, self.embedding_dim, self.init_stddev, self.l2, "item_embedding")

    def call(self, inputs):
        u, u_known = _safe(inputs["user_idx"], self.num_users)
        i, i_known = _safe(inputs["item_idx"], self.num_items)
        return (self.user_embedding(u) * u_known) * (self.item_embedding(i) * i_known)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_users": self.num_users,
            "num_items": self.num_items,
            "embedding_dim": self.embedding_dim,
            "l2": self.l2,
            "init_stddev": self.init_stddev,
        })
        return config


@tf.keras.utils.register_keras_serializable(package="tfrec")
class MLPInteraction(tf.keras.layers.Layer):
    """User and item embeddings concatenated and passed through a ReLU tower.

    Args:
      num_users: int, number of user indices.
      num_items: int, number of item indices.
      embedding_dim: int, size of each of ``p_u`` and ``q_i``; the tower's input has twice this
        size. The NCF code's ``layers=[64, 32, 16, 8]`` is ``embedding_dim=32,
        hidden_units=[32, 16, 8]``. Default 32.
      hidden_units: sequence of int, sizes of the ReLU layers; the last one is the number of
        predictive factors. Default (32, 16, 8).
      l2: float >= 0, L2 penalty on embeddings and dense kernels. Default 0.
      init_stddev: float, standard deviation of the embeddings' normal initializer. Default 0.01.
      **kwargs: passed to ``tf.keras.layers.Layer``.

    Input: dict with ``"user_idx"`` and ``"item_idx"``, each [batch] int.
    Output: [batch, hidden_units[-1]] float32.

    Example:

    >>> layer = MLPInteraction(num_users=3, num_items=4, embedding_dim=4, hidden_units=[4, 2])
    >>> layer({"user_idx": tf.constant([0, 2]), "item_idx": tf.constant([1, 3])}).shape
    TensorShape([2, 2])
    """

    def __init__(self, num_users, num_items, embedding_dim=32, hidden_units=(32, 16, 8), l2=0.0,
                 init_stddev=0.01, **kwargs):
        super().__init__(**kwargs)
        self.num_users = _positive_int("num_users", num_users)
        self.num_items = _positive_int("num_items", num_items)
        self.embedding_dim = _positive_int("embedding_dim", embedding_dim)
        self.hidden_units = _units(hidden_units)
        self.l2 = _non_negative("l2", l2)
        self.init_stddev = _non_negative("init_stddev", init_stddev)
        self.user_embedding = _embedding(self.num_users, self.embedding_dim, self.init_stddev, self.l2, "user_embedding")
        self.item_embedding = _embedding(self.num_items, self.embedding_dim, self.init_stddev, self.l2, "item_embedding")
        reg = tf.keras.regularizers.L2(self.l2) if self.l2 > 0 else None
        self.tower = [
            tf.keras.layers.Dense(units, activation="relu", kernel_regularizer=reg, name=f"hidden_{k}")
            for k, units in enumerate(self.hidden_units)
        ]

    def call(self, inputs):
        u, u_known = _safe(inputs["user_idx"], self.num_users)
        i, i_known = _safe(inputs["item_idx"], self.num_items)
        x = tf.concat([self.user_embedding(u) * u_known, self.item_embedding(i) * i_known], axis=1)
        for layer in self.tower:
            x = layer(x)
        return x

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_users": self.num_users,
            "num_items": self.num_items,
            "embedding_dim": self.embedding_dim,
            "hidden_units": list(self.hidden_units),
            "l2": self.l2,
            "init_stddev": self.init_stddev,
        })
        return config


def _prediction_layer(name="prediction", initializer="lecun_uniform"):
    return tf.keras.layers.Dense(1, kernel_initializer=initializer, name=name)


class _NCFBase(tf.keras.Model):
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


@tf.keras.utils.register_keras_serializable(package="tfrec")
class GMF(_NCFBase):
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
        self.prediction = _prediction_layer()

    def features(self, inputs):
        return self.gmf(inputs)

    def get_config(self):
        g = self.gmf
        return {"num_users": g.num_users, "num_items": g.num_items, "embedding_dim": g.embedding_dim,
                "l2": g.l2, "init_stddev": g.init_stddev}


# Registered as "tfrec>NCFMLP": "tfrec>MLP" is the generic layer of tfrec.layers.mlp.
@tf.keras.utils.register_keras_serializable(package="tfrec", name="NCFMLP")
class MLP(_NCFBase):
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
        self.prediction = _prediction_layer()

    def features(self, inputs):
        return self.mlp(inputs)

    def get_config(self):
        m = self.mlp
        return {"num_users": m.num_users, "num_items": m.num_items, "embedding_dim": m.embedding_dim,
                "hidden_units": list(m.hidden_units), "l2": m.l2, "init_stddev": m.init_stddev}


@tf.keras.utils.register_keras_serializable(package="tfrec")
class NeuMF(_NCFBase):
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
        self.prediction = _prediction_layer()

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


@tf.keras.utils.register_keras_serializable(package="tfrec")
class BPRMF(tf.keras.Model):
    """Matrix factorization for implicit feedback trained with BPR (Rendle et al., UAI 2009).

    ``score(u, i) = p_u . q_i + b_i``, trained on triples (user, positive item, sampled negative) to
    minimise ``-log sigmoid(score(u, i) - score(u, j))`` plus ``l2 * (|p_u|^2 + |q_i|^2 + |q_j|^2 + b_i^2
    + b_j^2)`` over the rows of the batch (mean over the batch). It is the implicit-feedback MF baseline
    of the NCF paper; :class:`NCFRecommender` trains it with ``model="bpr"``.

    Args:
      num_users: int, number of user indices.
      num_items: int, number of item indices.
      embedding_dim: int, number of factors. Default 64.
      l2: float >= 0, weight of the per-batch L2 penalty above. Default 0.
      init_stddev: float, standard deviation of the factors' normal initializer. Default 0.01.
      **kwargs: passed to ``tf.keras.Model``.

    Inputs of ``call``: dict with ``"user_idx"`` and ``"item_idx"``, each [batch] int; training data
    (``fit``) also carries ``"negative_idx"`` [batch] int. Output: [batch] float32 scores.

    Example:

    >>> model = BPRMF(num_users=3, num_items=4, embedding_dim=2)
    >>> model({"user_idx": tf.constant([0, 2]), "item_idx": tf.constant([1, -1])}).shape
    TensorShape([2])
    """

    def __init__(self, num_users, num_items, embedding_dim=64, l2=0.0, init_stddev=0.01, **kwargs):
        super().__init__(**kwargs)
        self.mf = GMFInteraction(num_users, num_items, embedding_dim, 0.0, init_stddev, name="mf")
        self.l2 = _non_negative("l2", l2)
        self.item_bias = _embedding(self.mf.num_items, 1, 0.0, 0.0, "item_bias")
        self.loss_tracker = tf.keras.metrics.Mean(name="loss")

    def _score(self, inputs):
        i, known = _safe(inputs["item_idx"], self.mf.num_items)
        bias = tf.squeeze(self.item_bias(i) * known, axis=1)
        return tf.reduce_sum(self.mf(inputs), axis=1) + bias, bias

    def call(self, inputs, training=False):
        return self._score(inputs)[0]

    def build_for_inputs(self):
        """Creates all weights by calling the model on one dummy pair; returns ``self``."""
        self({"user_idx": tf.zeros([1], tf.int32), "item_idx": tf.zeros([1], tf.int32)})
        return self

    @property
    def metrics(self):
        return [self.loss_tracker]

    def train_step(self, data):
        users = data["user_idx"]
        with tf.GradientTape() as tape:
            pos, pos_b = self._score({"user_idx": users, "item_idx": data["item_idx"]})
            neg, neg_b = self._score({"user_idx": users, "item_idx": data["negative_idx"]})
            loss = -tf.reduce_mean(tf.math.log_sigmoid(pos - neg))
            if self.l2 > 0:
                # p_u * q_i and p_u * q_j do not give the norms: read the rows again
                u, uk = _safe(users, self.mf.num_users)
                i, ik = _safe(data["item_idx"], self.mf.num_items)
                j, jk = _safe(data["negative_idx"], self.mf.num_items)
                rows = (tf.reduce_sum(tf.square(self.mf.user_embedding(u) * uk), axis=1)
                        + tf.reduce_sum(tf.square(self.mf.item_embedding(i) * ik), axis=1)
                        + tf.reduce_sum(tf.square(self.mf.item_embedding(j) * jk), axis=1)
                        + tf.square(pos_b) + tf.square(neg_b))
                loss += self.l2 * tf.reduce_mean(rows)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def get_config(self):
        g = self.mf
        return {"num_users": g.num_users, "num_items": g.num_items, "embedding_dim": g.embedding_dim,
                "l2": self.l2, "init_stddev": g.init_stddev}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


_MODELS = ("gmf", "mlp", "neumf", "bpr")


def _optimizer(name: str, learning_rate: float):
    name = str(name).lower()
    table = {"adam": tf.keras.optimizers.Adam, "sgd": tf.keras.optimizers.SGD,
             "adagrad": tf.keras.optimizers.Adagrad, "rmsprop": tf.keras.optimizers.RMSprop}
    if name not in table:
        raise ValueError(f"Unknown optimizer {name!r}. Valid optimizers: {sorted(table)}.")
    return table[name](learning_rate=learning_rate)


class NCFRecommender(Algorithm):
    """GMF, MLP or NeuMF trained with pointwise log loss and sampled negatives (He et al. 2017).

    Every epoch each training positive is paired with ``num_negatives`` items drawn uniformly from
    the items that user never interacted with in training (fresh draws each epoch). Scores are
    logits (higher is better); ``predicts_ratings`` is False. ``model="bpr"`` trains the paper's
    implicit-feedback MF baseline instead (:class:`BPRMF`, pairwise BPR loss, one triple per positive
    and negative).

    Unknown ids: an unknown user (index -1) gets the items ranked by training popularity
    (``log(1 + count)``); an unknown item scores ``float32`` min, below every known item.

    Args:
      model: "gmf", "mlp", "neumf" or "bpr". Default "neumf".
      embedding_dim: int, GMF factors (GMF and NeuMF's GMF part; BPR-MF's factors). Default 8.
      mlp_embedding_dim: int, size of each MLP embedding. Default 32.
      hidden_units: sequence of int, MLP ReLU layers. Default (32, 16, 8).
      l2: float >= 0, L2 penalty ``l2 * sum(w^2)`` on the whole embedding tables and MLP kernels,
        added to every batch's mean log loss (Keras regularizers, as the NCF reference code); for
        ``bpr``, the per-batch penalty of :class:`BPRMF`. Default 0.
      num_negatives: int, negatives per positive per epoch. Default 4.
      epochs: int, training epochs of this model. Default 20.
      batch_size: int. Default 256.
      learning_rate: float. Default 1e-3.
      optimizer: "adam", "sgd", "adagrad" or "rmsprop". Default "adam".
      pretrain: bool, NeuMF only: first train a GMF and an MLP (same sizes as NeuMF's parts), copy
        them in with ``alpha``, then train NeuMF with ``optimizer``/``learning_rate`` (the paper uses
        plain SGD here). Default False.
      pretrain_gmf, pretrain_mlp: dict or None, training settings of the GMF / MLP pre-training
        stage, keys among ``epochs``, ``learning_rate``, ``optimizer``, ``batch_size``; missing keys
        default to ``epochs``, 1e-3, "adam" and ``batch_size``.
      alpha: float, GMF weight of the pre-trained output layer. Default 0.5.
      seed: int, seeds TensorFlow's global generator and the negative sampler. Default 42.
      verbose: int, Keras verbosity. Default 0.
      name: str or None, name in result tables (default: the model name).

    Attributes after ``fit``: ``model`` (the Keras model), ``history_`` (per-stage lists of epoch
    losses), ``train_seconds_``, ``examples_seen_`` (training examples, negatives included, over all
    stages).
    """

    predicts_ratings = False

    def __init__(self, model: str = "neumf", embedding_dim: int = 8, mlp_embedding_dim: int = 32,
                 hidden_units: Sequence[int] = (32, 16, 8), l2: float = 0.0, num_negatives: int = 4,
                 epochs: int = 20, batch_size: int = 256, learning_rate: float = 1e-3, optimizer: str = "adam",
                 pretrain: bool = False, pretrain_gmf: Optional[dict] = None, pretrain_mlp: Optional[dict] = None,
                 alpha: float = 0.5, seed: int = 42,
                 verbose: int = 0, name: Optional[str] = None):
        super().__init__()
        if model not in _MODELS:
            raise ValueError(f"Unknown NCF model {model!r}. Valid models: {list(_MODELS)}.")
        if pretrain and model != "neumf":
            raise ValueError(f"pretrain=True only applies to model='neumf'. Received: model={model!r}")
        self.model_name = model
        self.embedding_dim = _positive_int("embedding_dim", embedding_dim)
        self.mlp_embedding_dim = _positive_int("mlp_embedding_dim", mlp_embedding_dim)
        self.hidden_units = _units(hidden_units)
        self.l2 = _non_negative("l2", l2)
        self.num_negatives = _positive_int("num_negatives", num_negatives)
        self.epochs = _positive_int("epochs", epochs)
        self.batch_size = _positive_int("batch_size", batch_size)
        self.learning_rate = float(learning_rate)
        self.optimizer = optimizer
        _optimizer(optimizer, 1e-3)  # validates the name now
        self.pretrain = bool(pretrain)
        self.pretrain_gmf = self._stage(pretrain_gmf, "pretrain_gmf")
        self.pretrain_mlp = self._stage(pretrain_mlp, "pretrain_mlp")
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"alpha must be in [0, 1]. Received: alpha={alpha}")
        self.alpha = float(alpha)
        self.seed = int(seed)
        self.verbose = int(verbose)
        self.name = name or (model + ("_pretrain" if pretrain else ""))
        self.model: Optional[tf.keras.Model] = None
        self.history_: dict = {}
        self.train_seconds_ = 0.0
        self.examples_seen_ = 0

    _STAGE_KEYS = ("epochs", "learning_rate", "optimizer", "batch_size")

    def _stage(self, settings: Optional[dict], arg: str) -> dict:
        settings = dict(settings or {})
        unknown = sorted(set(settings) - set(self._STAGE_KEYS))
        if unknown:
            raise ValueError(f"Unknown key(s) {unknown} in {arg}; valid keys: {list(self._STAGE_KEYS)}. "
                             f"Received: {arg}={settings!r}")
        out = {"epochs": self.epochs, "learning_rate": 1e-3, "optimizer": "adam", "batch_size": self.batch_size}
        out.update(settings)
        _positive_int(f"{arg}['epochs']", out["epochs"])
        _positive_int(f"{arg}['batch_size']", out["batch_size"])
        _optimizer(out["optimizer"], float(out["learning_rate"]))
        return out

    # -- training ---------------------------------------------------------------------------------
    def _build(self, kind: str, n_users: int, n_items: int) -> tf.keras.Model:
        if kind == "gmf":
            model = GMF(n_users, n_items, self.embedding_dim, self.l2)
        elif kind == "mlp":
            model = MLP(n_users, n_items, self.mlp_embedding_dim, self.hidden_units, self.l2)
        elif kind == "bpr":
            model = BPRMF(n_users, n_items, self.embedding_dim, self.l2)
        else:
            model = NeuMF(n_users, n_items, self.embedding_dim, self.mlp_embedding_dim, self.hidden_units, self.l2)
        return model.build_for_inputs()

    def _train(self, model, sampler, users, items, epochs, optimizer, learning_rate, batch_size, label,
               on_epoch_end):
        # steps_per_execution runs many batches per call into TensorFlow: the same updates, far less
        # Python overhead per step (this model's steps are tiny)
        pairwise = isinstance(model, BPRMF)
        model.compile(optimizer=_optimizer(optimizer, learning_rate), steps_per_execution=64,
                      loss=None if pairwise else tf.keras.losses.BinaryCrossentropy(from_logits=True))
        losses = []
        for epoch in range(epochs):
            if pairwise:
                u, i, j = sampler.pairwise_examples(users, items, self.num_negatives)
                ds = tf.data.Dataset.from_tensor_slices({"user_idx": u, "item_idx": i, "negative_idx": j})
                y = u
            else:
                u, i, y = sampler.training_examples(users, items, self.num_negatives)
                ds = tf.data.Dataset.from_tensor_slices(({"user_idx": u, "item_idx": i}, y))
            ds = ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
            hist = model.fit(ds, epochs=1, verbose=self.verbose)
            losses.append(float(hist.history["loss"][-1]))
            self.examples_seen_ += len(y)
            if self.verbose:
                print(f"[{self.name}:{label}] epoch {epoch + 1}/{epochs} loss {losses[-1]:.4f}")
            if on_epoch_end is not None:
                on_epoch_end(label, epoch + 1, model)
        self.history_[label] = losses
        return model

    def fit(self, data: TrainingData, gmf: Optional[GMF] = None, mlp: Optional[MLP] = None,
            on_epoch_end: Optional[Callable[[str, int, tf.keras.Model], None]] = None) -> "NCFRecommender":
        """Trains on ``data`` (any row is a positive; ratings are ignored).

        Args:
          data: the training split.
          gmf, mlp: optional trained :class:`GMF` / :class:`MLP` (built on the same ``data``) used as the
            pre-trained parts when ``pretrain=True``; when absent they are trained here.
          on_epoch_end: optional ``f(stage, epoch, keras_model)`` called after every epoch of every
            stage (``stage`` is "gmf", "mlp" or "neumf"), e.g. to track a validation metric (built
            from the training data only).

        Returns:
          ``self``.
        """
        if (gmf is not None or mlp is not None) and not self.pretrain:
            raise ValueError(f"gmf/mlp models were passed to fit but pretrain=False (received pretrain={self.pretrain}); "
                             "set pretrain=True to initialise NeuMF from them.")
        self.data = data
        self.history_ = {}
        self.examples_seen_ = 0
        tf.random.set_seed(self.seed)
        start = time.perf_counter()
        seen = data.seen_matrix()
        pairs = seen.tocoo()
        users, items = pairs.row.astype(np.int32), pairs.col.astype(np.int32)  # unique positive pairs
        sampler = NegativeSampler(seen, seed=self.seed)
        if self.pretrain:
            for kind, given, stage in (("gmf", gmf, self.pretrain_gmf), ("mlp", mlp, self.pretrain_mlp)):
                if given is None:
                    trained = self._train(self._build(kind, data.n_users, data.n_items), sampler, users, items,
                                          stage["epochs"], stage["optimizer"], float(stage["learning_rate"]),
                                          stage["batch_size"], kind, on_epoch_end)
                    gmf, mlp = (trained, mlp) if kind == "gmf" else (gmf, trained)
            model = self._build("neumf", data.n_users, data.n_items).load_pretrained(gmf, mlp, self.alpha)
        else:
            model = self._build(self.model_name, data.n_users, data.n_items)
        self.model = model  # set before training so that on_epoch_end may call predict/score
        self._predict_fn = tf.function(lambda x: model(x), reduce_retracing=True)
        self._popularity = np.log1p(data.item_popularity().astype(np.float32)).astype(np.float32)
        self._train(model, sampler, users, items, self.epochs, self.optimizer, self.learning_rate, self.batch_size,
                    self.model_name, on_epoch_end)
        self.train_seconds_ = time.perf_counter() - start
        return self

    # -- scoring ----------------------------------------------------------------------------------
    def _check_fitted(self):
        if self.model is None or self.data is None:
            raise RuntimeError(f"{type(self).__name__} ({self.name}) is not fitted: call fit(training_data) first.")

    def _logits(self, users: np.ndarray, items: np.ndarray, chunk: int = 262144) -> np.ndarray:
        out = np.empty(len(users), np.float32)
        for lo in range(0, len(users), chunk):
            x = {"user_idx": tf.constant(users[lo:lo + chunk], tf.int32),
                 "item_idx": tf.constant(items[lo:lo + chunk], tf.int32)}
            out[lo:lo + chunk] = self._predict_fn(x).numpy()
        return out

    def score(self, users: np.ndarray) -> np.ndarray:
        """[n, n_items] float32 logits of every item for each user (unknown users: popularity)."""
        self._check_fitted()
        users = np.asarray(users, np.int64)
        n_items = self.data.n_items
        out = np.empty((len(users), n_items), np.float32)
        known = users != OOV_INDEX
        out[~known] = self._popularity
        kn = users[known]
        if kn.size:
            rows_per_chunk = max(1, 262144 // n_items)
            res = []
            for lo in range(0, kn.size, rows_per_chunk):
                u = kn[lo:lo + rows_per_chunk]
                res.append(self._logits(np.repeat(u, n_items), np.tile(np.arange(n_items), len(u))).reshape(len(u), n_items))
            out[known] = np.concatenate(res)
        return out

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """[n] float32 logits of user-item pairs (see the class doc for unknown ids)."""
        self._check_fitted()
        users = np.asarray(users, np.int64)
        items = np.asarray(items, np.int64)
        if users.shape != items.shape:
            raise ValueError(f"users and items must have the same shape. Received {users.shape} and {items.shape}.")
        out = self._logits(users, items)
        u_oov = users == OOV_INDEX
        i_oov = items == OOV_INDEX
        out[u_oov & ~i_oov] = self._popularity[items[u_oov & ~i_oov]]
        out[i_oov] = np.finfo(np.float32).min
        return out


def gmf_recommender(**params) -> NCFRecommender:
    """Registry factory ``gmf``: :class:`NCFRecommender` with ``model="gmf"``."""
    return NCFRecommender(model="gmf", **params)


def mlp_recommender(**params) -> NCFRecommender:
    """Registry factory ``mlp``: :class:`NCFRecommender` with ``model="mlp"``."""
    return NCFRecommender(model="mlp", **params)


def neumf_recommender(**params) -> NCFRecommender:
    """Registry factory ``neumf``: :class:`NCFRecommender` with ``model="neumf"``."""
    return NCFRecommender(model="neumf", **params)


def bpr_recommender(**params) -> NCFRecommender:
    """Registry factory ``bpr``: :class:`NCFRecommender` with ``model="bpr"`` (BPR-MF, implicit feedback)."""
    return NCFRecommender(model="bpr", **params)
