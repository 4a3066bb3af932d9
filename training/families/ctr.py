"""The CTR / feature families ``dcn``, ``deepfm``, ``fm``, ``logreg`` (``tfrec.models.ctr_builder``), with their LR warm start."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional

import numpy as np
from pydantic import field_validator

from tfrec.training.families.base import Task, encoded_features, write_ids
from tfrec.training.families.params import FamilyParams

__all__ = ["CRITEO_FEATURE_ARGS", "CTRParams", "CTRTask", "fit_lr"]

#: arguments of ``tfrec.models.ctr_builder.criteo_features`` (checked here without importing TensorFlow)
CRITEO_FEATURE_ARGS = ("numeric", "num_buckets", "min_count", "hash_bins", "missing_indicator", "numeric_columns",
                       "categorical_columns")


class CTRParams(FamilyParams):
    """``model.params`` of ``dcn``, ``deepfm``, ``fm`` and ``logreg``.

    Attributes:
      task: "rating" (predict ratings, MSE) or "ctr" (predict ``rating >= positive_threshold``, or
        the clicks of a Criteo table; log loss). Default "rating".
      features: feature dicts, or None (MovieLens: user and item ids plus the side features
        present; Criteo: ``criteo_features``). Default None.
      embedding_dim: per-feature embedding size. Default 16.
      model_params: the model's own arguments (``cross_layers``, ``deep_layers``, ``dropout``,
        ``embedding_l2``, ``table_l2``, ...; see ``tfrec.models.ctr_builder.build_model``). Default {}.
      positive_threshold: rating at or above which a MovieLens row is a click (task ctr). Default 4.0.
      criteo_features: arguments of ``tfrec.models.ctr_builder.criteo_features`` (numeric transform,
        buckets, ``min_count``, ...). Default {}.
    """

    task: Literal["rating", "ctr"] = "rating"
    features: Optional[List[Dict[str, Any]]] = None
    embedding_dim: int = 16
    model_params: Dict[str, Any] = {}
    positive_threshold: float = 4.0
    criteo_features: Dict[str, Any] = {}

    @field_validator("criteo_features")
    @classmethod
    def _known_criteo_arguments(cls, value: Dict[str, Any]) -> Dict[str, Any]:
        unknown = sorted(set(value) - set(CRITEO_FEATURE_ARGS))
        if unknown:
            raise ValueError(f"has unknown key(s) {unknown}; valid: {', '.join(CRITEO_FEATURE_ARGS)}")
        return value


class CTRTask(Task):
    """DCN-V2 / DeepFM / FM / logistic regression (``tfrec.models.ctr_builder.build_model``) on MovieLens or Criteo.

    MovieLens (ratings with side features): ``task: rating`` predicts ratings (MSE, ``val_rmse``);
    ``task: ctr`` predicts ``rating >= positive_threshold`` (log loss, ``val_auc``). ``features`` is a
    list of feature dicts (default: user and item ids plus the MovieLens side features present).

    CTR tables (``data.format: criteo``, or ``ctr`` with the columns of ``data.ctr``; ``task`` must be
    ``ctr``): fixed seeded split
    (``training.data.prepare_criteo``), features ``features`` or ``criteo_features`` (the arguments
    of ``tfrec.models.ctr_builder.criteo_features``: numeric transform, buckets, ``min_count``); the feature
    layers are adapted on the fit rows only; early stopping on ``val_auc``; the final evaluation is
    AUC and log loss of the test rows (``tfrec.metrics``).

    ``model_params`` are the model's own parameters (``cross_layers``, ``deep_layers``, ``dropout``,
    ``embedding_l2``, ``table_l2``, ...; see ``build_model``).

    ``training.warm_start: lr`` (dcn, deepfm; task ctr): :meth:`warm_start` trains a logistic regression
    on the fit rows with the same spec and adapted layers and starts the model as it
    (``tfrec.models.ctr_builder.warm_start_from_lr``); ``training.freeze_linear``: :meth:`freeze_linear`.
    """

    kind = "rating"
    params_schema = CTRParams
    monitor = "val_rmse"
    mode = "min"
    mixed_precision = True

    def __init__(self, name: str):
        self.name = name

    def monitor_for(self, params):
        """``val_auc`` (max) with ``task: ctr``, else ``val_rmse`` (min)."""
        return ("val_auc", "max") if params.get("task") == "ctr" else (self.monitor, self.mode)

    def prepare(self, config):
        from tfrec.training import data

        fmt = data.detect_format(config)
        if fmt in ("criteo", "ctr"):
            if config.model.params.get("task", "rating") != "ctr":
                raise ValueError(f"model {self.name!r} on a CTR table ({fmt}) needs model.params.task: ctr (the "
                                 f"labels are clicks), got {config.model.params.get('task')!r}.")
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
        from tfrec.models.ctr_builder import build_model, feature_layers
        from tfrec.models.feature_interaction import initial_bias
        from tfrec.recommenders.ctr import CTRRecommender

        vocab = run.vocab

        class _Trained(CTRRecommender):
            def fit(self, data):
                if not (np.array_equal(data.user_ids, vocab.user_ids) and np.array_equal(data.item_ids, vocab.item_ids)):
                    raise ValueError("The evaluation's training data has another vocabulary than the trained model.")
                return super().fit(data)

        rec = _Trained(model=self.name, task=params["task"], features=params["features"],
                       embedding_dim=params["embedding_dim"], model_params=params["model_params"],
                       positive_threshold=params["positive_threshold"], name=self.name)
        full = rec._full_frame(vocab).copy()
        full["__label__"] = rec._labels(full, vocab.columns)
        rec.label_range_ = (float(full["__label__"].min()), float(full["__label__"].max()))  # clip range
        rec.spec = FeatureSpec.from_config(rec.default_spec(full, vocab.columns))
        fit_rows = full.iloc[run.fit.index.to_numpy()]
        model = build_model(self.name, rec.spec, full, task=params["task"], embedding_dim=params["embedding_dim"],
                            initial_bias=initial_bias(fit_rows["__label__"], params["task"]), **params["model_params"])
        run.extra.update(recommender=rec, full_frame=full, layer=feature_layers(model)[0])
        return model

    def _build_table_model(self, params, run):
        from tfrec.models.ctr_builder import build_model, criteo_features, feature_layers
        from tfrec.models.feature_interaction import initial_bias

        # the table's own columns (Criteo's I1..I13 / C1..C26, or those of data.ctr) unless named there
        spec = params["features"] or criteo_features(**{"numeric_columns": run.numeric,
                                                        "categorical_columns": run.categorical,
                                                        **params["criteo_features"]})
        # the feature layers adapt on the fit rows only (vocabularies, min_count, quantiles, mean/std)
        model = build_model(self.name, spec, run.fit, task="ctr", embedding_dim=params["embedding_dim"],
                            initial_bias=initial_bias(run.fit[run.label], "ctr"), **params["model_params"])
        run.extra.update(layer=feature_layers(model)[0], spec=spec, adapt_frame=run.fit)
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
        and early-stops on the validation loss (:func:`fit_lr`).
        ``model`` must be built; its first-order weights and bias become the LR's and its interaction
        outputs zero. Returns the LR's epochs, validation loss and the max abs difference of the two
        models' predictions on ``sample`` (0 up to float error).
        """
        import tensorflow as tf

        from tfrec.features import frame_to_dataset
        from tfrec.models.ctr_builder import build_model, feature_layers, warm_start_from_lr
        from tfrec.models.feature_interaction import initial_bias

        ws = config.training.warm_start_lr
        spec, adapt, fit, val, label = self._warm_frames(run)
        policy = tf.keras.mixed_precision.global_policy()
        tf.keras.mixed_precision.set_global_policy("float32")  # the LR as the benchmark trains it
        try:
            tf.keras.utils.set_random_seed(config.training.seed)
            lr = build_model("logreg", spec, adapt, task="ctr", embedding_dim=1,
                             initial_bias=initial_bias(fit[label], "ctr"), embedding_l2=ws.embedding_l2)
            layers = feature_layers(lr)
            ds = frame_to_dataset(fit, layers, label=label, batch_size=ws.batch_size, shuffle=True,
                                  seed=config.training.seed, encoder=layers[0])
            val_ds = frame_to_dataset(val, layers, label=label, batch_size=8192, encoder=layers[0])
            info = fit_lr(lr, ds, val_ds, epochs=ws.epochs, learning_rate=ws.learning_rate, patience=ws.patience)
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
            return encoded_features(run.extra["layer"], frame), frame[run.label].to_numpy(np.float32)
        rows = run.extra["full_frame"].iloc[frame.index.to_numpy()]
        return encoded_features(run.extra["layer"], rows), rows["__label__"].to_numpy(np.float32)

    def algorithm(self, model, run):
        rec = run.extra["recommender"]
        rec.model = model
        return rec

    # -- Criteo tables: no users or items; AUC and log loss of the test rows ----------------------------
    def describe_data(self, run):
        return run.describe() if self._is_table(run) else super().describe_data(run)

    def write_vocab(self, run, folder):
        if self._is_table(run):
            write_ids(folder, [], [])  # no user or item ids: vocabularies live in the feature layers
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


def fit_lr(lr, train, validation, *, epochs: int, learning_rate: float, patience: int) -> Dict[str, Any]:
    """Trains the warm start's logistic regression: Adam, early stopping on the validation loss, best weights kept.

    Args:
      lr: the ``logreg`` model (``tfrec.models.ctr_builder.build_model``).
      train, validation: batched ``(features, label)`` datasets of the fit and validation rows.
      epochs: maximum epochs; learning_rate: Adam's; patience: epochs without a lower validation loss.

    Returns:
      dict with ``history`` (Keras history dict), ``epochs`` (epochs run) and ``best_epoch`` (1-based).
    """
    import tensorflow as tf

    lr.compile(optimizer=tf.keras.optimizers.Adam(learning_rate))
    stop = tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    hist = lr.fit(train, validation_data=validation, epochs=epochs, callbacks=[stop], verbose=0).history
    return {"history": hist, "epochs": len(hist["loss"]), "best_epoch": int(np.argmin(hist["val_loss"])) + 1}
