"""Trainer families beyond MovieLens on tiny real slices: Criteo CTR, GRU4Rec sessions; and their export."""

import json

import numpy as np
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.cli.main import build_parser
from tfrec.export import layout
from tfrec.training.config import from_dict, load_config
from tfrec.training.trainer import Trainer, load_run


def test_example_configs_load():
    for name in ("train_dcn_criteo", "train_gru4rec_rsc15", "train_autorec_ml100k"):
        cfg = load_config(f"configs/{name}.yaml")
        assert cfg.model.name in ("dcn", "gru4rec", "i_autorec")


# ------------------------------------------------------------------------------------------------
# Criteo CTR


@pytest.fixture(scope="module")
def criteo_run(criteo_path, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "dcn_criteo"
    config = from_dict({
        "data": {"path": str(criteo_path), "format": "criteo", "max_rows": 2000, "validation_ratio": 0.1,
                 "test_ratio": 0.1},
        "model": {"name": "dcn", "params": {
            "task": "ctr", "embedding_dim": 4,
            # a few columns keep the graph small (tracing dozens of features costs tens of seconds)
            "criteo_features": {"numeric_columns": ["I1", "I2", "I3"], "categorical_columns": ["C1", "C2", "C6"],
                                "min_count": 2},
            "model_params": {"cross_layers": 1, "deep_layers": [8]}}},
        "training": {"epochs": 1, "batch_size": 256, "learning_rate": 0.01, "verbose": 0},
        "output": {"run_dir": str(run_dir), "saved_model": False, "tensorboard": False},
    })
    result = Trainer(config, log=lambda _line: None).fit()
    return result, run_dir


def test_criteo_run_metrics(criteo_run):
    result, run_dir = criteo_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["monitor"] == "val_auc" and metrics["mode"] == "max"
    assert {"auc", "log_loss", "val_auc", "val_log_loss"} <= set(metrics["history"][0])
    final = metrics["final"]
    assert 0.0 < final["auc"] < 1.0 and final["log_loss"] > 0.0
    assert final["n_test"] == 200  # 2000 rows, 80/10/10
    assert metrics["final_source"].endswith("CTRTask.evaluate")


def test_criteo_split_is_the_benchmark_fixed_split(criteo_path):
    from tfrec.training.data import prepare_criteo

    cfg = from_dict({"data": {"path": str(criteo_path), "format": "criteo"}, "model": {"name": "dcn",
                     "params": {"task": "ctr"}}})
    run = prepare_criteo(cfg)
    order = np.random.default_rng(42).permutation(len(run.frame))  # the benchmark's fixed split
    n_fit, n_val = int(round(0.8 * len(order))), int(round(0.1 * len(order)))
    assert run.fit.index.tolist() == run.frame.index[order[:n_fit]].tolist()
    assert run.test.index.tolist() == run.frame.index[order[n_fit + n_val:]].tolist()
    assert not set(run.fit.index) & set(run.test.index)


def test_criteo_rating_task_is_refused(criteo_path, tmp_path):
    config = from_dict({"data": {"path": str(criteo_path), "format": "criteo"},
                        "model": {"name": "deepfm", "params": {"task": "rating"}},
                        "output": {"run_dir": str(tmp_path / "r")}})
    with pytest.raises(ValueError, match="needs model.params.task: ctr"):
        Trainer(config, log=lambda _line: None).fit()


def test_export_criteo_run_ctr_signature(criteo_run, criteo_path, tmp_path):
    result, run_dir = criteo_run
    base = tmp_path / "models"
    args = build_parser().parse_args(["export", str(run_dir), "--model-base-path", str(base), "--name", "ctr"])
    assert args.func(args) == 0
    assert layout.list_versions(base / "ctr") == [1]
    fn = tf.saved_model.load(str(base / "ctr" / "1")).signatures["serving_default"]
    inputs = fn.structured_input_signature[1]
    assert set(inputs) == {"I1", "I2", "I3", "C1", "C2", "C6"}
    assert inputs["I1"].dtype == tf.float32 and inputs["C1"].dtype == tf.string
    from tfrec.data import load_criteo

    rows = load_criteo(criteo_path / "criteo_sampled_data_10k.csv").frame.iloc[1990:1996]  # includes test rows
    raw = {c: tf.constant(rows[c].to_numpy(np.float32)) for c in ("I1", "I2", "I3")}
    raw.update({c: tf.constant(rows[c].astype(str).to_numpy()) for c in ("C1", "C2", "C6")})
    got = fn(**raw)["probability"].numpy()
    want = np.reshape(result.model(raw, training=False).numpy(), [-1])
    assert got.shape == (6,) and np.all((got > 0) & (got < 1))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    loaded = load_run(run_dir)  # the rebuilt model gives the same probabilities too
    np.testing.assert_allclose(np.reshape(loaded.model(raw).numpy(), [-1]), want, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------------------
# GRU4Rec on session click logs


@pytest.fixture(scope="module")
def gru4rec_run(rsc15_path, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "gru4rec_rsc15"
    config = from_dict({
        "data": {"path": str(rsc15_path), "format": "sessions", "max_rows": 20000},
        "model": {"name": "gru4rec", "params": {"layers": [16], "n_sample": 64, "logq": 1.0}},
        "training": {"epochs": 2, "batch_size": 16, "optimizer": "adagrad", "learning_rate": 0.1,
                     "steps_per_execution": 32, "verbose": 0},
        "evaluation": {"k": [20]},
        "output": {"run_dir": str(run_dir), "saved_model": False, "tensorboard": False},
    })
    result = Trainer(config, log=lambda _line: None).fit()
    return result, run_dir


def test_gru4rec_run_metrics(gru4rec_run):
    result, run_dir = gru4rec_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["monitor"] == "val_mrr_at_20" and metrics["mode"] == "max"
    assert [h["epoch"] for h in metrics["history"]] == [0, 1]
    assert {"loss", "val_loss", "val_recall_at_20", "val_mrr_at_20"} <= set(metrics["history"][0])
    final = metrics["final"]
    assert 0.0 <= final["mrr@20"] <= final["recall@20"] <= 1.0 and final["n_queries"] > 1000
    items = (run_dir / "vocab" / "items.txt").read_text().splitlines()
    assert len(items) == result.model.net.n_items
    # better than random ranking against all items (a random list of 20 hits with probability 20/n_items)
    assert final["recall@20"] > 3 * 20 / len(items)


def test_gru4rec_validation_metric_matches_the_library_protocol(gru4rec_run, rsc15_path):
    """The Keras validation MRR@20 of the best epoch equals GRU4RecScorer.evaluate_sessions on val."""
    from tfrec.recommenders.gru4rec import GRU4RecScorer
    from tfrec.training.families.registry import get_task

    result, run_dir = gru4rec_run
    run = get_task("gru4rec").prepare(load_run(run_dir).config)
    want = GRU4RecScorer(result.model.net, run.item_ids).evaluate_sessions(run.val, k=20)
    assert result.best_value == pytest.approx(want["mrr@20"], rel=1e-4)


def test_export_gru4rec_run_session_signature(gru4rec_run, tmp_path):
    result, run_dir = gru4rec_run
    base = tmp_path / "models"
    args = build_parser().parse_args(["export", str(run_dir), "--model-base-path", str(base), "--name", "next",
                                      "-k", "5"])
    assert args.func(args) == 0
    assert layout.list_versions(base / "next") == [1]
    fn = tf.saved_model.load(str(base / "next" / "1")).signatures["serving_default"]
    assert set(fn.structured_input_signature[1]) == {"item_ids"}
    items = np.asarray(load_run(run_dir).item_ids).astype(str)
    seqs = np.array([[items[0], items[5], items[2]], [items[7], "", ""], ["not-an-item", items[3], ""]], dtype=object)
    got = fn(item_ids=tf.constant(seqs.astype(str)))
    # in-process: the same sequences as indices (-1 = padding / unknown) through the trained network
    idx = np.array([[0, 5, 2], [7, -1, -1], [-1, 3, -1]], np.int32)
    scores = result.model(tf.constant(idx)).numpy()
    for row in range(3):
        order = np.argsort(-scores[row], kind="stable")[:5]
        assert got["item_ids"].numpy()[row].astype(str).tolist() == items[order].tolist()
        np.testing.assert_allclose(got["scores"].numpy()[row], scores[row][order], rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------------------------
# AutoRec


def test_autorec_run(ml100k_path, tmp_path):
    config = from_dict({
        "data": {"path": str(ml100k_path), "max_rows": 5000, "validation_ratio": 0.1},
        "model": {"name": "i_autorec", "params": {"hidden_units": 16, "l2": 1.0}},
        "training": {"epochs": 3, "batch_size": 4096, "learning_rate": 0.01, "verbose": 0},
        "output": {"run_dir": str(tmp_path / "autorec"), "saved_model": False, "tensorboard": False},
    })
    result = Trainer(config, log=lambda _line: None).fit()
    metrics = json.loads((tmp_path / "autorec" / "metrics.json").read_text())
    assert metrics["monitor"] == "val_rmse"
    assert {"loss", "rmse", "val_rmse"} <= set(metrics["history"][0])
    assert 0.5 < metrics["final"]["rmse"] < 3.0 and "ndcg@10" in metrics["final"]
    loaded = load_run(tmp_path / "autorec")
    x = np.zeros((2, result.model.num_inputs), np.float32)
    x[0, :3] = [5.0, 3.0, 1.0]
    np.testing.assert_allclose(loaded.model(x).numpy(), result.model(x).numpy(), rtol=1e-5)


def test_data_format_is_detected_from_the_folder(criteo_path, rsc15_path, ml100k_path):
    from tfrec.training.data import detect_format

    for path, want in ((criteo_path, "criteo"), (rsc15_path, "sessions"), (ml100k_path, "movielens")):
        assert detect_format(from_dict({"data": {"path": str(path)}})) == want


def test_session_split_is_the_published_train_tr_valid(rsc15_path):
    """Validation = train_full sessions ending in its last day: the sample's train_tr / train_valid files."""
    from tfrec.data import load_sessions
    from tfrec.training.data import prepare_sessions

    run = prepare_sessions(from_dict({"data": {"path": str(rsc15_path), "format": "sessions"},
                                      "model": {"name": "gru4rec"}}))
    for frame, name in ((run.fit, "train_tr"), (run.val, "train_valid")):
        published = load_sessions(rsc15_path / f"yoochoose-clicks-100k_{name}.txt")
        assert len(frame) == len(published)
        assert set(frame["SessionId"]) == set(published["SessionId"])
    assert len(run.test) == 13568 and not set(run.test["SessionId"]) & set(run.train["SessionId"])
