"""AutoRec (Sedhain et al., WWW 2015): an autoencoder over partially observed rating vectors.

I-AutoRec (item-based) reconstructs each item's vector of user ratings; U-AutoRec (user-based)
each user's vector of item ratings. With ``r`` a row's ratings (0 where unobserved)::

    h(r) = f(W g(V r + mu) + b),   g = sigmoid, f = identity

and the paper's objective, the squared error over *observed* entries only plus weight decay::

    sum_rows || r - h(r) ||^2_observed  +  lambda / 2 * (||W||_F^2 + ||V||_F^2)

:class:`AutoRec` is the Keras model (``call`` reconstructs, :meth:`AutoRec.compute_loss` is the
objective above); the ``i_autorec`` / ``u_autorec`` families (``tfrec.training.families.autorec``) train
it with the Trainer and :class:`tfrec.recommenders.autorec.AutoRecScorer` predicts ratings with it.
"""

from __future__ import annotations

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"Received an invalid value for {name}, expected a positive integer. Received: {name}={value!r}")
    return int(value)


def masked_squared_error(ratings, mask, reconstruction):
    """Sum of squared errors over the observed entries only.

    Args:
      ratings: [batch, n] float ratings (any value where unobserved).
      mask: [batch, n] float or bool, 1 where the rating is observed.
      reconstruction: [batch, n] float predictions.

    Returns:
      scalar float32 ``sum(mask * (ratings - reconstruction)^2)``.

    Example:

    >>> float(masked_squared_error([[4.0, 0.0]], [[1.0, 0.0]], [[3.0, 5.0]]))
    1.0
    """
    ratings = tf.cast(ratings, tf.float32)
    mask = tf.cast(mask, tf.float32)
    return tf.reduce_sum(mask * tf.square(ratings - tf.cast(reconstruction, tf.float32)))


