"""The ``i_autorec`` and ``u_autorec`` families: I-AutoRec / U-AutoRec (``tfrec.models.autorec``) on rating vectors."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from tfrec.data.training_data import OOV_INDEX
from tfrec.training.families.base import Task
from tfrec.training.families.params import FamilyParams

__all__ = ["AutoRecParams", "AutoRecTask"]


class AutoRecParams(FamilyParams):
    """``model.params`` of ``i_autorec`` and ``u_autorec``.

    Attributes:
      hidden_units: size of the hidden layer; positive. Default 500 (the paper).
      l2: weight decay (the paper's lambda, on the sum of squared weights); >= 0. Default 100.0.
      clip: clip predictions to the training rating range. Default True.
    """

    hidden_units: int = Field(500, gt=0)
    l2: float = Field(100.0, ge=0)
    clip: bool = True


class AutoRecTask(Task):
    """I-AutoRec (``i_autorec``) or U-AutoRec (``u_autorec``) on ratings; masked squared error + weight decay.

    ``i_autorec``: one example per item, its vector of fit ratings over the users (0 = unobserved);
    ``u_autorec``: one per user. Validation: the same rows' fit vectors as input, scored on the
    validation ratings (``training.autorec.AutoRecWithTargets``); early stopping on ``val_rmse``.
    ``training.batch_size`` is rows per step: the paper trains full-batch (one step per epoch), which a
    batch size of at least the number of rows gives. The final evaluation
    (``tfrec.recommenders.autorec.AutoRecScorer``) reconstructs each row from all training ratings
    (fit + validation), predictions clipped to the training range.

    Args:
      based_on: "item" (registered as ``i_autorec``) or "user" (``u_autorec``).
    """

    kind = "rating"
    params_schema = AutoRecParams
    monitor = "val_rmse"
    mode = "min"

    def __init__(self, based_on: Literal["item", "user"]):
        if based_on not in ("item", "user"):
            raise ValueError(f"based_on must be 'item' or 'user'. Received: based_on={based_on!r}")
        self.based_on = based_on
        self.name = "i_autorec" if based_on == "item" else "u_autorec"

    def _matrix(self, run, frame):
        """[rows, inputs] mean ratings and 0/1 mask of ``frame`` (rows = items for I-AutoRec)."""
        from tfrec.recommenders.autorec import rating_matrix

        u, i = run.indices(frame)
        keep = (u != OOV_INDEX) & (i != OOV_INDEX)
        r = frame[run.vocab.columns.rating].to_numpy(np.float32)[keep]
        return rating_matrix(u[keep], i[keep], r, run.vocab.n_users, run.vocab.n_items, self.based_on)

    def examples(self, run, frame, split):
        if "fit_matrix" not in run.extra:
            run.extra["fit_matrix"] = self._matrix(run, run.fit)
        x, x_mask = run.extra["fit_matrix"]
        if split == "fit":
            return {"input": x, "target": x, "mask": x_mask}, None
        y, y_mask = self._matrix(run, frame)
        return {"input": x, "target": y, "mask": y_mask}, None

    def build_model(self, params, run):
        from tfrec.training.autorec import AutoRecWithTargets

        rows, inputs = ((run.vocab.n_items, run.vocab.n_users) if self.based_on == "item"
                        else (run.vocab.n_users, run.vocab.n_items))
        return AutoRecWithTargets(inputs, params["hidden_units"], params["l2"], num_rows=rows)

    def setup(self, params, run):
        run.extra["clip"] = params["clip"]

    def algorithm(self, model, run):
        from tfrec.recommenders.autorec import AutoRecScorer

        vocab = run.vocab

        class _Trained(AutoRecScorer):
            """:class:`AutoRecScorer` that checks the evaluation's vocabulary is the trained model's."""

            def fit(self, data):
                if not (np.array_equal(data.user_ids, vocab.user_ids) and np.array_equal(data.item_ids, vocab.item_ids)):
                    raise ValueError("The evaluation's training data has another vocabulary than the trained model.")
                return super().fit(data)

        return _Trained(model, based_on=self.based_on, clip=run.extra.get("clip", True), name=self.name)
