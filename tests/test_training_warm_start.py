"""``training.warm_start: lr`` / ``freeze_linear`` in the trainer (CTR families), on a tiny Criteo slice.

The deep model starts as a logistic regression trained first on the same fit rows (as
the Criteo benchmark's LR row trains): its first predictions are the LR's,
``freeze_linear`` keeps the copied first-order weights, the start counts as epoch 0 of early stopping,
and a resumed run reuses the stored start instead of training the LR again.
"""

import json

import numpy as np
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

import tfrec.training.families.ctr as ctr_family
from tfrec.models.logreg import LogisticRegression
from tfrec.training.callbacks import RunRecorder, load_weights_file
from tfrec.training.config import ConfigError, from_dict
from tfrec.training.families.registry import get_task
from tfrec.training.trainer import Trainer


def _config(criteo_path, run_dir, model="dcn", training=None, model_params=None):
    mp = {"cross_layers": 1, "deep_layers": [8], "first_order": True, "zero_init_top": True}
    if model == "deepfm":
        mp = {"deep_layers": [8], "first_order": True, "zero_init_top": True, "fm_gate": True}
    mp.update(model_params or {})
    return {
        "data": {"path": str(criteo_path), "format": "criteo", "max_rows": 2000},
        "model": {"name": model, "params": {
            "task": "ctr", "embedding_dim": 4,
            # a few columns keep the graph small (tracing dozens of features costs tens of seconds)
            "criteo_features": {"numeric": "bucketize", "num_buckets": 5, "min_count": 2,
                                "numeric_columns": ["I1", "I2", "I3"], "categorical_columns": ["C1", "C2", "C6"]},
            "model_params": mp}},
        "training": {"epochs": 2, "batch_size": 256, "learning_rate": 0.01, "verbose": 0,
                     "early_stopping": {"monitor": "val_log_loss", "mode": "min", "patience": 2},
                     "warm_start": "lr", "freeze_linear": True,
                     "warm_start_lr": {"epochs": 3, "learning_rate": 0.01}, **(training or {})},
        "output": {"run_dir": str(run_dir), "saved_model": False, "tensorboard": False},
    }


@pytest.fixture
def captured_lr(monkeypatch):
    """The logistic regressions the warm start trains (``fit_lr`` calls on a LogisticRegression)."""
    models = []
    original = ctr_family.fit_lr

    def spy(model, *args, **kwargs):
        if isinstance(model, LogisticRegression):
            models.append(model)
        return original(model, *args, **kwargs)

    monkeypatch.setattr(ctr_family, "fit_lr", spy)
    return models


# ------------------------------------------------------------------------------------------------
# config errors (at config-check time, naming the key)


@pytest.mark.parametrize("change, key, message", [
    ({"model": {"name": "mf", "params": {}}}, "training.warm_start", r"only by the CTR families.*'mf'"),
    ({"model": {"name": "fm", "params": {"task": "ctr"}}}, "training.warm_start", r"not supported for model 'fm'"),
    ({"model": {"name": "logreg", "params": {"task": "ctr"}}}, "training.warm_start", r"'logreg'"),
    ({"model": {"name": "dcn", "params": {"task": "rating", "model_params": {"first_order": True,
                                                                            "zero_init_top": True}}}},
     "training.warm_start", r"needs model.params.task: ctr"),
    ({"model": {"name": "dcn", "params": {"task": "ctr", "model_params": {"first_order": True}}}},
     "model.params.model_params", r"model.params.model_params.zero_init_top.*missing: zero_init_top"),
    ({"model": {"name": "dcn", "params": {"task": "ctr"}}},
     "model.params.model_params", r"missing: first_order, zero_init_top"),
    ({"model": {"name": "deepfm", "params": {"task": "ctr", "model_params": {"zero_init_top": True}}}},
     "model.params.model_params", r"missing: fm_gate\)"),
    ({"training": {"warm_start": "gbdt"}}, "training.warm_start", r"expects one of 'lr'"),
    ({"training": {"warm_start": None, "freeze_linear": True}}, "training.freeze_linear",
     r"needs training.warm_start: lr"),
    ({"training": {"warm_start_lr": {"epochs": 0}}}, "training.warm_start_lr.epochs", r"must be a positive integer, got 0"),
    ({"training": {"warm_start_lr": {"epoch": 3}}}, "training.warm_start_lr.epoch", r"Did you mean"),
])
def test_warm_start_config_errors(change, key, message):
    raw = {"model": {"name": "dcn", "params": {"task": "ctr", "model_params": {
        "first_order": True, "zero_init_top": True}}}, "training": {"warm_start": "lr", "freeze_linear": True}}
    for section, values in change.items():
        raw[section] = values if section == "model" else {**raw[section], **values}
    with pytest.raises(ConfigError, match=message) as info:
        from_dict(raw, source="x.yaml")
    assert info.value.key == key
    assert str(info.value).startswith("x.yaml: ")


