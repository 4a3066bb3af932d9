"""The session families of the one registry on real rsc15 slices: gru4rec through the Trainer (train,
SavedModel round trip, beats popularity) and the closed-form baselines (session_popularity,
successor_rule, session_knn) evaluated by the same code; data.fit_validation."""

import json

import numpy as np
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.config import ConfigError
from tfrec.recommenders.session_baselines import SessionKNN, SessionPopularity, SuccessorRule
from tfrec.training.config import from_dict
from tfrec.training.data import prepare_sessions
from tfrec.training.families.registry import get_task
from tfrec.training.trainer import Trainer, load_run

ROWS = 8000  # the first clicks of train_full: a few hundred sessions


def _config(path, run_dir, model, **sections):
    raw = {"data": {"path": str(path), "format": "sessions", "max_rows": ROWS},
           "model": model, "evaluation": {"k": [20]},
           "output": {"run_dir": str(run_dir), "tensorboard": False, "backup": False}}
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return from_dict(raw)


@pytest.fixture(scope="module")
def gru4rec_run(rsc15_path, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "gru4rec"
    config = _config(rsc15_path, run_dir, {"name": "gru4rec", "params": {"layers": [16], "n_sample": 32}},
                     training={"epochs": 2, "batch_size": 16, "optimizer": "adagrad", "learning_rate": 0.1,
                               "optimizer_params": {"initial_accumulator_value": 0.0, "epsilon": 1e-6},
                               "steps_per_execution": 16, "verbose": 0, "seed": 3},
                     output={"saved_model": True})
    return Trainer(config, log=lambda _line: None).fit(), run_dir


def test_gru4rec_trains_through_the_trainer(gru4rec_run):
    result, run_dir = gru4rec_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["model"] == "gru4rec" and metrics["epochs_completed"] == 2
    assert all(np.isfinite(h["loss"]) for h in metrics["history"])
    assert metrics["history"][1]["loss"] < metrics["history"][0]["loss"]
    # params.seed None: the network follows training.seed
    assert result.model.net.seed == 3
    assert metrics["final_source"].endswith("GRU4RecTask.evaluate") and metrics["final"]["n_queries"] > 100


def test_gru4rec_saved_model_reload_gives_the_same_scores(gru4rec_run):
    result, run_dir = gru4rec_run
    seqs = tf.constant([[0, 5, 2], [7, -1, -1], [3, 3, 1]], tf.int32)
    want = result.model(seqs).numpy()
    loaded = tf.keras.models.load_model(str(run_dir / "model" / "saved_model"))
    np.testing.assert_allclose(loaded(seqs).numpy(), want, rtol=1e-5, atol=1e-5)
    rebuilt = load_run(run_dir).model  # build.json + weights
    np.testing.assert_allclose(rebuilt(seqs).numpy(), want, rtol=1e-5, atol=1e-5)


def test_gru4rec_beats_session_popularity_on_the_same_data(gru4rec_run, rsc15_path, tmp_path):
    result, _ = gru4rec_run
    pop = Trainer(_config(rsc15_path, tmp_path / "pop", {"name": "session_popularity"}), log=lambda _l: None).fit()
    assert result.final["n_queries"] == pop.final["n_queries"]
    assert result.final["recall@20"] > pop.final["recall@20"] + 0.1, (result.final, pop.final)


@pytest.mark.parametrize("name,cls", [("session_popularity", SessionPopularity), ("successor_rule", SuccessorRule),
                                      ("session_knn", SessionKNN)])
def test_session_baselines_through_the_registry(name, cls, rsc15_path, tmp_path):
    config = _config(rsc15_path, tmp_path / name, {"name": name}, data={"fit_validation": True})
    result = Trainer(config, log=lambda _line: None).fit()
    run = prepare_sessions(config)
    want = cls().fit(run.fit).evaluate_sessions(run.test, k=20)  # the same fit clicks, fitted directly
    assert result.final == pytest.approx(want)
    metrics = json.loads((tmp_path / name / "metrics.json").read_text())
    assert metrics["closed_form"] and metrics["history"] == [] and metrics["train_examples_per_epoch"] == len(run.fit)
    assert not (tmp_path / name / "model").exists()
    with pytest.raises(ValueError, match=f"a run of '{name}', fitted in closed form: it has no trained model"):
        load_run(tmp_path / name)
    assert (tmp_path / name / "vocab" / "items.txt").read_text().splitlines() == list(run.item_ids)


def test_session_baseline_params_are_checked():
    assert get_task("successor_rule").create({"popularity_tiebreak": False}).popularity_tiebreak is False
    with pytest.raises(ValueError, match="Did you mean 'model.params.popularity_tiebreak'"):
        get_task("successor_rule").create({"popularity_tiebrake": False})


def test_fit_validation_trains_on_the_whole_training_log(rsc15_path, tmp_path):
    split = prepare_sessions(_config(rsc15_path, tmp_path, {"name": "successor_rule"}))
    full = prepare_sessions(_config(rsc15_path, tmp_path, {"name": "successor_rule"}, data={"fit_validation": True}))
    assert full.fit.equals(full.train) and full.train.equals(split.train) and len(split.fit) < len(full.fit)
    assert full.val.equals(split.val)  # still reported every epoch, but trained on
    assert set(split.val["SessionId"]) <= set(full.fit["SessionId"]) and len(full.item_ids) > len(split.item_ids)


def test_fit_validation_with_early_stopping_is_refused(rsc15_path, tmp_path):
    with pytest.raises(ConfigError, match="training.early_stopping.enabled: false"):
        _config(rsc15_path, tmp_path, {"name": "gru4rec"}, data={"fit_validation": True})
    with pytest.raises(ConfigError, match="restore_best"):
        _config(rsc15_path, tmp_path, {"name": "gru4rec"}, data={"fit_validation": True},
                training={"early_stopping": {"enabled": False}})


def test_fit_validation_is_refused_for_rating_data(ml100k_path):
    with pytest.raises(ConfigError, match="'data.fit_validation' applies to session click logs only; model 'mf'"):
        from_dict({"data": {"path": str(ml100k_path), "fit_validation": True}, "model": {"name": "mf"}})
    # a schema-only config (no family checks) is refused by the data preparation itself
    config = from_dict({"data": {"path": str(ml100k_path)}, "model": {"name": "mf"}})
    config.data.fit_validation = True
    with pytest.raises(ValueError, match="data.fit_validation applies to session click logs"):
        get_task("mf").prepare(config)


def test_session_baseline_on_rating_data_is_refused(ml100k_path):
    config = from_dict({"data": {"path": str(ml100k_path)}, "model": {"name": "successor_rule"}})
    with pytest.raises(ValueError, match="model 'successor_rule' trains on session click logs"):
        get_task("successor_rule").prepare(config)


def test_bench_config_checks_and_names_its_rows(capsys):
    from pathlib import Path

    from tfrec.cli.main import main

    path = Path(__file__).resolve().parents[1] / "configs" / "bench" / "gru4rec_rsc15_100k.yaml"
    assert main(["bench", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    for row in ("popularity", "successor_rule", "sknn", "gru4rec (cross-entropy)", "gru4rec (bpr-max)", "gru4rec (top1-max)"):
        assert f"rows: {row}\n" in out
