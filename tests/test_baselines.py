"""Baselines against hand-computed or reference values, and MF's Keras round trips."""

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.models.mf import MatrixFactorization
from tfrec.recommenders.mean import GlobalMeanRecommender, ItemMeanRecommender
from tfrec.recommenders.mf import MatrixFactorizationRecommender
from tfrec.recommenders.popularity import PopularityRecommender
from tfrec.recommenders.random import RandomRecommender


def small():
    rows = [("u1", "a", 5), ("u1", "b", 3), ("u2", "a", 4), ("u2", "c", 2), ("u3", "a", 1), ("u3", "b", 5)]
    return TrainingData(pd.DataFrame(rows, columns=["user_id", "movie_id", "user_rating"]))


def test_popularity_ranks_by_training_counts():
    data = small()
    algo = PopularityRecommender().fit(data)
    items, _ = algo.recommend(np.array([0]), k=3, exclude_seen=False)
    assert data.item_ids[items[0]].tolist() == ["a", "b", "c"]  # counts 3, 2, 1


def test_item_mean_damped_hand_computed():
    data = small()
    algo = ItemMeanRecommender(damping=1.0).fit(data)
    mu = (5 + 3 + 4 + 2 + 1 + 5) / 6  # 3.333...
    # item a: (5 + 4 + 1 + 1 * mu) / (3 + 1)
    assert algo.predict([0], [0])[0] == pytest.approx((10 + mu) / 4, rel=1e-6)
    assert algo.predict([0], [OOV_INDEX])[0] == pytest.approx(mu, rel=1e-6)
    assert GlobalMeanRecommender().fit(data).predict([0, 1], [1, 2]).tolist() == pytest.approx([mu, mu])


def test_random_is_seeded():
    data = small()
    a = RandomRecommender(seed=3).fit(data).score(np.array([0, 1]))
    b = RandomRecommender(seed=3).fit(data).score(np.array([0, 1]))
    np.testing.assert_array_equal(a, b)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="embedding_dim"):
        MatrixFactorizationRecommender(embedding_dim=0)
    with pytest.raises(ValueError, match="validation_fraction"):
        MatrixFactorizationRecommender(validation_fraction=1.5)
    with pytest.raises(ValueError, match="num_users"):
        MatrixFactorization(num_users=0, num_items=3)


def test_mf_beats_item_mean_on_real_slice(ml100k_path):
    from tfrec import splits

    train, test = splits.canonical_ml100k(ml100k_path, "u1")
    data = TrainingData(train)
    users, items = data.user_index(test["user_id"]), data.item_index(test["movie_id"])
    truth = test["user_rating"].to_numpy()
    rmse = lambda a: float(np.sqrt(np.mean((a.predict(users, items) - truth) ** 2)))  # noqa: E731
    mf = MatrixFactorizationRecommender(epochs=8, embedding_dim=32, batch_size=1024, learning_rate=0.005).fit(data)
    assert rmse(mf) < rmse(ItemMeanRecommender().fit(data)) - 0.02


def test_mf_config_and_savedmodel_round_trip(tmp_path):
    model = MatrixFactorization(num_users=4, num_items=5, embedding_dim=3, global_mean=3.0)
    x = {"user_idx": tf.constant([0, 3, -1]), "item_idx": tf.constant([4, 1, 2])}
    y = model(x)
    clone = MatrixFactorization.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    model.save(tmp_path / "mf")
    loaded = tf.keras.models.load_model(tmp_path / "mf")
    np.testing.assert_allclose(loaded(x).numpy(), y.numpy(), rtol=1e-6)
    assert y.numpy()[2] == pytest.approx(3.0)  # unknown user: global mean + item terms zeroed? (item known)


def test_mf_refit_trains_on_every_rating_for_the_early_stopped_epochs():
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"user_id": rng.integers(0, 30, 600).astype(str),
                         "movie_id": rng.integers(0, 40, 600).astype(str),
                         "user_rating": rng.integers(1, 6, 600)})
    data = TrainingData(rows)
    mf = MatrixFactorizationRecommender(embedding_dim=4, epochs=6, batch_size=64, validation_fraction=0.2,
                                        patience=1, refit=True).fit(data)
    first = mf.early_stopping_history_
    assert mf.best_epoch_ == int(np.argmin(first["val_rmse"])) + 1
    assert len(mf.history_["loss"]) == mf.best_epoch_  # the refit ran exactly that many epochs
    assert "val_rmse" not in mf.history_  # ... on all ratings, with nothing held out
    assert mf._mu == pytest.approx(float(np.mean(data.ratings)))  # its global mean is every rating's
    assert np.isfinite(mf.predict(np.array([0, 1]), np.array([0, 1]))).all()
    with pytest.raises(ValueError, match="validation_fraction > 0"):
        MatrixFactorizationRecommender(refit=True, validation_fraction=0)
