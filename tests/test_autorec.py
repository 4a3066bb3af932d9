"""Tests of AutoRec: the masked objective by hand, round trips, and the recommender's wiring and defaults."""

import doctest
import math

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.data.training_data import TrainingData
from tfrec.models import autorec
from tfrec.models.autorec import AutoRec, masked_squared_error
from tfrec.recommenders.autorec import AutoRecRecommender

RATINGS = np.array([[5.0, 0.0, 3.0], [0.0, 2.0, 0.0]], np.float32)
MASK = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], np.float32)
RECON = np.array([[4.0, 1.0, 3.5], [2.0, 2.5, 9.0]], np.float32)


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def _fixed_model(num_rows=None):
    """3 inputs, 2 hidden units, l2 = 0.5; encoder kernel all 1, decoder kernel all 2, zero biases."""
    model = AutoRec(num_inputs=3, hidden_units=2, l2=0.5, num_rows=num_rows)
    model(RATINGS)
    model.encoder.kernel.assign(np.ones((3, 2), np.float32))
    model.decoder.kernel.assign(np.full((2, 3), 2.0, np.float32))
    return model


def test_masked_loss_ignores_unobserved_entries():
    # observed: (5 - 4)^2 + (3 - 3.5)^2 + (2 - 2.5)^2 = 1 + 0.25 + 0.25
    assert float(masked_squared_error(RATINGS, MASK, RECON)) == pytest.approx(1.5)
    other = RECON.copy()
    other[MASK == 0] = [100.0, -7.0, 0.0]  # anything at unobserved entries
    assert float(masked_squared_error(RATINGS, MASK, other)) == pytest.approx(1.5)


