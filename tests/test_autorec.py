"""AutoRec: the masked objective by hand, round trips, argument checks, docstring example."""

import doctest
import math

import numpy as np
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.models import autorec
from tfrec.models.autorec import AutoRec, masked_squared_error


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


def test_docstring_examples_run():
    assert doctest.testmod(autorec).failed == 0
