"""``tfrec export RUN_DIR`` on real (tiny) ``tfrec train`` runs: two-tower retrieval and MF."""

import numpy as np
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.cli.main import build_parser
from tfrec.export import layout
from tfrec.training.config import from_dict
from tfrec.training.families.registry import get_task
from tfrec.training.trainer import Trainer, load_run


def _train(ml100k_path, run_dir, family, params):
    config = from_dict({
        "data": {"path": str(ml100k_path), "max_rows": 3000, "validation_ratio": 0.2},
        "model": {"name": family, "params": params},
        "training": {"epochs": 1, "batch_size": 512, "learning_rate": 0.05, "verbose": 0},
        "evaluation": {"enabled": False},
        "output": {"run_dir": str(run_dir), "saved_model": False},
    })
    Trainer(config, log=lambda _line: None).fit()
    return run_dir


@pytest.fixture(scope="module")
def runs(ml100k_path, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {"two_tower": _train(ml100k_path, root / "tt", "two_tower",
                                {"embedding_dim": 8, "query_features": "movielens_user", "hidden_units": [8]}),
            "mf": _train(ml100k_path, root / "mf", "mf", {"embedding_dim": 4})}


def test_export_two_tower_run_with_side_features(runs, tmp_path, capsys):
    base = tmp_path / "models"
    args = build_parser().parse_args(["export", str(runs["two_tower"]), "--model-base-path", str(base),
                                      "--name", "movies", "-k", "5", "--scann-recall", "0.9"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "movies_scann:" in out and "ScaNN settings:" in out
    assert layout.list_versions(base / "movies") == [1] and layout.list_versions(base / "movies_scann") == [1]
    run = load_run(runs["two_tower"])
    fn = tf.saved_model.load(str(base / "movies" / "1")).signatures["serving_default"]
    # the signature takes the query tower's raw side features by name
    assert set(fn.structured_input_signature[1]) == {"user_id", "raw_user_age", "user_gender",
                                                     "user_occupation_label", "user_zip_code"}
    features = {"user_id": tf.constant(["1"]), "raw_user_age": tf.constant([24.0]), "user_gender": tf.constant(["1"]),
                "user_occupation_label": tf.constant(["19"]), "user_zip_code": tf.constant(["85711"])}
    got = fn(**features)
    q = run.model.query_tower(features).numpy()
    items = np.asarray(run.item_ids).astype(str)
    cand = run.model.candidate_tower({"movie_id": tf.constant(items)}).numpy()  # ids-only candidate tower
    order = np.argsort(-(q @ cand.T)[0], kind="stable")[:5]
    assert got["item_ids"].numpy()[0].astype(str).tolist() == items[order].tolist()
    np.testing.assert_allclose(got["scores"].numpy()[0], (q @ cand.T)[0][order], rtol=1e-4, atol=1e-5)


def test_export_mf_run_as_pair_scoring_model(runs, tmp_path, capsys):
    base = tmp_path / "models"
    args = build_parser().parse_args(["export", str(runs["mf"]), "--model-base-path", str(base), "-k", "3"])
    assert args.func(args) == 0
    name = "mf"  # the run folder's name
    assert layout.list_versions(base / name) == [1]
    run = load_run(runs["mf"])
    loaded = tf.saved_model.load(str(base / name / "1"))
    user, item = str(run.user_ids[2]), str(run.item_ids[5])
    got = loaded.signatures["score"](user_id=tf.constant([user]), item_id=tf.constant([item]))["score"].numpy()
    want = run.model({"user_idx": tf.constant([2]), "item_idx": tf.constant([5])}).numpy()
    np.testing.assert_allclose(got, np.reshape(want, [-1]), rtol=1e-5)
    top = loaded.signatures["serving_default"](user_id=tf.constant([user]))["item_ids"].numpy()
    assert top.shape == (1, 3)


def test_export_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    args = build_parser().parse_args(["export", str(tmp_path), "--model-base-path", str(tmp_path / "m")])
    with pytest.raises(FileNotFoundError, match="not a finished tfrec training run folder"):
        args.func(args)


def test_export_set_overrides_the_run_config(runs, ml100k_path, tmp_path):
    moved = tmp_path / "moved-ml-100k"  # the dataset is somewhere else now
    moved.symlink_to(ml100k_path, target_is_directory=True)
    assert load_run(runs["two_tower"], [f"data.path={moved}"]).config.data.path == str(moved)
    base = tmp_path / "models"
    args = build_parser().parse_args(["export", str(runs["two_tower"]), "--model-base-path", str(base), "--no-scann",
                                      "--name", "movies", "--set", f"data.path={moved}"])
    assert args.func(args) == 0
    assert layout.list_versions(base / "movies") == [1]


def test_export_set_error_names_the_override(runs, tmp_path, capsys):
    from tfrec.cli.main import main

    assert main(["export", str(runs["mf"]), "--model-base-path", str(tmp_path / "m"), "--set", "data.pth=x"]) == 2
    err = capsys.readouterr().err
    assert "(--set data.pth=x): unknown config key 'data.pth'. Did you mean 'data.path'?" in err


def test_export_mf_run_with_an_exploration_slot(runs, tmp_path, capsys):
    base = tmp_path / "models"
    args = build_parser().parse_args(["export", str(runs["mf"]), "--model-base-path", str(base), "-k", "4",
                                      "--explore-slot", "3", "--explore-max-ratings", "1"])
    assert args.func(args) == 0
    assert "exploration slot 3" in capsys.readouterr().out
    run = load_run(runs["mf"])
    data = get_task("mf").prepare(run.config).vocab  # the run's own training rows
    vocab_counts = dict(zip(data.item_ids.astype(str), data.item_popularity()))
    new = {i for i in np.asarray(run.item_ids).astype(str) if vocab_counts.get(i, 0) <= 1}
    assert new, "the tiny run has items rated once"
    fn = tf.saved_model.load(str(base / "mf" / "1")).signatures["serving_default"]
    user = str(run.user_ids[0])
    seen_at_slot = set()
    for _ in range(8):
        top = fn(user_id=tf.constant([user]))["item_ids"].numpy()[0].astype(str)
        assert top[3] in new and top[3] not in top[:3]
        seen_at_slot.add(top[3])
    assert len(seen_at_slot) > 1  # a fresh draw per request


def test_export_exploration_flags_are_checked(runs, tmp_path, capsys):
    from tfrec.cli.main import main

    assert main(["export", str(runs["mf"]), "--model-base-path", str(tmp_path / "m"), "--explore-days", "3"]) == 2
    assert "--explore-max-ratings/--explore-days need --explore-slot" in capsys.readouterr().err
    assert main(["export", str(runs["mf"]), "--model-base-path", str(tmp_path / "m"), "-k", "3",
                 "--explore-slot", "3"]) == 2
    assert "--explore-slot must be in [0, k=3), got 3" in capsys.readouterr().err
