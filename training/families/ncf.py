"""The NCF families ``neumf``, ``gmf`` and ``mlp`` (``tfrec.models.neumf``, ``gmf``, ``mlp``): implicit feedback, sampled negatives.

One :class:`NCFTask` class, registered three times (one name per model); each name has its own
params schema (:class:`NeuMFParams`, :class:`GMFParams`, :class:`MLPParams`).
"""

from __future__ import annotations

from typing import Dict, List, Type

import numpy as np
from pydantic import Field

from tfrec.data.training_data import OOV_INDEX
from tfrec.training.families.base import Task
from tfrec.training.families.pair_algorithm import KerasPairAlgorithm
from tfrec.training.families.params import FamilyParams

__all__ = ["GMFParams", "MLPParams", "NCFTask", "NeuMFParams"]


class _NCFCommon(FamilyParams):
    l2: float = 0.0
    init_stddev: float = 0.01
    num_negatives: int = Field(4, ge=1)


class GMFParams(_NCFCommon):
    """``model.params`` of ``gmf``.

    Attributes:
      mf_dim: embedding size. Default 8.
      l2: L2 weight on the embeddings. Default 0.0.
      init_stddev: stddev of the normal embedding initializer. Default 0.01.
      num_negatives: sampled negatives per positive, drawn once per run (seeded). Default 4.
    """

    mf_dim: int = 8


class MLPParams(_NCFCommon):
    """``model.params`` of ``mlp``.

    Attributes:
      mlp_embedding_dim: embedding size. Default 32.
      hidden_units: the MLP tower's layer sizes. Default [32, 16, 8].
      l2, init_stddev, num_negatives: as :class:`GMFParams`.
    """

    mlp_embedding_dim: int = 32
    hidden_units: List[int] = [32, 16, 8]


class NeuMFParams(GMFParams, MLPParams):
    """``model.params`` of ``neumf`` (GMF and MLP towers fused): every key of :class:`GMFParams` and
    :class:`MLPParams`."""


_SCHEMAS: Dict[str, Type[FamilyParams]] = {"neumf": NeuMFParams, "gmf": GMFParams, "mlp": MLPParams}


class NCFTask(Task):
    """NeuMF / GMF / MLP (``tfrec.models.gmf``, ``mlp``, ``neumf``) on implicit feedback, log loss with sampled negatives.

    Args:
      variant: the registry name and model: "neumf", "gmf" or "mlp".

    Every observed interaction is a positive (label 1); ``num_negatives`` items the user did not
    interact with in training are drawn per positive (seeded, once per run) as label-0 examples.
    Metric: AUC on validation positives against the same number of sampled negatives.
    """

    kind = "ranking"
    monitor = "val_auc"
    mode = "max"
    mixed_precision = True

    def __init__(self, variant: str = "neumf"):
        if variant not in _SCHEMAS:
            raise ValueError(f"Unknown NCF variant {variant!r}; valid: {', '.join(_SCHEMAS)}.")
        self.name = self.variant = variant
        self.params_schema = _SCHEMAS[variant]

    def setup(self, params, run):
        run.extra["num_negatives"] = params["num_negatives"]

    def examples(self, run, frame, split):
        u, i = run.indices(frame)
        keep = (u != OOV_INDEX) & (i != OOV_INDEX)
        u, i = u[keep], i[keep]
        k = int(run.extra.get("num_negatives", 4))
        seed = {"fit": 1, "val": 2, "test": 3}.get(split, 4)
        rng = np.random.default_rng(seed)
        seen = run.vocab.seen_matrix()
        neg_u = np.repeat(u, k)
        neg_i = rng.integers(0, run.vocab.n_items, size=len(neg_u)).astype(np.int32)
        for _ in range(20):  # resample the negatives that the user did interact with
            bad = np.asarray(seen[neg_u, neg_i]).ravel() > 0
            if not bad.any():
                break
            neg_i[bad] = rng.integers(0, run.vocab.n_items, size=int(bad.sum()))
        users = np.concatenate([u, neg_u]).astype(np.int32)
        items = np.concatenate([i, neg_i]).astype(np.int32)
        labels = np.concatenate([np.ones(len(u), np.float32), np.zeros(len(neg_u), np.float32)])
        return {"user_idx": users, "item_idx": items}, labels

    def build_model(self, params, run):
        from tfrec.models.gmf import GMF
        from tfrec.models.mlp import MLP
        from tfrec.models.neumf import NeuMF

        p = dict(params)
        p.pop("num_negatives")
        variant = self.variant
        n_u, n_i = run.vocab.n_users, run.vocab.n_items
        if variant == "gmf":
            return GMF(n_u, n_i, embedding_dim=p["mf_dim"], l2=p["l2"], init_stddev=p["init_stddev"])
        if variant == "mlp":
            return MLP(n_u, n_i, embedding_dim=p["mlp_embedding_dim"], hidden_units=list(p["hidden_units"]),
                           l2=p["l2"], init_stddev=p["init_stddev"])
        return NeuMF(n_u, n_i, **p)

    def compile(self, model, optimizer, config):
        import tensorflow as tf

        model.compile(
            optimizer=optimizer,
            loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
            metrics=[tf.keras.metrics.AUC(name="auc", from_logits=True)],
            jit_compile=config.training.jit_compile,
            steps_per_execution=config.training.steps_per_execution,
        )

    def algorithm(self, model, run):
        return KerasPairAlgorithm(model, run.vocab, predicts_ratings=False, name=self.name)
