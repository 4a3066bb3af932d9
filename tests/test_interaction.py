"""FMInteraction against a numpy reference; Cross / CrossNetwork against hand-derived values."""

import numpy as np
import pytest

import tfrec  # noqa: F401

import tensorflow as tf
import tensorflow_recommenders as tfrs

from tfrec.layers.interaction import CrossNetwork, FMInteraction


def _fm_reference(v: np.ndarray) -> np.ndarray:
    """Direct O(n^2) definition: sum over field pairs i<j of <v_i, v_j>, per dimension."""
    batch, n, dim = v.shape
    out = np.zeros((batch, dim))
    for i in range(n):
        for j in range(i + 1, n):
            out += v[:, i, :] * v[:, j, :]
    return out


def test_fm_matches_pairwise_numpy_reference():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(7, 5, 4)).astype(np.float32)
    ref = _fm_reference(v.astype(np.float64))
    scalar = FMInteraction()(tf.constant(v)).numpy()
    vector = FMInteraction(output_mode="vector")(tf.constant(v)).numpy()
    assert scalar.shape == (7, 1)
    assert vector.shape == (7, 4)
    np.testing.assert_allclose(scalar[:, 0], ref.sum(axis=1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(vector, ref, rtol=1e-5, atol=1e-5)


def test_fm_docstring_example():
    # <v1,v2> + <v1,v3> + <v2,v3> = (3+8) + (5+12) + (15+24) = 67
    v = tf.constant([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])
    np.testing.assert_allclose(FMInteraction()(v).numpy(), [[67.0]])


def test_fm_single_field_has_no_pairs():
    v = tf.constant([[[1.0, 2.0]], [[3.0, -1.0]]])
    np.testing.assert_allclose(FMInteraction()(v).numpy(), [[0.0], [0.0]])


def test_fm_rejects_2d_input():
    with pytest.raises(ValueError, match=r"\[batch, n_fields, dim\].*Received a tensor of shape"):
        FMInteraction()(tf.zeros([3, 4]))


def test_fm_rejects_unknown_output():
    with pytest.raises(ValueError, match="Valid values: scalar, vector"):
        FMInteraction(output_mode="matrix")


def test_fm_config_round_trip():
    layer = FMInteraction(output_mode="vector", name="fm")
    clone = FMInteraction.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    restored = tf.keras.layers.deserialize(tf.keras.layers.serialize(layer))
    assert isinstance(restored, FMInteraction) and restored.output_mode == "vector"


def test_tfrs_cross_hand_derived():
    # kernel = ones(3, 3), bias = 0: W x = sum(x) * 1 = (.4 + .5 + .6) = 1.5 in every component.
    # out = x0 * (W x + b) + x = [.1, .2, .3] * 1.5 + [.4, .5, .6] = [.15+.4, .30+.5, .45+.6]
    #     = [0.55, 0.8, 1.05]
    x0 = tf.constant([[0.1, 0.2, 0.3]])
    x = tf.constant([[0.4, 0.5, 0.6]])
    layer = tfrs.layers.dcn.Cross(kernel_initializer="ones")
    np.testing.assert_allclose(layer(x0, x).numpy(), [[0.55, 0.8, 1.05]], rtol=1e-6)


def test_low_rank_cross_hand_derived():
    # U = ones(3, 2), V = ones(2, 3): U^T x = [1.5, 1.5], V^T (.) = [3.0, 3.0, 3.0].
    # out = x0 * 3.0 + x = [.3+.4, .6+.5, .9+.6] = [0.7, 1.1, 1.5]
    x0 = tf.constant([[0.1, 0.2, 0.3]])
    x = tf.constant([[0.4, 0.5, 0.6]])
    layer = tfrs.layers.dcn.Cross(projection_dim=2, kernel_initializer="ones")
    np.testing.assert_allclose(layer(x0, x).numpy(), [[0.7, 1.1, 1.5]], rtol=1e-6)


def test_cross_network_two_layers_hand_derived():
    # x0 = [.1, .2, .3], sum = .6.  Layer 1: x1 = x0 * .6 + x0 = 1.6 x0 = [.16, .32, .48] (sum .96).
    # Layer 2: x2 = x0 * .96 + x1 = (0.96 + 1.6) x0 = 2.56 x0 = [.256, .512, .768].
    x0 = tf.constant([[0.1, 0.2, 0.3]])
    net = CrossNetwork(num_layers=2, kernel_initializer="ones")
    np.testing.assert_allclose(net(x0).numpy(), [[0.256, 0.512, 0.768]], rtol=1e-6)


def test_cross_network_diag_scale_hand_derived():
    # One layer, kernel ones, diag_scale 1: x1 = x0 * (W x0 + 1 * x0) + x0
    # = [.1, .2, .3] * ([.6, .6, .6] + [.1, .2, .3]) + x0 = [.07+.1, .16+.2, .27+.3] = [.17, .36, .57]
    x0 = tf.constant([[0.1, 0.2, 0.3]])
    net = CrossNetwork(num_layers=1, diag_scale=1.0, kernel_initializer="ones")
    np.testing.assert_allclose(net(x0).numpy(), [[0.17, 0.36, 0.57]], rtol=1e-6)


def test_cross_network_low_rank_has_fewer_weights():
    x0 = tf.random.normal([2, 16])
    full = CrossNetwork(num_layers=2)
    low = CrossNetwork(num_layers=2, projection_dim=4)
    full(x0), low(x0)
    # full: 2 * (16*16 + 16); low rank 4: 2 * (16*4 + 4*16 + 16)
    assert full.count_params() == 2 * (16 * 16 + 16)
    assert low.count_params() == 2 * (16 * 4 + 4 * 16 + 16)


def test_cross_network_config_round_trip():
    net = CrossNetwork(
        num_layers=3, projection_dim=2, diag_scale=0.5, use_bias=False, kernel_regularizer="l2", name="cn"
    )
    config = net.get_config()
    clone = CrossNetwork.from_config(config)
    assert clone.get_config() == config
    x = tf.random.normal([3, 8], seed=1)
    net(x)
    clone(x)
    clone.set_weights(net.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), net(x).numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_layers": 0}, "num_layers, expected a positive integer. Received: num_layers=0"),
        ({"projection_dim": 0}, "projection_dim, expected None .* Received: projection_dim=0"),
        ({"diag_scale": -1.0}, "diag_scale, expected a non-negative float. Received: diag_scale=-1.0"),
    ],
)
def test_cross_network_bad_args(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CrossNetwork(**kwargs)


def test_cross_network_rejects_rank_not_below_input():
    with pytest.raises(ValueError, match="projection_dim=8 is not smaller than the input size 8"):
        CrossNetwork(projection_dim=8)(tf.zeros([2, 8]))


def test_cross_network_rejects_3d_input():
    with pytest.raises(ValueError, match=r"expects a \[batch, d\] input"):
        CrossNetwork()(tf.zeros([2, 3, 4]))
