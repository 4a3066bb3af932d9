"""The NCF families (gmf, mlp, neumf, bpr) of the Trainer: per-epoch negatives, pre-training, export round trip."""

import json

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
from tfrec.training import data as data_lib
from tfrec.training.config import ConfigError, from_dict
from tfrec.training.families import get_task


def _toy_frame(n=300, users=20, items=30, seed=0):
    rng = np.random.default_rng(seed)
    pairs = np.unique(rng.integers(0, users * items, n))
    return pd.DataFrame({"user_id": (pairs // items).astype(str), "movie_id": (pairs % items).astype(str),
                         "rating": np.full(len(pairs), 4.0), "timestamp": np.arange(len(pairs))})


def _run(name, params, seed=0, frame=None):
    """(task, run, params, config) of family ``name`` on the toy rows, set up as the Trainer does."""
    import tensorflow as tf

    cfg = from_dict({"model": {"name": name, "params": params}, "data": {"validation_ratio": 0.2, "seed": 1},
                     "training": {"seed": seed}})
    tf.keras.utils.set_random_seed(seed)  # the Trainer seeds NumPy (and the sampler's seed) from training.seed
    task = get_task(name)
    run = task.prepare_frame(cfg, _toy_frame() if frame is None else frame)
    params = dict(cfg.model.params)
    task.setup(params, run)
    return task, run, params, cfg


def _epochs(name, params, n_epochs=3, seed=0):
    """The fit examples of ``n_epochs`` passes over the family's train dataset: list of (users, items, labels)."""
    task, run, params, cfg = _run(name, params, seed)
    x, y = task.examples(run, run.fit, "fit")
    ds = task.train_dataset(run, x, y, 64, cfg, shuffle_buffer=0, repeat=False, drop_remainder=False)
    out = []
    for _ in range(n_epochs):
        batches = list(ds.as_numpy_iterator())
        out.append(tuple(np.concatenate([b[0][k] for b in batches]) for k in ("user_idx", "item_idx"))
                   + (np.concatenate([b[1] for b in batches]),))
    return run, out


def _negatives(name, epoch):
    users, items, labels = epoch
    return (users[labels == 0], items[labels == 0]) if name != "bpr" else (users, labels)


@pytest.mark.parametrize("name", ["gmf", "bpr"])
def test_negatives_are_redrawn_every_epoch_and_never_positives(name):
    run, epochs = _epochs(name, {"num_negatives": 3})
    seen = run.vocab.seen_matrix()
    n_fit = len(run.fit)
    draws = []
    for epoch in epochs:
        users, negatives = _negatives(name, epoch)
        assert len(negatives) == 3 * n_fit
        assert not np.asarray(seen[users, negatives]).any(), "a sampled negative is a training positive"
        if name == "gmf":  # every fit positive once per epoch, labelled 1
            u, i, y = epoch
            assert sorted(zip(u[y == 1], i[y == 1])) == sorted(zip(*run.indices(run.fit)))
        draws.append(sorted(zip(users.tolist(), negatives.tolist())))
    assert draws[0] != draws[1] and draws[1] != draws[2], "the negatives did not change between epochs"


def test_negatives_are_reproducible_from_the_training_seed():
    _, first = _epochs("mlp", {"mlp_embedding_dim": 4, "hidden_units": [4]}, seed=5)
    _, again = _epochs("mlp", {"mlp_embedding_dim": 4, "hidden_units": [4]}, seed=5)
    _, other = _epochs("mlp", {"mlp_embedding_dim": 4, "hidden_units": [4]}, seed=6)
    for a, b in zip(first, again):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    assert not np.array_equal(first[1][1], other[1][1])


def test_resample_negatives_false_keeps_the_first_draw():
    run, epochs = _epochs("gmf", {"mf_dim": 4, "resample_negatives": False}, n_epochs=2)
    keys = [sorted(zip(*e[:2], e[2].tolist())) for e in epochs]
    assert keys[0] == keys[1]  # the same examples, reshuffled


def test_validation_negatives_are_fixed_and_never_positives():
    task, run, params, cfg = _run("neumf", {"num_negatives": 2})
    x, y = task.examples(run, run.val, "val")
    neg = y == 0
    assert neg.sum() == 2 * len(run.val) and (y == 1).sum() == len(run.val)
    assert not np.asarray(run.vocab.seen_matrix()[x["user_idx"][neg], x["item_idx"][neg]]).any()


def test_epoch_dataset_checks_what_draw_returns():
    import tensorflow as tf

    ds = data_lib.epoch_dataset(({"a": np.arange(4)}, None), lambda: ({"a": np.arange(3)}, None), 2)
    list(ds)
    with pytest.raises(tf.errors.InvalidArgumentError, match="must have the first epoch's features"):
        list(ds)


# ------------------------------------------------------------------------------------------------
# configuration errors


def test_pretrain_stage_settings_without_pretrain_are_refused():
    with pytest.raises(ConfigError, match=r"'model.params.pretrain_gmf' is set but model.params.pretrain is false"):
        from_dict({"model": {"name": "neumf", "params": {"pretrain_gmf": {"epochs": 2}}}})


def test_pretrain_stage_unknown_key_names_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown config key 'model.params.pretrain_mlp.lr': a pre-training stage "
                                          r"takes the keys of a train config's training section: .*learning_rate"):
        from_dict({"model": {"name": "neumf", "params": {"pretrain": True, "pretrain_mlp": {"lr": 0.1}}}})


