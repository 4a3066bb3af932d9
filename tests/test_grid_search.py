"""Cross-validated grid search (tfrec tune --search grid): the grid, the folds, Surprise's GridSearchCV
as the reference (skipped where scikit-surprise is absent), the command and its results file."""

import json

import numpy as np
import pandas as pd
import pytest

from tfrec import splits
from tfrec.cli.main import main
from tfrec.config import ConfigError, SearchParam
from tfrec.data.training_data import Columns
from tfrec.training import from_dict
from tfrec.training.grid import grid_points, grid_search, grid_values

SVD_GRID = {"model.params.n_epochs": {"type": "choice", "values": [5, 10]},
            "model.params.lr_all": {"type": "choice", "values": [0.002, 0.005]}}


def test_grid_values_of_each_parameter_type():
    assert grid_values("a", SearchParam(type="int", min=2, max=8, step=3)) == [2, 5, 8]
    assert grid_values("a", SearchParam(type="float", min=0.1, max=0.3, step=0.1)) == [0.1, 0.2, 0.3]
    assert grid_values("a", SearchParam(type="bool")) == [False, True]
    assert len(grid_points({"x": SearchParam(type="choice", values=[1, 2, 3]),
                            "y": SearchParam(type="int", min=1, max=2)})) == 6


def test_float_range_without_step_is_refused():
    with pytest.raises(ConfigError, match="search_space 'model.params.lr_all' is a float range without a step"):
        grid_values("model.params.lr_all", SearchParam(type="float", min=0.001, max=0.01))


def test_closed_form_model_needs_the_grid_search(ml100k_path):
    with pytest.raises(ConfigError, match="tfrec tune --search grid"):
        from_dict({"data": {"path": str(ml100k_path)}, "model": {"name": "svd"}})


class _SameFolds:
    """Surprise's cv iterator over tfrec's folds (``splits.kfold_split``, as the grid search makes them)."""

    def __init__(self, frame, folds, seed):
        self.parts = splits.kfold_split(frame, k=folds, seed=seed)

    def get_n_folds(self):
        return len(self.parts)

    def split(self, data):
        import surprise

        reader = surprise.Reader(rating_scale=(1, 5))
        for part in self.parts:
            train = surprise.Dataset.load_from_df(part.train[["user_id", "movie_id", "user_rating"]], reader)
            test = list(zip(part.test.user_id, part.test.movie_id, part.test.user_rating.astype(float)))
            yield train.build_full_trainset(), test


def test_best_parameters_match_surprise_grid_search_cv(ml100k_path, tmp_path):
    surprise = pytest.importorskip("surprise", reason="scikit-surprise is a dev extra: pip install scikit-surprise")
    frame = pd.read_csv(ml100k_path / "u.data", sep="\t", names=["user_id", "movie_id", "user_rating", "timestamp"])
    frame = frame[frame.user_id <= 150]
    config = from_dict({"model": {"name": "svd", "params": {"n_factors": 20}}, "tuner": {
        "search": "grid", "cv": {"folds": 3, "seed": 7}, "directory": str(tmp_path)}, "search_space": SVD_GRID})
    ours = grid_search(config, log=lambda m: None, train=frame, columns=Columns())

    data = surprise.Dataset.load_from_df(frame[["user_id", "movie_id", "user_rating"]], surprise.Reader(rating_scale=(1, 5)))
    reference = surprise.model_selection.GridSearchCV(
        surprise.SVD, {"n_epochs": [5, 10], "lr_all": [0.002, 0.005], "n_factors": [20], "random_state": [0]}, measures=["rmse"],
        cv=_SameFolds(frame, 3, 7))
    reference.fit(data)
    best = reference.best_params["rmse"]
    assert ours["best_params"] == {"model.params.n_epochs": best["n_epochs"], "model.params.lr_all": best["lr_all"]}
    # every combination's cross-validated RMSE is close to Surprise's
    theirs = {(p["n_epochs"], p["lr_all"]): s for p, s in zip(reference.cv_results["params"],
                                                             reference.cv_results["mean_test_rmse"])}
    for row in ours["rows"]:
        key = (row["model.params.n_epochs"], row["model.params.lr_all"])
        assert abs(row["mean_rmse"] - theirs[key]) < 0.01, (key, row["mean_rmse"], theirs[key])


def test_tune_search_grid_writes_best_parameters_and_the_full_grid(ml100k_path, tmp_path, capsys):
    config = tmp_path / "grid.yaml"
    config.write_text(
        f"data: {{path: {ml100k_path}, max_rows: 3000, protocol: random}}\n"
        "model: {name: item_mean}\n"
        f"tuner: {{cv: {{folds: 3, seed: 1}}, directory: {tmp_path / 'out'}, project_name: grid}}\n"
        "search_space:\n"
        "  model.params.damping: {type: choice, values: [0.0, 5.0, 50.0]}\n")
    assert main(["tune", "--config", str(config), "--search", "grid"]) == 0
    result = json.loads((tmp_path / "out" / "grid" / "results.json").read_text())
    assert result["search"] == "grid" and result["objective"] == "rmse" and result["direction"] == "min"
    assert result["cv"]["folds"] == 3 and result["cv"]["training_rows"] == 2400  # the 80% training rows of 3000
    grid = result["grid"]
    assert sorted(r["model.params.damping"] for r in grid) == [0.0, 5.0, 50.0]
    assert [r["rank"] for r in grid] == [1, 2, 3]
    means = [r["mean_rmse"] for r in grid]
    assert means == sorted(means)
    assert all(len(r["fold_rmse"]) == 3 and r["mean_rmse"] == pytest.approx(np.mean(r["fold_rmse"])) for r in grid)
    assert result["best_params"] == {"model.params.damping": grid[0]["model.params.damping"]}
    best_config = (tmp_path / "out" / "grid" / "best_config.yaml").read_text()
    assert f"damping: {grid[0]['model.params.damping']}" in best_config
    assert "best:" in capsys.readouterr().out


def test_grid_over_a_keras_model_trains_it_on_each_fold(ml100k_path, tmp_path):
    config = from_dict({"data": {"path": str(ml100k_path), "max_rows": 2000, "validation_ratio": 0.1},
                        "model": {"name": "mf", "params": {"embedding_dim": 4}},
                        "training": {"epochs": 2, "batch_size": 256, "verbose": 0},
                        "tuner": {"search": "grid", "cv": {"folds": 2}, "directory": str(tmp_path)},
                        "search_space": {"training.learning_rate": {"type": "choice", "values": [1e-4, 0.05]}}})
    out = grid_search(config, log=lambda m: None)
    assert out["objective"] == "rmse"  # mf's val_rmse monitor, as a test-fold metric
    assert [len(r["fold_rmse"]) for r in out["rows"]] == [2, 2]
    # two epochs at 1e-4 barely move the model from its start: the larger rate wins
    assert out["best_params"] == {"training.learning_rate": 0.05}


def test_trainer_keys_of_a_closed_form_model_are_refused(tmp_path):
    config = from_dict({"model": {"name": "svd"}, "tuner": {"search": "grid", "directory": str(tmp_path)},
                        "search_space": {"training.learning_rate": {"type": "choice", "values": [0.01, 0.1]}}})
    with pytest.raises(ConfigError, match="search_space key 'training.learning_rate' has no effect on 'svd'"):
        grid_search(config, log=lambda m: None, train=pd.DataFrame({"user_id": [1], "movie_id": [1]}))
