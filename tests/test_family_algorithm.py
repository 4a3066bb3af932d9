"""``tfrec evaluate`` with a Keras model entry (``name: mf``) trains through the Trainer of ``tfrec train``.

The must-show of one training path: ``tfrec train --config C`` and ``tfrec evaluate`` with the same
family, settings, seed, protocol and split give the same test metrics (20,000 ml-100k ratings, one epoch).
"""

import json

import pytest

from tfrec.cli.main import main
from tfrec.config import ConfigError, EvaluateConfig, dump_yaml, validate

#: per family: (protocol, protocol params, model.params); small models, one epoch
CASES = {
    "mf": ("random", {"ratio": 0.8, "seed": 1}, {"embedding_dim": 8}),
    "neumf": ("ncf", {"num_negatives": 99, "seed": 1}, {"mf_dim": 4, "mlp_embedding_dim": 4, "hidden_units": [8, 4],
                                                      "num_negatives": 1}),
    "two_tower": ("random", {"ratio": 0.8, "seed": 1}, {"embedding_dim": 8}),
}
TRAINING = {"epochs": 1, "batch_size": 4096, "learning_rate": 0.01, "verbose": 0, "seed": 7}
CARVE = {"validation_ratio": 0.1, "seed": 3}


@pytest.fixture(scope="module")
def ml100k_slice(ml100k_path, tmp_path_factory):
    """An ml-100k folder with the first 20,000 ratings of u.data (u.item and u.user linked): small data."""
    folder = tmp_path_factory.mktemp("ml-100k-slice")
    with open(ml100k_path / "u.data", encoding="latin-1") as f:
        (folder / "u.data").write_text("".join(line for _, line in zip(range(20_000), f)), encoding="latin-1")
    for name in ("u.item", "u.user", "u.genre"):
        (folder / name).symlink_to(ml100k_path / name)
    return folder


@pytest.mark.parametrize("family", sorted(CASES))
def test_train_and_evaluate_give_the_same_test_metrics(family, tmp_path, ml100k_slice, capsys):
    ml100k_path = ml100k_slice
    protocol, protocol_params, params = CASES[family]
    train_cfg = tmp_path / "train.yaml"
    train_cfg.write_text(dump_yaml({
        "data": {"path": str(ml100k_path), "protocol": protocol, "protocol_params": protocol_params, **CARVE},
        "model": {"name": family, "params": params},
        "training": TRAINING,
        "evaluation": {"k": [10]},
        "output": {"tensorboard": False, "saved_model": False, "backup": False},
    }))
    eval_cfg = tmp_path / "evaluate.yaml"
    eval_cfg.write_text(dump_yaml({
        "data": {"path": str(ml100k_path)},
        "protocol": {"name": protocol, "params": protocol_params},
        "k": 10,
        "algorithms": [{"name": family, "label": f"{family}_trainer", "params": params, "training": TRAINING,
                        "data": CARVE}],
    }))
    assert main(["train", "--config", str(train_cfg), "--run-dir", str(tmp_path / "train")]) == 0
    assert main(["evaluate", "--config", str(eval_cfg), "--run-dir", str(tmp_path / "evaluate"), "--no-progress"]) == 0
    capsys.readouterr()
    trained = json.loads((tmp_path / "train" / "metrics.json").read_text())["final"]
    evaluated = json.loads((tmp_path / "evaluate" / "results.json").read_text())["results"]
    assert [r["algorithm"] for r in evaluated] == [f"{family}_trainer"]
    got = evaluated[0]["metrics"]
    main_metric = {"mf": "rmse", "neumf": "hr@10", "two_tower": "ndcg@10"}[family]
    assert main_metric in trained and trained[main_metric] > 0
    assert sorted(got) == sorted(trained)
    for name, value in trained.items():
        assert got[name] == pytest.approx(value, rel=1e-6, abs=1e-9), name


def test_evaluate_unknown_name_names_the_valid_ones(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("algorithms:\n  - popularity\n  - {name: mff}\n")
    assert main(["evaluate", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}:3: config key 'algorithms[1]': Unknown model 'mff'. Did you mean 'mf'?" in err
    assert "Valid models: als, bpr, content_knn, dcn" in err


def test_evaluate_renamed_name_says_the_new_one(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("algorithms:\n  - {name: ncf}\n")
    assert main(["evaluate", "--config", str(cfg)]) == 2
    assert "model 'ncf' was renamed: use 'neumf', 'gmf' or 'mlp'" in capsys.readouterr().err


def test_evaluate_params_error_names_the_key(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("algorithms:\n  - name: mf\n    params: {embeding_dim: 8}\n")
    assert main(["evaluate", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "config key 'algorithms[0]' ('mf'): unknown config key 'model.params.embeding_dim'" in err
    assert "Did you mean 'model.params.embedding_dim'?" in err


def test_family_key_was_removed():
    with pytest.raises(ConfigError, match=r"'algorithms\[0\].family' was removed: write the model as 'name: mf' "
                                          r"\(and the row name as 'label: ...'\), e.g. \{name: mf, label: 'mf_row'\}"):
        validate(EvaluateConfig, {"algorithms": [{"family": "mf", "name": "mf_row"}]})
    with pytest.raises(ConfigError, match=r"'algorithms\[0\]' needs a 'name'"):
        validate(EvaluateConfig, {"algorithms": [{"params": {}}]})


def test_training_settings_of_a_closed_form_algorithm_are_refused(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("algorithms:\n  - {name: popularity, training: {epochs: 2}}\n")
    assert main(["evaluate", "--config", str(cfg)]) == 2
    assert "'training' set for algorithm 'popularity', which is fitted in closed form" in capsys.readouterr().err


def test_session_family_is_refused():
    from tfrec.training.family_algorithm import FamilyAlgorithm

    with pytest.raises(ValueError, match="'gru4rec' trains on session click logs"):
        FamilyAlgorithm("gru4rec")


def test_carve_settings_are_checked():
    from tfrec.training.family_algorithm import FamilyAlgorithm

    with pytest.raises(ValueError, match=r"data keys \['protocol'\] are not settings"):
        FamilyAlgorithm("mf", data={"protocol": "random"})
    with pytest.raises(ConfigError, match="data.validation_ratio"):
        FamilyAlgorithm("mf", data={"validation_ratio": 1.5})


def test_prepare_frame_carves_like_prepare_and_applies_the_row_filter():
    import numpy as np
    import pandas as pd

    from tfrec import splits
    from tfrec.training import from_dict
    from tfrec.training.families.registry import get_task

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"user_id": rng.integers(1, 6, 40).astype(str), "movie_id": rng.integers(1, 9, 40).astype(str),
                          "user_rating": rng.integers(1, 6, 40).astype(np.float32)})
    cfg = from_dict({"model": {"name": "two_tower"}, "data": {"min_rating": 4, "validation_ratio": 0.2, "seed": 5}})
    run = get_task("two_tower").prepare_frame(cfg, frame)
    kept = frame[frame["user_rating"] >= 4].reset_index(drop=True)
    pd.testing.assert_frame_equal(run.train, kept)
    fit, val = splits.validation_carve(kept, 0.2, seed=5)
    assert run.fit.index.tolist() == fit.index.tolist() and run.val.index.tolist() == val.index.tolist()
    assert len(run.test) == 0 and run.protocol is None
    unfiltered = get_task("mf").prepare_frame(from_dict({"model": {"name": "mf"}, "data": {"min_rating": 4}}), frame)
    assert len(unfiltered.train) == len(frame)
