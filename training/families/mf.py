"""The ``mf`` family: biased matrix factorization on explicit ratings (``tfrec.models.mf``), MSE loss."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from tfrec.training.families.base import Task
from tfrec.training.families.pair_algorithm import KerasPairAlgorithm
from tfrec.training.families.params import FamilyParams

__all__ = ["MFParams", "MFTask"]


class MFParams(FamilyParams):
    """``model.params`` of ``mf`` (the arguments of ``tfrec.models.mf.MatrixFactorization``).

    Attributes:
      embedding_dim: size of the user and item factors. Default 64.
      l2: L2 weight on the factors (and biases). Default 1e-4.
      use_bias: learn user and item biases beside the global mean. Default True.
      init_stddev: stddev of the normal initializer of the factors. Default 0.05.
    """

    embedding_dim: int = Field(64, ge=1)
    l2: float = Field(1e-4, ge=0)
    use_bias: bool = True
    init_stddev: float = Field(0.05, gt=0)


class MFTask(Task):
    """Biased matrix factorization on ratings (``tfrec.models.mf.MatrixFactorization``), MSE loss.

    Examples are ``{"user_idx", "item_idx"}`` int32 -> rating float32; ``global_mean`` is the mean
    rating of the fit rows. Metrics: rmse, mae; early stopping on ``val_rmse``.
    """

    name = "mf"
    kind = "rating"
    params_schema = MFParams
    monitor = "val_rmse"
    mode = "min"

    def examples(self, run, frame, split):
        u, i = run.indices(frame)
        y = frame[run.vocab.columns.rating].to_numpy(np.float32)
        return {"user_idx": u, "item_idx": i}, y

    def build_model(self, params, run):
        from tfrec.models.mf import MatrixFactorization

        mean = float(run.fit[run.vocab.columns.rating].astype(np.float64).mean())
        return MatrixFactorization(num_users=run.vocab.n_users, num_items=run.vocab.n_items, global_mean=mean,
                                   **params)

    def compile(self, model, optimizer, config):
        import tensorflow as tf

        model.compile(
            optimizer=optimizer,
            loss=tf.keras.losses.MeanSquaredError(),
            metrics=[tf.keras.metrics.RootMeanSquaredError(name="rmse"), tf.keras.metrics.MeanAbsoluteError(name="mae")],
            jit_compile=config.training.jit_compile,
            steps_per_execution=config.training.steps_per_execution,
        )

    def algorithm(self, model, run):
        return KerasPairAlgorithm(model, run.vocab, predicts_ratings=True, name=self.name)
