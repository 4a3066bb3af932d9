"""The ``rbm`` family: the CF RBM (``tfrec.models.rbm``), trained by contrastive divergence in its ``train_step``."""

from __future__ import annotations

from typing import List, Literal, Optional

import numpy as np
from pydantic import Field, field_validator

from tfrec.data.training_data import OOV_INDEX
from tfrec.training.families.base import Task
from tfrec.training.families.params import FamilyParams

__all__ = ["RBMParams", "RBMTask"]


class RBMParams(FamilyParams):
    """``model.params`` of ``rbm`` (the arguments of ``tfrec.models.rbm.RBM`` and the rating scale).

    Attributes:
      orientation: "user" (U-RBM, the paper's: each user a case, the items its softmax visible units)
        or "item" (I-RBM: each item a case, the users its visible units). Default "user".
      n_hidden: binary hidden units; positive. Default 200.
      cd_k_schedule: ``[[first_epoch, k], ...]``: CD-k with ``k`` Gibbs steps from ``first_epoch`` on;
        starts at epoch 0, epochs increasing, k >= 1. Default [[0, 1], [15, 3]].
      weight_decay: L2 on the interaction weights; >= 0. Default 0.003.
      bias_lr_multiplier: learning rate of the biases relative to ``training.learning_rate``; > 0. Default 1.0.
      initial_momentum: momentum of the epochs before ``momentum_switch_epoch`` (then
        ``training.optimizer_params.momentum``; needs ``training.optimizer: sgd``), or None. Default None.
      momentum_switch_epoch: first (0-based) epoch with the optimizer's momentum; >= 0. Default 5.
      sample: sample the Gibbs chain (standard CD) instead of using probabilities (mean-field CD). Default False.
      init_stddev: standard deviation of the initial weights; > 0. Default 0.01.
      prediction: "mean_field" or "exact" (hidden units summed out). Default "mean_field".
      hidden_dropout: dropout of the hidden units in training, in [0, 1). Default 0.0.
      shared_weights: weights shared by all visible units on top of each unit's own. Default False.
      shared_lr_multiplier: learning-rate scale of the shared weights; > 0. Default 1.0.
      n_ratings: rating values K; >= 2. Default None: from the training ratings (with ``min_rating``
        and ``rating_step``, ``tfrec.models.rbm.rating_scale``: 5 for 1..5 stars, 10 for half stars).
      min_rating: the lowest rating. Default None (the lowest training rating).
      rating_step: the distance between rating values; > 0. Default None (the smallest gap between
        two training rating values).
      seed: seed of the weight initializer and the Gibbs sampling. Default 0.
    """

    orientation: Literal["user", "item"] = "user"
    n_hidden: int = Field(200, gt=0)
    cd_k_schedule: List[List[int]] = [[0, 1], [15, 3]]
    weight_decay: float = Field(0.003, ge=0)
    bias_lr_multiplier: float = Field(1.0, gt=0)
    initial_momentum: Optional[float] = Field(None, ge=0, lt=1)
    momentum_switch_epoch: int = Field(5, ge=0)
    sample: bool = False
    init_stddev: float = Field(0.01, gt=0)
    prediction: Literal["mean_field", "exact"] = "mean_field"
    hidden_dropout: float = Field(0.0, ge=0, lt=1)
    shared_weights: bool = False
    shared_lr_multiplier: float = Field(1.0, gt=0)
    n_ratings: Optional[int] = Field(None, ge=2)
    min_rating: Optional[float] = None
    rating_step: Optional[float] = Field(None, gt=0)
    seed: int = 0

    @field_validator("cd_k_schedule")
    @classmethod
    def _schedule(cls, value: List[List[int]]) -> List[List[int]]:
        if (not value or any(len(p) != 2 for p in value) or value[0][0] != 0 or any(k < 1 for _, k in value)
                or any(b[0] <= a[0] for a, b in zip(value, value[1:]))):
            raise ValueError(f"must be [first_epoch, k] pairs starting at epoch 0 with increasing epochs and k >= 1, "
                             f"e.g. [[0, 1], [20, 3]]; got {value!r}")
        return value


