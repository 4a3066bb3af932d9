"""RBM: one CD update against a numpy reference, sampling invariants, CD-k schedule, config and
SavedModel round trips, docstring examples (the model's and the recommender's)."""

import numpy as np
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.data.training_data import TrainingData
from tfrec.models.rbm import RBM


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _one_hot(ratings_row, K):
    """[items, K] one-hot of a row of ratings 1..K (0 = not rated: an all-zero row)."""
    v = np.zeros((len(ratings_row), K))
    for i, val in enumerate(ratings_row):
        if val > 0:
            v[i, val - 1] = 1.0
    return v


def _mean_field_expected(W, bv, bh, ratings, scale=1.0):
    """Per user: h = sigmoid(bh + v.W), p = softmax(bv + scale * h.W), expected rating p @ (1..K)."""
    out = []
    for r in ratings:
        h = _sigmoid(bh + np.einsum("ik,ikh->h", _one_hot(r, W.shape[1]), W))
        out.append(_softmax(bv + scale * np.einsum("h,ikh->ik", h, W)) @ np.arange(1, W.shape[1] + 1))
    return np.array(out)


def _np_cd1(ratings, W, bv, bh, keep=None):
    """Mean-field CD-1 ascent directions, written out with explicit loops over users; ``keep``:
    [users, H] 0/1 hidden units each user keeps (dropout RBM), default all."""
    _, K, H = W.shape
    gW, gbv, gbh = np.zeros_like(W), np.zeros_like(bv), np.zeros_like(bh)
    keep = np.ones((len(ratings), H)) if keep is None else keep
    for r, kp in zip(ratings, keep):
        v0 = _one_hot(r, K)
        mask = v0.sum(1, keepdims=True)
        ph0 = kp * _sigmoid(bh + np.einsum("ik,ikh->h", v0, W))  # a dropped unit is 0 in both phases
        v1 = _softmax(bv + np.einsum("h,ikh->ik", ph0, W)) * mask  # only rated items are visible
        ph1 = kp * _sigmoid(bh + np.einsum("ik,ikh->h", v1, W))
        gW += v0[:, :, None] * ph0[None, None, :] - v1[:, :, None] * ph1[None, None, :]
        gbv += v0 - v1
        gbh += ph0 - ph1
    b = len(ratings)
    return gW / b, gbv / b, gbh / b


def _tiny(seed=0, n_items=3, K=4, H=2, **kw):
    rng = np.random.default_rng(seed)
    rbm = RBM(n_items=n_items, n_ratings=K, n_hidden=H, sample=False, **kw)
    W = rng.normal(0, 0.5, (n_items, K, H)).astype(np.float32)
    bv = rng.normal(0, 0.5, (n_items, K)).astype(np.float32)
    bh = rng.normal(0, 0.5, (H,)).astype(np.float32)
    rbm.W.assign(W)
    rbm.visible_bias.assign(bv)
    rbm.hidden_bias.assign(bh)
    return rbm, W.astype(np.float64), bv.astype(np.float64), bh.astype(np.float64)


RATINGS = np.array([[4, 0, 1], [0, 2, 3], [1, 1, 0], [0, 0, 4]], np.int32)  # 0 = not rated


@pytest.mark.parametrize("bias_mult", [1.0, 0.25])
def test_cd1_momentum_weight_decay_update_matches_numpy(bias_mult):
    # two batches of 2 users, SGD with momentum 0.5, weight decay 0.1 on W only, bias learning rate
    # lr * bias_mult: vel = m * vel + lr * (grad - wd * W) (biases: lr * bias_mult * grad); param += vel
    lr, m, wd = 0.3, 0.5, 0.1
    rbm, W, bv, bh = _tiny(weight_decay=wd, bias_lr_multiplier=bias_mult)
    rbm.compile(optimizer=tf.keras.optimizers.SGD(lr, momentum=m))
    rbm.fit(RATINGS, batch_size=2, epochs=1, shuffle=False, verbose=0)
    vel = [np.zeros_like(W), np.zeros_like(bv), np.zeros_like(bh)]
    for batch in (RATINGS[:2], RATINGS[2:]):
        gW, gbv, gbh = _np_cd1(batch, W, bv, bh)
        steps = [gW - wd * W, bias_mult * gbv, bias_mult * gbh]
        vel = [m * v + lr * g for v, g in zip(vel, steps)]
        W, bv, bh = W + vel[0], bv + vel[1], bh + vel[2]
    np.testing.assert_allclose(rbm.W.numpy(), W, atol=1e-5)
    np.testing.assert_allclose(rbm.visible_bias.numpy(), bv, atol=1e-5)
    np.testing.assert_allclose(rbm.hidden_bias.numpy(), bh, atol=1e-5)


