"""The rating and CTR families (mf, ranking, dcn, deepfm, fm, logreg) through the registry and the Trainer.

Each builds, trains one epoch on a MovieLens slice and exports a SavedModel that reloads with the same
predictions; click models report AUC / log loss; context features come from the scored rows.
"""

import json

import numpy as np
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.training.config import from_dict
from tfrec.training.families.registry import get_task
from tfrec.training.trainer import Trainer

FEATURES = [{"name": "user_id", "kind": "categorical"}, {"name": "movie_id", "kind": "categorical"},
            {"name": "user_gender", "kind": "categorical"}, {"name": "year", "kind": "numeric",
                                                             "transform": "bucketize", "num_buckets": 4},
            {"name": "timestamp", "kind": "timestamp", "num_buckets": 4}]

PARAMS = {
    "mf": {"embedding_dim": 4},
    "ranking": {"embedding_dim": 4, "hidden_units": [8]},
    "dcn": {"embedding_dim": 4, "features": FEATURES, "model_params": {"cross_layers": 1, "deep_layers": [8]}},
    "deepfm": {"embedding_dim": 4, "features": FEATURES, "model_params": {"deep_layers": [8]}},
    "fm": {"embedding_dim": 4, "features": FEATURES},
    "logreg": {"embedding_dim": 1, "features": FEATURES},
}


def _train(ml100k_path, run_dir, name, params, **extra):
    config = from_dict({
        "data": {"path": str(ml100k_path), "max_rows": 1500, "protocol": "random"},
        "model": {"name": name, "params": params},
        "training": {"epochs": 1, "batch_size": 256, "verbose": 0},
        "evaluation": {"ranking": False},
        "output": {"run_dir": str(run_dir), "tensorboard": False, "backup": False},
        **extra,
    })
    return Trainer(config, log=lambda _line: None).fit()


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_family_trains_and_its_saved_model_reloads_with_the_same_predictions(name, ml100k_path, tmp_path):
    result = _train(ml100k_path, tmp_path / name, name, PARAMS[name])
    assert result.metrics["model"] == name and len(result.history) == 1
    assert 0.5 < result.final["rmse"] < 2.0  # a rating model on the 1..5 scale
    x, _ = get_task(name).examples(result.run, result.run.val, "val")
    x = {k: v[:64] for k, v in x.items()}
    expected = np.reshape(result.model(x, training=False).numpy(), [-1])
    loaded = tf.keras.models.load_model(str(tmp_path / name / "model" / "saved_model"), compile=False)
    np.testing.assert_allclose(np.reshape(loaded(x, training=False).numpy(), [-1]), expected, rtol=1e-5, atol=1e-5)


def test_click_model_reports_auc_and_log_loss(ml100k_path, tmp_path):
    result = _train(ml100k_path, tmp_path / "dcn", "dcn", {**PARAMS["dcn"], "task": "ctr"},
                    output={"run_dir": str(tmp_path / "dcn"), "saved_model": False, "tensorboard": False})
    final = json.loads((tmp_path / "dcn" / "metrics.json").read_text())["final"]
    assert 0.0 < final["auc"] < 1.0 and final["log_loss"] > 0.0
    assert "rmse" not in final and "ndcg@10" not in final  # evaluation.ranking: false
    algo = get_task("dcn").algorithm(result.model, result.run)
    assert algo.click_threshold == 4.0 and not algo.predicts_ratings


def test_context_features_come_from_the_scored_rows(ml100k_path, tmp_path):
    result = _train(ml100k_path, tmp_path / "fm", "fm", PARAMS["fm"],
                    output={"run_dir": str(tmp_path / "fm"), "saved_model": False, "tensorboard": False})
    algo = get_task("fm").algorithm(result.model, result.run)
    algo.fit(result.run.vocab)
    rows = result.run.test.iloc[:200]
    users, items = result.run.indices(rows)
    median = np.full(len(rows), algo._context["timestamp"])
    # rows at the training median time score as predict() (which fills the median); their own times differ
    np.testing.assert_allclose(algo.predict_rows(rows.assign(timestamp=median), users, items),
                               algo.predict(users, items), rtol=1e-6)
    assert not np.allclose(algo.predict_rows(rows, users, items), algo.predict(users, items))
