"""Model families the trainer knows: how each one gets its data, model, loss and evaluation.

A family is a :class:`Task` registered in ``TASKS`` under the name used by ``model.name``. It says:

* ``defaults``: the builder's parameters and their defaults (``model.params`` may set only these;
  an unknown name is reported with the closest valid one, a wrong type with the expected type);
* :meth:`Task.prepare`: load and split the data (``training.data.prepare``);
* :meth:`Task.examples`: (features dict, labels) arrays of a frame;
* :meth:`Task.build`: the Keras model (called inside the strategy scope);
* :meth:`Task.compile`: loss and metrics; ``monitor``/``mode`` give the default early-stopping metric;
* :meth:`Task.algorithm`: the trained model as a ``tfrec.evaluation.Algorithm`` for the final evaluation.

Importing this module does not import TensorFlow. To add a family, subclass :class:`Task` and add
it to ``TASKS``.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import pandas as pd

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.recommenders.base import Algorithm

Fail = Callable[[str, str], None]


def _type_ok(default: Any, value: Any) -> Tuple[bool, Any]:
    """Whether ``value`` fits the type of ``default`` (ints widen to floats; tuples accept lists)."""
    if default is None:
        return True, value
    if isinstance(default, bool):
        return isinstance(value, bool), value
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool), value
    if isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple)), list(value) if isinstance(value, (list, tuple)) else value
    return isinstance(value, type(default)), value


_KIND_NAMES = {bool: "a boolean", int: "an integer", float: "a number (float)", str: "a string",
               list: "a list", tuple: "a list", dict: "a mapping"}


class Task:
    """Base class of a model family (see the module docstring).

    Attributes:
      name: registry name.
      kind: "rating" (predicts ratings: RMSE/MAE), "ranking" (scores user-item pairs) or "retrieval".
      defaults: builder parameters and their defaults.
      monitor: default early-stopping / tuning metric (a Keras log name).
      mode: "min" or "max" for ``monitor``.
      mixed_precision: the family's model supports ``mixed_float16``; otherwise it is built in float32.
    """

    name = "task"
    kind = "rating"
    defaults: Dict[str, Any] = {}
    monitor = "val_loss"
    mode = "min"
    mixed_precision = False

    def check_params(self, params: Dict[str, Any], fail: Fail) -> Dict[str, Any]:
        """Validates ``model.params`` and returns them merged over the defaults."""
        out = dict(self.defaults)
        for key, value in params.items():
            dotted = f"model.params.{key}"
            if key not in self.defaults:
                close = difflib.get_close_matches(key, list(self.defaults), n=1)
                hint = f" Did you mean 'model.params.{close[0]}'?" if close else ""
                fail(dotted, f"unknown config key {dotted!r} for model {self.name!r}.{hint} "
                             f"Valid parameters: {', '.join(sorted(self.defaults))}.")
            ok, value = _type_ok(self.defaults[key], value)
            if not ok:
                want = _KIND_NAMES.get(type(self.defaults[key]), type(self.defaults[key]).__name__)
                fail(dotted, f"config key {dotted!r} expects {want}, got {type(value).__name__} {value!r}.")
            out[key] = value
        return out

    # -- data -------------------------------------------------------------------------------------
    def prepare(self, config):
        from tfrec.training import data

        return data.prepare(config)

    def examples(self, run, frame: pd.DataFrame, split: str) -> Tuple[Dict[str, np.ndarray], Optional[np.ndarray]]:
        raise NotImplementedError

    def setup(self, params: Dict[str, Any], run) -> None:
        """Called once after :meth:`prepare` and before :meth:`examples` (keeps data-side parameters)."""

    # -- model ------------------------------------------------------------------------------------
    def build_model(self, params: Dict[str, Any], run):
        """The (unbuilt) Keras model; called inside the strategy scope, before :meth:`examples`."""
        raise NotImplementedError

    def compile(self, model, optimizer, config) -> None:
        raise NotImplementedError

    def algorithm(self, model, run) -> Algorithm:
        raise NotImplementedError

    # -- run folder and final evaluation (defaults: MovieLens user-item data) -------------------------
    #: the examples must keep their order (no shuffling, one replica): session-parallel steps
    ordered = False

    def describe_data(self, run) -> str:
        """One log line about the prepared data."""
        return (f"{run.path} protocol {run.protocol.describe()}: {len(run.fit)} fit / {len(run.val)} validation "
                f"/ {len(run.test)} test rows; {run.vocab.n_users} users, {run.vocab.n_items} items")

    def write_vocab(self, run, folder) -> None:
        """Writes ``vocab/users.txt`` and ``vocab/items.txt`` (line i = model index i)."""
        from tfrec.training import data

        data.write_vocab(run.vocab, folder)

    def evaluate(self, model, run, config) -> Optional[Dict[str, Any]]:
        """Test metrics of the trained model; None = the trainer's evaluator (``tfrec.evaluation``) on
        :meth:`algorithm`."""
        return None

    # -- warm start (``training.warm_start``; CTR families only) ------------------------------------
    def check_warm_start(self, params: Dict[str, Any], training, fail: Fail) -> None:
        """Config check of ``training.warm_start`` for this family (``params``: checked ``model.params``)."""
        fail("training.warm_start", f"config key 'training.warm_start' ({training.warm_start!r}) is supported only by "
                                    f"the CTR families dcn and deepfm with model.params.task: ctr; model "
                                    f"{self.name!r} cannot be warm-started. Remove training.warm_start.")

    def warm_start(self, model, run, config, sample: Dict[str, np.ndarray]) -> Dict[str, Any]:
        """Trains the warm-start model and copies it into the built ``model``; returns facts for metrics.json."""
        raise NotImplementedError(f"model {self.name!r} has no warm start")

    def freeze_linear(self, model) -> None:
        """Makes the copied first-order weights non-trainable (``training.freeze_linear``)."""
        raise NotImplementedError(f"model {self.name!r} has no warm start")


def _write_ids(folder, users, items) -> None:
    """``users.txt`` / ``items.txt`` for data without users (or items): one raw id per line."""
    import os
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, ids in (("users.txt", users), ("items.txt", items)):
        tmp = folder / f".{name}.tmp"
        tmp.write_text("".join(f"{i}\n" for i in ids))
        os.replace(tmp, folder / name)


def _import(path: str):
    module, attr = path.split(":")
    return getattr(importlib.import_module(module), attr)


class KerasPairAlgorithm(Algorithm):
    """A trained model that scores (user_idx, item_idx) pairs, as an evaluation ``Algorithm``.

    ``fit`` does not train: it checks that the evaluator's training data has the vocabulary the
    model was trained with (same users and items, same order) and keeps it.

    Args:
      model: a Keras model taking ``{"user_idx", "item_idx"}`` [batch] int32 -> [batch] scores.
      vocab: the run's :class:`TrainingData`.
      predicts_ratings: scores are ratings (RMSE/MAE apply).
      name: table name.
      batch_size: pairs per model call.
    """

    def __init__(self, model, vocab: TrainingData, predicts_ratings: bool, name: str, batch_size: int = 65536):
        super().__init__()
        self.model = model
        self.vocab = vocab
        self.predicts_ratings = predicts_ratings
        self.name = name
        self.batch_size = batch_size
        self._call = None

    def fit(self, data: TrainingData) -> "KerasPairAlgorithm":
        if not (np.array_equal(data.user_ids, self.vocab.user_ids) and np.array_equal(data.item_ids, self.vocab.item_ids)):
            raise ValueError(
                "The evaluation's training data has another vocabulary than the trained model "
                f"({data.n_users} users / {data.n_items} items vs {self.vocab.n_users} / {self.vocab.n_items}); "
                "evaluate with the same training split the model was trained on."
            )
        self.data = data
        return self

    def _pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        if self._call is None:
            model = self.model
            self._call = tf.function(lambda u, i: tf.cast(model({"user_idx": u, "item_idx": i}, training=False),
                                                          tf.float32), reduce_retracing=True)
        out = np.empty(len(users), np.float32)
        for s in range(0, len(users), self.batch_size):
            u = tf.constant(users[s: s + self.batch_size], tf.int32)
            i = tf.constant(items[s: s + self.batch_size], tf.int32)
            out[s: s + self.batch_size] = np.reshape(self._call(u, i).numpy(), [-1])
        return out

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self._pairs(np.asarray(users, np.int32), np.asarray(items, np.int32))

    def score(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users, np.int32)
        n_items = self.vocab.n_items
        grid_u = np.repeat(users, n_items)
        grid_i = np.tile(np.arange(n_items, dtype=np.int32), len(users))
        return self._pairs(grid_u, grid_i).reshape(len(users), n_items)


# ------------------------------------------------------------------------------------------------
# Matrix factorization (explicit ratings)


class MFTask(Task):
    """Biased matrix factorization on ratings (``tfrec.models.mf.MatrixFactorization``), MSE loss.

    Examples are ``{"user_idx", "item_idx"}`` int32 -> rating float32; ``global_mean`` is the mean
    rating of the fit rows. Metrics: rmse, mae; early stopping on ``val_rmse``.
    """

    name = "mf"
    kind = "rating"
    defaults = {"embedding_dim": 64, "l2": 1e-4, "use_bias": True, "init_stddev": 0.05}
    monitor = "val_rmse"
    mode = "min"
    model_path = "tfrec.models.mf:MatrixFactorization"

    def examples(self, run, frame, split):
        u, i = run.indices(frame)
        y = frame[run.vocab.columns.rating].to_numpy(np.float32)
        return {"user_idx": u, "item_idx": i}, y

    def build_model(self, params, run):
        mean = float(run.fit[run.vocab.columns.rating].astype(np.float64).mean())
        return _import(self.model_path)(num_users=run.vocab.n_users, num_items=run.vocab.n_items, global_mean=mean,
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


# ------------------------------------------------------------------------------------------------
# Neural collaborative filtering (implicit feedback with sampled negatives)


class NCFTask(Task):
    """NeuMF / GMF / MLP (``tfrec.models.ncf``) on implicit feedback, log loss with sampled negatives.

    Every observed interaction is a positive (label 1); ``num_negatives`` items the user did not
    interact with in training are drawn per positive (seeded, once per run) as label-0 examples.
    Metric: AUC on validation positives against the same number of sampled negatives.
    """

    name = "ncf"
    kind = "ranking"
    defaults = {"variant": "neumf", "mf_dim": 8, "mlp_embedding_dim": 32, "hidden_units": [32, 16, 8],
                "l2": 0.0, "init_stddev": 0.01, "num_negatives": 4}
    monitor = "val_auc"
    mode = "max"
    mixed_precision = True

    def check_params(self, params, fail):
        out = super().check_params(params, fail)
        if out["variant"] not in ("neumf", "gmf", "mlp"):
            fail("model.params.variant", f"config key 'model.params.variant' expects one of 'neumf', 'gmf', 'mlp', "
                                         f"got {out['variant']!r}.")
        if out["num_negatives"] < 1:
            fail("model.params.num_negatives", "config key 'model.params.num_negatives' must be >= 1, got "
                                               f"{out['num_negatives']}.")
        return out

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
        from tfrec.models import neumf as ncf  # holds GMF, MLP and NeuMF

        p = dict(params)
        p.pop("num_negatives")
        variant = p.pop("variant")
        n_u, n_i = run.vocab.n_users, run.vocab.n_items
        if variant == "gmf":
            return ncf.GMF(n_u, n_i, embedding_dim=p["mf_dim"], l2=p["l2"], init_stddev=p["init_stddev"])
        if variant == "mlp":
            return ncf.MLP(n_u, n_i, embedding_dim=p["mlp_embedding_dim"], hidden_units=list(p["hidden_units"]),
                           l2=p["l2"], init_stddev=p["init_stddev"])
        return ncf.NeuMF(n_u, n_i, **p)

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


# ------------------------------------------------------------------------------------------------
# Two-tower retrieval (TFRS in-batch softmax)


class TwoTowerTask(Task):
    """Two-tower retrieval (``tfrec.models.retrieval.TwoTowerRetrieval``, a ``tfrs.Model``).

    Parameters are those of ``TwoTowerRecommender`` that shape the model (feature lists or presets
    "movielens_user"/"movielens_item", embedding size, tower MLP, temperature, hard negatives, ...);
    optimizer, learning rate, epochs and batch size come from ``training``. Feature layers are adapted
    on the training rows; examples are encoded once. Every training interaction (rated at least
    ``data.min_rating`` if set) is a positive; the loss is the in-batch softmax; early stopping on
    ``val_loss``. The final evaluation scores the whole catalog (``query @ candidates.T``).
    """

    name = "two_tower"
    kind = "retrieval"
    defaults = {"query_features": None, "candidate_features": None, "embedding_dim": 32, "hidden_units": None,
                "dropout": 0.0, "temperature": None, "num_hard_negatives": None, "remove_accidental_hits": False,
                "logq_correction": False, "l2_normalize": False}
    monitor = "val_loss"
    mode = "min"

    def prepare(self, config):
        from tfrec.training import data

        threshold = config.data.min_rating
        rating = "user_rating"
        keep = None if threshold is None else (lambda f: f[f[rating] >= threshold])
        return data.prepare(config, row_filter=keep)

    def build_model(self, params, run):
        from tfrec.data.side_features import training_frame
        from tfrec.recommenders.two_tower import TwoTowerRecommender

        class _Trained(TwoTowerRecommender):
            """The trainer's model as an evaluation Algorithm: ``fit`` only indexes the catalog."""

            def fit(self, data):
                if not (np.array_equal(data.user_ids, run.vocab.user_ids)
                        and np.array_equal(data.item_ids, run.vocab.item_ids)):
                    raise ValueError("The evaluation's training data has another vocabulary than the trained model.")
                self.data = data
                self._index(data)
                return self

        rec = _Trained(**params, name=self.name)
        qspec, cspec = rec._specs(run.vocab)
        full = training_frame(run.vocab, qspec.columns, cspec.columns)
        if params["logq_correction"]:
            popularity = run.vocab.item_popularity().astype(np.float64)
            full = full.copy()
            full["candidate_sampling_probability"] = (popularity / popularity.sum())[full["item_idx"].to_numpy()]
        model = rec.build_model(run.vocab, full)
        rec.model = model
        run.extra.update(recommender=rec, full_frame=full, logq=params["logq_correction"])
        return model

    def examples(self, run, frame, split):
        model = run.extra["recommender"].model
        rows = run.extra["full_frame"].iloc[frame.index.to_numpy()]
        out = {}
        for layer in (model.query_tower.feature_layer, model.candidate_tower.feature_layer):
            out.update({k: np.asarray(v) for k, v in layer.encode_frame(rows).items()})
        if run.extra["logq"]:
            out["candidate_sampling_probability"] = rows["candidate_sampling_probability"].to_numpy(np.float32)
        return out, None

    def compile(self, model, optimizer, config):
        model.compile(optimizer=optimizer, jit_compile=config.training.jit_compile,
                      steps_per_execution=config.training.steps_per_execution)

    def algorithm(self, model, run):
        rec = run.extra["recommender"]
        rec.model = model
        return rec


