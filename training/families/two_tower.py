"""The ``two_tower`` family: TFRS two-tower retrieval (``tfrec.models.retrieval.TwoTowerRetrieval``)."""

from __future__ import annotations

from typing import List, Optional

import numpy as np

from tfrec.training.families.base import Task, encoded_features
from tfrec.training.families.params import FamilyParams, FeatureList

__all__ = ["TwoTowerParams", "TwoTowerTask"]


class TwoTowerParams(FamilyParams):
    """``model.params`` of ``two_tower`` (the model arguments of ``TwoTowerRecommender``).

    Attributes:
      query_features: query (user) features (``FeatureList``): None (user id only),
        "movielens_user" (id, age, gender, occupation, zip) or a list of feature dicts. Default None.
      candidate_features: candidate (item) features: None (item id only), "movielens_item" (id,
        genres, title, year) or a list of feature dicts. Default None.
      embedding_dim: per-feature embedding size. Default 32.
      hidden_units: optional MLP of both towers, e.g. [64, 32]. Default None.
      dropout: tower MLP dropout. Default 0.0.
      temperature: in-batch softmax temperature, or None. Default None.
      num_hard_negatives: keep only the hardest in-batch negatives, or None (all). Default None.
      remove_accidental_hits: mask in-batch negatives that are the positive item. Default False.
      logq_correction: subtract ``log p(item)`` (training popularity) from the in-batch logits. Default False.
      l2_normalize: cosine towers (use with a temperature). Default False.
    """

    query_features: FeatureList = None
    candidate_features: FeatureList = None
    embedding_dim: int = 32
    hidden_units: Optional[List[int]] = None
    dropout: float = 0.0
    temperature: Optional[float] = None
    num_hard_negatives: Optional[int] = None
    remove_accidental_hits: bool = False
    logq_correction: bool = False
    l2_normalize: bool = False


class TwoTowerTask(Task):
    """Two-tower retrieval (``tfrec.models.retrieval.TwoTowerRetrieval``, a ``tfrs.Model``).

    Parameters are those of ``TwoTowerRecommender`` that shape the model (feature lists or presets
    "movielens_user"/"movielens_item", embedding size, tower MLP, temperature, hard negatives, ...);
    optimizer, learning rate, epochs and batch size come from ``training``. Feature layers are adapted
    on the training rows; examples are encoded once. Every training interaction (rated at least
    ``data.min_rating`` if set) is a positive; the loss is the in-batch softmax; early stopping on
    ``val_loss``. The final evaluation scores the whole catalog (``query @ candidates.T``).
    """

    name = "two_tower"
    kind = "retrieval"
    params_schema = TwoTowerParams
    monitor = "val_loss"
    mode = "min"

    def row_filter(self, config):
        """Keeps the training rows rated at least ``data.min_rating`` (all when it is None)."""
        threshold = config.data.min_rating
        rating = "user_rating"
        return None if threshold is None else (lambda f: f[f[rating] >= threshold])

    def build_model(self, params, run):
        from tfrec.data.side_features import training_frame
        from tfrec.recommenders.two_tower import TwoTowerRecommender

        class _Trained(TwoTowerRecommender):
            """The trainer's model as an evaluation Algorithm: ``fit`` only indexes the catalog."""

            def fit(self, data):
                if not (np.array_equal(data.user_ids, run.vocab.user_ids)
                        and np.array_equal(data.item_ids, run.vocab.item_ids)):
                    raise ValueError("The evaluation's training data has another vocabulary than the trained model.")
                self.data = data
                self._index(data)
                return self

        rec = _Trained(**params, name=self.name)
        qspec, cspec = rec._specs(run.vocab)
        full = training_frame(run.vocab, qspec.columns, cspec.columns)
        if params["logq_correction"]:
            popularity = run.vocab.item_popularity().astype(np.float64)
            full = full.copy()
            full["candidate_sampling_probability"] = (popularity / popularity.sum())[full["item_idx"].to_numpy()]
        model = rec.build_model(run.vocab, full)
        rec.model = model
        run.extra.update(recommender=rec, full_frame=full, logq=params["logq_correction"])
        return model

    def examples(self, run, frame, split):
        model = run.extra["recommender"].model
        rows = run.extra["full_frame"].iloc[frame.index.to_numpy()]
        out = {}
        for layer in (model.query_tower.feature_layer, model.candidate_tower.feature_layer):
            out.update(encoded_features(layer, rows))
        if run.extra["logq"]:
            out["candidate_sampling_probability"] = rows["candidate_sampling_probability"].to_numpy(np.float32)
        return out, None

    def algorithm(self, model, run):
        rec = run.extra["recommender"]
        rec.model = model
        return rec
