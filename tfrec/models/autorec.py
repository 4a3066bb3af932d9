"""AutoRec (Sedhain et al., WWW 2015): an autoencoder over partially observed rating vectors.

I-AutoRec (item-based) reconstructs each item's vector of user ratings; U-AutoRec (user-based)
each user's vector of item ratings. With ``r`` a row's ratings (0 where unobserved)::

    h(r) = f(W g(V r + mu) + b),   g = sigmoid, f = identity

and the paper's objective, the squared error over *observed* entries only plus weight decay::

    sum_rows || r - h(r) ||^2_observed  +  lambda / 2 * (||W||_F^2 + ||V||_F^2)

:class:`AutoRec` is the Keras model (``call`` reconstructs, :meth:`AutoRec.compute_loss` is the
objective above); :class:`AutoRecRecommender` trains it on a :class:`TrainingData` and predicts
ratings (registry names ``i_autorec`` and ``u_autorec``).
"""

from __future__ import annotations

import time
from typing import Callable, Optional

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.recommenders.base import Algorithm
from tfrec.data.training_data import OOV_INDEX, TrainingData

__all__ = ["AutoRec", "AutoRecRecommender", "i_autorec", "u_autorec", "masked_squared_error"]


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


_BASES = ("item", "user")
_SCHEDULES = ("constant", "cosine")


