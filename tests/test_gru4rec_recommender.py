"""GRU4RecRecommender: step-by-step evaluation equals scoring each prefix, argument checks, beats
popularity on a real slice."""


import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.data.session_batches import session_parallel_batches
from tfrec.recommenders.gru4rec import GRU4RecRecommender
from tfrec.recommenders.session_baselines import SessionPopularity


def _log():
    # sessions: a b c | a b | b c | a c | d c   -> successors a->b 2, a->c 1, b->c 2, d->c 1;
    # popularity a 3, b 3, c 4, d 1 (max 4, tie-break term pop / 5)
    rows = [("1", "a"), ("1", "b"), ("1", "c"), ("2", "a"), ("2", "b"), ("3", "b"), ("3", "c"),
            ("4", "a"), ("4", "c"), ("5", "d"), ("5", "c")]
    return pd.DataFrame({"SessionId": [r[0] for r in rows], "ItemId": [r[1] for r in rows],
                         "Time": np.arange(len(rows), dtype=float)})


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


def test_invalid_loss_raises():
    with pytest.raises(ValueError, match="loss='top2'"):
        GRU4RecRecommender(loss="top2")


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
