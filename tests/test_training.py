"""The trainer on a small real slice: run folder, TensorBoard scalars, reload, device errors."""

import json

import numpy as np
import pytest

import tfrec  # noqa: F401
from tfrec.training import DeviceError, RunDirError, Trainer, from_dict, load_run, make_placement


def _tiny_config(ml100k_path, run_dir, **training):
    return from_dict({
        "data": {"path": str(ml100k_path), "max_rows": 3000, "validation_ratio": 0.2},
        "model": {"name": "mf", "params": {"embedding_dim": 4}},
        "training": {"epochs": 2, "batch_size": 256, "learning_rate": 0.01, "verbose": 2, **training},
        "output": {"run_dir": str(run_dir), "saved_model": False},
    })


@pytest.fixture(scope="module")
def tiny_run(ml100k_path, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "mf"
    lines = []
    result = Trainer(_tiny_config(ml100k_path, run_dir), log=lines.append).fit()
    return result, run_dir, lines


def test_run_folder_layout(tiny_run):
    result, run_dir, _ = tiny_run
    for name in ("config.yaml", "metrics.json", "epochs.jsonl", "vocab/users.txt", "vocab/items.txt",
                 "model/build.json", "model/weights.index", "checkpoints/best.json", "checkpoints/last.json"):
        assert (run_dir / name).exists(), name
    assert not (run_dir / "backup" / "chief").exists()  # the backup is removed after a finished run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed"
    assert [h["epoch"] for h in metrics["history"]] == [0, 1]
    assert {"loss", "rmse", "val_loss", "val_rmse"} <= set(metrics["history"][0])
    # the final evaluation ran on the test split through the evaluator
    assert 0.5 < metrics["final"]["rmse"] < 2.0
    assert "ndcg@10" in metrics["final"]
    assert metrics["best_value"] == min(h["val_rmse"] for h in metrics["history"])
    users = (run_dir / "vocab" / "users.txt").read_text().splitlines()
    build = json.loads((run_dir / "model" / "build.json").read_text())
    assert build["config"]["num_users"] == len(users)
    assert users == sorted(users)  # TrainingData's index order


def test_console_progress_lines(tiny_run):
    _, _, lines = tiny_run
    assert any(line.startswith("strategy auto: no GPU found") and "falling back to CPU" in line for line in lines)
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert len(epoch_lines) == 2 and "val_rmse" in epoch_lines[0]


def test_tensorboard_scalars(tiny_run):
    import tensorflow as tf

    _, run_dir, _ = tiny_run
    found = {}
    for split in ("train", "validation"):
        files = list((run_dir / "logs" / split).glob("events.out.tfevents.*"))
        assert files, split
        tags = set()
        for f in files:
            for event in tf.compat.v1.train.summary_iterator(str(f)):
                for value in event.summary.value:
                    tags.add(value.tag)
        found[split] = tags
    assert {"epoch_loss", "epoch_rmse"} <= found["train"]
    assert {"epoch_loss", "epoch_rmse"} <= found["validation"]


def test_load_run_rebuilds_the_model(tiny_run):
    result, run_dir, _ = tiny_run
    loaded = load_run(run_dir)
    inputs = {"user_idx": np.array([0, 1, 2], np.int32), "item_idx": np.array([3, 4, -1], np.int32)}
    np.testing.assert_allclose(loaded.model(inputs).numpy(), result.model(inputs).numpy(), rtol=1e-6)
    assert len(loaded.user_ids) == loaded.model.num_users


def test_completed_run_is_not_silently_retrained(tiny_run, ml100k_path):
    _, run_dir, _ = tiny_run
    with pytest.raises(RunDirError, match=r"already holds a completed run .* --overwrite"):
        Trainer(_tiny_config(ml100k_path, run_dir), log=lambda m: None).fit()


def test_other_config_in_unfinished_run_dir_is_refused(tmp_path, ml100k_path):
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text(_tiny_config(ml100k_path, run_dir).to_yaml(tuning=False))
    (run_dir / "epochs.jsonl").write_text('{"epoch": 0, "loss": 1.0}\n')  # it trained one epoch
    with pytest.raises(RunDirError, match=r"another config \(differs in: training.epochs\)"):
        Trainer(_tiny_config(ml100k_path, run_dir, epochs=3), log=lambda m: None).fit()


def test_gpu_strategy_without_gpu_is_a_clear_error():
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    with pytest.raises(DeviceError, match=r"'gpu' but TensorFlow sees no GPU.*strategy to 'auto'"):
        make_placement("gpu", log=lambda m: None)


def test_multi_worker_without_tf_config_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(DeviceError, match=r"TF_CONFIG environment variable is not set"):
        make_placement("multi_worker", log=lambda m: None)


def test_mixed_precision_on_cpu_warns_and_is_ignored():
    import tensorflow as tf

    from tfrec.training.strategy import set_mixed_precision

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    lines = []
    placement = make_placement("cpu", log=lines.append)
    assert set_mixed_precision(True, placement, log=lines.append) is False
    assert tf.keras.mixed_precision.global_policy().name == "float32"
    assert any("mixed_precision is true but training runs on CPU; ignoring it" in line for line in lines)


def test_rerun_after_kill_during_evaluation_does_not_train_again(tiny_run, ml100k_path):
    # runs last in this module: it rewrites the shared run folder
    result, run_dir, _ = tiny_run
    (run_dir / "metrics.json").unlink()  # as if killed after training, during export/evaluation
    events_before = (run_dir / "events.jsonl").read_text()
    lines = []
    again = Trainer(_tiny_config(ml100k_path, run_dir), log=lines.append).fit()
    assert any("training had already finished" in line for line in lines)
    assert (run_dir / "events.jsonl").read_text() == events_before  # no epoch started
    assert again.history == result.history
    assert again.final["rmse"] == pytest.approx(result.final["rmse"], rel=1e-6)
