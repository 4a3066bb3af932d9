"""Session-parallel mini-batches: hand-derived layout, every event paired with its successor once,
ordering, checks."""


import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401

from tfrec.data.session_batches import session_parallel_batches, sort_sessions


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
