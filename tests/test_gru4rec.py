"""GRU4Rec: session-parallel batching, losses vs numpy, evaluation protocol, baselines, round trips."""

import inspect

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.data.session_batches import session_parallel_batches, sort_sessions
from tfrec.models.gru4rec import GRU4Rec, bpr_max_loss, cross_entropy_loss, top1_max_loss
from tfrec.recommenders.gru4rec import GRU4RecRecommender
from tfrec.recommenders.session import ranks_against_all
from tfrec.recommenders.session_baselines import SessionPopularity, SuccessorRule


# ----------------------------------------------------------------------------- batching

def _four_sessions():
    # sessions of lengths 2, 5, 3, 4; item ids encode (session, position) so successors are id + 1
    items = np.array([10, 11, 20, 21, 22, 23, 24, 30, 31, 32, 40, 41, 42, 43])
    offsets = np.array([0, 2, 7, 10, 14])
    return items, offsets


def test_session_parallel_batches_hand_derived():
    items, offsets = _four_sessions()
    b = session_parallel_batches(items, offsets, [0, 1, 2, 3], batch_size=2)
    # step 0: slot0 <- S0, slot1 <- S1 (both reset); step 1: S0 is done, slot0 <- S2 (reset);
    # step 3: S2 done, slot0 <- S3 (reset); step 4: S1 done, nothing left -> slot1 idle.
    np.testing.assert_array_equal(b.inputs, [[10, 20], [30, 21], [31, 22], [40, 23], [41, 0], [42, 0]])
    np.testing.assert_array_equal(b.targets, [[11, 21], [31, 22], [32, 23], [41, 24], [42, 0], [43, 0]])
    np.testing.assert_array_equal(b.reset, [[1, 1], [1, 0], [0, 0], [1, 0], [0, 0], [0, 0]])
    np.testing.assert_array_equal(b.valid, [[1, 1], [1, 1], [1, 1], [1, 1], [1, 0], [1, 0]])
    np.testing.assert_array_equal(b.session[:, 0], [0, 2, 2, 3, 3, 3])
    assert b.n_events == 10  # (2-1) + (5-1) + (3-1) + (4-1)


def test_batches_pair_every_event_with_its_successor_exactly_once():
    items, offsets = _four_sessions()
    for batch_size in (1, 3, 7):
        b = session_parallel_batches(items, offsets, [2, 0, 3, 1], batch_size)
        pairs = sorted(zip(b.inputs[b.valid].tolist(), b.targets[b.valid].tolist()))
        expected = sorted((int(items[i]), int(items[i + 1])) for s in range(4)
                          for i in range(offsets[s], offsets[s + 1] - 1))
        assert pairs == expected
        # a slot is reset exactly when its session changes
        prev = np.full(batch_size, -1)
        for t in range(b.n_steps):
            changed = (b.session[t] != prev) & b.valid[t]
            np.testing.assert_array_equal(b.reset[t], changed)
            prev = b.session[t]


def test_single_event_sessions_are_skipped_and_time_order_is_used():
    frame = pd.DataFrame({"SessionId": ["x", "x", "y", "z", "z"], "ItemId": ["a", "b", "c", "d", "e"],
                          "Time": [5.0, 6.0, 0.0, 1.0, 2.0]})
    offsets, order, sorted_frame = sort_sessions(frame, order="time")
    assert sorted_frame["ItemId"].tolist() == ["a", "b", "c", "d", "e"]
    np.testing.assert_array_equal(order, [1, 2, 0])  # y (t=0), z (t=1), x (t=5)
    b = session_parallel_batches(np.arange(5), offsets, order, batch_size=1)
    np.testing.assert_array_equal(b.inputs[:, 0], [3, 0])  # z first (y has one event), then x
    np.testing.assert_array_equal(b.reset[:, 0], [True, True])


def test_invalid_batch_size_raises():
    items, offsets = _four_sessions()
    with pytest.raises(ValueError, match="batch_size=0"):
        session_parallel_batches(items, offsets, [0, 1, 2, 3], batch_size=0)


# ----------------------------------------------------------------------------- losses

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


# ----------------------------------------------------------------------------- evaluation / baselines

def _log():
    # sessions: a b c | a b | b c | a c | d c   -> successors a->b 2, a->c 1, b->c 2, d->c 1;
    # popularity a 3, b 3, c 4, d 1 (max 4, tie-break term pop / 5)
    rows = [("1", "a"), ("1", "b"), ("1", "c"), ("2", "a"), ("2", "b"), ("3", "b"), ("3", "c"),
            ("4", "a"), ("4", "c"), ("5", "d"), ("5", "c")]
    return pd.DataFrame({"SessionId": [r[0] for r in rows], "ItemId": [r[1] for r in rows],
                         "Time": np.arange(len(rows), dtype=float)})


def test_ranks_use_strictly_higher_scores():
    scores = np.array([[1.0, 3.0, 3.0, 2.0], [1.0, 3.0, 3.0, 2.0]])
    np.testing.assert_array_equal(ranks_against_all(scores, np.array([1, 3])), [1, 3])