# ------------------------------------------------------------------------------------------------
# Feature models: the TFRS ranking MLP, DCN, DeepFM (rating or click prediction from features)


def _encoded(layer, rows) -> Dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in layer.encode_frame(rows).items()}


class RankingTask(Task):
    """Rating prediction from user/item (side) features with an MLP (``tfrec.models.ranking.RankingModel``).

    Feature layers are adapted on the training rows and examples encoded once; MSE loss, ``rmse``
    metric, early stopping on ``val_rmse``. Predictions are clipped to the training rating range
    in the final evaluation.
    """

    name = "ranking"
    kind = "rating"
    defaults = {"user_features": None, "item_features": None, "embedding_dim": 32, "hidden_units": [256, 64],
                "dropout": 0.0, "clip": True}
    monitor = "val_rmse"
    mode = "min"

    def build_model(self, params, run):
        from tfrec.features import FeatureLayer, FeatureSpec
        from tfrec.data.side_features import entity_frame, training_frame
        from tfrec.features.presets import resolve_features
        from tfrec.models.ranking import RankingModel
        from tfrec.recommenders.ranking import PairScorer as _PairScorer, RankingRecommender

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

        class _Trained(RankingRecommender):
            def fit(self, data):
                if not (np.array_equal(data.user_ids, vocab.user_ids) and np.array_equal(data.item_ids, vocab.item_ids)):
                    raise ValueError("The evaluation's training data has another vocabulary than the trained model.")
                self.data, self.rating_range_ = data, rating_range
                self._scorer = _PairScorer(self.model, layer, uspec.names, ispec.names,
                                           entity_frame(data, "user", uspec.columns),
                                           entity_frame(data, "item", ispec.columns))
                return self

        rec = _Trained(user_features=params["user_features"], item_features=params["item_features"],
                       embedding_dim=params["embedding_dim"], hidden_units=params["hidden_units"],
                       dropout=params["dropout"], clip=params["clip"], name=self.name)
        run.extra.update(recommender=rec, full_frame=full, layer=layer, label=label)
        return model

    def examples(self, run, frame, split):
        rows = run.extra["full_frame"].iloc[frame.index.to_numpy()]
        return _encoded(run.extra["layer"], rows), rows[run.extra["label"]].to_numpy(np.float32)

    def compile(self, model, optimizer, config):
        model.compile(optimizer=optimizer, jit_compile=config.training.jit_compile,
                      steps_per_execution=config.training.steps_per_execution)

    def algorithm(self, model, run):
        rec = run.extra["recommender"]
        rec.model = model
        return rec


