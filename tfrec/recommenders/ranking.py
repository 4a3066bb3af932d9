"""The rating-prediction MLP (:class:`~tfrec.models.ranking.RankingModel`) as a recommender (``ranking_mlp``).

:class:`PairScorer` scores (user, item) index pairs from the encoded per-user and per-item feature
rows, so scoring the catalog never re-encodes a feature.
"""

from __future__ import annotations

import time
from typing import Optional, Sequence

import numpy as np
import pandas as pd

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.data.side_features import entity_frame, training_frame
from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.features import FeatureLayer, FeatureSpec, frame_to_dataset
from tfrec.features.presets import resolve_features
from tfrec.models.optimizers import make_optimizer
from tfrec.models.ranking import RankingModel
from tfrec.recommenders.base import Algorithm
from tfrec.recommenders.feature_frames import oov_frame


class PairScorer:
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
        frame = pd.concat([frame[spec.columns], oov_frame(spec)], ignore_index=True)  # last row = unknown
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
        make_optimizer(optimizer, learning_rate)
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
        self.model.compile(optimizer=make_optimizer(self.optimizer, self.learning_rate))
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
        self._scorer = PairScorer(self.model, layer, uspec.names, ispec.names,
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


__all__ = ["PairScorer", "RankingRecommender"]
