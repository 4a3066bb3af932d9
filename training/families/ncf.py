"""The NCF families ``gmf``, ``mlp``, ``neumf`` (He et al., WWW 2017) on implicit feedback with sampled negatives.

Every training interaction is a positive (label 1); each positive gets ``num_negatives`` items the
user has no training interaction with (:class:`tfrec.sampling.NegativeSampler`, label 0), drawn
afresh every epoch (``resample_negatives``, the paper's procedure) from a sampler seeded by
``training.seed``. Loss: log loss on logits; metric: AUC of the validation positives against
``num_negatives`` sampled negatives each (drawn once). ``neumf`` with ``pretrain: true`` first
trains a GMF and an MLP of its sizes through the same Trainer and starts from their weights
(``tfrec.models.neumf.NeuMF.load_pretrained``).
"""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np
from pydantic import Field

from tfrec.config import ConfigError
from tfrec.config.training import TrainingConfig
from tfrec.data.training_data import OOV_INDEX
from tfrec.sampling import NegativeSampler
from tfrec.training.families.base import Task
from tfrec.training.families.pair_algorithm import KerasPairAlgorithm
from tfrec.training.families.params import FamilyParams, validate_params

__all__ = ["GMFParams", "GMFTask", "MLPParams", "MLPTask", "NeuMFParams", "NeuMFTask", "SampledNegativesParams",
           "SampledNegativesTask"]


class SampledNegativesParams(FamilyParams):
    """Parameters shared by the families trained on positives and sampled negatives.

    Attributes:
      l2: L2 weight on the embeddings (and dense kernels). Default 0.0.
      init_stddev: stddev of the normal embedding initializer. Default 0.01.
      num_negatives: sampled negatives per positive. Default 4.
      resample_negatives: draw the fit negatives afresh every epoch (true) or once per run (false).
        Default true.
    """

    l2: float = Field(0.0, ge=0)
    init_stddev: float = Field(0.01, gt=0)
    num_negatives: int = Field(4, ge=1)
    resample_negatives: bool = True


class GMFParams(SampledNegativesParams):
    """``model.params`` of ``gmf`` (``tfrec.models.gmf.GMF``).

    Attributes:
      mf_dim: number of predictive factors (the embedding size). Default 8.
      (and those of :class:`SampledNegativesParams`)
    """

    mf_dim: int = Field(8, ge=1)


class MLPParams(SampledNegativesParams):
    """``model.params`` of ``mlp`` (``tfrec.models.mlp.MLP``).

    Attributes:
      mlp_embedding_dim: size of each of the user and item embeddings. Default 32.
      hidden_units: the ReLU tower's layer sizes. Default [32, 16, 8].
      (and those of :class:`SampledNegativesParams`)
    """

    mlp_embedding_dim: int = Field(32, ge=1)
    hidden_units: List[int] = [32, 16, 8]


class NeuMFParams(GMFParams, MLPParams):
    """``model.params`` of ``neumf`` (``tfrec.models.neumf.NeuMF``): the keys of :class:`GMFParams` (its GMF
    part) and :class:`MLPParams` (its MLP part), and

    Attributes:
      pretrain: first train a ``gmf`` and an ``mlp`` of these sizes with this model's l2, init and
        negatives, then start from their weights. Default false.
      pretrain_gmf: ``training`` settings of the GMF stage (keys of a train config's ``training``
        section); unset keys: the ``training`` defaults, except seed, strategy, steps_per_execution,
        jit_compile, mixed_precision, cache and verbose, which follow this run. Default {}.
      pretrain_mlp: likewise for the MLP stage. Default {}.
      alpha: weight of the GMF part in the pre-trained output layer. Default 0.5 (the paper).
      (and those of :class:`SampledNegativesParams`)
    """

    pretrain: bool = False
    pretrain_gmf: Dict[str, Any] = {}
    pretrain_mlp: Dict[str, Any] = {}
    alpha: float = Field(0.5, ge=0, le=1)