class AutoRecRecommender(Algorithm):
    """I-AutoRec or U-AutoRec as a rating predictor (``predicts_ratings = True``).

    ``fit`` builds the dense [n_users, n_items] training rating matrix (duplicate pairs averaged),
    trains :class:`AutoRec` with Adam on the rows (items for I-AutoRec, users for U-AutoRec), by
    default on all rows at once (full-batch, like the paper's L-BFGS/Rprop training), and stores the reconstruction of every row from its training ratings. A prediction
    for (u, i) is the reconstructed entry, clipped to the training rating range.

    Unknown ids (index -1) get a documented default instead of a reconstruction: an unknown user
    gets the item's training mean rating, an unknown item the user's training mean rating, and a
    pair of both unknown the training global mean (all clipped likewise). Top-N lists (:meth:`score`)
    rank items by predicted rating.

    Args:
      based_on: "item" (I-AutoRec, the paper's better variant) or "user" (U-AutoRec). Default "item".
      hidden_units: int, hidden size. Default 500.
      l2: float, lambda of the weight decay ``lambda / 2 * ||W||^2`` (relative to the summed
        squared error over all observed training ratings). Default 100.0.
      epochs: int, passes over the rows (one Adam step each when full-batch). Default 200.
      batch_size: int or None, rows per mini-batch; None: all rows in one batch. Default None.
      learning_rate: float, Adam learning rate (the initial one under a schedule). Default 3e-3.
      lr_schedule: "constant" or "cosine": cosine decay of the learning rate from ``learning_rate`` to
        ``lr_floor * learning_rate`` over the ``epochs`` (per step). Default "constant".
      lr_floor: float in [0, 1], final learning rate as a fraction of the initial one under "cosine".
        Default 0.0.
      clip: bool, clip predictions to the training rating range. Default True.
      seed: int, seeds TensorFlow's global generator and the row shuffling. Default 42.
      verbose: int, Keras verbosity. Default 0.
      name: str or None, name in result tables (default ``i_autorec`` / ``u_autorec``).

    Attributes after ``fit``: ``model``, ``history_`` (Keras history dict), ``train_seconds_``,
    ``examples_seen_`` (rows processed), ``rating_range_``, ``global_mean_``.
    """

    predicts_ratings = True

    def __init__(self, based_on: str = "item", hidden_units: int = 500, l2: float = 100.0, epochs: int = 200,
                 batch_size: Optional[int] = None, learning_rate: float = 3e-3, lr_schedule: str = "constant",
                 lr_floor: float = 0.0, clip: bool = True, seed: int = 42, verbose: int = 0,
                 name: Optional[str] = None):
        super().__init__()
        if based_on not in _BASES:
            raise ValueError(f"based_on must be 'item' (I-AutoRec) or 'user' (U-AutoRec). Received: based_on={based_on!r}")
        self.based_on = based_on
        self.hidden_units = _positive_int("hidden_units", hidden_units)
        if not isinstance(l2, (int, float)) or l2 < 0:
            raise ValueError(f"Received an invalid value for l2, expected a float >= 0. Received: l2={l2!r}")
        self.l2 = float(l2)
        self.epochs = _positive_int("epochs", epochs)
        self.batch_size = None if batch_size is None else _positive_int("batch_size", batch_size)
        if not isinstance(learning_rate, (int, float)) or learning_rate <= 0:
            raise ValueError(f"Received an invalid value for learning_rate, expected a float > 0. Received: {learning_rate!r}")
        self.learning_rate = float(learning_rate)
        if lr_schedule not in _SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {_SCHEDULES}. Received: lr_schedule={lr_schedule!r}")
        self.lr_schedule = lr_schedule
        if not isinstance(lr_floor, (int, float)) or not 0.0 <= lr_floor <= 1.0:
            raise ValueError(f"Received an invalid value for lr_floor, expected a float in [0, 1]. Received: {lr_floor!r}")
        self.lr_floor = float(lr_floor)
        self.clip = bool(clip)
        self.seed = int(seed)
        self.verbose = int(verbose)
        self.name = name or ("i_autorec" if based_on == "item" else "u_autorec")
        self.model: Optional[AutoRec] = None

    def fit(self, data: TrainingData,
            on_epoch_end: Optional[Callable[[int, "AutoRecRecommender"], None]] = None) -> "AutoRecRecommender":
        """Trains on the ratings of ``data``.

        Args:
          data: the training split; needs a rating column.
          on_epoch_end: optional ``f(epoch, self)`` called after each epoch with predictions already
            refreshed (so ``f`` may call :meth:`predict`), e.g. to track a validation RMSE built from
            the training data only.

        Returns:
          ``self``.
        """
        if data.ratings is None:
            raise ValueError(f"AutoRec needs ratings; the training data has no rating column {data.columns.rating!r}.")
        self.data = data
        tf.random.set_seed(self.seed)
        start = time.perf_counter()
        n_u, n_i = data.n_users, data.n_items
        sums = np.zeros((n_u, n_i), np.float32)
        counts = np.zeros((n_u, n_i), np.float32)
        np.add.at(sums, (data.users_idx, data.items_idx), data.ratings)
        np.add.at(counts, (data.users_idx, data.items_idx), 1.0)
        mask = (counts > 0).astype(np.float32)
        ratings = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
        self.rating_range_ = (float(data.ratings.min()), float(data.ratings.max()))
        self.global_mean_ = float(data.ratings.mean())
        with np.errstate(invalid="ignore"):
            self._user_mean = np.where(mask.sum(1) > 0, ratings.sum(1) / mask.sum(1), self.global_mean_).astype(np.float32)
            self._item_mean = np.where(mask.sum(0) > 0, ratings.sum(0) / mask.sum(0), self.global_mean_).astype(np.float32)
        if self.based_on == "item":
            rows, rows_mask = np.ascontiguousarray(ratings.T), np.ascontiguousarray(mask.T)
        else:
            rows, rows_mask = ratings, mask
        self._rows = rows
        self.model = AutoRec(rows.shape[1], self.hidden_units, self.l2, num_rows=rows.shape[0])
        batch = self.batch_size or rows.shape[0]
        lr = self.learning_rate
        if self.lr_schedule == "cosine":
            steps = self.epochs * -(-rows.shape[0] // batch)
            lr = tf.keras.optimizers.schedules.CosineDecay(self.learning_rate, steps, alpha=self.lr_floor)
        self.model.compile(optimizer=tf.keras.optimizers.Adam(lr))
        ds = (tf.data.Dataset.from_tensor_slices((rows, rows_mask))
              .shuffle(rows.shape[0], seed=self.seed, reshuffle_each_iteration=True)
              .batch(batch))
        callbacks = []
        if on_epoch_end is not None:
            def _cb(epoch, logs):
                self._refresh()
                on_epoch_end(epoch + 1, self)

            callbacks.append(tf.keras.callbacks.LambdaCallback(on_epoch_end=_cb))
        self.history_ = self.model.fit(ds, epochs=self.epochs, verbose=self.verbose, callbacks=callbacks).history
        self._refresh()
        self.train_seconds_ = time.perf_counter() - start
        self.examples_seen_ = rows.shape[0] * self.epochs
        return self

    def _refresh(self) -> None:
        """Recomputes the [n_users, n_items] predicted-rating matrix from the training rows."""
        recon = np.concatenate([self.model(self._rows[lo:lo + 4096]).numpy() for lo in range(0, len(self._rows), 4096)])
        pred = recon.T if self.based_on == "item" else recon
        self._pred = self._clip(np.ascontiguousarray(pred, dtype=np.float32))

    def _clip(self, x):
        return np.clip(x, *self.rating_range_) if self.clip else x

    def _check_fitted(self):
        if self.model is None:
            raise RuntimeError(f"{type(self).__name__} ({self.name}) is not fitted: call fit(training_data) first.")

    def score(self, users: np.ndarray) -> np.ndarray:
        """[n, n_items] float32 predicted ratings; unknown users get the item means."""
        self._check_fitted()
        users = np.asarray(users, np.int64)
        known = users != OOV_INDEX
        out = np.empty((len(users), self.data.n_items), np.float32)
        out[known] = self._pred[users[known]]
        out[~known] = self._clip(self._item_mean)
        return out

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """[n] float32 predicted ratings of user-item pairs (defaults for unknown ids: see the class doc)."""
        self._check_fitted()
        users = np.asarray(users, np.int64)
        items = np.asarray(items, np.int64)
        if users.shape != items.shape:
            raise ValueError(f"users and items must have the same shape. Received {users.shape} and {items.shape}.")
        ku, ki = users != OOV_INDEX, items != OOV_INDEX
        out = np.full(users.shape, self.global_mean_, np.float32)
        both = ku & ki
        out[both] = self._pred[users[both], items[both]]
        out[ku & ~ki] = self._user_mean[users[ku & ~ki]]
        out[~ku & ki] = self._item_mean[items[~ku & ki]]
        return self._clip(out).astype(np.float32)


def i_autorec(**params) -> AutoRecRecommender:
    """Registry factory ``i_autorec``: item-based AutoRec."""
    return AutoRecRecommender(based_on="item", **params)


def u_autorec(**params) -> AutoRecRecommender:
    """Registry factory ``u_autorec``: user-based AutoRec."""
    return AutoRecRecommender(based_on="user", **params)