class RBMTask(Task):
    """The CF RBM (``tfrec.models.rbm.RBM``) on ratings, trained by the Trainer with the model's CD-k ``train_step``.

    Examples are the cases' rows of rating classes (``orientation: user``: one per user over the
    items; ``item``: one per item over the users; 0 = not rated), from the fit ratings. The optimizer
    is ``training.optimizer`` (the paper's: ``sgd`` with ``optimizer_params: {momentum: 0.9}``); it
    receives the contrastive-divergence estimate as the gradient. Validation: the same fit rows as
    input, the expected rating of every validation rating scored (``val_rmse``, on the data's scale;
    early stopping). Visible biases start at the log of each visible unit's smoothed fit rating-value
    frequencies. The final evaluation (``tfrec.recommenders.rbm.RBMScorer``) predicts from all training
    ratings (fit + validation) of the case.
    """

    name = "rbm"
    kind = "rating"
    params_schema = RBMParams
    monitor = "val_rmse"
    mode = "min"

    def setup(self, params, run):
        from tfrec.models.rbm import rating_scale

        # the scale of all training rows (fit + validation): the scorer maps them all to classes
        inferred = dict(zip(("n_ratings", "min_rating", "rating_step"),
                            rating_scale(run.train[run.vocab.columns.rating].to_numpy())))
        run.extra["rbm_scale"] = {"orientation": params["orientation"],
                                  **{k: v if params[k] is None else params[k] for k, v in inferred.items()}}

    def _classes(self, run, frame) -> np.ndarray:
        """[cases, visible] int8 rating classes of ``frame`` (0 = not rated)."""
        from tfrec.recommenders.rbm import class_matrix

        u, i = run.indices(frame)
        keep = (u != OOV_INDEX) & (i != OOV_INDEX)
        r = frame[run.vocab.columns.rating].to_numpy(np.float64)[keep]
        return class_matrix(u[keep], i[keep], r, run.vocab.n_users, run.vocab.n_items, **run.extra["rbm_scale"])

    def _fit_classes(self, run) -> np.ndarray:
        if "fit_classes" not in run.extra:
            run.extra["fit_classes"] = self._classes(run, run.fit)
        return run.extra["fit_classes"]

    def examples(self, run, frame, split):
        x = self._fit_classes(run)
        if split == "fit":
            return {"input": x}, None
        return {"input": x, "target": self._classes(run, frame)}, None

    def build_model(self, params, run):
        from tfrec.models.rbm import RBM

        p = dict(params)
        for key in ("orientation", "n_ratings", "min_rating", "rating_step"):
            p.pop(key)
        scale = run.extra["rbm_scale"]
        x = self._fit_classes(run)
        model = RBM(n_items=x.shape[1], n_ratings=scale["n_ratings"], rating_step=scale["rating_step"], **p)
        # visible biases: log of the smoothed frequency of each rating value per visible unit (Hinton's guide)
        k = scale["n_ratings"]
        counts = np.stack([(x == c).sum(0) for c in range(1, k + 1)], axis=1).astype(np.float64)  # [visible, K]
        prior = (counts.sum(0) + 1.0) / (counts.sum() + k)  # add-one: no value has p = 0
        freq = (counts + prior) / (counts.sum(1, keepdims=True) + 1.0)
        model.visible_bias.assign(np.log(freq).astype(np.float32))
        return model

    def algorithm(self, model, run):
        from tfrec.recommenders.rbm import RBMScorer

        vocab, scale = run.vocab, dict(run.extra["rbm_scale"])

        class _Trained(RBMScorer):
            """:class:`RBMScorer` that checks the evaluation's vocabulary is the trained model's."""

            def fit(self, data):
                if not (np.array_equal(data.user_ids, vocab.user_ids) and np.array_equal(data.item_ids, vocab.item_ids)):
                    raise ValueError("The evaluation's training data has another vocabulary than the trained model.")
                return super().fit(data)

        return _Trained(model, name=self.name, **scale)
