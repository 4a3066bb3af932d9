"""The ``mf`` family: biased matrix factorization on explicit ratings (``tfrec.models.mf``), MSE loss."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from tfrec.data.training_data import TrainingData
from tfrec.training.families.base import Task
from tfrec.training.families.pair_algorithm import KerasPairAlgorithm
from tfrec.training.families.params import FamilyParams

__all__ = ["MFAlgorithm", "MFParams", "MFTask"]


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
    init_stddev: float = Field(0.05, ge=0)


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
        return MFAlgorithm(model, run.vocab, predicts_ratings=True, name=self.name)


class MFAlgorithm(KerasPairAlgorithm):
    """The trained ``MatrixFactorization`` as an evaluation ``Algorithm``: pairs through the model, the catalog
    as one matrix product.

    ``score(users)`` is ``mu + b_i + (p_u . q_i + b_u)`` over every item from the trained factors (the
    model's pair scores, an unknown user's terms zeroed), without building the user x item pair grid;
    ``predict`` calls the model. A model whose factors are not single float32 arrays (sharded
    variables, mixed precision) scores the catalog through the model as well.
    """

    def fit(self, data: TrainingData) -> "MFAlgorithm":
        super().fit(data)
        self._factors = self._read_factors()
        return self

    def _read_factors(self):
        m = self.model
        layers = [getattr(m, name, None) for name in ("user_factors", "item_factors", "user_bias", "item_bias")]
        if getattr(m, "compute_dtype", "float32") != "float32" or layers[0] is None or layers[1] is None:
            return None
        n_u, n_i = m.num_users, m.num_items
        arrays = []
        for layer, n in zip(layers, (n_u, n_i, n_u, n_i)):
            if layer is None:  # use_bias=False
                arrays.append(np.zeros((n + 1, 1), np.float32))
                continue
            weights = layer.get_weights()
            if len(weights) != 1 or weights[0].shape[0] != n + 1:
                return None
            arrays.append(weights[0])
        p, q, bu, bi = (a[:n] for a, n in zip(arrays, (n_u, n_i, n_u, n_i)))
        return p, q, bu[:, 0], bi[:, 0], np.float32(m.global_mean)

    def score(self, users: np.ndarray) -> np.ndarray:
        if getattr(self, "_factors", None) is None:
            return super().score(users)
        p, q, bu, bi, mu = self._factors
        users = np.asarray(users, np.int64)
        known = (users >= 0) & (users < len(p))
        safe = np.where(known, users, 0)
        user_terms = (p[safe] @ q.T + bu[safe, None]) * known[:, None]
        return (mu + bi[None, :] + user_terms).astype(np.float32)
