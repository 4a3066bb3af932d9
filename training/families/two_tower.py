"""The ``two_tower`` family: TFRS two-tower retrieval (``tfrec.models.retrieval.TwoTowerRetrieval``)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np

from tfrec.training.families.base import Task, encoded_features
from tfrec.training.families.params import FamilyParams, FeatureList

__all__ = ["SAMPLING_PROBABILITY", "TwoTowerParams", "TwoTowerTask"]

#: input key of each example's candidate sampling probability (log-Q correction)
SAMPLING_PROBABILITY = "candidate_sampling_probability"


class TwoTowerParams(FamilyParams):
    """``model.params`` of ``two_tower`` (the arguments that shape the two towers and the retrieval task).

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

    Parameters shape the model (feature lists or presets "movielens_user"/"movielens_item",
    embedding size, tower MLP, temperature, hard negatives, log-Q, ...); optimizer, learning rate,
    epochs and batch size come from ``training``. Feature layers are adapted on the training rows
    (fit + validation; never test rows); examples are encoded once. Every training interaction (rated
    at least ``data.min_rating`` if set) is a positive; the loss is the in-batch softmax, with the
    log-Q correction ``logits - log p(item)`` (``p`` = the item's share of the training interactions)
    when ``logq_correction`` is set; early stopping on ``val_loss``. The final evaluation scores the
    whole catalog (``query @ candidates.T``, :class:`~tfrec.recommenders.two_tower.TwoTowerScorer`).
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

    def towers(self, params, run):
        """(query tower, candidate tower, training frame) adapted on the run's training rows.

        The frame is the training rows with every feature column of both towers (and
        ``candidate_sampling_probability`` with ``logq_correction``); row ``i`` is ``run.train`` row ``i``.
        """
        from tfrec.data.side_features import training_frame
        from tfrec.features import FeatureSpec
        from tfrec.features.presets import resolve_features
        from tfrec.models.tower import make_tower

        vocab = run.vocab
        qspec = FeatureSpec(resolve_features(params["query_features"], vocab.columns.user))
        cspec = FeatureSpec(resolve_features(params["candidate_features"], vocab.columns.item))
        full = training_frame(vocab, qspec.columns, cspec.columns)
        if params["logq_correction"]:
            popularity = vocab.item_popularity().astype(np.float64)
            full = full.copy()
            full[SAMPLING_PROBABILITY] = (popularity / popularity.sum())[full["item_idx"].to_numpy()]
        shape = dict(embedding_dim=params["embedding_dim"], hidden_units=params["hidden_units"],
                     dropout=params["dropout"], l2_normalize=params["l2_normalize"])
        query = make_tower(qspec, full, name="query", **shape)
        candidate = make_tower(cspec, full, name="candidate", **shape)
        run.extra.update(full_frame=full, logq=params["logq_correction"],
                         towers=(query.feature_layer, candidate.feature_layer))
        return query, candidate, full

    def retrieval_options(self, params, candidate) -> Dict[str, Any]:
        """Keyword arguments of ``TwoTowerRetrieval`` for the retrieval task's options."""
        return dict(temperature=params["temperature"], num_hard_negatives=params["num_hard_negatives"],
                    remove_accidental_hits=params["remove_accidental_hits"],
                    candidate_id_key=candidate.feature_layer.spec.features[0].name,
                    sampling_probability_key=SAMPLING_PROBABILITY if params["logq_correction"] else None)

    def build_model(self, params, run):
        from tfrec.models.retrieval import TwoTowerRetrieval

        query, candidate, _ = self.towers(params, run)
        return TwoTowerRetrieval(query, candidate, **self.retrieval_options(params, candidate))

    def examples(self, run, frame, split):
        return self.encode(run, frame), None

    def encode(self, run, frame) -> Dict[str, np.ndarray]:
        """Encoded tower inputs (and sampling probabilities with log-Q) of ``frame``'s rows of ``run.train``."""
        rows = run.extra["full_frame"].iloc[frame.index.to_numpy()]
        out = {}
        for layer in run.extra["towers"]:
            out.update(encoded_features(layer, rows))
        if run.extra["logq"]:
            out[SAMPLING_PROBABILITY] = rows[SAMPLING_PROBABILITY].to_numpy(np.float32)
        return out

    def algorithm(self, model, run):
        from tfrec.recommenders.two_tower import TwoTowerScorer

        return TwoTowerScorer(model, run.vocab, name=self.name)
