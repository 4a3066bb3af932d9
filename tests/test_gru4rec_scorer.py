"""GRU4RecScorer: step-by-step evaluation equals scoring each prefix; vocabulary checks."""


import numpy as np
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.data.session_batches import session_parallel_batches
from tfrec.models.gru4rec import GRU4Rec
from tfrec.recommenders.gru4rec import GRU4RecScorer


def test_step_by_step_evaluation_equals_scoring_each_prefix():
    # the evaluation pass carries state across steps and resets it at session starts: its scores must
    # equal scoring every session prefix from scratch
    scorer = GRU4RecScorer(GRU4Rec(n_items=4, layers=[5], seed=2), ["a", "b", "c", "d"])
    items, offsets = np.array([0, 1, 2, 0, 1, 2, 3, 1]), np.array([0, 3, 5, 8])
    b = session_parallel_batches(items, offsets, [0, 1, 2], batch_size=2)
    scorer._begin(2)
    pos = np.zeros(2, int)
    for t in range(b.n_steps):
        scores = scorer._scores(b.inputs[t], b.reset[t])
        pos = np.where(b.reset[t], 0, pos + 1)
        for slot in np.flatnonzero(b.valid[t]):
            start = offsets[b.session[t, slot]]
            prefix = items[start:start + pos[slot] + 1]
            assert prefix[-1] == b.inputs[t, slot]
            ref = scorer.model(tf.constant(prefix[None], tf.int32)).numpy()[0]
            np.testing.assert_allclose(scores[slot], ref, atol=1e-5)


def test_predict_next_ranks_by_the_network_scores():
    net = GRU4Rec(n_items=5, layers=[3], seed=1)
    scorer = GRU4RecScorer(net, ["v", "w", "x", "y", "z"])
    got_ids, got_scores = scorer.predict_next(["x", "unknown", "v"], k=3)
    ref = net(tf.constant([[2, 0]])).numpy()[0]  # the unknown id is skipped
    order = np.argsort(-ref, kind="stable")[:3]
    assert got_ids.tolist() == np.array(["v", "w", "x", "y", "z"], dtype=object)[order].tolist()
    np.testing.assert_allclose(got_scores, ref[order], atol=1e-5)


def test_vocabulary_of_another_size_is_refused():
    with pytest.raises(ValueError, match="item_ids has 2 ids but the network scores 3 items"):
        GRU4RecScorer(GRU4Rec(n_items=3, layers=[2]), ["a", "b"])


def test_duplicate_item_ids_are_refused():
    with pytest.raises(ValueError, match="item_ids must be unique"):
        GRU4RecScorer(GRU4Rec(n_items=3, layers=[2]), ["a", "b", "a"])
