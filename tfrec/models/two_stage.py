"""A retrieval model and a ranking model trained side by side (the ``two_stage`` family).

:class:`TwoStageModel` holds a :class:`~tfrec.models.retrieval.TwoTowerRetrieval` and a
:class:`~tfrec.models.ranking.RankingModel`. Their inputs share one dict, told apart by the prefixes
``retrieval/`` and ``ranking/``; the loss is ``retrieval loss + ranking_weight * ranking loss``. The two
models share no weight, so with a per-weight adaptive optimizer (Adam) this is the same as training
each on its own loss, in one loop. The two-stage recommendation itself (retrieve, then re-rank) is
:class:`tfrec.recommenders.two_stage.TwoStageRecommender`.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.models.base import Model as MeanLossModel
from tfrec.models.layer_config import deserialize_layer, serialize_layer

__all__ = ["RANKING_PREFIX", "RETRIEVAL_PREFIX", "TwoStageModel", "split_inputs"]

RETRIEVAL_PREFIX = "retrieval/"
RANKING_PREFIX = "ranking/"


def split_inputs(features: Mapping[str, Any]):
    """``(retrieval inputs, ranking inputs)`` of a prefixed input dict (prefixes removed)."""
    retrieval = {k[len(RETRIEVAL_PREFIX):]: v for k, v in features.items() if k.startswith(RETRIEVAL_PREFIX)}
    ranking = {k[len(RANKING_PREFIX):]: v for k, v in features.items() if k.startswith(RANKING_PREFIX)}
    return retrieval, ranking


@tf.keras.utils.register_keras_serializable(package="tfrec")
class TwoStageModel(MeanLossModel):
    """A retrieval model and a ranking model with one summed loss.

    Args:
      retrieval: a ``TwoTowerRetrieval`` (or its config).
      ranking: a ``RankingModel`` (or its config).
      ranking_weight: weight of the ranking loss; > 0. Default 1.0.

    Call args:
      features: dict with the retrieval inputs under ``"retrieval/<key>"`` and the ranking inputs under
        ``"ranking/<key>"``.

    Returns:
      ``(query_embeddings [batch, d], candidate_embeddings [batch, d], ratings [batch, 1])``.

    Raises:
      ValueError: ``ranking_weight`` is not positive.

    Example:

    >>> import numpy as np, pandas as pd
    >>> from tfrec.features import FeatureLayer
    >>> from tfrec.models.ranking import RankingModel
    >>> from tfrec.models.retrieval import TwoTowerRetrieval
    >>> from tfrec.models.tower import make_tower
    >>> frame = pd.DataFrame({"user_id": ["a", "b"], "movie_id": ["1", "2"], "user_rating": [4.0, 2.0]})
    >>> ids = [{"name": "user_id", "kind": "categorical"}, {"name": "movie_id", "kind": "categorical"}]
    >>> retrieval = TwoTowerRetrieval(make_tower(ids[:1], frame, 4), make_tower(ids[1:], frame, 4))
    >>> layer = FeatureLayer(ids, embedding_dim=4, output_mode="concat")
    >>> layer.adapt(frame)
    >>> model = TwoStageModel(retrieval, RankingModel(layer, hidden_units=[4]))
    >>> x = {"retrieval/user_id": tf.constant(["a"]), "retrieval/movie_id": tf.constant(["2"]),
    ...      "ranking/user_id": tf.constant(["a"]), "ranking/movie_id": tf.constant(["2"])}
    >>> [tuple(t.shape) for t in model(x)]
    [(1, 4), (1, 4), (1, 1)]
    """

    def __init__(self, retrieval, ranking, ranking_weight: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if not ranking_weight > 0:
            raise ValueError(f"ranking_weight must be positive. Received: ranking_weight={ranking_weight!r}")
        self.retrieval = deserialize_layer(retrieval)
        self.ranking = deserialize_layer(ranking)
        self.ranking_weight = float(ranking_weight)

    def get_config(self) -> Dict[str, Any]:
        return {"retrieval": serialize_layer(self.retrieval), "ranking": serialize_layer(self.ranking),
                "ranking_weight": self.ranking_weight, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def call(self, features, training=None):
        retrieval, ranking = split_inputs(features)
        query, candidate = self.retrieval(retrieval, training=training)
        return query, candidate, self.ranking(ranking, training=training)

    def compute_loss(self, inputs, training: bool = False) -> tf.Tensor:
        if not isinstance(inputs, tuple) or len(inputs) < 2:
            raise ValueError("TwoStageModel trains on (features, ratings) pairs; received features only.")
        retrieval, ranking = split_inputs(inputs[0])
        return (self.retrieval.compute_loss(retrieval, training=training)
                + self.ranking_weight * self.ranking.compute_loss((ranking, inputs[1]), training=training))
