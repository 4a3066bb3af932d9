"""Rating prediction (ranking) with features -> MLP, and a two-stage retrieval + ranking recommender.

:class:`RankingModel` is a ``tfrs.Model``: a :class:`~tfrec.features.FeatureLayer` (user,
item and side features, concatenated) feeds an :class:`~tfrec.layers.mlp.MLP` that outputs a rating;
``tfrs.tasks.Ranking`` with the squared error and an RMSE metric (the TFRS ranking tutorial).
:class:`RankingRecommender` (``ranking_mlp``) wraps it for the evaluator; :class:`TwoStageRecommender`
(``two_stage``) re-orders the top-N candidates of a two-tower model by the ranking model.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf
import tensorflow_recommenders as tfrs

from tfrec.recommenders.base import Algorithm, top_k
from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.features import ENCODED_SUFFIX, FeatureLayer, FeatureSpec, frame_to_dataset
from tfrec.layers.mlp import MLP
from tfrec.models.base import Model as MeanLossModel
from tfrec.models.retrieval import (
    TwoTowerRecommender,
    _deserialize,
    _oov_row,
    _optimizer,
    _serialize,
    entity_frame,
    resolve_features,
    training_frame,
)

__all__ = ["RankingModel", "RankingRecommender", "TwoStageRecommender"]


@tf.keras.utils.register_keras_serializable(package="tfrec")
class RankingModel(MeanLossModel):
    """Predicts a rating from user, item and side features.

    Args:
      feature_layer: an adapted :class:`FeatureLayer` (or its config) over every input feature.
      hidden_units: MLP widths before the 1-unit output; default ``[256, 64]`` (TFRS tutorial).
      dropout: dropout between MLP layers.
      label_key: feature key of the rating when the inputs are a dict (default ``"user_rating"``);
        ``(features, labels)`` tuples are accepted too.
      output_offset: constant added to the output (e.g. the training mean rating) so training
        starts from a sensible prediction.

    Call args:
      features: dict of raw or encoded feature tensors.

    Returns:
      ``[batch, 1]`` predicted ratings.

    Example:

    >>> frame = pd.DataFrame({"user_id": ["a", "b"], "movie_id": ["1", "2"], "user_rating": [4.0, 2.0]})
    >>> features = FeatureLayer([{"name": "user_id", "kind": "categorical"},
    ...                          {"name": "movie_id", "kind": "categorical"}], embedding_dim=4)
    >>> features.adapt(frame)
    >>> model = RankingModel(features, hidden_units=[8], output_offset=3.0)
    >>> model.compile(optimizer=tf.keras.optimizers.Adam(0.01))
    >>> history = model.fit(frame_to_dataset(frame, features, label="user_rating"), verbose=0)
    >>> tuple(model({"user_id": tf.constant(["a"]), "movie_id": tf.constant(["9"])}).shape)
    (1, 1)
    """

    def __init__(self, feature_layer, hidden_units: Sequence[int] = (256, 64), dropout: float = 0.0,
                 label_key: str = "user_rating", output_offset: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.feature_layer = _deserialize(feature_layer)
        if not isinstance(self.feature_layer, FeatureLayer):
            raise TypeError(f"feature_layer must be a FeatureLayer. Received: {type(self.feature_layer).__name__}")
        self.hidden_units = list(hidden_units or [])
        self.dropout = float(dropout)
        self.label_key = label_key
        self.output_offset = float(output_offset)
        self.mlp = MLP(self.hidden_units + [1], dropout=self.dropout, name="mlp")
        self.task = tfrs.tasks.Ranking(loss=tf.keras.losses.MeanSquaredError(),
                                       metrics=[tf.keras.metrics.RootMeanSquaredError(name="rmse")])

    def get_config(self) -> Dict[str, Any]:
        return {"feature_layer": _serialize(self.feature_layer), "hidden_units": self.hidden_units,
                "dropout": self.dropout, "label_key": self.label_key, "output_offset": self.output_offset,
                "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def call(self, features, training=None):
        x = self.feature_layer(features, training=training)
        if isinstance(x, Mapping):
            x = self.feature_layer.concat(x)
        elif x.shape.rank == 3:
            x = tf.reshape(x, [-1, self.feature_layer.output_dim])
        return self.mlp(x, training=training) + self.output_offset

    def compute_loss(self, inputs, training: bool = False) -> tf.Tensor:
        if isinstance(inputs, tuple):
            features, labels = inputs[0], inputs[1]
        else:
            if self.label_key not in inputs:
                raise KeyError(f"RankingModel: no label {self.label_key!r} in the inputs (keys: {sorted(inputs)}). "
                               f"Pass (features, labels) tuples or set label_key.")
            features, labels = inputs, inputs[self.label_key]
        predictions = self(features, training=training)
        labels = tf.reshape(tf.cast(labels, tf.float32), [-1, 1])
        return self.task(labels=labels, predictions=predictions)


class _PairScorer:
    """Scores (user index, item index) pairs from encoded per-user and per-item feature rows."""

    def __init__(self, model: tf.keras.Model, layer: FeatureLayer, user_names: Sequence[str],
                 item_names: Sequence[str], user_frame: pd.DataFrame, item_frame: pd.DataFrame):
        self.model = model
        self.users = self._rows(layer, user_frame, user_names)
        self.items = self._rows(layer, item_frame, item_names)
        self.fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    @staticmethod
    def _rows(layer, frame, names):
        spec = FeatureSpec([layer.spec[n] for n in names])
        frame = pd.concat([frame[spec.columns], _oov_row(spec)], ignore_index=True)  # last row = unknown
        return {k: v.numpy() for k, v in layer.encode_frame(frame, names).items()}

    def __call__(self, users: np.ndarray, items: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        users, items = np.asarray(users), np.asarray(items)
        u = np.where(users == OOV_INDEX, len(next(iter(self.users.values()))) - 1, users)
        i = np.where(items == OOV_INDEX, len(next(iter(self.items.values()))) - 1, items)
        out = np.empty(len(u), np.float32)
        for start in range(0, len(u), batch_size):
            sl = slice(start, start + batch_size)
            x = {k: v[u[sl]] for k, v in self.users.items()}
            x.update({k: v[i[sl]] for k, v in self.items.items()})
            out[sl] = self.fn(x).numpy()[:, 0]
        return out


class RankingRecommender(Algorithm):
    """Rating-prediction MLP as an evaluator algorithm (``ranking_mlp``; ``predicts_ratings``).

    Args:
      user_features: None (user id), ``"movielens_user"`` or a list of feature dicts.
      item_features: None (item id), ``"movielens_item"`` or a list of feature dicts.
      embedding_dim: per-feature embedding size (32).
      hidden_units: MLP widths (``[256, 64]``); dropout: MLP dropout.
      optimizer / learning_rate: "adam" / 0.001 by default ("adagrad" 0.1 is the TFRS tutorial's).
      epochs: maximum epochs (30); batch_size: 1024.
      validation_fraction: share of the *training* ratings held out to pick the epoch (early
        stopping on its RMSE, best weights restored); 0 disables it.
      patience: early-stopping patience in epochs.
      clip: clip predictions to the training rating range.
      seed: seed of initializers, shuffling and the validation split.
    """

    predicts_ratings = True

    def __init__(self, user_features=None, item_features=None, embedding_dim: int = 32,
                 hidden_units: Sequence[int] = (256, 64), dropout: float = 0.0, optimizer: str = "adam",
                 learning_rate: float = 0.001, epochs: int = 30, batch_size: int = 1024,
                 validation_fraction: float = 0.05, patience: int = 2, clip: bool = True, seed: int = 42,
                 verbose: int = 0, name: Optional[str] = None):
        super().__init__()
        for key, value in (("embedding_dim", embedding_dim), ("epochs", epochs), ("batch_size", batch_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{key} must be a positive integer. Received: {key}={value!r}")
        if not 0 <= validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in [0, 1). Received: {validation_fraction!r}")
        _optimizer(optimizer, learning_rate)
        self.user_features = user_features
        self.item_features = item_features
        self.embedding_dim = embedding_dim
        self.hidden_units = list(hidden_units)
        self.dropout = dropout
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.clip = clip
        self.seed = seed
        self.verbose = verbose
        self.name = name or "ranking_mlp"

    def fit(self, data: TrainingData) -> "RankingRecommender":
        if data.ratings is None:
            raise ValueError(f"{type(self).__name__} needs ratings; the training data has no rating column "
                             f"{data.columns.rating!r}.")
        self.data = data
        tf.keras.utils.set_random_seed(self.seed)
        uspec = FeatureSpec(resolve_features(self.user_features, data.columns.user))
        ispec = FeatureSpec(resolve_features(self.item_features, data.columns.item))
        spec = FeatureSpec(list(uspec) + list(ispec))
        train = training_frame(data, uspec.columns, ispec.columns)
        label = data.columns.rating
        order = np.random.default_rng(self.seed).permutation(len(train))
        n_val = int(round(len(train) * self.validation_fraction))
        fit_rows, val_rows = train.iloc[order[n_val:]], train.iloc[order[:n_val]]
        layer = FeatureLayer(spec, embedding_dim=self.embedding_dim, output_mode="concat", name="features")
        layer.adapt(fit_rows)
        mean = float(fit_rows[label].mean())
        self.model = RankingModel(layer, self.hidden_units, self.dropout, label_key=label, output_offset=mean)
        self.model.compile(optimizer=_optimizer(self.optimizer, self.learning_rate))
        ds = frame_to_dataset(fit_rows, layer, label=label, encoder=layer, batch_size=self.batch_size,
                              shuffle=True, seed=self.seed)
        callbacks, val_ds = [], None
        if n_val > 0:
            val_ds = frame_to_dataset(val_rows, layer, label=label, encoder=layer, batch_size=8192)
            callbacks.append(tf.keras.callbacks.EarlyStopping(monitor="val_rmse", patience=self.patience,
                                                              restore_best_weights=True))
        start = time.perf_counter()
        self.history_ = self.model.fit(ds, validation_data=val_ds, epochs=self.epochs, callbacks=callbacks,
                                       verbose=self.verbose).history
        self.train_seconds_ = time.perf_counter() - start
        self.examples_seen_ = len(fit_rows) * len(self.history_["loss"])
        self.rating_range_ = (float(train[label].min()), float(train[label].max()))
        self._scorer = _PairScorer(self.model, layer, uspec.names, ispec.names,
                                   entity_frame(data, "user", uspec.columns), entity_frame(data, "item", ispec.columns))
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        if self.data is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(training_data) first.")
        out = self._scorer(users, items)
        return np.clip(out, *self.rating_range_) if self.clip else out

    def score(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users)
        n_items = self.data.n_items
        flat = self.predict(np.repeat(users, n_items), np.tile(np.arange(n_items), len(users)))
        return flat.reshape(len(users), n_items)


class TwoStageRecommender(Algorithm):
    """Two-tower retrieval of ``num_candidates`` items, re-ordered by a ranking model (``two_stage``).

    The candidates of each user are the top ``num_candidates`` unseen items by retrieval score; their
    score is the ranking model's predicted rating. Items outside the candidates score below every
    candidate, in retrieval order, so :meth:`score` still ranks the whole catalog.

    Args:
      retrieval: keyword parameters of :class:`~tfrec.models.retrieval.TwoTowerRecommender`.
      ranking: keyword parameters of :class:`RankingRecommender`.
      num_candidates: retrieval list length re-ranked (100).
      exclude_seen_candidates: draw candidates among the user's unseen training items only.
    """

    def __init__(self, retrieval: Optional[Dict[str, Any]] = None, ranking: Optional[Dict[str, Any]] = None,
                 num_candidates: int = 100, exclude_seen_candidates: bool = True, name: Optional[str] = None):
        super().__init__()
        if not isinstance(num_candidates, int) or num_candidates <= 0:
            raise ValueError(f"num_candidates must be a positive integer. Received: {num_candidates!r}")
        self.retrieval = TwoTowerRecommender(**(retrieval or {}))
        self.ranking = RankingRecommender(**(ranking or {}))
        self.num_candidates = num_candidates
        self.exclude_seen_candidates = exclude_seen_candidates
        self.name = name or "two_stage"

    def fit(self, data: TrainingData) -> "TwoStageRecommender":
        self.data = data
        start = time.perf_counter()
        self.retrieval.fit(data)
        self.ranking.fit(data)
        self.train_seconds_ = time.perf_counter() - start
        return self

    def candidates(self, users: np.ndarray) -> np.ndarray:
        """``[n, num_candidates]`` retrieved item indices per user, best first; -1 pads rows with
        fewer unseen items than ``num_candidates``."""
        users = np.asarray(users)
        scores = np.asarray(self.retrieval.score(users), dtype=np.float64)
        if self.exclude_seen_candidates:
            scores = self._mask_seen(users, scores)
        idx, val = top_k(scores, self.num_candidates)
        return np.where(np.isfinite(val), idx, OOV_INDEX)

    def _mask_seen(self, users, scores):
        scores = np.array(scores, copy=True)
        known = users != OOV_INDEX
        rows, cols = self.data.seen_matrix()[users[known]].nonzero()
        scores[np.flatnonzero(known)[rows], cols] = -np.inf
        return scores

    def score(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users)
        retrieval = np.asarray(self.retrieval.score(users), dtype=np.float64)
        masked = self._mask_seen(users, retrieval) if self.exclude_seen_candidates else retrieval
        cand = top_k(masked, self.num_candidates)[0]
        rows = np.repeat(np.arange(len(users)), cand.shape[1])
        cols = cand.ravel()
        valid = np.isfinite(masked[rows, cols])  # fewer unseen items than num_candidates: drop seen ones
        rows, cols = rows[valid], cols[valid]
        ranked = np.asarray(self.ranking.predict(users[rows], cols), dtype=np.float64)
        # everything else: below the lowest candidate score of its row, keeping the retrieval order
        lowest = np.full(len(users), np.inf)
        np.minimum.at(lowest, rows, ranked)
        floor = np.where(np.isfinite(lowest), lowest, 0.0) - 1.0
        out = retrieval - retrieval.max(axis=1, keepdims=True) + floor[:, None]
        out[rows, cols] = ranked
        return out.astype(np.float32)
