"""The ``multitask`` family: joint retrieval + rating (``tfrec.models.multitask.MultiTaskModel``, TFRS multi-task tutorial)."""

from __future__ import annotations

from typing import List

import numpy as np
from pydantic import Field

from tfrec.training.families.two_tower import TwoTowerParams, TwoTowerTask

__all__ = ["MultiTaskParams", "MultiTaskTask"]


class MultiTaskParams(TwoTowerParams):
    """``model.params`` of ``multitask``: every ``two_tower`` parameter (towers, retrieval task) plus the rating head.

    Attributes:
      retrieval_weight: weight of the in-batch softmax retrieval loss; >= 0. Default 1.0.
      rating_weight: weight of the rating MSE loss; >= 0 (not both 0). Default 1.0.
      rating_units: hidden widths of the rating MLP over ``[query, candidate]`` (a 1-unit output
        follows). Default [256, 128] (the TFRS tutorial's).
      clip: clip predicted ratings to the training rating range. Default True.
    """

    retrieval_weight: float = Field(1.0, ge=0)
    rating_weight: float = Field(1.0, ge=0)
    rating_units: List[int] = [256, 128]
    clip: bool = True


class MultiTaskTask(TwoTowerTask):
    """Two towers shared by a retrieval task and a rating task (loss ``retrieval_weight * retrieval +
    rating_weight * rating``).

    The towers, their features and the retrieval options are those of ``two_tower``; the rating head
    is an MLP over ``[query, candidate]`` plus the fit rows' mean rating. Examples carry the rating as
    their label. Early stopping on ``val_loss`` (the weighted sum). The final evaluation ranks the
    catalog by the retrieval dot product and predicts ratings with the head
    (:class:`~tfrec.recommenders.multitask.MultiTaskScorer`: RMSE/MAE and the top-k metrics).
    """

    name = "multitask"
    kind = "rating"
    params_schema = MultiTaskParams
    monitor = "val_loss"
    mode = "min"

    def check_params(self, params, fail):
        checked = super().check_params(params, fail)
        if checked.get("retrieval_weight") == 0 and checked.get("rating_weight") == 0:
            fail("model.params.rating_weight", "config keys 'model.params.retrieval_weight' and "
                                               "'model.params.rating_weight' are both 0: there is nothing to train.")
        return checked

    def row_filter(self, config):
        return None  # the rating task needs every rating, low ones included

    def build_model(self, params, run):
        from tfrec.models.multitask import MultiTaskModel

        query, candidate, full = self.towers(params, run)
        label = run.vocab.columns.rating
        if label is None or label not in full.columns:
            raise ValueError(f"model 'multitask' needs ratings; the training rows have no rating column {label!r}.")
        run.extra.update(label=label, rating_range=(float(full[label].min()), float(full[label].max())),
                         clip=params["clip"])
        return MultiTaskModel(query, candidate, rating_units=params["rating_units"],
                              retrieval_weight=params["retrieval_weight"], rating_weight=params["rating_weight"],
                              label_key=label, output_offset=float(run.fit[label].astype(np.float64).mean()),
                              **self.retrieval_options(params, candidate))

    def examples(self, run, frame, split):
        rows = run.extra["full_frame"].iloc[frame.index.to_numpy()]
        return self.encode(run, frame), rows[run.extra["label"]].to_numpy(np.float32)

    def algorithm(self, model, run):
        from tfrec.recommenders.multitask import MultiTaskScorer

        return MultiTaskScorer(model, run.vocab, run.extra["rating_range"], clip=run.extra["clip"], name=self.name)
