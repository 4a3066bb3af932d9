"""Two-tower retrieval: query and candidate towers trained with an in-batch softmax (TFRS).

:class:`TwoTowerRetrieval` is a ``tfrs.Model`` with a query :class:`~tfrec.models.tower.Tower`, a
candidate tower and a ``tfrs.tasks.Retrieval`` task (temperature, log-Q correction, hard negatives,
accidental hits). The ``two_tower`` family (``tfrec.training.families.two_tower``) trains it and
:class:`tfrec.recommenders.two_tower.TwoTowerScorer` scores the catalog with it.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf
import tensorflow_recommenders as tfrs

from tfrec.features import ENCODED_SUFFIX
from tfrec.models.base import Model as MeanLossModel
from tfrec.models.layer_config import deserialize_layer, serialize_layer
from tfrec.models.tower import Tower  # noqa: F401  (registered: from_config rebuilds the towers from their configs)


@tf.keras.utils.register_keras_serializable(package="tfrec")
class TwoTowerRetrieval(MeanLossModel):
    """Two-tower retrieval model trained with an in-batch sampled softmax.

    Args:
      query_tower: :class:`~tfrec.models.tower.Tower` (or config) mapping query features to ``[batch, d]``.
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

    >>> import pandas as pd
    >>> from tfrec.features import frame_to_dataset
    >>> from tfrec.models.tower import make_tower
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
        self.query_tower = deserialize_layer(query_tower)
        self.candidate_tower = deserialize_layer(candidate_tower)
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
        return {"query_tower": serialize_layer(self.query_tower), "candidate_tower": serialize_layer(self.candidate_tower),
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


__all__ = ["TwoTowerRetrieval"]
