"""The ``ranking`` family: rating prediction from user/item features with an MLP (TFRS ranking tutorial)."""

from __future__ import annotations

from typing import List

import numpy as np

from tfrec.training.families.base import Task, encoded_features
from tfrec.training.families.params import FamilyParams, FeatureList

__all__ = ["RankingParams", "RankingTask"]


class RankingParams(FamilyParams):
    """``model.params`` of ``ranking`` (the arguments of ``tfrec.models.ranking.RankingModel`` and its features).

    Attributes:
      user_features: None (user id), "movielens_user" or a list of feature dicts. Default None.
      item_features: None (item id), "movielens_item" or a list of feature dicts. Default None.
      embedding_dim: per-feature embedding size. Default 32.
      hidden_units: MLP widths. Default [256, 64].
      dropout: MLP dropout. Default 0.0.
      clip: clip predictions to the training rating range (final evaluation). Default True.
    """

    user_features: FeatureList = None
    item_features: FeatureList = None
    embedding_dim: int = 32
    hidden_units: List[int] = [256, 64]
    dropout: float = 0.0
    clip: bool = True


class RankingTask(Task):
    """Rating prediction from user/item (side) features with an MLP (``tfrec.models.ranking.RankingModel``).

    Feature layers are adapted on the training rows and examples encoded once; MSE loss, ``rmse``
    metric, early stopping on ``val_rmse``. Predictions are clipped to the training rating range
    in the final evaluation.
    """

    name = "ranking"
    kind = "rating"
    params_schema = RankingParams
    monitor = "val_rmse"
    mode = "min"

    def build_model(self, params, run):
        from tfrec.data.side_features import training_frame
        from tfrec.features import FeatureLayer, FeatureSpec
        from tfrec.features.presets import resolve_features
        from tfrec.models.ranking import RankingModel

        vocab = run.vocab
        uspec = FeatureSpec(resolve_features(params["user_features"], vocab.columns.user))
        ispec = FeatureSpec(resolve_features(params["item_features"], vocab.columns.item))
        full = training_frame(vocab, uspec.columns, ispec.columns)
        layer = FeatureLayer(FeatureSpec(list(uspec) + list(ispec)), embedding_dim=params["embedding_dim"],
                             output_mode="concat", name="features")
        layer.adapt(full)
        label = vocab.columns.rating
        mean = float(run.fit[label].astype(np.float64).mean())
        model = RankingModel(layer, params["hidden_units"], params["dropout"], label_key=label, output_offset=mean)
        rating_range = (float(full[label].min()), float(full[label].max()))

        run.extra.update(full_frame=full, layer=layer, label=label, rating_range=rating_range,
                         feature_names=(uspec.names, ispec.names), clip=params["clip"])
        return model

    def examples(self, run, frame, split):
        rows = run.extra["full_frame"].iloc[frame.index.to_numpy()]
        return encoded_features(run.extra["layer"], rows), rows[run.extra["label"]].to_numpy(np.float32)

    def algorithm(self, model, run):
        from tfrec.recommenders.ranking import RankingScorer

        user_names, item_names = run.extra["feature_names"]
        return RankingScorer(model, model.feature_layer, user_names, item_names, run.vocab,
                             run.extra["rating_range"], clip=run.extra["clip"], name=self.name)
