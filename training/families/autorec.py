"""The AutoRec families ``i_autorec`` and ``u_autorec`` (``tfrec.models.autorec``) on rating vectors.

One :class:`AutoRecTask` class registered twice: item-based (one example per item) and user-based.
"""

from __future__ import annotations

import numpy as np

from tfrec.data.training_data import OOV_INDEX
from tfrec.training.families.base import Task
from tfrec.training.families.params import FamilyParams

__all__ = ["AutoRecParams", "AutoRecTask"]


class AutoRecParams(FamilyParams):
    """``model.params`` of ``i_autorec`` and ``u_autorec``.

    Attributes:
      hidden_units: size of the hidden layer. Default 500.
      l2: weight decay (the paper's lambda, on the sum of squared weights). Default 100.0.
    """

    hidden_units: int = 500
    l2: float = 100.0


class AutoRecTask(Task):
    """I-AutoRec / U-AutoRec (``tfrec.models.autorec``) on MovieLens ratings; masked MSE + weight decay.

    ``i_autorec`` (``based_on="item"``): one example per item, its vector of fit ratings over the
    users (0 = unobserved); ``u_autorec`` (``based_on="user"``): one per user. Validation: the same
    rows' fit vectors as input, scored on the validation ratings (``training.autorec.AutoRecWithTargets``);
    early stopping on ``val_rmse``. ``training.batch_size`` is rows per step (the paper trains
    full-batch: set it to the number of rows). The final evaluation (``tfrec.evaluation``: rmse, mae,
    ranking@k) reconstructs each row from all training ratings (fit + validation), predictions
    clipped to the training range.

    Args:
      based_on: "item" (registered as ``i_autorec``) or "user" (``u_autorec``). Default "item".
    """

    kind = "rating"
    params_schema = AutoRecParams
    monitor = "val_rmse"
    mode = "min"

    def __init__(self, based_on: str = "item"):
        if based_on not in ("item", "user"):
            raise ValueError(f"based_on must be 'item' or 'user'. Received: based_on={based_on!r}")
        self.based_on = based_on
        self.name = f"{based_on[0]}_autorec"

    def setup(self, params, run):
        run.extra["based_on"] = self.based_on

    @staticmethod
    def _matrix(run, frame):
        """[rows, inputs] mean ratings and 0/1 mask of ``frame`` (rows = items for I-AutoRec)."""
        u, i = run.indices(frame)
        keep = (u != OOV_INDEX) & (i != OOV_INDEX)
        r = frame[run.vocab.columns.rating].to_numpy(np.float32)[keep]
        u, i = u[keep], i[keep]
        if run.extra["based_on"] == "item":
            u, i = i, u
            shape = (run.vocab.n_items, run.vocab.n_users)
        else:
            shape = (run.vocab.n_users, run.vocab.n_items)
        sums = np.zeros(shape, np.float32)
        counts = np.zeros(shape, np.float32)
        np.add.at(sums, (u, i), r)
        np.add.at(counts, (u, i), 1.0)
        return np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0), (counts > 0).astype(np.float32)

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

    def algorithm(self, model, run):
        from tfrec.recommenders.autorec import AutoRecRecommender

        vocab, based_on = run.vocab, run.extra["based_on"]

        class _Trained(AutoRecRecommender):
            """The trained network; ``fit`` only reconstructs every row from the evaluator's training data."""

            def fit(self, data):
                if not (np.array_equal(data.user_ids, vocab.user_ids) and np.array_equal(data.item_ids, vocab.item_ids)):
                    raise ValueError("The evaluation's training data has another vocabulary than the trained model.")
                self.data = data
                sums = np.zeros((data.n_users, data.n_items), np.float32)
                counts = np.zeros_like(sums)
                np.add.at(sums, (data.users_idx, data.items_idx), data.ratings)
                np.add.at(counts, (data.users_idx, data.items_idx), 1.0)
                ratings = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
                mask = counts > 0
                self.rating_range_ = (float(data.ratings.min()), float(data.ratings.max()))
                self.global_mean_ = float(data.ratings.mean())
                n_u, n_i = np.maximum(mask.sum(1), 1), np.maximum(mask.sum(0), 1)
                self._user_mean = np.where(mask.any(1), ratings.sum(1) / n_u, self.global_mean_).astype(np.float32)
                self._item_mean = np.where(mask.any(0), ratings.sum(0) / n_i, self.global_mean_).astype(np.float32)
                self._rows = np.ascontiguousarray(ratings.T if based_on == "item" else ratings)
                self._refresh()
                return self

        rec = _Trained(based_on=based_on, hidden_units=model.hidden_units, l2=model.l2, name=self.name)
        rec.model = model
        return rec
