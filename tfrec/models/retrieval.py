"""Two-tower retrieval: query and candidate towers trained with an in-batch softmax (TFRS).

:class:`Tower` = :class:`~tfrec.features.FeatureLayer` (concatenated) + optional :class:`MLP`.
:class:`TwoTowerRetrieval` is a ``tfrs.Model`` with a query tower, a candidate tower and a
``tfrs.tasks.Retrieval`` task (temperature, log-Q correction, hard negatives, accidental hits).
:class:`TwoTowerRecommender` wraps it as an evaluator :class:`~tfrec.recommenders.Algorithm`
(registered as ``two_tower``): it fits on :class:`~tfrec.data.training_data.TrainingData`, precomputes the
candidate embeddings once and scores the whole catalog with ``query @ candidates.T``.

Side features make cold start possible: an unseen user's id falls into the OOV bucket, and the
user's age, gender, occupation or zip code still move the query embedding
(:meth:`TwoTowerRecommender.recommend_for_features`).
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf
import tensorflow_recommenders as tfrs

from tfrec.recommenders.base import Algorithm, top_k
from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.features import ENCODED_SUFFIX, FeatureLayer, FeatureSpec, frame_to_dataset, frame_to_tensors
from tfrec.layers.mlp import MLP
from tfrec.models.base import Model as MeanLossModel

__all__ = [
    "MOVIELENS_USER_FEATURES",
    "MOVIELENS_ITEM_FEATURES",
    "Tower",
    "TwoTowerRetrieval",
    "TwoTowerRecommender",
    "make_tower",
    "resolve_features",
]

# Side-feature presets for the MovieLens frames of ``tfrec.data.load_movielens`` (TFDS names).
MOVIELENS_USER_FEATURES: List[Dict[str, Any]] = [
    {"name": "user_id", "kind": "categorical"},
    {"name": "raw_user_age", "kind": "numeric", "transform": "bucketize", "num_buckets": 10},
    {"name": "user_gender", "kind": "categorical"},
    {"name": "user_occupation_label", "kind": "categorical"},
    {"name": "user_zip_code", "kind": "categorical", "min_count": 2},
]
MOVIELENS_ITEM_FEATURES: List[Dict[str, Any]] = [
    {"name": "movie_id", "kind": "categorical"},
    {"name": "movie_genres", "kind": "multi_hot"},
    {"name": "movie_title", "kind": "text", "max_length": 8},
    {"name": "year", "kind": "numeric", "transform": "bucketize", "num_buckets": 10},
]
_PRESETS = {"movielens_user": MOVIELENS_USER_FEATURES, "movielens_item": MOVIELENS_ITEM_FEATURES}


def resolve_features(features, default_id: str) -> List[Dict[str, Any]]:
    """A feature list from ``None`` (id only), a preset name or a list of feature dicts.

    Args:
      features: ``None`` -> ``[{"name": default_id, "kind": "categorical"}]``; ``"movielens_user"`` /
        ``"movielens_item"`` -> the MovieLens side-feature presets; a list of dicts -> itself.
      default_id: id column used when ``features`` is None.
    """
    if features is None:
        return [{"name": default_id, "kind": "categorical"}]
    if isinstance(features, str):
        if features not in _PRESETS:
            raise ValueError(f"Unknown feature preset {features!r}. Presets: {sorted(_PRESETS)}, or pass a list of feature dicts.")
        return [dict(f) for f in _PRESETS[features]]
    return [dict(f) for f in FeatureSpec.coerce(features).get_config()]


def _serialize(layer):
    return tf.keras.layers.serialize(layer) if layer is not None else None


def _deserialize(value):
    if value is None or isinstance(value, tf.keras.layers.Layer):
        return value
    return tf.keras.layers.deserialize(value)


@tf.keras.utils.register_keras_serializable(package="tfrec")
class Tower(tf.keras.layers.Layer):
    """A tower: the concatenated features of a FeatureLayer, then an optional MLP.

    Args:
      feature_layer: an adapted :class:`FeatureLayer` (or its serialized config).
      hidden_units: optional MLP widths, e.g. ``[64, 32]``; the last is the output dimension. ``None``
        -> the concatenated features are the embedding (id-only towers).
      dropout: dropout between MLP layers.
      l2_normalize: L2-normalize the output (cosine similarity; pair with a temperature).

    Call args:
      inputs: dict of raw or encoded feature tensors (see FeatureLayer).

    Returns:
      ``[batch, output_dim]`` float tensor.

    Example:

    >>> frame = pd.DataFrame({"user_id": ["a", "b"], "age": [20.0, 30.0]})
    >>> features = FeatureLayer([{"name": "user_id", "kind": "categorical"},
    ...                          {"name": "age", "kind": "numeric"}], embedding_dim=4)
    >>> features.adapt(frame)
    >>> tower = Tower(features, hidden_units=[8, 3])
    >>> tuple(tower({"user_id": tf.constant(["a"]), "age": tf.constant([25.0])}).shape)
    (1, 3)
    """

    def __init__(self, feature_layer, hidden_units: Optional[Sequence[int]] = None, dropout: float = 0.0,
                 l2_normalize: bool = False, **kwargs):
        super().__init__(**kwargs)
        feature_layer = _deserialize(feature_layer)
        if not isinstance(feature_layer, FeatureLayer):
            raise TypeError(f"feature_layer must be a FeatureLayer. Received: {type(feature_layer).__name__}")
        self.feature_layer = feature_layer
        self.hidden_units = list(hidden_units) if hidden_units else None
        self.dropout = float(dropout)
        self.l2_normalize = bool(l2_normalize)
        self.mlp = MLP(self.hidden_units, dropout=self.dropout, name="mlp") if self.hidden_units else None

    @property
    def output_dim(self) -> int:
        return self.hidden_units[-1] if self.hidden_units else self.feature_layer.output_dim

    def call(self, inputs, training=None):
        x = self.feature_layer(inputs, training=training)
        if isinstance(x, Mapping):
            x = self.feature_layer.concat(x)
        elif x.shape.rank == 3:
            x = tf.reshape(x, [-1, self.feature_layer.output_dim])
        if self.mlp is not None:
            x = self.mlp(x, training=training)
        if self.l2_normalize:
            x = tf.math.l2_normalize(x, axis=-1)
        return x

    def get_config(self):
        config = super().get_config()
        config.update({"feature_layer": _serialize(self.feature_layer), "hidden_units": self.hidden_units,
                       "dropout": self.dropout, "l2_normalize": self.l2_normalize})
        return config


def make_tower(features, frame: pd.DataFrame, embedding_dim: int = 32,
               hidden_units: Optional[Sequence[int]] = None, dropout: float = 0.0,
               l2_normalize: bool = False, name: Optional[str] = None) -> Tower:
    """Builds a :class:`Tower` whose FeatureLayer is adapted on ``frame`` (training rows only)."""
    layer = FeatureLayer(features, embedding_dim=embedding_dim, output_mode="concat",
                         name=None if name is None else f"{name}_features")
    layer.adapt(frame)
    return Tower(layer, hidden_units=hidden_units, dropout=dropout, l2_normalize=l2_normalize, name=name)


@tf.keras.utils.register_keras_serializable(package="tfrec")
class TwoTowerRetrieval(MeanLossModel):
    """Two-tower retrieval model trained with an in-batch sampled softmax.

    Args:
      query_tower: :class:`Tower` (or config) mapping query features to ``[batch, d]``.
      candidate_tower: :class:`Tower` (or config) mapping candidate features to ``[batch, d]``.
      temperature: optional softmax temperature (logits are divided by it).
      num_hard_negatives: optional number of hardest in-batch negatives kept per query.
      remove_accidental_hits: mask in-batch negatives that are the positive candidate (needs
        ``candidate_id_key``).
      candidate_id_key: candidate id feature name (its raw column or its encoded key is read);
        used for accidental hits.
      sampling_probability_key: optional input key holding each example's candidate sampling
        probability ``[batch]`` (e.g. training popularity / interactions): enables the log-Q
        correction ``logits - log(p)`` of the in-batch softmax.

    Call args:
      features: dict of feature tensors (both towers' inputs).

    Returns:
      ``(query_embeddings [batch, d], candidate_embeddings [batch, d])``.

    Example:

    >>> frame = pd.DataFrame({"user_id": ["a", "b", "c"], "movie_id": ["1", "2", "1"]})
    >>> q = make_tower([{"name": "user_id", "kind": "categorical"}], frame, embedding_dim=4)
    >>> c = make_tower([{"name": "movie_id", "kind": "categorical"}], frame, embedding_dim=4)
    >>> model = TwoTowerRetrieval(q, c, temperature=0.5)
    >>> model.compile(optimizer=tf.keras.optimizers.Adagrad(0.1))
    >>> history = model.fit(frame_to_dataset(frame, [q.feature_layer, c.feature_layer]), verbose=0)
    >>> tuple(model.query_embeddings({"user_id": tf.constant(["a"])}).shape)
    (1, 4)
    """

    def __init__(self, query_tower, candidate_tower, temperature: Optional[float] = None,
                 num_hard_negatives: Optional[int] = None, remove_accidental_hits: bool = False,
                 candidate_id_key: Optional[str] = None, sampling_probability_key: Optional[str] = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.query_tower = _deserialize(query_tower)
        self.candidate_tower = _deserialize(candidate_tower)
        if temperature is not None and not temperature > 0:
            raise ValueError(f"temperature must be positive or None. Received: temperature={temperature!r}")
        if num_hard_negatives is not None and (not isinstance(num_hard_negatives, int) or num_hard_negatives <= 0):
            raise ValueError(f"num_hard_negatives must be a positive integer or None. Received: {num_hard_negatives!r}")
        if remove_accidental_hits and not candidate_id_key:
            raise ValueError("remove_accidental_hits=True needs candidate_id_key (the candidate id feature name).")
        qd, cd = self.query_tower.output_dim, self.candidate_tower.output_dim
        if qd != cd:
            raise ValueError(f"The towers must output the same dimension; received query {qd} and candidate {cd}. "
                             f"Set the last hidden_units (or embedding_dim) of both towers equal.")
        self.temperature = temperature
        self.num_hard_negatives = num_hard_negatives
        self.remove_accidental_hits = bool(remove_accidental_hits)
        self.candidate_id_key = candidate_id_key
        self.sampling_probability_key = sampling_probability_key
        self.task = tfrs.tasks.Retrieval(temperature=temperature, num_hard_negatives=num_hard_negatives,
                                         remove_accidental_hits=self.remove_accidental_hits)

    def get_config(self):
        return {"query_tower": _serialize(self.query_tower), "candidate_tower": _serialize(self.candidate_tower),
                "temperature": self.temperature, "num_hard_negatives": self.num_hard_negatives,
                "remove_accidental_hits": self.remove_accidental_hits, "candidate_id_key": self.candidate_id_key,
                "sampling_probability_key": self.sampling_probability_key, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def query_embeddings(self, features, training=None) -> tf.Tensor:
        """``[batch, d]`` query embeddings of a dict of query features."""
        return self.query_tower(features, training=training)

    def candidate_embeddings(self, features, training=None) -> tf.Tensor:
        """``[batch, d]`` candidate embeddings of a dict of candidate features."""
        return self.candidate_tower(features, training=training)

    def call(self, features, training=None):
        return self.query_tower(features, training=training), self.candidate_tower(features, training=training)

    def _candidate_ids(self, features):
        if not self.candidate_id_key:
            return None
        for key in (self.candidate_id_key + ENCODED_SUFFIX, self.candidate_id_key):
            if key in features:
                return features[key]
        col = self.candidate_tower.feature_layer.spec[self.candidate_id_key].column
        return features[col]

    def compute_loss(self, inputs, training: bool = False) -> tf.Tensor:
        features = inputs[0] if isinstance(inputs, tuple) else inputs
        query, candidate = self(features, training=training)
        prob = None
        if self.sampling_probability_key and self.sampling_probability_key in features:
            prob = tf.cast(features[self.sampling_probability_key], tf.float32)
        ids = self._candidate_ids(features) if self.remove_accidental_hits else None
        return self.task(query, candidate, candidate_sampling_probability=prob, candidate_ids=ids,
                         compute_metrics=not training)

    def index_candidates(self, candidates: Mapping[str, Any], ids, k: int = 10,
                         batch_size: int = 4096) -> tfrs.layers.factorized_top_k.BruteForce:
        """A BruteForce top-k index over ``candidates`` whose query model is the query tower.

        Args:
          candidates: dict of candidate feature arrays (raw or encoded), ``[n_candidates]`` each.
          ids: ``[n_candidates]`` candidate identifiers returned by the index.
          k: number of candidates returned per query.

        Returns:
          ``BruteForce``: ``index(query_features) -> (scores [n, k], ids [n, k])``.
        """
        embeddings = self.embed_candidates(candidates, batch_size)
        index = tfrs.layers.factorized_top_k.BruteForce(self.query_tower, k=k)
        index.index(tf.constant(embeddings), tf.constant(np.asarray(ids)))
        return index

    def embed_candidates(self, candidates: Mapping[str, Any], batch_size: int = 4096) -> np.ndarray:
        """``[n, d]`` numpy candidate embeddings, computed in batches."""
        return _embed(self.candidate_tower, candidates, batch_size)

    def embed_queries(self, queries: Mapping[str, Any], batch_size: int = 4096) -> np.ndarray:
        """``[n, d]`` numpy query embeddings, computed in batches."""
        return _embed(self.query_tower, queries, batch_size)


def _embed(tower: tf.keras.layers.Layer, inputs: Mapping[str, Any], batch_size: int) -> np.ndarray:
    ds = tf.data.Dataset.from_tensor_slices(dict(inputs)).batch(batch_size)
    fn = tf.function(lambda x: tower(x, training=False))
    parts = [fn(b).numpy() for b in ds]
    return np.concatenate(parts) if parts else np.zeros((0, tower.output_dim), np.float32)


# ------------------------------------------------------------------------------------------------
# TrainingData helpers shared by the retrieval, ranking and multi-task recommenders
# ------------------------------------------------------------------------------------------------

_YEAR = re.compile(r"\((\d{4})\)\s*$")


def _with_year(frame: pd.DataFrame, needed: Sequence[str]) -> pd.DataFrame:
    """Adds a ``year`` column parsed from ``movie_title`` ("Toy Story (1995)") where one is needed."""
    if "year" in needed and "year" not in frame.columns and "movie_title" in frame.columns:
        frame = frame.copy()
        frame["year"] = pd.to_numeric(frame["movie_title"].astype(str).str.extract(_YEAR)[0], errors="coerce")
    return frame


def entity_frame(data: TrainingData, which: str, columns: Sequence[str]) -> pd.DataFrame:
    """One row per user (``which="user"``) or item, in index order, with ``columns``.

    Columns come from the metadata frame of ``data`` (``data.users``/``data.items``) where it has them,
    else from the first training row of each user/item.
    """
    id_col = data.columns.user if which == "user" else data.columns.item
    ids = data.user_ids if which == "user" else data.item_ids
    idx_col = "user_idx" if which == "user" else "item_idx"
    meta = data.users if which == "user" else data.items
    out = pd.DataFrame({id_col: ids})
    first = data.frame.drop_duplicates(idx_col).sort_values(idx_col).set_index(idx_col)
    first = _with_year(first, columns)
    if meta is not None:
        meta = _with_year(meta, columns)
    for col in columns:
        if col == id_col:
            continue
        if meta is not None and col in meta.columns:
            out[col] = meta[col].to_numpy()
        elif col in first.columns:
            out[col] = first[col].reindex(np.arange(len(ids))).to_numpy()
        else:
            available = sorted(set(map(str, data.frame.columns)) | set(map(str, meta.columns if meta is not None else [])))
            raise KeyError(f"Feature column {col!r} is in neither the training frame nor the {which} metadata. "
                           f"Available columns: {available}.")
    return out


def training_frame(data: TrainingData, user_cols: Sequence[str], item_cols: Sequence[str]) -> pd.DataFrame:
    """The training interactions with every user and item feature column (joined from metadata when absent)."""
    frame = _with_year(data.frame, item_cols)
    missing_u = [c for c in user_cols if c not in frame.columns]
    missing_i = [c for c in item_cols if c not in frame.columns]
    if missing_u or missing_i:
        frame = frame.copy()
        if missing_u:
            users = entity_frame(data, "user", missing_u)
            for c in missing_u:
                frame[c] = users[c].to_numpy()[frame["user_idx"].to_numpy()]
        if missing_i:
            items = entity_frame(data, "item", missing_i)
            for c in missing_i:
                frame[c] = items[c].to_numpy()[frame["item_idx"].to_numpy()]
    return frame


def _optimizer(name: str, learning_rate: float):
    options = {"adagrad": tf.keras.optimizers.Adagrad, "adam": tf.keras.optimizers.Adam,
               "sgd": tf.keras.optimizers.SGD}
    if name not in options:
        raise ValueError(f"optimizer must be one of {sorted(options)}. Received: optimizer={name!r}")
    return options[name](learning_rate)


def _oov_row(spec: FeatureSpec, n: int = 1) -> pd.DataFrame:
    """A frame of ``n`` rows with every feature missing (ids -> OOV, numbers -> NaN, lists empty)."""
    cols = {}
    for f in spec:
        if f.kind == "categorical":
            cols[f.column] = [""] * n
        elif f.kind == "multi_hot":
            cols[f.column] = [[] for _ in range(n)]
        elif f.kind == "text":
            cols[f.column] = [""] * n
        else:
            cols[f.column] = [np.nan] * n
    return pd.DataFrame(cols)


def _tensors(layer: FeatureLayer, frame: pd.DataFrame) -> Dict[str, tf.Tensor]:
    return {k: tf.constant(v.astype(str)) if v.dtype == object else tf.constant(v)
            for k, v in frame_to_tensors(frame, layer).items()}


class TwoTowerRecommender(Algorithm):
    """Two-tower retrieval as an evaluator algorithm (registered as ``two_tower``).

    Args:
      query_features: query (user) features: None (user id only), ``"movielens_user"`` (id, age,
        gender, occupation, zip) or a list of feature dicts.
      candidate_features: candidate (item) features: None (item id only), ``"movielens_item"`` (id,
        genres, title, year) or a list of feature dicts.
      embedding_dim: per-feature embedding size; default 32.
      hidden_units: optional MLP of both towers, e.g. ``[64, 32]``.
      dropout: tower MLP dropout.
      temperature, num_hard_negatives, remove_accidental_hits: see :class:`TwoTowerRetrieval`.
      logq_correction: subtract ``log p(item)`` (training popularity) from the in-batch logits.
      l2_normalize: cosine towers (use with a temperature).
      optimizer: "adagrad" (TFRS tutorial), "adam" or "sgd"; learning_rate: its rate (0.1).
      epochs: training epochs (3); batch_size: examples per batch (8192 as in the TFRS tutorial).
      jit_compile: XLA-compile the train step (inputs are pre-encoded, so no lookup ops remain).
      seed: seed of initializers and shuffling.
      verbose: Keras fit verbosity.
    """

    def __init__(self, query_features=None, candidate_features=None, embedding_dim: int = 32,
                 hidden_units: Optional[Sequence[int]] = None, dropout: float = 0.0,
                 temperature: Optional[float] = None, num_hard_negatives: Optional[int] = None,
                 remove_accidental_hits: bool = False, logq_correction: bool = False,
                 l2_normalize: bool = False, optimizer: str = "adagrad", learning_rate: float = 0.1,
                 epochs: int = 3, batch_size: int = 8192, jit_compile: bool = False, seed: int = 42,
                 verbose: int = 0, name: Optional[str] = None):
        super().__init__()
        for key, value in (("embedding_dim", embedding_dim), ("epochs", epochs), ("batch_size", batch_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{key} must be a positive integer. Received: {key}={value!r}")
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be positive. Received: learning_rate={learning_rate!r}")
        self.query_features = query_features
        self.candidate_features = candidate_features
        self.embedding_dim = embedding_dim
        self.hidden_units = list(hidden_units) if hidden_units else None
        self.dropout = dropout
        self.temperature = temperature
        self.num_hard_negatives = num_hard_negatives
        self.remove_accidental_hits = remove_accidental_hits
        self.logq_correction = logq_correction
        self.l2_normalize = l2_normalize
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.jit_compile = jit_compile
        self.seed = seed
        self.verbose = verbose
        self.name = name or "two_tower"
        _optimizer(optimizer, learning_rate)  # validates the name now

    # -- fit ------------------------------------------------------------------------------------

    def _specs(self, data: TrainingData) -> Tuple[FeatureSpec, FeatureSpec]:
        q = FeatureSpec(resolve_features(self.query_features, data.columns.user))
        c = FeatureSpec(resolve_features(self.candidate_features, data.columns.item))
        return q, c

    def build_model(self, data: TrainingData, train: pd.DataFrame) -> TwoTowerRetrieval:
        """The untrained model, with both feature layers adapted on ``train``."""
        qspec, cspec = self._specs(data)
        query = make_tower(qspec, train, self.embedding_dim, self.hidden_units, self.dropout,
                           self.l2_normalize, name="query")
        candidate = make_tower(cspec, train, self.embedding_dim, self.hidden_units, self.dropout,
                               self.l2_normalize, name="candidate")
        id_name = cspec.features[0].name
        return TwoTowerRetrieval(
            query, candidate, temperature=self.temperature, num_hard_negatives=self.num_hard_negatives,
            remove_accidental_hits=self.remove_accidental_hits, candidate_id_key=id_name,
            sampling_probability_key="candidate_sampling_probability" if self.logq_correction else None)

    def fit(self, data: TrainingData,
            on_epoch_end: Optional[Callable[[int, "TwoTowerRecommender"], None]] = None) -> "TwoTowerRecommender":
        """Trains on ``data`` and indexes the catalog.

        Args:
          data: the training interactions (and side tables).
          on_epoch_end: optional ``f(epoch, self)`` called after each epoch (1-based) with the catalog
            already re-indexed, so :meth:`score` reflects that epoch (e.g. validation curves);
            ``train_seconds_`` then includes its time.
        """
        self.data = data
        tf.keras.utils.set_random_seed(self.seed)
        qspec, cspec = self._specs(data)
        train = training_frame(data, qspec.columns, cspec.columns)
        self.model = self.build_model(data, train)
        extra = []
        if self.logq_correction:
            train = train.copy()
            popularity = data.item_popularity().astype(np.float64)
            train["candidate_sampling_probability"] = (popularity / popularity.sum())[train["item_idx"].to_numpy()]
            extra = ["candidate_sampling_probability"]
        layers = [self.model.query_tower.feature_layer, self.model.candidate_tower.feature_layer]
        ds = frame_to_dataset(train, layers, label=self._dataset_label(), encoder=layers, extra_columns=extra,
                              batch_size=self.batch_size, shuffle=True, seed=self.seed)
        self.model.compile(optimizer=_optimizer(self.optimizer, self.learning_rate), jit_compile=self.jit_compile)
        start = time.perf_counter()
        callbacks = []
        if on_epoch_end is not None:
            def _cb(epoch, logs):
                self._index(data)
                on_epoch_end(epoch + 1, self)

            callbacks.append(tf.keras.callbacks.LambdaCallback(on_epoch_end=_cb))
        self.history_ = self.model.fit(ds, epochs=self.epochs, verbose=self.verbose, callbacks=callbacks).history
        self.train_seconds_ = time.perf_counter() - start
        self.examples_seen_ = len(train) * self.epochs
        self._index(data)
        return self

    def _dataset_label(self) -> Optional[str]:
        """Label column of the training dataset (None: retrieval needs no label)."""
        return None

    def _index(self, data: TrainingData) -> None:
        qlayer = self.model.query_tower.feature_layer
        clayer = self.model.candidate_tower.feature_layer
        self.item_frame_ = entity_frame(data, "item", clayer.spec.columns)
        self.user_frame_ = entity_frame(data, "user", qlayer.spec.columns)
        self._candidates = self.model.embed_candidates(_tensors(clayer, self.item_frame_))
        self._queries = self.model.embed_queries(_tensors(qlayer, self.user_frame_))
        self._oov_query = self.model.embed_queries(_tensors(qlayer, _oov_row(qlayer.spec)))[0]
        self._oov_candidate = self.model.embed_candidates(_tensors(clayer, _oov_row(clayer.spec)))[0]

    # -- scoring --------------------------------------------------------------------------------

    def _require_fit(self):
        if self.data is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(training_data) first.")

    def candidate_embeddings(self) -> Tuple[np.ndarray, np.ndarray]:
        """``(item_ids [n_items], embeddings [n_items, d])``, in item-index order, computed once at fit."""
        self._require_fit()
        return self.data.item_ids, self._candidates

    def query_embeddings(self, users: np.ndarray) -> np.ndarray:
        """``[n, d]`` query embeddings of user indices (``OOV_INDEX`` -> the all-unknown query)."""
        self._require_fit()
        users = np.asarray(users)
        out = self._queries[np.where(users == OOV_INDEX, 0, users)].copy()
        out[users == OOV_INDEX] = self._oov_query
        return out

    def score(self, users: np.ndarray) -> np.ndarray:
        return (self.query_embeddings(users) @ self._candidates.T).astype(np.float32)

    def index_candidates(self, k: int = 10) -> tfrs.layers.factorized_top_k.BruteForce:
        """BruteForce top-k over the catalog: ``index(raw query features dict) -> (scores, raw item ids)``."""
        self._require_fit()
        index = tfrs.layers.factorized_top_k.BruteForce(self.model.query_tower, k=k)
        ids = np.asarray(self.data.item_ids).astype(str)
        index.index(tf.constant(self._candidates), tf.constant(ids))
        return index

    def recommend_for_features(self, queries: Union[pd.DataFrame, Mapping[str, Sequence]], k: int = 10
                               ) -> Tuple[np.ndarray, np.ndarray]:
        """Top-k raw item ids for raw query features: works for users never seen in training.

        Args:
          queries: DataFrame (or dict of columns) with the query tower's columns; an unknown user id
            goes to the OOV bucket while the side features still shape the embedding.
          k: list length.

        Returns:
          ``(item_ids [n, k], scores [n, k])``, best first.
        """
        self._require_fit()
        frame = queries if isinstance(queries, pd.DataFrame) else pd.DataFrame(dict(queries))
        layer = self.model.query_tower.feature_layer
        query = self.model.embed_queries(_tensors(layer, frame))
        scores = query @ self._candidates.T
        idx, val = top_k(scores, k)
        return np.asarray(self.data.item_ids)[idx], val
