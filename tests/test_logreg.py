"""Logistic regression: docstring example and config round trip."""

import numpy as np

import tfrec  # noqa: F401

import tensorflow as tf

from ctr_helpers import inputs, linear, make_frame, run_example
from tfrec.models.logreg import LogisticRegression


def test_docstring_example_runs():
    lr = run_example(LogisticRegression)["model"]
    assert lr({"x": tf.constant([1, 2])}).shape == (2, 1)


def test_config_round_trip():
    frame = make_frame()
    model = LogisticRegression(linear(frame, "uniform"), embedding_l2=1e-3)
    x = inputs(frame, model.linear_layer)
    out = model(x).numpy()
    clone = LogisticRegression.from_config(model.get_config())
    clone(x)
    assert clone.get_config() == model.get_config()
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), out, rtol=1e-6)