@tf.keras.utils.register_keras_serializable(package="tfrec")
class AutoRec(tf.keras.Model):
    """One-hidden-layer autoencoder for rating vectors, trained on observed entries only.

    Args:
      num_inputs: int, length of each rating vector (number of users for I-AutoRec, of items for
        U-AutoRec).
      hidden_units: int, hidden size k. Default 500 (the paper).
      l2: float >= 0, the paper's lambda: the objective adds ``l2 / 2 * (||W||^2 + ||V||^2)`` (the
        encoder and decoder kernels; biases are not penalised). Default 1.0.
      num_rows: int or None, number of rows (vectors) in the training matrix. A mini-batch of ``B``
        rows adds ``B / num_rows`` of the penalty, so one epoch of mini-batches sums to the paper's
        full objective. None: each batch adds the whole penalty (full-batch training). Default None.
      hidden_activation: activation g of the hidden layer. Default "sigmoid".
      output_activation: activation f of the output. Default "linear" (identity).
      **kwargs: passed to ``tf.keras.Model``.

    Inputs: [batch, num_inputs] float32 ratings, 0 where unobserved.
    Output: [batch, num_inputs] float32 reconstruction (predicted ratings for every entry).

    Training (``fit``) takes batches ``(ratings, mask)`` with ``mask`` [batch, num_inputs] 1 where
    observed (or ``ratings`` alone: then nonzero entries are the observed ones); it reports
    ``loss`` (the objective) and ``rmse`` over the observed training entries.

    Example:

    >>> model = AutoRec(num_inputs=5, hidden_units=3)
    >>> ratings = tf.constant([[5.0, 0.0, 3.0, 0.0, 1.0]])
    >>> model(ratings).shape
    TensorShape([1, 5])
    >>> loss = model.compute_loss(ratings, tf.cast(ratings > 0, tf.float32), model(ratings))
    >>> loss.shape
    TensorShape([])
    """

    def __init__(self, num_inputs, hidden_units=500, l2=1.0, num_rows=None, hidden_activation="sigmoid",
                 output_activation="linear", **kwargs):
        super().__init__(**kwargs)
        self.num_inputs = _positive_int("num_inputs", num_inputs)
        self.hidden_units = _positive_int("hidden_units", hidden_units)
        if not isinstance(l2, (int, float, np.floating, np.integer)) or l2 < 0:
            raise ValueError(f"Received an invalid value for l2, expected a float >= 0. Received: l2={l2!r}")
        self.l2 = float(l2)
        self.num_rows = None if num_rows is None else _positive_int("num_rows", num_rows)
        self.hidden_activation = tf.keras.activations.serialize(tf.keras.activations.get(hidden_activation))
        self.output_activation = tf.keras.activations.serialize(tf.keras.activations.get(output_activation))
        self.encoder = tf.keras.layers.Dense(self.hidden_units, activation=hidden_activation, name="encoder")
        self.decoder = tf.keras.layers.Dense(self.num_inputs, activation=output_activation, name="decoder")
        self._sse = tf.keras.metrics.Sum(name="sse")
        self._count = tf.keras.metrics.Sum(name="count")
        self._loss = tf.keras.metrics.Mean(name="loss")

    def call(self, ratings, training=False):
        return self.decoder(self.encoder(tf.cast(ratings, tf.float32)))

    def penalty(self):
        """``l2 / 2 * (||V||^2 + ||W||^2)`` over the encoder and decoder kernels (scalar)."""
        return 0.5 * self.l2 * (tf.reduce_sum(tf.square(self.encoder.kernel)) + tf.reduce_sum(tf.square(self.decoder.kernel)))

    def compute_loss(self, ratings, mask, reconstruction, penalty_weight=1.0):
        """The objective on one batch: masked squared error + ``penalty_weight`` * :meth:`penalty`.

        Args:
          ratings: [batch, num_inputs] float ratings.
          mask: [batch, num_inputs], 1 where observed; unobserved entries add nothing.
          reconstruction: [batch, num_inputs] output of ``call``.
          penalty_weight: scalar share of the weight decay for this batch (1.0 = all of it).

        Returns:
          scalar float32 loss.
        """
        return masked_squared_error(ratings, mask, reconstruction) + penalty_weight * self.penalty()

    @staticmethod
    def _unpack(data):
        if isinstance(data, (tuple, list)):
            if len(data) != 2:
                raise ValueError(f"AutoRec expects batches (ratings, mask) or ratings alone. Received a tuple of {len(data)}.")
            return tf.cast(data[0], tf.float32), tf.cast(data[1], tf.float32)
        ratings = tf.cast(data, tf.float32)
        return ratings, tf.cast(tf.not_equal(ratings, 0.0), tf.float32)

    def _penalty_weight(self, ratings):
        if self.num_rows is None:
            return 1.0
        return tf.cast(tf.shape(ratings)[0], tf.float32) / float(self.num_rows)

    def train_step(self, data):
        ratings, mask = self._unpack(data)
        with tf.GradientTape() as tape:
            recon = self(ratings, training=True)
            loss = self.compute_loss(ratings, mask, recon, self._penalty_weight(ratings))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return self._update_metrics(ratings, mask, recon, loss)

    def test_step(self, data):
        ratings, mask = self._unpack(data)
        recon = self(ratings, training=False)
        loss = self.compute_loss(ratings, mask, recon, self._penalty_weight(ratings))
        return self._update_metrics(ratings, mask, recon, loss)

    def _update_metrics(self, ratings, mask, recon, loss):
        self._loss.update_state(loss)
        self._sse.update_state(masked_squared_error(ratings, mask, recon))
        self._count.update_state(tf.reduce_sum(mask))
        return {"loss": self._loss.result(), "rmse": tf.sqrt(self._sse.result() / tf.maximum(self._count.result(), 1.0))}

    @property
    def metrics(self):
        return [self._loss, self._sse, self._count]

    def get_config(self):
        return {
            "num_inputs": self.num_inputs,
            "hidden_units": self.hidden_units,
            "l2": self.l2,
            "num_rows": self.num_rows,
            "hidden_activation": self.hidden_activation,
            "output_activation": self.output_activation,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


__all__ = ["AutoRec", "masked_squared_error"]