#: arguments of ``tfrec.models.ctr.criteo_features`` (checked here without importing TensorFlow)
_CRITEO_FEATURE_ARGS = ("numeric", "num_buckets", "min_count", "hash_bins", "missing_indicator", "numeric_columns",
                        "categorical_columns")


class CTRTask(Task):
    """DCN-V2 / DeepFM / FM / logistic regression (``tfrec.models.ctr.build_model``) on MovieLens or Criteo.

    MovieLens (ratings with side features): ``task: rating`` predicts ratings (MSE, ``val_rmse``);
    ``task: ctr`` predicts ``rating >= positive_threshold`` (log loss, ``val_auc``). ``features`` is a
    list of feature dicts (default: user and item ids plus the MovieLens side features present).

    Criteo (``data.format: criteo``, a CTR table; ``task`` must be ``ctr``): fixed seeded split
    (``training.data.prepare_criteo``), features ``features`` or ``criteo_features`` (the arguments
    of ``tfrec.models.ctr.criteo_features``: numeric transform, buckets, ``min_count``); the feature
    layers are adapted on the fit rows only; early stopping on ``val_auc``; the final evaluation is
    AUC and log loss of the test rows (``tfrec.metrics``).

    ``model_params`` are the model's own parameters (``cross_layers``, ``deep_layers``, ``dropout``,
    ``embedding_l2``, ``table_l2``, ...; see ``build_model``).

    ``training.warm_start: lr`` (dcn, deepfm; task ctr): :meth:`warm_start` trains a logistic regression
    on the fit rows with the same spec and adapted layers and starts the model as it
    (``tfrec.models.ctr.warm_start_from_lr``); ``training.freeze_linear``: :meth:`freeze_linear`.
    """

    kind = "rating"
    defaults = {"task": "rating", "features": None, "embedding_dim": 16, "model_params": {},
                "positive_threshold": 4.0, "criteo_features": {}}
    monitor = "val_rmse"
    mode = "min"
    mixed_precision = True

    def __init__(self, name: str):
        self.name = name

    def check_params(self, params, fail):
        out = super().check_params(params, fail)
        if out["task"] not in ("rating", "ctr"):
            fail("model.params.task", f"config key 'model.params.task' expects 'rating' or 'ctr', got {out['task']!r}.")
        unknown = sorted(set(out["criteo_features"]) - set(_CRITEO_FEATURE_ARGS))
        if unknown:
            fail("model.params.criteo_features", f"config key 'model.params.criteo_features' has unknown key(s) "
                                                 f"{unknown}; valid: {', '.join(_CRITEO_FEATURE_ARGS)}.")
        return out

    def prepare(self, config):
        from tfrec.training import data

        if data.detect_format(config) == "criteo":
            if config.model.params.get("task", "rating") != "ctr":
                raise ValueError(f"model {self.name!r} on a Criteo table needs model.params.task: ctr (the labels are "
                                 f"clicks), got {config.model.params.get('task')!r}.")
            return data.prepare_criteo(config)
        return data.prepare(config)

    @staticmethod
    def _is_table(run) -> bool:
        from tfrec.training.data import TableRunData

        return isinstance(run, TableRunData)

    def build_model(self, params, run):
        if self._is_table(run):
            return self._build_table_model(params, run)
        from tfrec.features import FeatureSpec
        from tfrec.models.ctr_builder import build_model, feature_layers as _feature_layers
        from tfrec.models.feature_interaction import initial_bias
        from tfrec.recommenders.ctr import CTRRecommender

        vocab = run.vocab

        class _Trained(CTRRecommender):
            def fit(self, data):
                if not (np.array_equal(data.user_ids, vocab.user_ids) and np.array_equal(data.item_ids, vocab.item_ids)):
                    raise ValueError("The evaluation's training data has another vocabulary than the trained model.")
                self.data = data
                self._build_lookup(self._full_frame(data).copy(), data.columns)
                return self

        rec = _Trained(model=self.name, task=params["task"], features=params["features"],
                       embedding_dim=params["embedding_dim"], model_params=params["model_params"],
                       positive_threshold=params["positive_threshold"], name=self.name)
        full = rec._full_frame(vocab).copy()
        full["__label__"] = rec._labels(full, vocab.columns)
        rec.spec = FeatureSpec.from_config(rec._spec(full, vocab.columns))
        fit_rows = full.iloc[run.fit.index.to_numpy()]
        model = build_model(self.name, rec.spec, full, task=params["task"], embedding_dim=params["embedding_dim"],
                            initial_bias=initial_bias(fit_rows["__label__"], params["task"]), **params["model_params"])
        run.extra.update(recommender=rec, full_frame=full, layer=_feature_layers(model)[0])
        return model

    def _build_table_model(self, params, run):
        from tfrec.models.ctr_builder import build_model, criteo_features, feature_layers as _feature_layers
        from tfrec.models.feature_interaction import initial_bias

        spec = params["features"] or criteo_features(**params["criteo_features"])
        # the feature layers adapt on the fit rows only (vocabularies, min_count, quantiles, mean/std)
        model = build_model(self.name, spec, run.fit, task="ctr", embedding_dim=params["embedding_dim"],
                            initial_bias=initial_bias(run.fit[run.label], "ctr"), **params["model_params"])
        run.extra.update(layer=_feature_layers(model)[0], spec=spec, adapt_frame=run.fit)
        return model

    # -- warm start from a logistic regression (training.warm_start: lr) ---------------------------------
    #: model_params that make the model start as its first-order part, and their builder defaults
    _WARM_KEYS = {"dcn": {"first_order": False, "zero_init_top": False},
                  "deepfm": {"first_order": True, "zero_init_top": False, "fm_gate": False}}

    def check_warm_start(self, params, training, fail):
        if self.name not in self._WARM_KEYS:
            why = ("its pairwise FM term has no gate to start at zero, so it cannot start as the LR; use deepfm "
                   "with model_params.fm_gate: true, or dcn" if self.name == "fm" else "it is the LR itself")
            fail("training.warm_start", f"config key 'training.warm_start' ({training.warm_start!r}) is not supported "
                                        f"for model {self.name!r}: {why}. Warm starts: dcn, deepfm (task ctr).")
        if params.get("task") != "ctr":
            fail("training.warm_start", f"config key 'training.warm_start' ({training.warm_start!r}) needs "
                                        f"model.params.task: ctr (a logistic regression on clicks), got "
                                        f"{params.get('task')!r}.")
        model_params = params.get("model_params") or {}
        missing = [k for k, default in self._WARM_KEYS[self.name].items() if model_params.get(k, default) is not True]
        if missing:
            keys = ", ".join(f"model.params.model_params.{k}" for k in missing)
            fail("model.params.model_params",
                 f"training.warm_start: lr needs {keys} set to true for model {self.name!r} (missing: "
                 f"{', '.join(missing)}): the model must start as the LR (first-order term, interaction outputs "
                 "starting at zero).")

    def _warm_frames(self, run):
        """(spec, frame the feature layers adapted on, labelled fit rows, labelled val rows, label column)."""
        if self._is_table(run):
            return run.extra["spec"], run.extra["adapt_frame"], run.fit, run.val, run.label
        full = run.extra["full_frame"]
        return (run.extra["recommender"].spec, full, full.iloc[run.fit.index.to_numpy()],
                full.iloc[run.val.index.to_numpy()], "__label__")

    def warm_start(self, model, run, config, sample):
        """Trains the logistic regression of ``training.warm_start_lr`` and starts ``model`` as it.

        The LR has the model's feature spec, adapted on the same rows (same vocabularies and buckets:
        checked by ``warm_start_from_lr``); it trains on the fit rows (shuffled with ``training.seed``)
        and early-stops on the validation loss, as ``benchmarks/ctr_criteo10k.py`` trains its LR row.
        ``model`` must be built; its first-order weights and bias become the LR's and its interaction
        outputs zero. Returns the LR's epochs, validation loss and the max abs difference of the two
        models' predictions on ``sample`` (0 up to float error).
        """
        import tensorflow as tf

        from tfrec.features import frame_to_dataset
        from tfrec.models.ctr_builder import build_model, feature_layers as _feature_layers, warm_start_from_lr
        from tfrec.models.feature_interaction import initial_bias
        from tfrec.recommenders.ctr_fit import fit_model

        ws = config.training.warm_start_lr
        spec, adapt, fit, val, label = self._warm_frames(run)
        policy = tf.keras.mixed_precision.global_policy()
        tf.keras.mixed_precision.set_global_policy("float32")  # the LR as the benchmark trains it
        try:
            tf.keras.utils.set_random_seed(config.training.seed)
            lr = build_model("logreg", spec, adapt, task="ctr", embedding_dim=1,
                             initial_bias=initial_bias(fit[label], "ctr"), embedding_l2=ws.embedding_l2)
            layers = _feature_layers(lr)
            ds = frame_to_dataset(fit, layers, label=label, batch_size=ws.batch_size, shuffle=True,
                                  seed=config.training.seed, encoder=layers[0])
            val_ds = frame_to_dataset(val, layers, label=label, batch_size=8192, encoder=layers[0])
            info = fit_model(lr, ds, val_ds, epochs=ws.epochs, learning_rate=ws.learning_rate, patience=ws.patience)
        finally:
            tf.keras.mixed_precision.set_global_policy(policy)
        warm_start_from_lr(model, lr, sample=sample)
        diff = float(np.abs(np.reshape(model(sample, training=False).numpy(), [-1]).astype(np.float64)
                            - np.reshape(lr(sample, training=False).numpy(), [-1])).max())
        hist = info["history"]
        best = info["best_epoch"]
        return {"lr_epochs": info["epochs"], "lr_best_epoch": best,
                "lr_val_loss": float(hist["val_loss"][best - 1]) if best else None,
                "max_abs_diff": diff, "n_sample": int(len(next(iter(sample.values()))))}

    def freeze_linear(self, model):
        model.linear_layer.trainable = False

    def examples(self, run, frame, split):
        if self._is_table(run):
            return _encoded(run.extra["layer"], frame), frame[run.label].to_numpy(np.float32)
        rows = run.extra["full_frame"].iloc[frame.index.to_numpy()]
        return _encoded(run.extra["layer"], rows), rows["__label__"].to_numpy(np.float32)

    def compile(self, model, optimizer, config):
        model.compile(optimizer=optimizer, jit_compile=config.training.jit_compile,
                      steps_per_execution=config.training.steps_per_execution)

    def algorithm(self, model, run):
        rec = run.extra["recommender"]
        rec.model = model
        return rec

    # -- Criteo tables: no users or items; AUC and log loss of the test rows ----------------------------
    def describe_data(self, run):
        return run.describe() if self._is_table(run) else super().describe_data(run)

    def write_vocab(self, run, folder):
        if self._is_table(run):
            _write_ids(folder, [], [])  # no user or item ids: vocabularies live in the feature layers
        else:
            super().write_vocab(run, folder)

    def evaluate(self, model, run, config):
        if not self._is_table(run):
            return None
        from tfrec import metrics as M
        from tfrec.training.data import make_dataset

        x, y = self.examples(run, run.test, "test")
        ds = make_dataset(x, None, 4096, cache=False)
        prob = np.reshape(model.predict(ds, verbose=0), [-1]).astype(np.float64)
        return {"auc": float(M.auc(y, prob)), "log_loss": float(M.log_loss(y, prob)), "n_test": int(len(y)),
                "test_ctr": float(np.mean(y))}


