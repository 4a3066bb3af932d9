"""The i_autorec, u_autorec and rbm families through the Trainer: the RBM's CD-k step is what trains it
(seeded), and a run's SavedModel reloads to the same predictions."""

import json

import numpy as np
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.training.config import from_dict
from tfrec.training.families import get_task
from tfrec.training.trainer import Trainer, load_run

_RBM = {"n_hidden": 4, "orientation": "item", "initial_momentum": 0.5, "momentum_switch_epoch": 1}
_SGD = {"optimizer": "sgd", "learning_rate": 0.05, "optimizer_params": {"momentum": 0.9}}


def _config(ml100k_path, run_dir, name, params, training, saved_model=False):
    return from_dict({
        "data": {"path": str(ml100k_path), "max_rows": 600, "validation_ratio": 0.2},
        "model": {"name": name, "params": params},
        "training": {"epochs": 1, "verbose": 0, **training},
        "evaluation": {"enabled": False},
        "output": {"run_dir": str(run_dir), "saved_model": saved_model, "tensorboard": False, "backup": False},
    })


def _built_weights(cfg):
    """The RBM as the Trainer builds it (same seed), before any step."""
    tf.keras.utils.set_random_seed(cfg.training.seed)
    task = get_task("rbm")
    run = task.prepare(cfg)
    params = dict(cfg.model.params)
    task.setup(params, run)
    return task.build_model(params, run), run


def test_rbm_trains_by_its_cd_step_in_the_trainer_and_is_seeded(ml100k_path, tmp_path):
    # one step: a batch as large as the number of cases (items)
    cfg = _config(ml100k_path, tmp_path / "a", "rbm", _RBM, {"batch_size": 4096, **_SGD})
    built, run = _built_weights(cfg)
    result = Trainer(cfg, log=lambda _line: None).fit()
    assert result.metrics["monitor"] == "val_rmse" and {"recon_rmse", "cd_k", "val_rmse"} <= set(result.history[0])
    assert int(result.model.optimizer.iterations) == 1
    x = run.extra["fit_classes"]
    assert x.shape == (run.vocab.n_items, run.vocab.n_users)  # items are the cases
    # the one CD-1 step moved every parameter group away from the seeded start
    for before, after in zip((built.W, built.visible_bias, built.hidden_bias),
                             (result.model.W, result.model.visible_bias, result.model.hidden_bias)):
        assert not np.allclose(before.numpy(), after.numpy())
    # the start is the seeded one: visible biases from the fit ratings' frequencies, W from the seed
    again = Trainer(_config(ml100k_path, tmp_path / "b", "rbm", _RBM, {"batch_size": 4096, **_SGD}),
                    log=lambda _line: None).fit()
    np.testing.assert_array_equal(again.model.W.numpy(), result.model.W.numpy())
    np.testing.assert_array_equal(again.model.visible_bias.numpy(), result.model.visible_bias.numpy())


def test_rbm_initial_momentum_with_adam_is_a_clear_error(ml100k_path, tmp_path):
    cfg = _config(ml100k_path, tmp_path / "r", "rbm", _RBM, {"batch_size": 64, "optimizer": "adam"})
    with pytest.raises(ValueError, match="initial_momentum=0.5 needs an SGD optimizer"):
        Trainer(cfg, log=lambda _line: None).fit()


@pytest.mark.parametrize("name, params, training", [
    ("i_autorec", {"hidden_units": 8, "l2": 1.0}, {"batch_size": 4096, "learning_rate": 0.01}),
    ("u_autorec", {"hidden_units": 8, "l2": 1.0}, {"batch_size": 4096, "learning_rate": 0.01}),
    ("rbm", {**_RBM, "orientation": "user"}, {"batch_size": 64, **_SGD}),
])
def test_saved_model_and_run_folder_reload_to_the_same_predictions(ml100k_path, tmp_path, name, params, training):
    cfg = _config(ml100k_path, tmp_path / name, name, params, training, saved_model=True)
    result = Trainer(cfg, log=lambda _line: None).fit()
    metrics = json.loads((tmp_path / name / "metrics.json").read_text())
    assert metrics["notes"] == [] and metrics["model"] == name
    build = json.loads((tmp_path / name / "model" / "build.json").read_text())
    sample = {k: np.asarray(v["values"], v["dtype"]) for k, v in build["sample_inputs"].items()}
    expected = result.model(sample).numpy()
    saved = tf.keras.models.load_model(str(tmp_path / name / "model" / "saved_model"))
    np.testing.assert_allclose(saved(sample).numpy(), expected, rtol=1e-5, atol=1e-6)
    loaded = load_run(tmp_path / name)
    np.testing.assert_allclose(loaded.model(sample).numpy(), expected, rtol=1e-5, atol=1e-6)