def test_unrated_items_get_no_visible_update():
    # item 2 is rated by nobody in this batch: its weights and biases only see weight decay (here 0)
    rbm, W, bv, _ = _tiny(weight_decay=0.0)
    grad_w, grad_bv, _, _ = rbm.contrastive_divergence(tf.constant([[3, 1, 0]]))
    np.testing.assert_array_equal(grad_w.numpy()[2], 0.0)
    np.testing.assert_array_equal(grad_bv.numpy()[2], 0.0)
    rbm.compile(optimizer=tf.keras.optimizers.SGD(1.0), run_eagerly=True)
    rbm.fit(np.array([[3, 1, 0]], np.int32), batch_size=1, epochs=1, verbose=0)
    np.testing.assert_allclose(rbm.W.numpy()[2], W[2], atol=1e-7)
    np.testing.assert_allclose(rbm.visible_bias.numpy()[2], bv[2], atol=1e-7)
    assert not np.allclose(rbm.W.numpy()[0], W[0])


@pytest.mark.parametrize("shared_mult", [1.0, 4.0])
def test_shared_weights_update_matches_numpy(shared_mult):
    # interaction W[i] + S; W gets its usual CD-1 step, S the mean of the interaction gradients over
    # the visible units (times shared_lr_multiplier); plain SGD, weight decay 0.1 on both
    lr, wd = 0.3, 0.1
    rbm, W, bv, bh = _tiny(weight_decay=wd, shared_weights=True, shared_lr_multiplier=shared_mult)
    S = np.random.default_rng(5).normal(0, 0.5, W.shape[1:])
    rbm.shared_W.assign(S.astype(np.float32))
    rbm.compile(optimizer=tf.keras.optimizers.SGD(lr))
    rbm.fit(RATINGS, batch_size=4, epochs=1, shuffle=False, verbose=0)
    gW, gbv, gbh = _np_cd1(RATINGS, W + S[None], bv, bh)  # the chain sees W + S
    np.testing.assert_allclose(rbm.W.numpy(), W + lr * (gW - wd * W), atol=1e-5)
    np.testing.assert_allclose(rbm.shared_W.numpy(), S + lr * (shared_mult * gW.mean(0) - wd * S), atol=1e-5)
    np.testing.assert_allclose(rbm.visible_bias.numpy(), bv + lr * gbv, atol=1e-5)
    np.testing.assert_allclose(rbm.hidden_bias.numpy(), bh + lr * gbh, atol=1e-5)


def test_hidden_dropout_cd_matches_numpy_with_the_same_mask():
    # the mask is fixed here; the dropped units (0) give no statistics for that user, its kept
    # units the usual CD-1 ones
    rbm, W, bv, bh = _tiny(hidden_dropout=0.5)
    keep = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    rbm.dropout_mask = lambda batch: tf.constant(keep, tf.float32)
    grad_w, grad_bv, grad_bh, _ = rbm.contrastive_divergence(tf.constant(RATINGS))
    gW, gbv, gbh = _np_cd1(RATINGS, W, bv, bh, keep=keep)
    np.testing.assert_allclose(grad_w.numpy(), gW, atol=1e-6)
    np.testing.assert_allclose(grad_bv.numpy(), gbv, atol=1e-6)
    np.testing.assert_allclose(grad_bh.numpy(), gbh, atol=1e-6)
    # no dropout outside training
    grad_w, *_ = rbm.contrastive_divergence(tf.constant(RATINGS), training=False)
    np.testing.assert_allclose(grad_w.numpy(), _np_cd1(RATINGS, W, bv, bh)[0], atol=1e-6)


def test_hidden_dropout_mask_keeps_about_one_minus_rate():
    rbm = RBM(n_items=3, n_ratings=4, n_hidden=50, hidden_dropout=0.3, seed=2)
    keep = rbm.dropout_mask(200).numpy()
    assert set(np.unique(keep)) <= {0.0, 1.0}
    assert keep.mean() == pytest.approx(0.7, abs=0.02)  # 10,000 draws: sd 0.005


