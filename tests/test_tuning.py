"""Hyperparameter search: search-space mapping, a rerun that continues, the best config file."""

import json

import pytest

import tfrec  # noqa: F401
from tfrec.training import from_dict, load_config
from tfrec.training.tuner import build_hyperparameters, trial_overrides, tune


def _tune_config(ml100k_path, directory, max_trials, algorithm="random"):
    return from_dict({
        "data": {"path": str(ml100k_path), "max_rows": 2000, "validation_ratio": 0.2},
        "model": {"name": "mf", "params": {"embedding_dim": 4}},
        "training": {"epochs": 1, "batch_size": 256, "verbose": 0},
        "output": {"tensorboard": False},
        "tuner": {"algorithm": algorithm, "max_trials": max_trials, "directory": str(directory), "max_epochs": 2},
        "search_space": {
            "training.learning_rate": {"type": "float", "min": 1e-3, "max": 1e-1, "sampling": "log"},
            "model.params.embedding_dim": {"type": "int", "min": 2, "max": 8, "step": 2},
            "model.params.use_bias": {"type": "bool"},
            "training.optimizer": {"type": "choice", "values": ["adam", "adagrad"]},
        },
    })


def test_search_space_maps_to_keras_tuner_hyperparameters(tmp_path, ml100k_path):
    cfg = _tune_config(ml100k_path, tmp_path, 1)
    hp = build_hyperparameters(cfg.search_space)
    by_name = {h.name: h for h in hp.space}
    lr = by_name["training.learning_rate"]
    assert (lr.min_value, lr.max_value, lr.sampling) == (1e-3, 1e-1, "log")
    dim = by_name["model.params.embedding_dim"]
    assert (dim.min_value, dim.max_value, dim.step) == (2, 8, 2)
    assert list(by_name["training.optimizer"].values) == ["adam", "adagrad"]
    # list-valued choices travel as encoded strings and come back as lists
    space = from_dict({"model": {"name": "neumf"}, "search_space": {
        "model.params.hidden_units": {"type": "choice", "values": [[8, 4], [16, 8]]}}}).search_space
    hp2 = build_hyperparameters(space)
    assert trial_overrides(hp2.values) == {"model.params.hidden_units": [8, 4]}
    # hyperband's epoch budget sets training.epochs
    assert trial_overrides({"tuner/epochs": 3, "tuner/initial_epoch": 0, "tuner/round": 0}) == {"training.epochs": 3}


def test_rerun_continues_from_completed_trials(tmp_path, ml100k_path):
    first = tune(_tune_config(ml100k_path, tmp_path / "search", 2), log=lambda m: None, quiet_trials=True)
    assert first["trials_run"] == 2
    assert [r["status"] for r in first["rows"]] == ["COMPLETED", "COMPLETED"]
    second = tune(_tune_config(ml100k_path, tmp_path / "search", 3), log=lambda m: None, quiet_trials=True)
    assert second["trials_run"] == 1  # the two completed trials were not run again
    rows = second["rows"]
    assert len(rows) == 3
    scores = [r["val_rmse"] for r in rows]
    assert scores == sorted(scores)  # results table sorted by the objective (min)
    done = {r["trial"]: r["val_rmse"] for r in first["rows"]}
    assert all(r["val_rmse"] == done[r["trial"]] for r in rows if r["trial"] in done)

    # best_config.yaml is a ready training config holding the best trial's values
    best_path = second["paths"]["best_config"]
    best = load_config(best_path)
    assert best.search_space == {}
    for key, value in trial_overrides(second["tuner"].get_best_hyperparameters(1)[0].values).items():
        assert best.get(key) == pytest.approx(value), key
    assert best.get("training.learning_rate") == pytest.approx(rows[0]["training.learning_rate"])
    results = json.loads(second["paths"]["results_json"].read_text())
    assert results["objective"] == "val_rmse" and results["direction"] == "min"
    assert len(results["trials"]) == 3


def test_changed_search_space_is_refused(tmp_path, ml100k_path):
    from tfrec.training.config import ConfigError

    cfg = _tune_config(ml100k_path, tmp_path / "s", 1)
    tune(cfg, log=lambda m: None, quiet_trials=True)
    changed = cfg.replace({})
    changed.search_space["training.learning_rate"].max = 0.5
    with pytest.raises(ConfigError, match=r"started with another search_space.*tuner.overwrite"):
        tune(changed, log=lambda m: None, quiet_trials=True)


def test_tune_without_search_space_is_an_error(tmp_path, ml100k_path):
    from tfrec.training.config import ConfigError

    cfg = _tune_config(ml100k_path, tmp_path, 1)
    cfg.search_space = {}
    with pytest.raises(ConfigError, match=r"has no search_space section"):
        tune(cfg, log=lambda m: None)
