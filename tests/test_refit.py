"""``training.refit``: early stopping picks the epoch count, then a fresh model trains on fit + validation rows."""

import json

import numpy as np
import pytest

from tfrec.config import ConfigError
from tfrec.training.config import from_dict
from tfrec.training.trainer import Trainer

ROWS = 3000  # 2400 training rows (random 80/20), 480 of them carved for validation (ratio 0.2)


def _raw(ml100k_path, run_dir, **training):
    return {
        "data": {"path": str(ml100k_path), "max_rows": ROWS, "protocol": "random", "validation_ratio": 0.2},
        "model": {"name": "mf", "params": {"embedding_dim": 4}},
        "training": {"epochs": 6, "batch_size": 256, "learning_rate": 0.05, "verbose": 0, "refit": True,
                     "early_stopping": {"patience": 1}, **training},
        "evaluation": {"ranking": False},
        "output": {"run_dir": str(run_dir), "saved_model": False, "tensorboard": False, "backup": False},
    }


@pytest.fixture(scope="module")
def refit_run(ml100k_path, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("refit") / "mf"
    result = Trainer(from_dict(_raw(ml100k_path, run_dir)), log=lambda _line: None).fit()
    return result, run_dir


def test_refit_trains_on_fit_and_validation_rows_for_the_early_stopped_epoch_count(refit_run):
    result, run_dir = refit_run
    first = json.loads((run_dir / "early_stopping" / "metrics.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    epochs = first["best_epoch"] + 1
    assert metrics["refit"]["epochs"] == epochs == metrics["epochs_completed"] == len(result.history)
    assert not metrics["stopped_early"]
    # the early-stopping run fits on 1920 rows (480 carved for validation); the refit on all 2400
    assert first["train_examples_per_epoch"] == 1920
    assert metrics["train_examples_per_epoch"] == 2400
    assert result.run.fit.shape[0] == 2400 and len(result.run.val) == 480


def test_refit_final_metrics_keep_the_early_stopped_model_s(refit_run):
    result, run_dir = refit_run
    first = json.loads((run_dir / "early_stopping" / "metrics.json").read_text())
    final = json.loads((run_dir / "metrics.json").read_text())["final"]
    assert final == result.final
    assert final["rmse_no_refit"] == first["final"]["rmse"]
    assert final["refit_epochs"] == first["best_epoch"] + 1
    assert final["rmse"] != final["rmse_no_refit"]  # another model: trained on more rows


def test_refit_model_is_a_fresh_model_with_the_same_seed(refit_run, ml100k_path, tmp_path):
    """The refit model equals a run started from scratch on fit + validation rows for those epochs."""
    result, _ = refit_run
    epochs = result.metrics["refit"]["epochs"]
    raw = _raw(ml100k_path, tmp_path / "manual", refit=False, epochs=epochs, restore_best=False,
               early_stopping={"enabled": False})
    trainer = Trainer(from_dict(raw), log=lambda _line: None)
    trainer.fit_on_validation = True
    manual = trainer.fit()
    for a, b in zip(result.model.get_weights(), manual.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_refit_needs_early_stopping(ml100k_path, tmp_path):
    with pytest.raises(ConfigError, match="training.refit"):
        from_dict(_raw(ml100k_path, tmp_path / "x", early_stopping={"enabled": False}))
