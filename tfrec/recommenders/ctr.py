"""DCN / DeepFM / FM / logistic regression as recommenders: :class:`CTRRecommender` and its presets.

Registry names ``dcn`` (:class:`DCNRecommender`), ``deepfm`` (:class:`DeepFMRecommender`), ``fm``
(:class:`FMRecommender`) and ``logreg`` (:class:`LogisticRegressionRecommender`).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np
import pandas as pd

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)

import tensorflow as tf

from tfrec.data.side_features import with_year
from tfrec.features import FeatureSpec, frame_to_dataset
from tfrec.models.ctr_builder import MODELS, build_model, feature_layers
from tfrec.models.feature_interaction import FeatureInteractionModel, check_task, initial_bias
from tfrec.recommenders.base import Algorithm
from tfrec.recommenders.ctr_fit import fit_model, predict_frame


#: Features used when :class:`CTRRecommender` gets ``features=None``: the ids, plus whichever of the
#: MovieLens side features the training data has.
MOVIELENS_SIDE_FEATURES = (
    {"name": "raw_user_age", "kind": "numeric", "transform": "bucketize", "num_buckets": 10},
    {"name": "user_gender", "kind": "categorical"},
    {"name": "user_occupation_label", "kind": "categorical"},
    {"name": "user_zip_code", "kind": "categorical", "min_count": 2},
    {"name": "movie_genres", "kind": "multi_hot"},
    {"name": "year", "kind": "numeric", "transform": "bucketize", "num_buckets": 10},
)


class CTRRecommender(Algorithm):
    """DCN / DeepFM / FM / logistic regression as an evaluator :class:`~tfrec.recommenders.Algorithm`.

    ``fit`` joins the training frame with the user / item metadata of the
    :class:`~tfrec.data.training_data.TrainingData`, adapts the feature layers on the training rows,
    holds out ``validation_fraction`` of them for early stopping, and trains. ``predict`` /
    ``score`` build the user and item features of each pair from the training data (unknown ids go
    to the OOV buckets); a feature that is neither a user nor an item attribute (a context feature
    such as the timestamp) is filled with its training median (numbers) or left missing.

    Args:
      model: one of :data:`MODELS` (default ``"dcn"``).
      task: ``"rating"`` (predict ratings; ``predicts_ratings`` is then True) or ``"ctr"`` (the
        label is ``rating >= positive_threshold``; scores are click probabilities).
      features: list of feature dicts (``FeatureSpec`` config); default: user and item ids as
        categoricals plus the :data:`MOVIELENS_SIDE_FEATURES` present in the data.
      embedding_dim: field embedding size (default 16).
      model_params: dict of model parameters (see :func:`build_model`).
      epochs: maximum epochs (default 10); batch_size: default 1024; learning_rate: Adam, default 1e-3.
      validation_fraction: share of the training rows held out for early stopping (default 0.1;
        0 trains on all rows for ``epochs`` epochs).
      patience: early-stopping patience (default 2).
      positive_threshold: ctr task: ratings ``>=`` this are positives (default 4.0).
      clip: rating task: clip predictions to the training rating range (default True).
      seed: seed of the validation split, the shuffling and TensorFlow (default 42).
      name: display name.
    """

    def __init__(self, model: str = "dcn", task: str = "rating", features=None, embedding_dim: int = 16,
                 model_params: Optional[Dict[str, Any]] = None, epochs: int = 10, batch_size: int = 1024,
                 learning_rate: float = 1e-3, validation_fraction: float = 0.1, patience: int = 2,
                 positive_threshold: float = 4.0, clip: bool = True, seed: int = 42, name: Optional[str] = None):
        super().__init__()
        if model not in MODELS:
            raise ValueError(f"Received an invalid value for model: {model!r}. Valid values: {', '.join(MODELS)}.")
        check_task(task)
        if not 0.0 <= validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in [0, 1). Received: validation_fraction={validation_fraction!r}")
        self.model_name = model
        self.task = task
        self.features = None if features is None else list(features)
        self.embedding_dim = embedding_dim
        self.model_params = dict(model_params or {})
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.positive_threshold = positive_threshold
        self.clip = clip
        self.seed = seed
        self.name = name or model
        self.predicts_ratings = task == "rating"
        self.click_threshold = positive_threshold if task == "ctr" else None
        self.model: Optional[FeatureInteractionModel] = None
        self.fit_info: Optional[Dict[str, Any]] = None

    # -- fit ----------------------------------------------------------------------------------------
    def _full_frame(self, data):
        frame = data.frame
        for meta, key, ids in ((data.users, data.columns.user, data.user_ids),
                               (data.items, data.columns.item, data.item_ids)):
            if meta is None:
                continue
            # rows are aligned to the indices; take the ids from there (the id column may be named
            # "index" after TrainingData's reindex)
            meta = meta.drop(columns=[c for c in (key, "index") if c in meta.columns]).assign(**{key: ids})
            extra = [c for c in meta.columns if c != key and c not in frame.columns]
            if extra:
                frame = frame.merge(meta[[key] + extra], on=key, how="left")
        return with_year(frame, ["year"])  # MovieLens: the release year parsed from the title where absent

    def _spec(self, frame, cols):
        if self.features is not None:
            return self.features
        spec = [{"name": cols.user, "kind": "categorical"}, {"name": cols.item, "kind": "categorical"}]
        spec += [dict(f) for f in MOVIELENS_SIDE_FEATURES if f["name"] in frame.columns]
        if "raw_user_age" not in frame.columns and "bucketized_user_age" in frame.columns:
            spec.append({"name": "bucketized_user_age", "kind": "numeric"})
        return spec

    def _labels(self, frame, cols):
        if cols.rating is None or cols.rating not in frame.columns:
            raise ValueError(
                f"{type(self).__name__} needs a rating column ({cols.rating!r}) for its labels; the training "
                f"frame has {sorted(map(str, frame.columns))}."
            )
        ratings = frame[cols.rating].to_numpy(np.float32)
        if self.task == "rating":
            return ratings
        return (ratings >= self.positive_threshold).astype(np.float32)

    def fit(self, data):
        tf.keras.utils.set_random_seed(self.seed)
        self.data = data
        cols = data.columns
        frame = self._full_frame(data).copy()
        frame["__label__"] = self._labels(frame, cols)
        self.label_range_ = (float(frame["__label__"].min()), float(frame["__label__"].max()))
        self.spec = FeatureSpec.from_config(self._spec(frame, cols))
        perm = np.random.default_rng(self.seed).permutation(len(frame))
        n_val = int(round(self.validation_fraction * len(frame)))
        val, train = frame.iloc[perm[:n_val]], frame.iloc[perm[n_val:]]
        self.model = build_model(self.model_name, self.spec, train, task=self.task,
                                 embedding_dim=self.embedding_dim,
                                 initial_bias=initial_bias(train["__label__"], self.task), **self.model_params)
        layers = feature_layers(self.model)
        train_ds = frame_to_dataset(train, layers, label="__label__", batch_size=self.batch_size, shuffle=True,
                                    seed=self.seed, encoder=layers[0])
        val_ds = (frame_to_dataset(val, layers, label="__label__", batch_size=8192, encoder=layers[0])
                  if n_val else None)
        self.fit_info = fit_model(self.model, train_ds, val_ds, epochs=self.epochs,
                                  learning_rate=self.learning_rate, patience=self.patience)
        self._build_lookup(frame, cols)
        return self

    def _build_lookup(self, frame, cols):
        """Per-user and per-item raw feature columns, and fill values of context columns."""
        columns = list(dict.fromkeys(f.column for f in self.spec))
        key = lambda s: s.map(repr) if s.dtype == object else s  # noqa: E731  (lists are unhashable)
        user_cols, item_cols, context = [], [], {}
        for c in columns:
            if c == cols.user:
                user_cols.append(c)
            elif c == cols.item:
                item_cols.append(c)
            elif (key(frame[c]).groupby(frame[cols.item]).nunique(dropna=False) <= 1).all():
                item_cols.append(c)
            elif (key(frame[c]).groupby(frame[cols.user]).nunique(dropna=False) <= 1).all():
                user_cols.append(c)
            elif pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]):
                context[c] = float(np.nanmedian(frame[c].to_numpy(np.float64)))
            else:
                context[c] = None
        data = self.data
        users = frame.drop_duplicates(cols.user).set_index(cols.user).reindex(pd.Index(data.user_ids, name=cols.user))
        items = frame.drop_duplicates(cols.item).set_index(cols.item).reindex(pd.Index(data.item_ids, name=cols.item))
        # one extra last row for unknown ids (index -1): None everywhere -> OOV bucket / missing value.
        # object dtype keeps integer and boolean ids as they are beside that None.
        users = users.reset_index()[user_cols].astype(object)
        items = items.reset_index()[item_cols].astype(object)
        users.loc[len(users)] = [None] * len(user_cols)
        items.loc[len(items)] = [None] * len(item_cols)
        self._user_meta, self._item_meta, self._context = users, items, context

    # -- predict ------------------------------------------------------------------------------------
    def _pair_frame(self, users, items):
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        parts = {}
        for meta, idx in ((self._user_meta, users), (self._item_meta, items)):
            rows = meta.iloc[np.where(idx < 0, len(meta) - 1, idx)].reset_index(drop=True)
            for c in rows.columns:
                parts[c] = rows[c]
        frame = pd.DataFrame(parts)
        for c, fill in self._context.items():
            frame[c] = np.nan if fill is None else fill
        for f in self.spec:
            if f.kind == "multi_hot" and f.column in frame:
                frame[f.column] = [v if isinstance(v, (list, tuple, np.ndarray)) else [] for v in frame[f.column]]
        return frame

    def _require_fit(self):
        if self.model is None:
            raise RuntimeError(f"{type(self).__name__}.predict/score called before fit().")

    def _clip(self, pred):
        if self.task == "rating" and self.clip and getattr(self, "label_range_", None) is not None:
            return np.clip(pred, *self.label_range_)
        return pred

    def predict(self, users, items):
        self._require_fit()
        return self._clip(predict_frame(self.model, self._pair_frame(users, items)))

    def predict_rows(self, rows, users, items):
        """Predictions of the pairs of ``rows`` with their context features (columns of the spec that are
        neither user nor item attributes, e.g. the timestamp) taken from ``rows``; user and item features
        come from the training data as in :meth:`predict`."""
        self._require_fit()
        frame = self._pair_frame(users, items)
        for c in self._context:
            if c in rows.columns:
                frame[c] = rows[c].to_numpy()
        return self._clip(predict_frame(self.model, frame))

    def predict_frame(self, frame):
        """Predictions for a frame that holds every feature column (context features included)."""
        self._require_fit()
        return self._clip(predict_frame(self.model, frame))

    def score(self, users):
        self._require_fit()
        users = np.asarray(users, dtype=np.int64)
        n_items = self.data.n_items
        pairs_u = np.repeat(users, n_items)
        pairs_i = np.tile(np.arange(n_items), len(users))
        return self.predict(pairs_u, pairs_i).reshape(len(users), n_items)


class FMRecommender(CTRRecommender):
    """Factorization machine as an evaluator Algorithm (registry name ``fm``)."""

    def __init__(self, task: str = "rating", **kwargs):
        super().__init__(model="fm", task=task, **kwargs)


class LogisticRegressionRecommender(CTRRecommender):
    """Logistic / linear regression on the features as an evaluator Algorithm (registry name ``logreg``)."""

    def __init__(self, task: str = "rating", **kwargs):
        super().__init__(model="logreg", task=task, **kwargs)


class DCNRecommender(CTRRecommender):
    """DCN-V2 as an evaluator Algorithm (registry name ``dcn``): ``CTRRecommender(model="dcn")``.

    Args:
      task: ``"rating"`` (default; ``predicts_ratings=True``) or ``"ctr"``.
      **kwargs: see :class:`CTRRecommender`; DCN options go in ``model_params``
        (``cross_layers``, ``projection_dim``, ``structure``, ``deep_layers``, ...).
    """

    def __init__(self, task: str = "rating", **kwargs):
        super().__init__(model="dcn", task=task, **kwargs)


class DeepFMRecommender(CTRRecommender):
    """DeepFM as an evaluator Algorithm (registry name ``deepfm``): ``CTRRecommender(model="deepfm")``.

    Args:
      task: ``"rating"`` (default; ``predicts_ratings=True``) or ``"ctr"``.
      **kwargs: see :class:`CTRRecommender`; DeepFM options go in ``model_params``
        (``deep_layers``, ``dropout``, ``embedding_l2``, ...).
    """

    def __init__(self, task: str = "rating", **kwargs):
        super().__init__(model="deepfm", task=task, **kwargs)


__all__ = [
    "MOVIELENS_SIDE_FEATURES",
    "CTRRecommender",
    "DCNRecommender",
    "DeepFMRecommender",
    "FMRecommender",
    "LogisticRegressionRecommender",
]
