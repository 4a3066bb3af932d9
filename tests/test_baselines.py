"""Baselines against hand-computed or reference values; the mf family (Trainer) and its Keras round trips."""

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.models.mf import MatrixFactorization
from tfrec.recommenders.mean import GlobalMeanRecommender, ItemMeanRecommender
from tfrec.recommenders.popularity import PopularityRecommender
from tfrec.recommenders.random import RandomRecommender
from tfrec.training.family_algorithm import FamilyAlgorithm


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
    with pytest.raises(ValueError, match=r"model\.params\.embedding_dim"):
        FamilyAlgorithm("mf", {"embedding_dim": 0})
    with pytest.raises(ValueError, match=r"data\.validation_ratio"):
        FamilyAlgorithm("mf", data={"validation_ratio": 1.5})
    with pytest.raises(ValueError, match="num_users"):
        MatrixFactorization(num_users=0, num_items=3)


def test_mf_beats_item_mean_on_real_slice(ml100k_path):
    from tfrec import splits

    train, test = splits.canonical_ml100k(ml100k_path, "u1")
    data = TrainingData(train)
    users, items = data.user_index(test["user_id"]), data.item_index(test["movie_id"])
    truth = test["user_rating"].to_numpy()
    rmse = lambda a: float(np.sqrt(np.mean((a.predict(users, items) - truth) ** 2)))  # noqa: E731
    mf = FamilyAlgorithm("mf", {"embedding_dim": 32, "l2": 0.1, "init_stddev": 0.01},
                         training={"epochs": 8, "batch_size": 1024, "learning_rate": 0.005, "verbose": 0}).fit(data)
    assert mf.predicts_ratings and mf.result_.metrics["epochs_completed"] <= 8
    assert rmse(mf) < rmse(ItemMeanRecommender().fit(data)) - 0.02
    # the catalog scores (one product of the factors) are the model's pair scores, an unknown user's too
    some = np.array([0, 5, OOV_INDEX])
    grid = mf.predict(np.repeat(some, data.n_items), np.tile(np.arange(data.n_items), len(some)))
    assert mf.trained._factors is not None
    np.testing.assert_allclose(mf.score(some), grid.reshape(len(some), data.n_items), rtol=1e-5, atol=1e-5)


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