# ------------------------------------------------------------------------------------------------
# AutoRec (rating vectors of items or users)


class AutoRecTask(Task):
    """I-AutoRec / U-AutoRec (``tfrec.models.autorec``) on MovieLens ratings; masked MSE + weight decay.

    ``based_on: item`` (default, I-AutoRec): one example per item, its vector of fit ratings over the
    users (0 = unobserved); ``user``: one per user. Validation: the same rows' fit vectors as input,
    scored on the validation ratings (``training.autorec.AutoRecWithTargets``); early stopping on
    ``val_rmse``. ``training.batch_size`` is rows per step (the paper trains full-batch: set it to the
    number of rows). The final evaluation (``tfrec.evaluation``: rmse, mae, ranking@k) reconstructs
    each row from all training ratings (fit + validation), predictions clipped to the training range.
    """

    name = "autorec"
    kind = "rating"
    defaults = {"based_on": "item", "hidden_units": 500, "l2": 100.0}
    monitor = "val_rmse"
    mode = "min"

    def check_params(self, params, fail):
        out = super().check_params(params, fail)
        if out["based_on"] not in ("item", "user"):
            fail("model.params.based_on", "config key 'model.params.based_on' expects 'item' or 'user', got "
                                          f"{out['based_on']!r}.")
        return out

    def setup(self, params, run):
        run.extra["based_on"] = params["based_on"]

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

        rows, inputs = ((run.vocab.n_items, run.vocab.n_users) if params["based_on"] == "item"
                        else (run.vocab.n_users, run.vocab.n_items))
        return AutoRecWithTargets(inputs, params["hidden_units"], params["l2"], num_rows=rows)

    def compile(self, model, optimizer, config):
        model.compile(optimizer=optimizer, jit_compile=config.training.jit_compile,
                      steps_per_execution=config.training.steps_per_execution)

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


