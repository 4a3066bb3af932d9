"""The rating / CTR base model: task helpers, global bias, losses and embedding penalty (hand-derived)."""

import math

import numpy as np
import pytest

import tfrec  # noqa: F401

import tensorflow as tf

from ctr_helpers import inputs, linear, make_frame
from tfrec.models.feature_interaction import initial_bias
from tfrec.models.logreg import LogisticRegression


def test_initial_bias_hand_values():
    assert initial_bias([1, 2, 3, 4, 5], "rating") == pytest.approx(3.0)
    # p = 1/4 -> log(0.25 / 0.75) = -log(3)
    assert initial_bias([1, 0, 0, 0], "ctr") == pytest.approx(-math.log(3.0))


def test_zero_weights_predict_the_bias():
    frame = make_frame()
    rating = LogisticRegression(linear(frame, "zeros"), task="rating", initial_bias=3.25)
    ctr = LogisticRegression(linear(frame, "zeros"), task="ctr", initial_bias=-math.log(3.0))
    x = inputs(frame, rating.linear_layer)
    np.testing.assert_allclose(rating(x).numpy(), 3.25)
    np.testing.assert_allclose(ctr(x).numpy(), 0.25, rtol=1e-6)  # sigmoid(-log 3) = 1 / (1 + 3)


def test_losses_and_embedding_penalty_hand_derived():
    frame = make_frame(2)
    # every looked-up weight is 1: linear term = 2 fields * 1 = 2 for each example.
    model = LogisticRegression(linear(frame, "ones"), task="rating", initial_bias=0.0, embedding_l2=0.1)
    x = inputs(frame, model.linear_layer)
    labels = tf.constant([2.0, 4.0])
    # MSE = ((2 - 2)^2 + (2 - 4)^2) / 2 = 2.
    assert float(model.compute_loss((x, labels), training=False)) == pytest.approx(2.0)
    # penalty = sum of squared looked-up weights / batch = (2 + 2) / 2 = 2; loss = 2 + 0.1 * 2.
    assert float(model.compute_loss((x, labels), training=True)) == pytest.approx(2.2)
    ctr = LogisticRegression(linear(frame, "zeros"), task="ctr")
    # logits 0: binary cross-entropy = -log(0.5) for either label.
    loss = ctr.compute_loss({**x, "label": tf.constant([1.0, 0.0])})
    assert float(loss) == pytest.approx(math.log(2.0), rel=1e-6)
