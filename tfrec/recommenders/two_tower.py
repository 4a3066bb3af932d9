"""Two-tower retrieval as a recommender (registry name ``two_tower``).

:class:`TwoTowerRecommender` fits a :class:`~tfrec.models.retrieval.TwoTowerRetrieval` on
:class:`~tfrec.data.training_data.TrainingData`, precomputes the candidate embeddings once and
scores the whole catalog with ``query @ candidates.T``.

Side features make cold start possible: an unseen user's id falls into the OOV bucket, and the
user's age, gender, occupation or zip code still move the query embedding
(:meth:`TwoTowerRecommender.recommend_for_features`).
"""

from __future__ import annotations

import time
from typing import Callable, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf
import tensorflow_recommenders as tfrs

from tfrec.data.side_features import entity_frame, training_frame
from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.features import FeatureSpec, frame_to_dataset
from tfrec.features.presets import resolve_features
from tfrec.models.optimizers import make_optimizer
from tfrec.models.retrieval import TwoTowerRetrieval
from tfrec.models.tower import make_tower
from tfrec.recommenders.base import Algorithm, top_k
from tfrec.recommenders.feature_frames import feature_tensors, oov_frame


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
        make_optimizer(optimizer, learning_rate)  # validates the name now

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
        self.model.compile(optimizer=make_optimizer(self.optimizer, self.learning_rate), jit_compile=self.jit_compile)
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
        self._candidates = self.model.embed_candidates(feature_tensors(clayer, self.item_frame_))
        self._queries = self.model.embed_queries(feature_tensors(qlayer, self.user_frame_))
        self._oov_query = self.model.embed_queries(feature_tensors(qlayer, oov_frame(qlayer.spec)))[0]
        self._oov_candidate = self.model.embed_candidates(feature_tensors(clayer, oov_frame(clayer.spec)))[0]

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
        query = self.model.embed_queries(feature_tensors(layer, frame))
        scores = query @ self._candidates.T
        idx, val = top_k(scores, k)
        return np.asarray(self.data.item_ids)[idx], val


__all__ = ["TwoTowerRecommender"]