def test_successor_rule_hand_made_log():
    rule = SuccessorRule().fit(_log())
    items, scores = rule.predict_next(["a"], k=4)
    assert items.tolist() == ["b", "c", "a", "d"]
    np.testing.assert_allclose(scores, [2 + 3 / 5, 1 + 4 / 5, 3 / 5, 1 / 5])
    # the last item of the sequence decides: "... a b" -> c
    assert rule.predict_next(["a", "b"], k=1)[0].tolist() == ["c"]
    # test session a -> b -> d ("zz" is unseen and dropped): a->b has rank 1;
    # after b: c 2.8 > a 0.6 = b 0.6 > d 0.2, so d has rank 4
    test = pd.DataFrame({"SessionId": ["t"] * 4, "ItemId": ["a", "zz", "b", "d"], "Time": [0.0, 1, 2, 3]})
    m2 = rule.evaluate_sessions(test, k=2)
    assert (m2["recall@2"], m2["mrr@2"], m2["n_queries"], m2["n_dropped_events"]) == (0.5, 0.5, 2, 1)
    m5 = rule.evaluate_sessions(test, k=5)
    assert (m5["recall@5"], m5["mrr@5"]) == (1.0, pytest.approx((1 + 1 / 4) / 2))


def test_popularity_baseline_hand_made_log():
    pop = SessionPopularity().fit(_log())
    assert pop.predict_next(["d"], k=2)[0].tolist() == ["c", "a"]  # c 4, then a/b 3 tie -> lower index (a)
    test = pd.DataFrame({"SessionId": ["t", "t"], "ItemId": ["a", "d"], "Time": [0.0, 1.0]})
    # target d (1 click): three items have more clicks -> rank 4
    assert pop.evaluate_sessions(test, k=3)["recall@3"] == 0.0
    assert pop.evaluate_sessions(test, k=4)["mrr@4"] == 0.25


def test_successor_rule_without_tiebreak_counts_ties_generously():
    rule = SuccessorRule(popularity_tiebreak=False).fit(_log())
    test = pd.DataFrame({"SessionId": ["t", "t"], "ItemId": ["b", "d"], "Time": [0.0, 1.0]})
    # only c scores above the zero-count target d -> rank 2
    assert rule.evaluate_sessions(test, k=2)["mrr@2"] == 0.5


def test_predict_next_with_only_unknown_items_raises():
    with pytest.raises(ValueError, match="vocabulary"):
        SessionPopularity().fit(_log()).predict_next(["nope"])


def test_evaluate_before_fit_raises():
    with pytest.raises(RuntimeError, match="fit"):
        SuccessorRule().evaluate_sessions(_log())


# ----------------------------------------------------------------------------- the network

def test_step_by_step_evaluation_equals_scoring_each_prefix():
    # the evaluation pass carries state across steps and resets it at session starts: its scores must
    # equal scoring every session prefix from scratch
    algo = GRU4RecRecommender(layers=[5], batch_size=2, n_epochs=1, n_sample=3, seed=2).fit(_log())
    items, offsets = np.array([0, 1, 2, 0, 1, 2, 3, 1]), np.array([0, 3, 5, 8])
    b = session_parallel_batches(items, offsets, [0, 1, 2], batch_size=2)
    algo._begin(2)
    pos = np.zeros(2, int)
    for t in range(b.n_steps):
        scores = algo._scores(b.inputs[t], b.reset[t])
        pos = np.where(b.reset[t], 0, pos + 1)
        for slot in np.flatnonzero(b.valid[t]):
            start = offsets[b.session[t, slot]]
            prefix = items[start:start + pos[slot] + 1]
            assert prefix[-1] == b.inputs[t, slot]
            ref = algo.model(tf.constant(prefix[None], tf.int32)).numpy()[0]
            np.testing.assert_allclose(scores[slot], ref, atol=1e-5)


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


def test_invalid_loss_raises():
    with pytest.raises(ValueError, match="loss='top2'"):
        GRU4RecRecommender(loss="top2")


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


def test_short_training_beats_popularity_on_real_slice(rsc15_path):
    from tfrec.data import load_sessions

    train = load_sessions(rsc15_path / "yoochoose-clicks-100k_train_tr.txt")
    valid = load_sessions(rsc15_path / "yoochoose-clicks-100k_train_valid.txt")
    train = train[train["SessionId"].isin(train["SessionId"].unique()[:2500])]
    valid = valid[valid["SessionId"].isin(valid["SessionId"].unique()[:400])]
    pop = SessionPopularity().fit(train).evaluate_sessions(valid)
    algo = GRU4RecRecommender(layers=[32], loss="cross-entropy", batch_size=32, n_epochs=2, n_sample=128,
                              learning_rate=0.1, bpreg=1.0, seed=0).fit(train)
    got = algo.evaluate_sessions(valid)
    assert got["recall@20"] > pop["recall@20"] + 0.1, (got, pop)


def test_docstring_examples_run():
    import doctest

    from tfrec.data import session_batches
    from tfrec.models import gru4rec
    from tfrec.recommenders import gru4rec as gru4rec_recommender
    from tfrec.recommenders import session_baselines

    for module in (session_batches, gru4rec, gru4rec_recommender, session_baselines):
        result = doctest.testmod(module, extraglobs={"tf": tf, "np": np, "pd": pd}, verbose=False)
        assert result.attempted > 0 and result.failed == 0, (module.__name__, result)