def test_gradient_flows_only_through_observed_entries():
    recon = tf.Variable(RECON)
    with tf.GradientTape() as tape:
        loss = masked_squared_error(RATINGS, MASK, recon)
    # d/d recon of mask * (r - recon)^2 = -2 * mask * (r - recon)
    expected = [[-2.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    np.testing.assert_allclose(tape.gradient(loss, recon).numpy(), expected, atol=1e-6)


def test_compute_loss_adds_half_lambda_weight_norm():
    model = _fixed_model()
    # penalty = l2 / 2 * (||V||^2 + ||W||^2) = 0.25 * (6 * 1 + 6 * 4) = 7.5
    assert float(model.penalty()) == pytest.approx(7.5)
    assert float(model.compute_loss(RATINGS, MASK, RECON)) == pytest.approx(1.5 + 7.5)
    assert float(model.compute_loss(RATINGS, MASK, RECON, penalty_weight=0.25)) == pytest.approx(1.5 + 1.875)


def test_training_loss_scales_penalty_by_batch_share():
    model = _fixed_model(num_rows=4)
    model.compile(optimizer="sgd")
    # row 1: hidden = sigmoid(5 + 3) twice, output = 2 * 2 * sigmoid(8) everywhere; row 2: 4 * sigmoid(2)
    s8, s2 = 4 * _sigmoid(8.0), 4 * _sigmoid(2.0)
    sse = (5 - s8) ** 2 + (3 - s8) ** 2 + (2 - s2) ** 2
    logs = model.evaluate(tf.data.Dataset.from_tensors((RATINGS, MASK)), verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(sse + 2 / 4 * 7.5, rel=1e-5)  # 2 of 4 rows: half the penalty
    assert logs["rmse"] == pytest.approx(math.sqrt(sse / 3), rel=1e-5)


def test_ratings_alone_mean_nonzero_entries_are_observed():
    model = _fixed_model()
    model.compile(optimizer="sgd")
    a = model.evaluate(tf.data.Dataset.from_tensors(RATINGS), verbose=0, return_dict=True)
    b = model.evaluate(tf.data.Dataset.from_tensors((RATINGS, MASK)), verbose=0, return_dict=True)
    assert a["loss"] == pytest.approx(b["loss"])


def test_config_round_trip():
    model = AutoRec(num_inputs=6, hidden_units=4, l2=3.0, num_rows=9, hidden_activation="tanh")
    x = np.random.default_rng(0).uniform(0, 5, (2, 6)).astype(np.float32)
    model(x)
    clone = AutoRec.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    clone(x)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), model(x).numpy(), rtol=1e-6)


def test_savedmodel_round_trip(tmp_path):
    model = AutoRec(num_inputs=6, hidden_units=4, l2=3.0)
    x = np.random.default_rng(0).uniform(0, 5, (2, 6)).astype(np.float32)
    model(x)
    expected = model(x).numpy()
    model.save(tmp_path / "m", save_format="tf", save_traces=False)  # rebuilt from get_config
    loaded = tf.keras.models.load_model(tmp_path / "m")
    assert type(loaded) is AutoRec and loaded.get_config() == model.get_config()
    np.testing.assert_allclose(loaded(x).numpy(), expected, rtol=1e-5)


def test_invalid_arguments_say_what_was_received():
    with pytest.raises(ValueError, match="hidden_units=0"):
        AutoRec(num_inputs=3, hidden_units=0)
    with pytest.raises(ValueError, match="based_on='items'"):
        AutoRecRecommender(based_on="items")
    with pytest.raises(ValueError, match="no rating column"):
        AutoRecRecommender().fit(TrainingData(pd.DataFrame({"user_id": ["a"], "movie_id": ["x"]})))


def test_docstring_examples_run():
    assert doctest.testmod(autorec).failed == 0


# -- recommender ---------------------------------------------------------------------------------------
def _frame():
    # user a rates x twice (4 and 2: averaged to 3) and y 5; b rates x 1 and z 4; c rates y 2
    return pd.DataFrame({"user_id": ["a", "a", "a", "b", "b", "c"], "movie_id": ["x", "x", "y", "x", "z", "y"],
                         "user_rating": np.array([4, 2, 5, 1, 4, 2], np.float32)})


@pytest.mark.parametrize("based_on", ["item", "user"])
def test_predictions_are_the_reconstruction_of_the_right_vector(based_on):
    data = TrainingData(_frame())
    rec = AutoRecRecommender(based_on=based_on, hidden_units=3, epochs=2, l2=1.0, clip=False).fit(data)
    # training matrix [users a, b, c] x [items x, y, z], duplicates averaged
    r = np.array([[3, 5, 0], [1, 0, 4], [0, 2, 0]], np.float32)
    if based_on == "item":  # input: item i's vector over users; read entry u
        expected = rec.model(r.T).numpy().T
    else:  # input: user u's vector over items; read entry i
        expected = rec.model(r).numpy()
    users, items = np.meshgrid(np.arange(3), np.arange(3), indexing="ij")
    np.testing.assert_allclose(rec.predict(users.ravel(), items.ravel()), expected.ravel(), rtol=1e-5)
    np.testing.assert_allclose(rec.score(np.arange(3)), expected, rtol=1e-5)


def test_unknown_ids_get_means_and_predictions_are_clipped():
    data = TrainingData(_frame())
    rec = AutoRecRecommender(hidden_units=3, epochs=1).fit(data)
    pred = rec.predict(np.array([0, -1, -1, 0, 1, 2]), np.array([-1, 1, -1, 0, 1, 2]))
    # unknown item -> user a's mean (3 + 5) / 2; unknown user -> item y's mean (5 + 2) / 2;
    # both unknown -> global mean of the 6 training rows 18 / 6
    np.testing.assert_allclose(pred[:3], [4.0, 3.5, 3.0], rtol=1e-6)
    assert pred.min() >= 1.0 and pred.max() <= 5.0
    np.testing.assert_allclose(rec.score(np.array([-1]))[0], [2.0, 3.5, 4.0], rtol=1e-6)  # item means
    assert rec.predicts_ratings


def test_cosine_schedule_decays_to_the_floor_over_the_epochs():
    data = TrainingData(_frame())
    rec = AutoRecRecommender(hidden_units=3, epochs=4, batch_size=2, learning_rate=0.01, lr_schedule="cosine",
                             lr_floor=0.1).fit(data)
    opt = rec.model.optimizer
    # 3 items in batches of 2: 2 steps per epoch, 8 steps; cosine: lr * (floor + (1 - floor) * (1 + cos(pi t / T)) / 2)
    assert int(opt.iterations) == 8
    schedule = opt._learning_rate
    assert float(schedule(0)) == pytest.approx(0.01)
    assert float(schedule(4)) == pytest.approx(0.01 * (0.1 + 0.9 * 0.5))
    assert float(schedule(8)) == pytest.approx(0.001)


def test_invalid_schedule_says_what_was_received():
    with pytest.raises(ValueError, match="lr_schedule='step'"):
        AutoRecRecommender(lr_schedule="step")
    with pytest.raises(ValueError, match="1.5"):
        AutoRecRecommender(lr_floor=1.5)
