"""The CF RBM (:class:`~tfrec.models.rbm.RBM`) as a rating predictor (registry name ``rbm``)."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras)
import tensorflow as tf

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.models.rbm import RBM, check_cd_k_schedule
from tfrec.recommenders.base import Algorithm


class RBMRecommender(Algorithm):
    """The CF RBM as an :class:`~tfrec.recommenders.Algorithm` (rating predictor; registry name ``rbm``).

    Ratings are mapped to ``K`` classes ``round((r - min_rating) / rating_step) + 1``.

    ``orientation="user"`` is the paper's model (U-RBM): each user is a training case and the items are
    the softmax visible units; a user's prediction uses only that user's training ratings.
    ``orientation="item"`` is the item-based variant (I-RBM, as compared in the AutoRec paper): each item
    is a case and the users are the visible units; the prediction of ``(u, i)`` is visible unit ``u``
    reconstructed from item ``i``'s training ratings. Either way only training ratings enter the model.

    Visible biases start at the log of each visible unit's smoothed training rating-value frequencies
    (Hinton's practical guide). Momentum can start lower (``initial_momentum``) and switch to
    ``momentum`` at epoch ``momentum_switch_epoch``. An unknown user gets an empty visible layer
    (user orientation) or the global training mean (item orientation); an unknown item gets the
    global training mean.

    Defaults are the plain user-based settings of the first search on a random 10% validation split of
    ml-100k ``u1.base`` (``benchmarks/rbm_ml100k.py --tune``: validation RMSE 0.9657 at the 12th epoch,
    longer training overfits). ``configs/rbm_ml100k.yaml`` uses the same settings with
    ``orientation="item"``, ``epochs=14`` (validation RMSE 0.9188; item mean 1.0195), and
    ``configs/rbm_user_ml100k.yaml`` adds ``shared_weights`` (``shared_lr_multiplier=20``), ``hidden_dropout=0.5``,
    weight decay 0.01 and ``bias_learning_rate=0.005`` to the user-based model (0.9430; the user-based
    search in ``benchmarks/results/rbm_ml100k_tuning.json``).

    Args:
      n_hidden: int, hidden units. Default 200.
      epochs: int, training epochs (one pass over the training cases each). Default 12.
      batch_size: int, cases (users or items) per CD update. Default 16.
      learning_rate: float, SGD learning rate of ``W`` (gradients are batch averages). Default 0.02.
      bias_learning_rate: float or None, SGD learning rate of the visible and hidden biases; None: the
        same as ``learning_rate``. Default None.
      momentum: float in [0, 1), SGD momentum (from ``momentum_switch_epoch`` on). Default 0.9.
      initial_momentum: float in [0, 1) or None, momentum of the epochs before ``momentum_switch_epoch``;
        None: ``momentum`` throughout. Default 0.5.
      momentum_switch_epoch: int >= 0, first (0-based) epoch that uses ``momentum``. Default 5.
      weight_decay: float, L2 on ``W``. Default 0.003.
      cd_k_schedule: list of ``[first_epoch, k]``, e.g. ``[[0, 1], [25, 3], [45, 5]]`` for k growing
        1 -> 3 -> 5. Default ``[[0, 1], [15, 3]]``.
      orientation: ``"user"`` (U-RBM, users are cases) or ``"item"`` (I-RBM, items are cases).
        Default ``"user"``.
      n_ratings, min_rating, rating_step: the rating scale (default 5 values 1, 2, ..., 5).
      sample: sample the Gibbs chain (True, standard CD) or use probabilities (False, mean-field CD).
        Default False.
      init_stddev: float, standard deviation of the initial ``W``. Default 0.01.
      prediction: ``"mean_field"`` or ``"exact"`` (see :class:`RBM`).
      hidden_dropout: float in [0, 1), dropout of the hidden units in training (see :class:`RBM`).
        Default 0.0.
      shared_weights: bool, weights shared by all visible units on top of ``W`` (see :class:`RBM`).
        Default False.
      shared_lr_multiplier: float > 0, their learning-rate scale (see :class:`RBM`). Default 1.0.
      seed: int. Default 0.
      verbose: Keras ``fit`` verbosity. Default 0.
      name: display name.

    Example:

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"user_id": ["a", "a", "b", "b"], "movie_id": ["x", "y", "x", "z"],
    ...                       "user_rating": [5.0, 3.0, 4.0, 1.0]})
    >>> algo = RBMRecommender(n_hidden=4, epochs=2, batch_size=2).fit(TrainingData(frame))
    >>> algo.predict(np.array([0, 1]), np.array([1, 2])).shape
    (2,)
    >>> item_rbm = RBMRecommender(n_hidden=4, epochs=2, batch_size=2, orientation="item")
    >>> item_rbm.fit(TrainingData(frame)).score(np.array([0, 1])).shape
    (2, 3)
    """

    predicts_ratings = True

    def __init__(self, n_hidden: int = 200, epochs: int = 12, batch_size: int = 16, learning_rate: float = 0.02,
                 bias_learning_rate: Optional[float] = None, momentum: float = 0.9,
                 initial_momentum: Optional[float] = 0.5, momentum_switch_epoch: int = 5,
                 weight_decay: float = 0.003, cd_k_schedule: Sequence[Sequence[int]] = ((0, 1), (15, 3)),
                 orientation: str = "user", n_ratings: int = 5, min_rating: float = 1.0,
                 rating_step: float = 1.0, sample: bool = False, init_stddev: float = 0.01,
                 prediction: str = "mean_field", hidden_dropout: float = 0.0, shared_weights: bool = False,
                 shared_lr_multiplier: float = 1.0, seed: int = 0, verbose: int = 0, name: Optional[str] = None):
        super().__init__()
        for arg, value in (("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{arg} must be a positive integer. Received: {arg}={value!r}")
        if learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0. Received: learning_rate={learning_rate}")
        if bias_learning_rate is not None and bias_learning_rate <= 0:
            raise ValueError(f"bias_learning_rate must be > 0 or None. Received: bias_learning_rate={bias_learning_rate}")
        for arg, value in (("momentum", momentum), ("initial_momentum", initial_momentum)):
            if value is not None and not 0 <= value < 1:
                raise ValueError(f"{arg} must be in [0, 1). Received: {arg}={value}")
        if isinstance(momentum_switch_epoch, bool) or not isinstance(momentum_switch_epoch, (int, np.integer)) \
                or momentum_switch_epoch < 0:
            raise ValueError(f"momentum_switch_epoch must be an integer >= 0. Received: "
                             f"momentum_switch_epoch={momentum_switch_epoch!r}")
        if orientation not in ("user", "item"):
            raise ValueError(f"orientation must be 'user' (users are the training cases) or 'item' (items are). "
                             f"Received: orientation={orientation!r}")
        if rating_step <= 0:
            raise ValueError(f"rating_step must be > 0. Received: rating_step={rating_step}")
        self.n_hidden = n_hidden
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.learning_rate = float(learning_rate)
        self.bias_learning_rate = None if bias_learning_rate is None else float(bias_learning_rate)
        self.momentum = float(momentum)
        self.initial_momentum = None if initial_momentum is None else float(initial_momentum)
        self.momentum_switch_epoch = int(momentum_switch_epoch)
        self.weight_decay = float(weight_decay)
        self.cd_k_schedule = check_cd_k_schedule(cd_k_schedule)
        self.orientation = orientation
        self.n_ratings = int(n_ratings)
        self.min_rating = float(min_rating)
        self.rating_step = float(rating_step)
        self.sample = bool(sample)
        self.init_stddev = float(init_stddev)
        self.prediction = prediction
        self.hidden_dropout = float(hidden_dropout)
        self.shared_weights = bool(shared_weights)
        self.shared_lr_multiplier = float(shared_lr_multiplier)
        self.seed = int(seed)
        self.verbose = verbose
        self.name = name or "rbm"
        self.model: Optional[RBM] = None
        self.history = None

    def _classes(self, ratings: np.ndarray) -> np.ndarray:
        pos = (np.asarray(ratings, np.float64) - self.min_rating) / self.rating_step
        cls = np.rint(pos)
        bad = (np.abs(pos - cls) > 1e-6) | (cls < 0) | (cls >= self.n_ratings)
        if bad.any():
            example = np.asarray(ratings)[bad][:5]
            top = self.min_rating + self.rating_step * (self.n_ratings - 1)
            raise ValueError(
                f"RBMRecommender expects ratings on the grid {self.min_rating}, "
                f"{self.min_rating + self.rating_step}, ..., {top} (n_ratings={self.n_ratings}, "
                f"min_rating={self.min_rating}, rating_step={self.rating_step}); received e.g. {example.tolist()}. "
                "Set n_ratings/min_rating/rating_step to the data's scale (e.g. n_ratings=10, min_rating=0.5, "
                "rating_step=0.5 for half stars)."
            )
        return cls.astype(np.int8) + 1

    def momentum_for_epoch(self, epoch: int) -> float:
        """The SGD momentum of ``epoch`` (0-based)."""
        if self.initial_momentum is not None and epoch < self.momentum_switch_epoch:
            return self.initial_momentum
        return self.momentum

    def fit(self, data: TrainingData, on_epoch_end=None) -> "RBMRecommender":
        """Trains on ``data``.

        Args:
          data: the training split.
          on_epoch_end: optional ``f(epoch, recommender)`` called after every epoch (1-based epoch),
            e.g. to track a validation RMSE.
        """
        if data.ratings is None:
            raise ValueError(
                "RBMRecommender needs explicit ratings, but the training data has no rating column "
                f"({data.columns.rating!r}). Use a rating dataset or an implicit-feedback algorithm."
            )
        self.data = data
        cls = self._classes(data.ratings)
        if self.orientation == "user":
            cases, visible, shape = data.users_idx, data.items_idx, (data.n_users, data.n_items)
        else:
            cases, visible, shape = data.items_idx, data.users_idx, (data.n_items, data.n_users)
        matrix = np.zeros(shape, np.int8)  # [cases, visible units]
        matrix[cases, visible] = cls  # a repeated (user, item) keeps its last rating
        self._matrix = matrix
        self._global_mean = float(np.mean(data.ratings))
        tf.keras.utils.set_random_seed(self.seed)
        bias_scale = 1.0 if self.bias_learning_rate is None else self.bias_learning_rate / self.learning_rate
        self.model = RBM(
            n_items=shape[1], n_ratings=self.n_ratings, n_hidden=self.n_hidden,
            cd_k_schedule=self.cd_k_schedule, weight_decay=self.weight_decay, bias_lr_multiplier=bias_scale,
            sample=self.sample, init_stddev=self.init_stddev, prediction=self.prediction, seed=self.seed,
            hidden_dropout=self.hidden_dropout, shared_weights=self.shared_weights,
            shared_lr_multiplier=self.shared_lr_multiplier,
        )
        # visible biases: log of the smoothed frequency of each rating value per visible unit
        counts = np.zeros((shape[1], self.n_ratings), np.float64)
        np.add.at(counts, (visible, cls.astype(np.int64) - 1), 1.0)
        prior = (counts.sum(0) + 1.0) / (counts.sum() + self.n_ratings)  # add-one: no value has p = 0
        freq = (counts + prior) / (counts.sum(1, keepdims=True) + 1.0)
        self.model.visible_bias.assign(np.log(freq).astype(np.float32))
        momentum = tf.Variable(self.momentum_for_epoch(0), dtype=tf.float32, trainable=False)
        self.model.compile(optimizer=tf.keras.optimizers.SGD(self.learning_rate, momentum=momentum))
        ds = (tf.data.Dataset.from_tensor_slices(matrix.astype(np.int32))
              .shuffle(shape[0], seed=self.seed, reshuffle_each_iteration=True)
              .batch(self.batch_size))
        callbacks = [tf.keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: momentum.assign(self.momentum_for_epoch(epoch)))]
        if on_epoch_end is not None:
            callbacks.append(tf.keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: on_epoch_end(epoch + 1, self)))
        self.history = self.model.fit(ds, epochs=self.epochs, verbose=self.verbose, callbacks=callbacks)
        return self

    def _expected(self, rows: np.ndarray) -> np.ndarray:
        """[n, n_visible] expected ratings (on the data's scale) reconstructed from int class rows."""
        chunk = 8 if self.prediction == "exact" else 256  # exact: memory chunk * n_visible * K * n_hidden
        out = np.empty(rows.shape, np.float32)
        for start in range(0, len(rows), chunk):
            e = self.model(tf.constant(rows[start:start + chunk].astype(np.int32))).numpy()
            out[start:start + chunk] = self.min_rating + self.rating_step * (e - 1.0)
        return out

    def score(self, users: np.ndarray) -> np.ndarray:
        """[n, n_items] predicted ratings (on the data's scale) of every item for each user."""
        if self.model is None:
            raise RuntimeError("RBMRecommender.score called before fit().")
        users = np.asarray(users, dtype=np.int64)
        known = users != OOV_INDEX
        if self.orientation == "user":
            rows = np.zeros((len(users), self.data.n_items), np.int8)
            rows[known] = self._matrix[users[known]]
            return self._expected(rows)
        out = np.full((len(users), self.data.n_items), self._global_mean, np.float32)
        out[known] = self._expected(self._matrix).T[users[known]]  # [items, users] -> the users' rows
        return out

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """[n] predicted ratings; unknown items (and, item orientation, unknown users) get the global
        training mean."""
        if self.model is None:
            raise RuntimeError("RBMRecommender.predict called before fit().")
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        out = np.full(len(users), self._global_mean, np.float32)
        if self.orientation == "user":
            uniq, inverse = np.unique(users, return_inverse=True)
            full = self.score(uniq)
            known = items != OOV_INDEX
            out[known] = full[inverse[known], items[known]]
            return out
        known = (items != OOV_INDEX) & (users != OOV_INDEX)
        uniq, inverse = np.unique(items[known], return_inverse=True)
        out[known] = self._expected(self._matrix[uniq])[inverse, users[known]]
        return out


__all__ = ["RBMRecommender"]