def test_hidden_dropout_prediction_scales_the_hidden_input_to_the_visible_units():
    rbm, W, bv, bh = _tiny(hidden_dropout=0.25)
    out = rbm(tf.constant(RATINGS)).numpy()
    # all hidden units, unscaled input from v; their input to the visible units scaled by 1 - 0.25
    np.testing.assert_allclose(out, _mean_field_expected(W, bv, bh, RATINGS, scale=0.75), atol=1e-5)


def test_invalid_hidden_dropout_raises():
    with pytest.raises(ValueError, match="hidden_dropout=1.0"):
        RBM(n_items=3, hidden_dropout=1.0)
    with pytest.raises(ValueError, match="prediction='exact'"):
        RBM(n_items=3, hidden_dropout=0.5, prediction="exact")


def test_call_is_mean_field_expected_rating():
    rbm, W, bv, bh = _tiny()
    out = rbm(tf.constant(RATINGS)).numpy()
    np.testing.assert_allclose(out, _mean_field_expected(W, bv, bh, RATINGS), atol=1e-5)
    assert np.all((out >= 1) & (out <= 4))


def test_exact_prediction_sums_out_the_hidden_units():
    # p(v_q = k | V) by brute force over all 2^H hidden configurations:
    # p(v_q = k, h | V) ~ exp(b_qk + h.W_qk + h.b + sum_{i,l} v_il h.W_il)
    rbm, W, bv, bh = _tiny(prediction="exact")
    H = W.shape[2]
    out = rbm(tf.constant(RATINGS)).numpy()
    hs = np.array([[(c >> j) & 1 for j in range(H)] for c in range(2 ** H)], float)
    for u, r in enumerate(RATINGS):
        v0 = _one_hot(r, W.shape[1])
        base = hs @ bh + hs @ np.einsum("ik,ikh->h", v0, W)  # [2^H]
        for q in range(W.shape[0]):
            joint = np.exp(bv[q][None, :] + hs @ W[q].T + base[:, None])  # [2^H, K]
            p = joint.sum(0) / joint.sum()
            assert out[u, q] == pytest.approx(p @ np.arange(1, 5), abs=1e-5)


def test_invalid_prediction_raises():
    with pytest.raises(ValueError, match="prediction='map'"):
        RBM(n_items=3, prediction="map")


def test_sampled_visible_states_are_one_hot_on_rated_items_only():
    rbm = RBM(n_items=5, n_ratings=3, n_hidden=4, sample=True, seed=3)
    ratings = tf.constant([[1, 0, 3, 0, 2], [0, 0, 0, 1, 0]])
    v0 = rbm.one_hot_visible(ratings)
    mask = tf.reduce_sum(v0, -1, keepdims=True)
    for _ in range(5):
        v = rbm._sample_visible(rbm.visible_probabilities(tf.ones([2, 4]) * 0.5), mask).numpy()
        np.testing.assert_array_equal(v.sum(-1), mask.numpy()[..., 0])
        assert set(np.unique(v)) <= {0.0, 1.0}
        h = rbm._sample_hidden(tf.fill([2, 4], 0.5)).numpy()
        assert set(np.unique(h)) <= {0.0, 1.0}


def test_same_seed_same_weights_after_sampled_training():
    outs = []
    for _ in range(2):
        rbm = RBM(n_items=3, n_ratings=4, n_hidden=2, seed=7, cd_k_schedule=[[0, 2]])
        rbm.compile(optimizer=tf.keras.optimizers.SGD(0.5, momentum=0.5), run_eagerly=True)
        rbm.fit(RATINGS, batch_size=2, epochs=1, shuffle=False, verbose=0)
        outs.append(rbm.W.numpy())
    np.testing.assert_array_equal(outs[0], outs[1])


def test_cd_k_schedule_applied_per_epoch():
    rbm = RBM(n_items=3, n_ratings=4, n_hidden=2, cd_k_schedule=[[0, 1], [2, 3], [3, 5]])
    rbm.compile(optimizer=tf.keras.optimizers.SGD(0.1), run_eagerly=True)
    hist = rbm.fit(RATINGS, batch_size=4, epochs=4, verbose=0)
    assert [int(k) for k in hist.history["cd_k"]] == [1, 1, 3, 5]
    assert [rbm.k_for_epoch(e) for e in (0, 1, 2, 3, 10)] == [1, 1, 3, 5, 5]


