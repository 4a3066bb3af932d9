"""DCN / DeepFM / FM / logistic regression models as evaluation algorithms: :class:`CTRRecommender`.

The families ``dcn``, ``deepfm``, ``fm`` and ``logreg`` are trained by the Trainer
(``tfrec.training.families.ctr.CTRTask``); :class:`CTRRecommender` scores the trained model for the
evaluator: it builds the user, item and context features of (user, item) pairs from the training data.
:func:`predict_frame` scores a DataFrame that holds every feature column.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np
import pandas as pd

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)

from tfrec.data.side_features import with_year
from tfrec.features import frame_to_dataset
from tfrec.models.ctr_builder import MODELS, feature_layers
from tfrec.models.feature_interaction import FeatureInteractionModel, check_task
from tfrec.recommenders.base import Algorithm


def predict_frame(model: FeatureInteractionModel, frame: pd.DataFrame, batch_size: int = 8192) -> np.ndarray:
    """Predictions of ``model`` for every row of ``frame`` (a ``pd.DataFrame`` with the feature columns).

    Returns:
      [len(frame)] float32 numpy array of ratings (rating task) or click probabilities (ctr).
    """
    if len(frame) == 0:
        return np.zeros(0, np.float32)
    ds = frame_to_dataset(frame, feature_layers(model), batch_size=batch_size, cache=False)
    return model.predict(ds, verbose=0).reshape(-1).astype(np.float32)


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
    """A trained DCN / DeepFM / FM / logistic regression as an evaluator :class:`~tfrec.recommenders.Algorithm`.

    Set ``model`` (the trained Keras model), ``spec`` (its ``FeatureSpec``) and for ratings
    ``label_range_`` (the clip range), then ``fit(training_data)``: it joins the training frame with
    the user / item metadata and keeps each user's and item's feature values. ``predict`` / ``score``
    build the features of each pair from them (unknown ids go to the OOV buckets); a feature that is
    neither a user nor an item attribute (a context feature such as the timestamp) is filled with its
    training median (numbers) or left missing, except in :meth:`predict_rows`, which takes it from the
    scored rows.

    Args:
      model: one of :data:`MODELS` (default ``"dcn"``): the family's name.
      task: ``"rating"`` (predicts ratings; ``predicts_ratings`` is then True) or ``"ctr"`` (the
        label is ``rating >= positive_threshold``; scores are click probabilities).
      features: list of feature dicts (``FeatureSpec`` config), or None: user and item ids as
        categoricals plus the :data:`MOVIELENS_SIDE_FEATURES` present in the data (:meth:`default_spec`).
      embedding_dim: field embedding size (default 16); model_params: the model's own parameters.
      positive_threshold: ctr task: ratings ``>=`` this are clicks (default 4.0; ``click_threshold``).
      clip: rating task: clip predictions to ``label_range_`` (default True).
      name: display name.

    Raises:
      ValueError: an unknown model or task.
    """

    def __init__(self, model: str = "dcn", task: str = "rating", features=None, embedding_dim: int = 16,
                 model_params: Optional[Dict[str, Any]] = None, positive_threshold: float = 4.0, clip: bool = True,
                 name: Optional[str] = None):
        super().__init__()
        if model not in MODELS:
            raise ValueError(f"Received an invalid value for model: {model!r}. Valid values: {', '.join(MODELS)}.")
        check_task(task)
        self.model_name = model
        self.task = task
        self.features = None if features is None else list(features)
        self.embedding_dim = embedding_dim
        self.model_params = dict(model_params or {})
        self.positive_threshold = positive_threshold
        self.clip = clip
        self.name = name or model
        self.predicts_ratings = task == "rating"
        self.click_threshold = positive_threshold if task == "ctr" else None
        self.model: Optional[FeatureInteractionModel] = None
        self.spec = None
        self.label_range_ = None

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

    def default_spec(self, frame, cols):
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
        """Keeps the user, item and context feature values of ``data`` (the model is trained already)."""
        self._require_fit(lookup=False)
        self.data = data
        self._build_lookup(self._full_frame(data), data.columns)
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

    def _require_fit(self, lookup: bool = True):
        if self.model is None or self.spec is None:
            raise RuntimeError(f"{type(self).__name__} has no trained model: set .model and .spec, e.g. from "
                               "the Trainer's CTR family (tfrec.training.families.ctr).")
        if lookup and self.data is None:
            raise RuntimeError(f"{type(self).__name__} has no feature lookup: call fit(training_data) first.")

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


__all__ = ["MOVIELENS_SIDE_FEATURES", "CTRRecommender", "predict_frame"]