class SampledNegativesTask(Task):
    """Base of the families trained on positives and sampled negatives (gmf, mlp, neumf, bpr).

    ``setup`` makes the run's one :class:`NegativeSampler` over the training positives (fit and
    validation rows: a validation positive is never a fit negative), seeded from NumPy's global
    generator, which the Trainer seeds with ``training.seed``. ``examples`` draws the negatives of a
    split; ``train_dataset`` redraws the fit negatives every epoch (``resample_negatives``).
    """

    kind = "ranking"
    monitor = "val_auc"
    mode = "max"

    def setup(self, params, run):
        seed = int(np.random.randint(0, 2**31 - 1))  # from training.seed (the Trainer seeds NumPy first)
        run.extra["sampler"] = NegativeSampler(run.vocab.seen_matrix(), seed=seed)
        run.extra["num_negatives"] = params["num_negatives"]
        run.extra["resample_negatives"] = params["resample_negatives"]

    def positives(self, run, frame):
        """[n] int32 user and item indices of the rows of ``frame`` (unknown ids dropped)."""
        u, i = run.indices(frame)
        keep = (u != OOV_INDEX) & (i != OOV_INDEX)
        return u[keep].astype(np.int32), i[keep].astype(np.int32)

    def draw(self, run, users, items):
        """One epoch of (features, labels) for the positive pairs ``users``/``items``: fresh negatives."""
        u, i, y = run.extra["sampler"].training_examples(users, items, run.extra["num_negatives"])
        return {"user_idx": u, "item_idx": i}, y

    def examples(self, run, frame, split):
        users, items = self.positives(run, frame)
        if split == "fit":
            run.extra["fit_positives"] = (users, items)
        return self.draw(run, users, items)

    def train_dataset(self, run, x, y, batch_size, config, *, shuffle_buffer, repeat, drop_remainder):
        if not run.extra.get("resample_negatives", False):
            return super().train_dataset(run, x, y, batch_size, config, shuffle_buffer=shuffle_buffer, repeat=repeat,
                                         drop_remainder=drop_remainder)
        if repeat:
            raise ConfigError(f"model {self.name!r} draws its negatives afresh every epoch, which parameter-server "
                              "training cannot do (its workers repeat one dataset); set model.params."
                              "resample_negatives: false or another training.strategy.",
                              key="model.params.resample_negatives", source=config.source)
        from tfrec.training import data

        users, items = run.extra["fit_positives"]
        return data.epoch_dataset((x, y), lambda: self.draw(run, users, items), batch_size,
                                  drop_remainder=drop_remainder)

    def algorithm(self, model, run):
        return KerasPairAlgorithm(model, run.vocab, predicts_ratings=False, name=self.name)


class _NCFTask(SampledNegativesTask):
    """Shared compile of the NCF models: log loss on logits, AUC."""

    mixed_precision = True

    def compile(self, model, optimizer, config):
        import tensorflow as tf

        model.compile(
            optimizer=optimizer,
            loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
            metrics=[tf.keras.metrics.AUC(name="auc", from_logits=True)],
            jit_compile=config.training.jit_compile,
            steps_per_execution=config.training.steps_per_execution,
        )


class GMFTask(_NCFTask):
    """``gmf``: generalized matrix factorization (``tfrec.models.gmf.GMF``), log loss with sampled negatives."""

    name = "gmf"
    params_schema = GMFParams

    def build_model(self, params, run):
        from tfrec.models.gmf import GMF

        return GMF(run.vocab.n_users, run.vocab.n_items, embedding_dim=params["mf_dim"], l2=params["l2"],
                   init_stddev=params["init_stddev"])


class MLPTask(_NCFTask):
    """``mlp``: the NCF multi-layer perceptron (``tfrec.models.mlp.MLP``), log loss with sampled negatives."""

    name = "mlp"
    params_schema = MLPParams

    def build_model(self, params, run):
        from tfrec.models.mlp import MLP

        return MLP(run.vocab.n_users, run.vocab.n_items, embedding_dim=params["mlp_embedding_dim"],
                   hidden_units=list(params["hidden_units"]), l2=params["l2"], init_stddev=params["init_stddev"])


#: training keys a pre-training stage takes from its run unless set (how and where it runs, not what it learns)
_INHERITED = ("seed", "strategy", "steps_per_execution", "jit_compile", "mixed_precision", "cache", "verbose")


class NeuMFTask(_NCFTask):
    """``neumf``: GMF and MLP fused (``tfrec.models.neumf.NeuMF``), optionally started from a trained GMF and MLP."""

    name = "neumf"
    params_schema = NeuMFParams

    def check_params(self, params, fail):
        out = validate_params(self.params_schema, self.name, params, fail)
        for key in ("pretrain_gmf", "pretrain_mlp"):
            stage = out.get(key) or {}
            if stage and not out.get("pretrain"):
                fail(f"model.params.{key}", f"config key 'model.params.{key}' is set but model.params.pretrain is "
                                            "false; set pretrain: true to train that stage, or remove it.")
            unknown = sorted(set(stage) - set(TrainingConfig.model_fields))
            if unknown:
                fail(f"model.params.{key}.{unknown[0]}",
                     f"unknown config key 'model.params.{key}.{unknown[0]}': a pre-training stage takes the keys of "
                     f"a train config's training section: {', '.join(sorted(TrainingConfig.model_fields))}.")
        return out

    def pretrain_stages(self, params, config):
        if not params["pretrain"]:
            return {}
        run_training = config.to_dict(tuning=False)["training"]
        inherited = {k: run_training[k] for k in _INHERITED if k in run_training}
        stages = {}
        for part, schema in (("gmf", GMFParams), ("mlp", MLPParams)):
            stage_params = {k: params[k] for k in schema.model_fields}
            stages[part] = {"model": {"name": part, "params": stage_params},
                            "training": {**inherited, **params[f"pretrain_{part}"]}}
        return stages

    def build_model(self, params, run):
        from tfrec.models.neumf import NeuMF

        model = NeuMF(run.vocab.n_users, run.vocab.n_items, mf_dim=params["mf_dim"],
                      mlp_embedding_dim=params["mlp_embedding_dim"], hidden_units=list(params["hidden_units"]),
                      l2=params["l2"], init_stddev=params["init_stddev"])
        if params["pretrain"]:
            stages = run.extra["pretrained"]
            model.load_pretrained(stages["gmf"], stages["mlp"], alpha=params["alpha"])
        return model
