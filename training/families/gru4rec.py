"""The ``gru4rec`` family: GRU4Rec (``tfrec.models.gru4rec``) on session click logs, session-parallel."""

from __future__ import annotations

from typing import Annotated, List, Literal, Optional

import numpy as np
from pydantic import Field, PositiveInt

from tfrec.training.families.params import FamilyParams
from tfrec.training.families.session import SessionTask

__all__ = ["GRU4RecParams", "GRU4RecTask"]


class GRU4RecParams(FamilyParams):
    """``model.params`` of ``gru4rec`` (network and loss of ``tfrec.models.gru4rec``).

    Attributes:
      layers: GRU layer sizes. Default [100].
      loss: "cross-entropy", "bpr-max" or "top1-max". Default "cross-entropy".
      n_sample: extra negatives sampled per step (0: in-batch only). Default 2048.
      sample_alpha: popularity exponent of the sampled negatives. Default 0.75.
      bpreg: score regularization of bpr-max. Default 1.0.
      elu_param: ELU of the final scores (0: none). Default 0.5.
      logq: log-Q correction weight of the cross-entropy. Default 0.0.
      dropout_p_embed: dropout of the input embedding. Default 0.0.
      dropout_p_hidden: dropout of the hidden state. Default 0.0.
      constrained_embedding: share the input and output item embeddings. Default True.
      embedding: input embedding size (0: one-hot input). Default 0.
      seed: seed of the initializers and the negative sampling; None = ``training.seed``. Default None.
      k: cutoff of the validation metrics ``val_recall_at_<k>`` / ``val_mrr_at_<k>``. Default 20.
    """

    layers: Annotated[List[PositiveInt], Field(min_length=1)] = [100]
    loss: Literal["cross-entropy", "bpr-max", "top1-max"] = "cross-entropy"
    n_sample: int = 2048
    sample_alpha: float = 0.75
    bpreg: float = 1.0
    elu_param: float = 0.5
    logq: float = 0.0
    dropout_p_embed: float = 0.0
    dropout_p_hidden: float = 0.0
    constrained_embedding: bool = True
    embedding: int = 0
    seed: Optional[int] = None
    k: int = 20


class GRU4RecTask(SessionTask):
    """GRU4Rec (``tfrec.models.gru4rec``) on session click logs, trained session-parallel.

    Data and final evaluation: :class:`~tfrec.training.families.session.SessionTask`.
    ``training.batch_size`` is the number of parallel sessions; one Keras step is one
    session-parallel step (``training.session.SessionParallelGRU4Rec.train_step``); examples keep
    their order. Parameters: the network's (``layers``, ``embedding``, ``constrained_embedding``,
    dropouts) and the loss's (``loss``, ``n_sample``, ``sample_alpha``, ``bpreg``, ``elu_param``,
    ``logq``); the optimizer is ``training.optimizer`` (GRU4Rec's is ``adagrad`` with
    ``optimizer_params: {initial_accumulator_value: 0.0, epsilon: 1.0e-6}``, the official code's).
    Early stopping on ``val_mrr_at_<k>`` (``k`` param, default 20; also ``val_recall_at_<k>``).
    """

    name = "gru4rec"
    params_schema = GRU4RecParams
    monitor = "val_mrr_at_20"
    mode = "max"
    ordered = True

    def monitor_for(self, params):
        return f"val_mrr_at_{params.get('k', 20)}", "max"

    def prepare(self, config):
        run = super().prepare(config)
        run.extra.update(batch_size=config.training.batch_size, seed=config.training.seed)
        return run

    def examples(self, run, frame, split):
        from tfrec.data.session_batches import session_parallel_batches, sort_sessions

        idx = run.item_index(frame["ItemId"].to_numpy())
        frame = frame[idx >= 0]  # validation clicks on items the model has not seen cannot be ranked
        offsets, order, rows = sort_sessions(frame, order="time" if split == "fit" else "id")
        b = session_parallel_batches(run.item_index(rows["ItemId"].to_numpy()), offsets, order,
                                     run.extra["batch_size"])
        # step-major: batching by batch_size gives back the steps in order
        return {"item": b.inputs.reshape(-1).astype(np.int32), "target": b.targets.reshape(-1).astype(np.int32),
                "reset": b.reset.reshape(-1), "valid": b.valid.reshape(-1)}, None

    def build_model(self, params, run):
        from tfrec.training.session import SessionParallelGRU4Rec

        p = dict(params)
        if p["seed"] is None:
            p["seed"] = run.extra["seed"]
        n_items = len(run.item_ids)
        network = {"n_items": n_items, "layers": list(p.pop("layers")), "embedding": p.pop("embedding"),
                   "constrained_embedding": p.pop("constrained_embedding"),
                   "dropout_p_embed": p.pop("dropout_p_embed"), "dropout_p_hidden": p.pop("dropout_p_hidden"),
                   "seed": p["seed"]}
        model = SessionParallelGRU4Rec(network, batch_size=run.extra["batch_size"],
                                       dense_gradients=n_items * max(network["layers"]) <= 20_000_000, **p)
        support = np.bincount(run.item_index(run.fit["ItemId"].to_numpy()), minlength=n_items)
        model.set_support(support)
        return model

    def scorer(self, model, run):
        from tfrec.recommenders.gru4rec import GRU4RecScorer

        return GRU4RecScorer(model.net, run.item_ids)
