"""A trained two-tower retrieval model as an evaluation ``Algorithm`` (scoring only; registry name ``two_tower``).

The ``two_tower`` family (``tfrec.training.families.two_tower``) trains a
:class:`~tfrec.models.retrieval.TwoTowerRetrieval` with the Trainer; its ``algorithm()`` is a
:class:`TwoTowerScorer`, which embeds the catalog once and scores it with ``query @ candidates.T``.

Side features make cold start possible: an unseen user's id falls into the OOV bucket, and the
user's age, gender, occupation or zip code still move the query embedding
(:meth:`TwoTowerScorer.recommend_for_features`).
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf
import tensorflow_recommenders as tfrs

from tfrec.data.side_features import entity_frame
from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.recommenders.base import Algorithm, top_k
from tfrec.recommenders.feature_frames import feature_tensors, oov_frame

__all__ = ["TwoTowerScorer", "same_vocabulary"]


def same_vocabulary(data: TrainingData, vocab: TrainingData) -> None:
    """Raises ValueError unless ``data`` has the users and items (same order) a model was trained with."""
    if not (np.array_equal(data.user_ids, vocab.user_ids) and np.array_equal(data.item_ids, vocab.item_ids)):
        raise ValueError(
            "The evaluation's training data has another vocabulary than the trained model "
            f"({data.n_users} users / {data.n_items} items vs {vocab.n_users} / {vocab.n_items}); "
            "evaluate with the same training split the model was trained on.")


class TwoTowerScorer(Algorithm):
    """A trained :class:`~tfrec.models.retrieval.TwoTowerRetrieval` as an evaluation ``Algorithm``.

    ``fit`` does not train: it checks that the evaluator's training data has the vocabulary the model
    was trained with, then embeds every user and item once.

    Args:
      model: the trained ``TwoTowerRetrieval`` (or a subclass such as ``MultiTaskModel``).
      vocab: the :class:`TrainingData` the model was trained on (users, items and their side features).
      name: the result table's row name. Default "two_tower".
    """

    def __init__(self, model, vocab: TrainingData, name: Optional[str] = None):
        super().__init__()
        self.model = model
        self.vocab = vocab
        self.name = name or "two_tower"

    def fit(self, data: TrainingData) -> "TwoTowerScorer":
        """Checks the vocabulary of ``data`` and embeds its users and catalog (no training)."""
        same_vocabulary(data, self.vocab)
        self.data = data
        qlayer = self.model.query_tower.feature_layer
        clayer = self.model.candidate_tower.feature_layer
        self.item_frame_ = entity_frame(data, "item", clayer.spec.columns)
        self.user_frame_ = entity_frame(data, "user", qlayer.spec.columns)
        self._candidates = self.model.embed_candidates(feature_tensors(clayer, self.item_frame_))
        self._queries = self.model.embed_queries(feature_tensors(qlayer, self.user_frame_))
        self._oov_query = self.model.embed_queries(feature_tensors(qlayer, oov_frame(qlayer.spec)))[0]
        self._oov_candidate = self.model.embed_candidates(feature_tensors(clayer, oov_frame(clayer.spec)))[0]
        return self

    def _require_fit(self):
        if self.data is None:
            raise RuntimeError(f"{type(self).__name__} is not indexed: call fit(training_data) first.")

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

    def item_embeddings(self, items: np.ndarray) -> np.ndarray:
        """``[n, d]`` candidate embeddings of item indices (``OOV_INDEX`` -> the all-unknown candidate)."""
        self._require_fit()
        items = np.asarray(items)
        out = self._candidates[np.where(items == OOV_INDEX, 0, items)].copy()
        out[items == OOV_INDEX] = self._oov_candidate
        return out

    def score(self, users: np.ndarray) -> np.ndarray:
        """``[n, n_items]`` dot products of the users' query embeddings with every candidate."""
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
        idx, val = top_k(query @ self._candidates.T, k)
        return np.asarray(self.data.item_ids)[idx], val