# ------------------------------------------------------------------------------------------------
# Session-based next-item recommendation (GRU4Rec on click logs)


class GRU4RecTask(Task):
    """GRU4Rec (``tfrec.models.gru4rec``) on session click logs, trained session-parallel.

    Data: ``data.format: sessions`` (``training.data.prepare_sessions``: test = the held-out last day,
    validation = the training sessions of the last ``session_days``). ``training.batch_size`` is the
    number of parallel sessions; one Keras step is one session-parallel step
    (``training.session.SessionParallelGRU4Rec``); examples keep their order. Parameters: the
    network's (``layers``, ``embedding``, ``constrained_embedding``, dropouts) and the loss's
    (``loss``, ``n_sample``, ``sample_alpha``, ``bpreg``, ``elu_param``, ``logq``); the optimizer is
    ``training.optimizer`` (GRU4Rec uses ``adagrad``). Early stopping on ``val_mrr_at_<k>`` (``k``
    param, default 20; also ``val_recall_at_<k>``); the final evaluation ranks each test click's
    successor against ALL items (``GRU4RecRecommender.evaluate_sessions``): ``recall@k``, ``mrr@k``
    for every ``evaluation.k``.
    """

    name = "gru4rec"
    kind = "session"
    defaults = {"layers": [100], "loss": "cross-entropy", "n_sample": 2048, "sample_alpha": 0.75, "bpreg": 1.0,
                "elu_param": 0.5, "logq": 0.0, "dropout_p_embed": 0.0, "dropout_p_hidden": 0.0,
                "constrained_embedding": True, "embedding": 0, "seed": 0, "k": 20}
    monitor = "val_mrr_at_20"
    mode = "max"
    ordered = True

    def check_params(self, params, fail):
        out = super().check_params(params, fail)
        if out["loss"] not in ("cross-entropy", "bpr-max", "top1-max"):
            fail("model.params.loss", "config key 'model.params.loss' expects one of 'cross-entropy', 'bpr-max', "
                                      f"'top1-max', got {out['loss']!r}.")
        if not out["layers"] or any(not isinstance(u, int) or u <= 0 for u in out["layers"]):
            fail("model.params.layers", f"config key 'model.params.layers' expects a list of positive integers, got "
                                        f"{out['layers']!r}.")
        return out

    def prepare(self, config):
        from tfrec.training import data

        fmt = data.detect_format(config)
        if fmt != "sessions":
            raise ValueError(f"model 'gru4rec' trains on session click logs (data.format: sessions); the data of "
                             f"{config.data.path or config.data.dataset!r} reads as {fmt!r}.")
        run = data.prepare_sessions(config)
        run.extra.update(batch_size=config.training.batch_size)
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

    def compile(self, model, optimizer, config):
        model.compile(optimizer=optimizer, jit_compile=config.training.jit_compile,
                      steps_per_execution=config.training.steps_per_execution)

    def describe_data(self, run):
        return run.describe()

    def write_vocab(self, run, folder):
        _write_ids(folder, [], run.item_ids)

    def evaluate(self, model, run, config):
        import pandas as pd

        from tfrec.recommenders.gru4rec import GRU4RecRecommender

        net = model.net
        rec = GRU4RecRecommender(layers=net.layer_sizes)
        rec.model, rec.item_ids, rec._item_lookup = net, run.item_ids, pd.Index(run.item_ids)
        final: Dict[str, Any] = {}
        for k in config.evaluation.k:
            final.update(rec.evaluate_sessions(run.test, k=k))
        return final