def test_valid_warm_start_configs():
    for model, mp in (("dcn", {"first_order": True, "zero_init_top": True}),
                      ("deepfm", {"zero_init_top": True, "fm_gate": True})):  # deepfm: first_order defaults to true
        cfg = from_dict({"model": {"name": model, "params": {"task": "ctr", "model_params": mp}},
                         "training": {"warm_start": "lr"}})
        assert cfg.training.warm_start == "lr" and cfg.training.freeze_linear is False
        assert cfg.training.warm_start_lr.learning_rate == 3e-3  # LINEAR["logreg"] of the benchmark
        assert (cfg.training.warm_start_lr.embedding_l2, cfg.training.warm_start_lr.epochs,
                cfg.training.warm_start_lr.patience, cfg.training.warm_start_lr.batch_size) == (1e-3, 30, 2, 256)


# ------------------------------------------------------------------------------------------------
# the warm start itself


@pytest.mark.parametrize("model", ["dcn", "deepfm"])
def test_warm_started_model_predicts_the_lr(model, criteo_path, tmp_path, captured_lr):
    cfg = from_dict(_config(criteo_path, tmp_path / "r", model=model))
    task = get_task(model)
    run = task.prepare(cfg)
    params = dict(cfg.model.params)
    deep = task.build_model(params, run)
    x, _ = task.examples(run, run.val, "val")
    deep({k: v[:2] for k, v in x.items()})
    before = deep(x).numpy().ravel()
    info = task.warm_start(deep, run, cfg, x)
    (lr,) = captured_lr
    want = lr(x).numpy().ravel()
    assert np.abs(before - want).max() > 1e-3  # the random start differs from the LR: the copy matters
    np.testing.assert_allclose(deep(x).numpy().ravel(), want, atol=1e-6)
    assert info["max_abs_diff"] < 1e-6 and info["n_sample"] == len(run.val)
    for a, b in zip(deep.linear_layer.get_weights(), lr.linear_layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    # the LR trained on the fit rows with the preprocessing of the deep model (same vocabularies)
    assert lr.linear_layer.adapted_state == deep.linear_layer.adapted_state


def test_freeze_linear_keeps_the_lr_weights_and_start_is_epoch_0(criteo_path, tmp_path, captured_lr):
    run_dir = tmp_path / "frozen"
    result = Trainer(from_dict(_config(criteo_path, run_dir)), log=lambda _line: None).fit()
    (lr,) = captured_lr
    metrics = json.loads((run_dir / "metrics.json").read_text())
    ws = metrics["warm_start"]
    assert ws["max_abs_diff"] < 1e-6 and ws["reused"] is False and ws["freeze_linear"] is True
    assert ws["start_val_log_loss"] > 0
    # the last epoch's weights (not a restored start): the first-order weights are still the LR's...
    assert load_weights_file(result.model, run_dir / "checkpoints", "last")["epoch"] == 1
    for a, b in zip(result.model.linear_layer.get_weights(), lr.linear_layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    # ...while the interaction output moved away from its zero start
    assert np.abs(result.model.top_layer.kernel.numpy()).max() > 0
    assert not any(w is v for w in result.model.trainable_weights for v in result.model.linear_layer.weights)


def test_no_better_epoch_restores_the_lr_start(criteo_path, tmp_path, captured_lr):
    # a learning rate far too large: no epoch beats the LR's validation loss, so the start is kept;
    # without freeze_linear the first-order weights do train (they differ in the last epoch's weights)
    run_dir = tmp_path / "lr_kept"
    raw = _config(criteo_path, run_dir, training={"learning_rate": 3.0, "epochs": 2, "freeze_linear": False})
    result = Trainer(from_dict(raw), log=lambda _line: None).fit()
    (lr,) = captured_lr
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["best_epoch"] == -1 and metrics["best_value"] == pytest.approx(metrics["warm_start"]["start_val_log_loss"])
    assert all(h["val_log_loss"] >= metrics["best_value"] for h in metrics["history"])
    task = get_task("dcn")
    cfg = from_dict(raw)
    run = task.prepare(cfg)
    task.build_model(dict(cfg.model.params), run)  # the feature layer that encodes the examples
    x, y = task.examples(run, run.test, "test")
    np.testing.assert_allclose(result.model(x).numpy().ravel(), lr(x).numpy().ravel(), atol=1e-6)
    from tfrec import metrics as M

    assert result.final["auc"] == pytest.approx(M.auc(y, lr(x).numpy().ravel()), abs=1e-6)
    load_weights_file(result.model, run_dir / "checkpoints", "last")
    changed = [not np.array_equal(a, b) for a, b in zip(result.model.linear_layer.get_weights(),
                                                        lr.linear_layer.get_weights())]
    assert any(changed)


def test_resumed_run_does_not_train_the_lr_again(criteo_path, tmp_path, captured_lr, monkeypatch):
    run_dir = tmp_path / "resumed"
    raw = _config(criteo_path, run_dir, training={"early_stopping": {"enabled": False}})

    class Killed(Exception):
        pass

    original = RunRecorder.on_epoch_end

    def kill_after_first_epoch(self, epoch, logs=None):
        original(self, epoch, logs)
        raise Killed  # after the epoch's BackupAndRestore state is on disk

    monkeypatch.setattr(RunRecorder, "on_epoch_end", kill_after_first_epoch)
    with pytest.raises(Killed):
        Trainer(from_dict(raw), log=lambda _line: None).fit()
    monkeypatch.setattr(RunRecorder, "on_epoch_end", original)
    assert len(captured_lr) == 1 and (run_dir / "warm_start" / "start.npz").exists()
    lr = captured_lr[0]
    lines = []
    result = Trainer(from_dict(raw), log=lines.append).fit()
    assert len(captured_lr) == 1  # no second LR
    assert any("reusing the LR-started weights" in line for line in lines)
    assert result.resumed_from == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["warm_start"]["reused"] is True and metrics["epochs_completed"] == 2
    starts = [e for e in map(json.loads, (run_dir / "events.jsonl").read_text().splitlines())
              if e["event"] == "train_begin"]
    assert [e["initial_epoch"] for e in starts] == [0, 1]
    for a, b in zip(result.model.linear_layer.get_weights(), lr.linear_layer.get_weights()):
        np.testing.assert_array_equal(a, b)  # still frozen at the LR's after the resumed epoch


def test_residual_config_has_the_benchmark_settings():
    from tfrec.config import load_yaml
    from tfrec.training.config import load_config

    bench = load_yaml("configs/dcn_criteo.yaml")  # the DCN row of configs/bench/ctr_criteo10k.yaml
    cfg = load_config("configs/train_dcn_criteo_residual.yaml")
    assert cfg.model.name == bench["model"]["name"] == "dcn"
    for key, value in bench["model"]["params"].items():
        assert cfg.model.params[key] == value, key
    t = bench["training"]
    assert (cfg.training.warm_start, cfg.training.freeze_linear) == (t["warm_start"], t["freeze_linear"]) == ("lr", True)
    for key in ("epochs", "batch_size", "optimizer", "learning_rate"):
        assert getattr(cfg.training, key) == t[key], key
    assert cfg.training.early_stopping.patience == t["early_stopping"]["patience"]
    assert (cfg.data.validation_ratio, cfg.data.test_ratio, cfg.data.seed) == (0.1, 0.1, 42)  # the fixed split