def test_pretrain_stage_bad_value_names_the_stage(ml100k_path, tmp_path):
    from tfrec.training.trainer import Trainer

    cfg = {"data": {"path": str(ml100k_path), "max_rows": 400, "protocol": "ncf"},
           "model": {"name": "neumf", "params": {"pretrain": True, "pretrain_gmf": {"epochs": 0}}},
           "training": {"verbose": 0}}
    with pytest.raises(ConfigError, match=r"pre-training stage 'gmf' of 'neumf'.*'training.epochs'"):
        Trainer(cfg, run_dir=tmp_path / "run", log=lambda m: None).fit()


def test_resampling_refuses_parameter_server_training():
    task, run, params, cfg = _run("gmf", {})
    x, y = task.examples(run, run.fit, "fit")
    with pytest.raises(ConfigError, match="resample_negatives: false"):
        task.train_dataset(run, x, y, 64, cfg, shuffle_buffer=0, repeat=True, drop_remainder=True)


# ------------------------------------------------------------------------------------------------
# the Trainer: one epoch, export, reload


_SMALL = {
    "gmf": {"mf_dim": 4},
    "mlp": {"mlp_embedding_dim": 4, "hidden_units": [8, 4]},
    "neumf": {"mf_dim": 4, "mlp_embedding_dim": 4, "hidden_units": [8, 4]},
    "bpr": {"embedding_dim": 4},
}


def _train(name, params, folder, ml100k_path, training=None):
    from tfrec.training.trainer import Trainer

    cfg = {"data": {"path": str(ml100k_path), "max_rows": 3000, "protocol": "ncf", "protocol_params": {"seed": 1}},
           "model": {"name": name, "params": params},
           "training": {"epochs": 1, "batch_size": 256, "learning_rate": 0.01, "verbose": 0, **(training or {})},
           "evaluation": {"enabled": False}, "output": {"tensorboard": False, "backup": False}}
    return Trainer(cfg, run_dir=folder, log=lambda m: None).fit()


