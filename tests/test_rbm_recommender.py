"""RBMRecommender: scores from the user's own training row, OOV, item orientation, schedules, argument
checks, registry."""

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.recommenders.rbm import RBMRecommender


def _frame():
    return pd.DataFrame({
        "user_id": ["a", "a", "a", "b", "b", "c", "c", "c"],
        "movie_id": ["x", "y", "z", "x", "w", "y", "z", "w"],
        "user_rating": [5.0, 3.0, 4.0, 4.0, 1.0, 2.0, 5.0, 3.0],
    })


def test_recommender_scores_from_the_users_own_row_and_handles_oov():
    data = TrainingData(_frame())
    algo = RBMRecommender(n_hidden=3, epochs=2, batch_size=2, seed=1).fit(data)
    a = data.user_index(["a"])[0]
    scores = algo.score(np.array([a, OOV_INDEX]))
    row = algo._matrix[a][None].astype(np.int32)
    np.testing.assert_allclose(scores[0], algo.model(tf.constant(row)).numpy()[0], atol=1e-6)
    empty = np.zeros((1, data.n_items), np.int32)  # unknown user = no visible ratings
    np.testing.assert_allclose(scores[1], algo.model(tf.constant(empty)).numpy()[0], atol=1e-6)
    pred = algo.predict(np.array([a, a]), np.array([0, OOV_INDEX]))
    assert pred[1] == pytest.approx(np.mean(_frame().user_rating))
    assert 1.0 <= pred[0] <= 5.0


def test_item_orientation_uses_items_as_cases():
    # I-RBM: each item is a case, users are the visible units; (u, i) is visible unit u reconstructed
    # from item i's training ratings
    frame = _frame()
    data = TrainingData(frame)
    algo = RBMRecommender(n_hidden=3, epochs=2, batch_size=2, seed=1, orientation="item").fit(data)
    assert algo._matrix.shape == (data.n_items, data.n_users) and algo.model.n_items == data.n_users
    u, i = data.user_index(["a"])[0], data.item_index(["y"])[0]
    assert algo._matrix[i, u] == 3  # rating 3.0 -> class 3
    row = algo._matrix[i][None].astype(np.int32)
    expected = algo.model(tf.constant(row)).numpy()[0, u]
    assert algo.predict(np.array([u]), np.array([i]))[0] == pytest.approx(expected, abs=1e-5)
    scores = algo.score(np.array([u, OOV_INDEX]))
    assert scores.shape == (2, data.n_items) and scores[0, i] == pytest.approx(expected, abs=1e-5)
    mean = np.mean(frame.user_rating)
    np.testing.assert_allclose(scores[1], mean, rtol=1e-6)  # unknown user: global mean
    pred = algo.predict(np.array([OOV_INDEX, u]), np.array([i, OOV_INDEX]))
    np.testing.assert_allclose(pred, [mean, mean], rtol=1e-6)
    # visible biases start at the log rating-value frequencies of each *user*
    p = tf.nn.softmax(algo.model.visible_bias).numpy()
    assert np.argmax(p[data.user_index(["c"])[0]]) in (1, 2, 4)  # c rated 2, 5, 3


def test_momentum_switches_at_the_given_epoch():
    algo = RBMRecommender(n_hidden=3, epochs=3, batch_size=4, momentum=0.9, initial_momentum=0.5,
                          momentum_switch_epoch=2)
    assert [algo.momentum_for_epoch(e) for e in range(4)] == [0.5, 0.5, 0.9, 0.9]
    seen = []
    algo.fit(TrainingData(_frame()), on_epoch_end=lambda e, rec: seen.append(
        float(tf.keras.backend.get_value(rec.model.optimizer.momentum))))
    assert seen == pytest.approx([0.5, 0.5, 0.9])
    assert RBMRecommender(momentum=0.8, initial_momentum=None).momentum_for_epoch(0) == 0.8  # no initial_momentum: constant


def test_bias_learning_rate_sets_the_models_multiplier():
    algo = RBMRecommender(n_hidden=3, epochs=1, learning_rate=0.02, bias_learning_rate=0.01)
    algo.fit(TrainingData(_frame()))
    assert algo.model.bias_lr_multiplier == pytest.approx(0.5)


def test_invalid_orientation_raises():
    with pytest.raises(ValueError, match="orientation='items'"):
        RBMRecommender(orientation="items")


def test_recommender_rejects_off_grid_ratings():
    frame = _frame()
    frame.loc[0, "user_rating"] = 4.5
    with pytest.raises(ValueError, match="rating_step"):
        RBMRecommender(epochs=1).fit(TrainingData(frame))


def test_registry_builds_rbm():
    from tfrec.training import build_algorithm

    algo = build_algorithm("rbm", {"n_hidden": 5, "epochs": 1})
    assert isinstance(algo, RBMRecommender) and algo.name == "rbm" and algo.predicts_ratings
