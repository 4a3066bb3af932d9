"""GRU4Rec network: losses vs numpy, padding, argument checks, round trips, docstring examples."""

import inspect

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.models.gru4rec import GRU4Rec, bpr_max_loss, cross_entropy_loss, top1_max_loss


LOGITS = np.array([[2.0, 0.5, -1.0, 0.3, -0.2],
                   [0.1, 1.5, 0.7, -0.4, 0.9],
                   [-0.3, 0.2, 0.4, 1.1, -2.0]], np.float32)
ROWS = np.array([True, True, False])        # row 2 is an idle slot: no loss
COLS = np.array([True, True, False, True, True])  # its target (column 2) is no negative either


def _negatives(i):
    return [j for j in range(LOGITS.shape[1]) if j != i and COLS[j]]


def _elu(x, a):
    return np.where(x >= 0, x, a * (np.exp(x) - 1))


def _sig(x):
    return 1 / (1 + np.exp(-x))


def test_cross_entropy_loss_matches_numpy():
    expected = 0.0
    for i in np.flatnonzero(ROWS):
        cols = np.flatnonzero(COLS)
        expected += -(LOGITS[i, i] - np.log(np.exp(LOGITS[i, cols]).sum()))
    got = cross_entropy_loss(tf.constant(LOGITS), tf.constant(ROWS), tf.constant(COLS))
    assert float(got) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("elu_param", [0.0, 0.5])
def test_bpr_max_loss_matches_numpy(elu_param):
    bpreg = 1.5
    x = _elu(LOGITS.astype(np.float64), elu_param) if elu_param > 0 else LOGITS.astype(np.float64)
    expected = 0.0
    for i in np.flatnonzero(ROWS):
        neg = _negatives(i)
        s = np.exp(x[i, neg]) / np.exp(x[i, neg]).sum()
        expected += -np.log((s * _sig(x[i, i] - x[i, neg])).sum()) + bpreg * (s * x[i, neg] ** 2).sum()
    got = bpr_max_loss(tf.constant(LOGITS), tf.constant(ROWS), tf.constant(COLS), bpreg, elu_param)
    assert float(got) == pytest.approx(expected, rel=1e-5)


def test_top1_max_loss_matches_numpy():
    x = LOGITS.astype(np.float64)
    expected = 0.0
    for i in np.flatnonzero(ROWS):
        neg = _negatives(i)
        s = np.exp(x[i, neg]) / np.exp(x[i, neg]).sum()
        expected += (s * (_sig(x[i, neg] - x[i, i]) + _sig(x[i, neg] ** 2))).sum()
    got = top1_max_loss(tf.constant(LOGITS), tf.constant(ROWS), tf.constant(COLS))
    assert float(got) == pytest.approx(expected, rel=1e-5)


def test_padding_leaves_the_state_unchanged():
    net = GRU4Rec(n_items=6, layers=[4, 3], constrained_embedding=False, embedding=5)
    a = net(tf.constant([[-1, -1, 1, 2]])).numpy()
    b = net(tf.constant([[1, 2]])).numpy()
    c = net(tf.constant([[1, -1, 2, -1]])).numpy()
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(c, b, atol=1e-6)


def test_invalid_layers_raise():
    with pytest.raises(ValueError, match="layers=\\[\\]"):
        GRU4Rec(n_items=5, layers=[])


def test_config_round_trip():
    net = GRU4Rec(n_items=9, layers=[6, 4], embedding=3, constrained_embedding=False, dropout_p_embed=0.1,
                  dropout_p_hidden=0.2, seed=5, name="g")
    clone = GRU4Rec.from_config(net.get_config())
    assert clone.get_config() == net.get_config()
    init_args = set(inspect.signature(GRU4Rec.__init__).parameters) - {"self", "kwargs"}
    assert init_args | {"name"} == set(net.get_config())


def test_saved_model_round_trip(tmp_path):
    net = GRU4Rec(n_items=7, layers=[4])
    seq = tf.constant([[1, 2, 3], [-1, 4, 5]])
    expected = net(seq).numpy()
    net.save(str(tmp_path / "gru4rec"))
    loaded = tf.keras.models.load_model(str(tmp_path / "gru4rec"))
    assert isinstance(loaded, GRU4Rec)
    np.testing.assert_allclose(loaded(seq).numpy(), expected, atol=1e-6)


def test_docstring_examples_run():
    import doctest

    from tfrec.data import session_batches
    from tfrec.models import gru4rec
    from tfrec.recommenders import gru4rec as gru4rec_scorer
    from tfrec.recommenders import session_baselines

    for module in (session_batches, gru4rec, gru4rec_scorer, session_baselines):
        result = doctest.testmod(module, extraglobs={"tf": tf, "np": np, "pd": pd}, verbose=False)
        assert result.attempted > 0 and result.failed == 0, (module.__name__, result)