def test_momentum_switches_at_the_given_epoch():
    rbm = RBM(n_items=3, n_ratings=4, n_hidden=2, initial_momentum=0.5, momentum_switch_epoch=2)
    rbm.compile(optimizer=tf.keras.optimizers.SGD(0.1, momentum=0.9))
    seen = []
    record = tf.keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: seen.append(float(tf.keras.backend.get_value(rbm.optimizer.momentum))))
    rbm.fit(RATINGS, batch_size=4, epochs=3, verbose=0, callbacks=[record])
    assert seen == pytest.approx([0.5, 0.5, 0.9])
    assert [rbm.momentum_for_epoch(e) for e in range(4)] == pytest.approx([0.5, 0.5, 0.9, 0.9])


def test_initial_momentum_needs_an_optimizer_with_momentum():
    rbm = RBM(n_items=3, initial_momentum=0.5)
    with pytest.raises(ValueError, match="initial_momentum=0.5 needs an SGD optimizer with a momentum"):
        rbm.compile(optimizer=tf.keras.optimizers.Adam(0.1))


def test_validation_with_targets_reports_the_rmse_of_the_targets():
    # input rows predict every entry; the targets (classes, 0 = none) are scored on the rating scale
    rbm, *_ = _tiny(rating_step=0.5)
    rbm.compile(optimizer=tf.keras.optimizers.SGD(0.1))
    target = np.array([[0, 3, 0], [1, 0, 0], [0, 0, 0], [0, 4, 2]], np.int32)
    logs = rbm.evaluate({"input": RATINGS, "target": target}, batch_size=4, verbose=0, return_dict=True)
    pred = rbm(tf.constant(RATINGS)).numpy()
    mask = target > 0
    expected = 0.5 * np.sqrt(np.mean((pred[mask] - target[mask]) ** 2))
    assert logs["rmse"] == pytest.approx(expected, rel=1e-5)


def test_rating_classes_refuse_off_grid_ratings():
    from tfrec.models.rbm import rating_classes

    assert rating_classes([1.0, 3.0, 5.0]).tolist() == [1, 3, 5]
    with pytest.raises(ValueError, match=r"received e.g. \[4.5\]"):
        rating_classes([4.0, 4.5])


def test_invalid_n_hidden_raises():
    with pytest.raises(ValueError, match="n_hidden=0"):
        RBM(n_items=3, n_hidden=0)


def test_invalid_cd_k_schedule_raises():
    with pytest.raises(ValueError, match="start at epoch 0"):
        RBM(n_items=3, cd_k_schedule=[[1, 1]])


def test_config_round_trip():
    rbm = RBM(n_items=6, n_ratings=3, n_hidden=4, cd_k_schedule=[[0, 1], [5, 3]], weight_decay=0.02,
              bias_lr_multiplier=0.5, sample=False, init_stddev=0.05, prediction="exact", seed=11, name="my_rbm")
    dropout = RBM(n_items=6, hidden_dropout=0.4, shared_weights=True)
    clone = RBM.from_config(dropout.get_config())
    assert clone.hidden_dropout == 0.4 and clone.shared_weights and clone.shared_W.shape == (5, 100)
    clone = RBM.from_config(rbm.get_config())
    assert clone.get_config() == rbm.get_config()
    import inspect

    init_args = set(inspect.signature(RBM.__init__).parameters) - {"self", "kwargs"}
    assert init_args | {"name"} == set(rbm.get_config())


@pytest.mark.parametrize("kwargs", [{}, {"shared_weights": True, "hidden_dropout": 0.3}])
def test_saved_model_round_trip(tmp_path, kwargs):
    rbm, *_ = _tiny(**kwargs)
    rbm.compile(optimizer=tf.keras.optimizers.SGD(0.1), run_eagerly=True)
    rbm.fit(RATINGS, batch_size=2, epochs=1, verbose=0)
    expected = rbm(tf.constant(RATINGS)).numpy()
    rbm.save(str(tmp_path / "rbm"))
    loaded = tf.keras.models.load_model(str(tmp_path / "rbm"))
    assert isinstance(loaded, RBM)
    np.testing.assert_allclose(loaded(tf.constant(RATINGS)).numpy(), expected, atol=1e-6)


def test_docstring_examples_run():
    import doctest

    from tfrec.models import rbm
    from tfrec.recommenders import rbm as rbm_recommender

    for module in (rbm, rbm_recommender):
        result = doctest.testmod(module, extraglobs={"tf": tf, "np": np, "TrainingData": TrainingData}, verbose=False)
        assert result.attempted > 0 and result.failed == 0, (module.__name__, result)
