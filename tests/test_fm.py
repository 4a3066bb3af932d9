"""Factorization machine: first-order plus pairwise term (hand-derived), docstring example, config round trip."""

import numpy as np

import tfrec  # noqa: F401

import tensorflow as tf

from ctr_helpers import SPEC, inputs, linear, make_frame, run_example
from tfrec.features import FeatureLayer
from tfrec.models.fm import FactorizationMachine


def test_fm_is_linear_plus_pairwise():
    frame = make_frame()
    emb = FeatureLayer(SPEC, embedding_dim=3, output_mode="stack")
    emb.adapt(frame)
    lin = linear(frame, "uniform")
    model = FactorizationMachine(emb, linear_layer=lin, task="rating", initial_bias=1.0)
    x = inputs(frame, emb)
    v = emb(x).numpy()
    expected = 1.0 + lin(x).numpy().sum(axis=(1, 2)) + (v[:, 0] * v[:, 1]).sum(axis=1)
    np.testing.assert_allclose(model(x).numpy()[:, 0], expected, rtol=1e-5)


def test_docstring_example_runs():
    fm = run_example(FactorizationMachine)["model"]
    assert fm({"a": tf.constant([0, 1]), "b": tf.constant([3, 6])}).shape == (2, 1)


def test_config_round_trip():
    frame = make_frame()
    emb = FeatureLayer(SPEC, embedding_dim=3, output_mode="stack")
    emb.adapt(frame)
    model = FactorizationMachine(emb, linear_layer=linear(frame, "uniform"), task="rating")
    x = inputs(frame, emb)
    out = model(x).numpy()
    clone = FactorizationMachine.from_config(model.get_config())
    clone(x)
    assert clone.get_config() == model.get_config()
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), out, rtol=1e-6)