def _monitor_of(task: Task, params: Dict[str, Any]) -> Tuple[str, str]:
    """(monitor, mode) of a family given its parameters (CTR families monitor AUC in ctr mode)."""
    if isinstance(task, CTRTask) and params.get("task") == "ctr":
        return "val_auc", "max"
    if isinstance(task, GRU4RecTask):
        return f"val_mrr_at_{params.get('k', 20)}", "max"
    return task.monitor, task.mode



TASKS: Dict[str, Task] = {t.name: t for t in (MFTask(), NCFTask(), TwoTowerTask(), RankingTask(), CTRTask("dcn"),
                                              CTRTask("deepfm"), CTRTask("fm"), CTRTask("logreg"),
                                              AutoRecTask(), GRU4RecTask())}


def monitor_of(name: str, params: Dict[str, Any]) -> Tuple[str, str]:
    """(default monitor, mode) of family ``name`` with ``params``."""
    return _monitor_of(get_task(name), params)


def available() -> list:
    """Sorted names of the registered model families."""
    return sorted(TASKS)


def get_task(name: str) -> Task:
    """The family registered as ``name``.

    Raises:
      ValueError: unknown name (lists the valid ones and the closest match).
    """
    if name not in TASKS:
        close = difflib.get_close_matches(str(name), list(TASKS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown model {name!r}.{hint} Valid models: {', '.join(available())}.")
    return TASKS[name]
