"""The session protocol (ranks against all items) and the baselines: popularity, successor rule, session KNN."""


import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401

from tfrec.recommenders.session import ranks_against_all
from tfrec.recommenders.session_baselines import SessionKNN, SessionPopularity, SuccessorRule


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


def test_session_knn_hand_made_log():
    # sessions {a,b,c} {a,b} {b,c} {a,c} {d,c}; current {a}: cosine 1/sqrt(3), 1/sqrt(2), 0, 1/sqrt(2), 0
    # -> the 2 nearest are sessions 2 and 4: a 2/sqrt(2), b 1/sqrt(2), c 1/sqrt(2), d 0; popularity
    # (a 3, b 3, c 4, d 1; term 1e-6 * pop / 5) puts c before b
    knn = SessionKNN(k=2).fit(_log())
    items, scores = knn.predict_next(["a"], k=4)
    assert items.tolist() == ["a", "c", "b", "d"]
    r = 1 / np.sqrt(2)
    np.testing.assert_allclose(scores, [2 * r + 3e-6 / 5, r + 4e-6 / 5, r + 3e-6 / 5, 1e-6 / 5], rtol=1e-9)
    # current {a, b}: cosine 2/sqrt(6), 1, 1/2, 1/2, 0 -> sessions 2 and 1: a = b = 1 + 2/sqrt(6), c 2/sqrt(6)
    _, scores = knn.predict_next(["a", "b", "a"], k=3)  # a repeated click counts once
    np.testing.assert_allclose(scores[:3], [1 + 2 / np.sqrt(6) + 3e-6 / 5, 1 + 2 / np.sqrt(6) + 3e-6 / 5,
                                            2 / np.sqrt(6) + 4e-6 / 5], rtol=1e-9)
    # test session a -> b -> d: b ranks 3rd after a; d 4th after a, b (a, b, c score above it)
    test = pd.DataFrame({"SessionId": ["t"] * 3, "ItemId": ["a", "b", "d"], "Time": [0.0, 1, 2]})
    m = knn.evaluate_sessions(test, k=3)
    assert (m["recall@3"], m["mrr@3"], m["n_queries"]) == (0.5, pytest.approx(1 / 6), 2)
    assert knn.evaluate_sessions(test, k=5)["mrr@5"] == pytest.approx((1 / 3 + 1 / 4) / 2)


def test_session_knn_k_must_be_positive():
    with pytest.raises(ValueError, match="k=0"):
        SessionKNN(k=0)


def test_session_knn_keeps_the_more_recent_of_equally_similar_sessions():
    # {a, c} ends at t=6, {a, b} at t=1 (listed second): both have cosine 1/sqrt(2) with {a}; k=1 keeps {a, c}
    train = pd.DataFrame({"SessionId": [2, 2, 1, 1], "ItemId": ["a", "c", "a", "b"], "Time": [5.0, 6, 0, 1]})
    items, scores = SessionKNN(k=1).fit(train).predict_next(["a"], k=2)
    assert items.tolist() == ["a", "c"] and scores[1] > 0.7
    train["Time"] = [0.0, 1, 5, 6]  # now {a, b} is the more recent
    assert SessionKNN(k=1).fit(train).predict_next(["a"], k=2)[0].tolist() == ["a", "b"]
