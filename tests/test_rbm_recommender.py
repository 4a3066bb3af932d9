"""RBMScorer (predictions of a trained RBM): scores from the case's own training row, OOV, item orientation,
rating scale checks."""

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.models.rbm import RBM
from tfrec.recommenders.rbm import RBMScorer


def _frame():
    return pd.DataFrame({
        "user_id": ["a", "a", "a", "b", "b", "c", "c", "c"],
        "movie_id": ["x", "y", "z", "x", "w", "y", "z", "w"],
        "user_rating": [5.0, 3.0, 4.0, 4.0, 1.0, 2.0, 5.0, 3.0],
    })


def _model(n_visible):
    model = RBM(n_items=n_visible, n_hidden=3, seed=1, init_stddev=0.5)
    model.visible_bias.assign(np.random.default_rng(0).normal(0, 0.5, (n_visible, 5)).astype(np.float32))
    return model


def test_scores_from_the_users_own_row_and_handles_oov():
    data = TrainingData(_frame())
    algo = RBMScorer(_model(data.n_items)).fit(data)
    a = data.user_index(["a"])[0]
    scores = algo.score(np.array([a, OOV_INDEX]))
    row = np.zeros((1, data.n_items), np.int32)
    row[0, data.item_index(["x", "y", "z"])] = [5, 3, 4]  # a's ratings as classes 1..5
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
    algo = RBMScorer(_model(data.n_users), orientation="item").fit(data)
    u, i = data.user_index(["a"])[0], data.item_index(["y"])[0]
    row = np.zeros((1, data.n_users), np.int32)
    row[0, data.user_index(["a", "c"])] = [3, 2]  # item y: a rated 3, c rated 2
    expected = algo.model(tf.constant(row)).numpy()[0, u]
    assert algo.predict(np.array([u]), np.array([i]))[0] == pytest.approx(expected, abs=1e-5)
    scores = algo.score(np.array([u, OOV_INDEX]))
    assert scores.shape == (2, data.n_items) and scores[0, i] == pytest.approx(expected, abs=1e-5)
    mean = np.mean(frame.user_rating)
    np.testing.assert_allclose(scores[1], mean, rtol=1e-6)  # unknown user: global mean
    pred = algo.predict(np.array([OOV_INDEX, u]), np.array([i, OOV_INDEX]))
    np.testing.assert_allclose(pred, [mean, mean], rtol=1e-6)


def test_half_star_scale_maps_classes_back_to_ratings():
    frame = _frame()
    frame["user_rating"] = frame["user_rating"] / 2  # 0.5 .. 2.5 in half stars
    data = TrainingData(frame)
    model = RBM(n_items=data.n_items, n_ratings=10, n_hidden=3, seed=1)
    algo = RBMScorer(model, n_ratings=10, min_rating=0.5, rating_step=0.5).fit(data)
    expected_class = model(tf.constant(np.zeros((1, data.n_items), np.int32))).numpy()[0]
    np.testing.assert_allclose(algo.score(np.array([OOV_INDEX]))[0], 0.5 + 0.5 * (expected_class - 1), atol=1e-6)


def test_off_grid_ratings_are_refused():
    frame = _frame()
    frame.loc[0, "user_rating"] = 4.5
    with pytest.raises(ValueError, match="rating_step"):
        RBMScorer(_model(4)).fit(TrainingData(frame))


def test_another_vocabulary_size_is_refused():
    with pytest.raises(ValueError, match="has 7 visible units but the training data has 4 items"):
        RBMScorer(_model(7)).fit(TrainingData(_frame()))


def test_invalid_orientation_raises():
    with pytest.raises(ValueError, match="orientation='items'"):
        RBMScorer(_model(4), orientation="items")