@pytest.mark.parametrize("name", sorted(_SMALL))
def test_family_trains_exports_and_reloads_with_the_same_scores(name, ml100k_path, tmp_path):
    import tensorflow as tf

    from tfrec.export.run import export_run

    result = _train(name, _SMALL[name], tmp_path / "run", ml100k_path)
    assert len(result.history) == 1 and np.isfinite(result.history[0]["loss"])
    assert 0.0 < result.history[0]["val_auc"] <= 1.0
    users = result.run.vocab.user_ids[[0, 1, 2, 2]]
    items = result.run.vocab.item_ids[[0, 5, 7, 3]]
    u, i = result.run.vocab.user_index(pd.Series(users)), result.run.vocab.item_index(pd.Series(items))
    expected = result.model({"user_idx": tf.constant(u), "item_idx": tf.constant(i)}).numpy()
    assert np.std(expected) > 0
    # the Trainer's SavedModel of the whole model
    keras = tf.keras.models.load_model(str(tmp_path / "run" / "model" / "saved_model"))
    np.testing.assert_allclose(keras({"user_idx": tf.constant(u), "item_idx": tf.constant(i)}).numpy(), expected,
                               rtol=1e-5, atol=1e-6)
    # tfrec export: the serving SavedModel, raw ids in
    path = export_run(tmp_path / "run", tmp_path / "serving", name=name, log=None).paths[name]
    score = tf.saved_model.load(str(path)).signatures["score"]
    got = score(user_id=tf.constant(users.astype(str)), item_id=tf.constant(items.astype(str)))["score"].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_neumf_pretraining_trains_gmf_and_mlp_first_and_starts_from_them(ml100k_path, tmp_path):
    stage = {"epochs": 2, "learning_rate": 0.01, "batch_size": 256, "early_stopping": {"enabled": False}}
    params = {**_SMALL["neumf"], "pretrain": True, "pretrain_gmf": stage, "pretrain_mlp": {**stage, "epochs": 1}}
    # SGD with a negligible learning rate: the trained NeuMF still holds the pre-trained weights
    result = _train("neumf", params, tmp_path / "run", ml100k_path, {"optimizer": "sgd", "learning_rate": 1e-12})
    gmf, mlp = result.run.extra["pretrained"]["gmf"], result.run.extra["pretrained"]["mlp"]
    assert result.run.extra["pretrain_examples"] == (2 + 1) * result.metrics["train_examples_per_epoch"]
    for part, stage_model, epochs in (("gmf", gmf, 2), ("mlp", mlp, 1)):
        metrics = json.loads((tmp_path / "run" / "pretrain" / part / "metrics.json").read_text())
        assert metrics["model"] == part and metrics["epochs_completed"] == epochs
        for mine, theirs in zip(getattr(result.model, part).get_weights(), getattr(stage_model, part).get_weights()):
            np.testing.assert_allclose(mine, theirs, atol=1e-6)
    h_gmf = gmf.prediction.get_weights()[0]
    np.testing.assert_allclose(result.model.prediction.get_weights()[0][:len(h_gmf)], 0.5 * h_gmf, atol=1e-6)


def test_neumf_beats_popularity_on_a_real_slice(ml100k_path):
    """Three epochs of NeuMF (Trainer family) on 200 ml-100k users rank the held-out item above popularity
    (NCF protocol: latest interaction among 99 sampled negatives)."""
    from tfrec.evaluation import Evaluator
    from tfrec.recommenders.popularity import PopularityRecommender
    from tfrec.training.family_algorithm import FamilyAlgorithm

    raw = pd.read_csv(ml100k_path / "u.data", sep="\t", header=None,
                      names=["user_id", "movie_id", "user_rating", "timestamp"])
    raw = raw[raw["user_id"] <= 200].astype({"user_id": str, "movie_id": str})
    ev = Evaluator(raw, protocol="ncf", k=10, progress=False)
    pop = ev.evaluate(PopularityRecommender())["metrics"]["hr@10"]
    algo = FamilyAlgorithm("neumf", {"mf_dim": 8, "mlp_embedding_dim": 8, "hidden_units": [16, 8]},
                           training={"epochs": 3, "batch_size": 512, "learning_rate": 0.01, "seed": 1, "verbose": 0,
                                     "early_stopping": {"enabled": False}, "restore_best": False},
                           log=lambda m: None)
    neumf = ev.evaluate(algo)["metrics"]["hr@10"]
    assert neumf > pop
