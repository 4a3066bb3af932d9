"""Evaluator, protocols, TrainingData and the Algorithm interface: hand-made cases and leakage."""

import numpy as np
import pandas as pd
import pytest

from tfrec.data.training_data import OOV_INDEX, Columns, TrainingData
from tfrec.evaluation import EvaluationData, Evaluator, Protocol
from tfrec.recommenders.base import Algorithm, top_k
from tfrec.training import build_algorithm


def frame(rows):
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "user_rating", "timestamp"])


class FixedScores(Algorithm):
    """Scores item index i with table[user, i]; records what fit() received."""

    def __init__(self, table=None):
        super().__init__()
        self.table = table
        self.name = "fixed"
        self.seen_frames = []

    def fit(self, data):
        self.data = data
        self.seen_frames.append(data.frame.copy())
        if self.table is None:
            rng = np.random.default_rng(0)
            self.table = rng.random((data.n_users, data.n_items)).astype(np.float32)
        return self

    def score(self, users):
        return self.table[np.asarray(users)]


def test_top_k_matches_argsort_with_ties_broken_by_index():
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 5, size=(50, 30)).astype(np.float32)  # many ties
    idx, vals = top_k(scores, 7)
    for row in range(50):
        expected = sorted(range(30), key=lambda i: (-scores[row, i], i))[:7]
        assert idx[row].tolist() == expected
        np.testing.assert_array_equal(vals[row], scores[row, expected])


def test_top_k_k_larger_than_catalog_and_invalid_k():
    idx, _ = top_k(np.array([[0.1, 0.3, 0.2]]), 10)
    assert idx.tolist() == [[1, 2, 0]]
    with pytest.raises(ValueError, match="k must be a positive integer"):
        top_k(np.zeros((1, 3)), 0)


def test_training_data_vocabulary_and_oov():
    data = TrainingData(frame([("u2", "b", 4, 1), ("u1", "a", 3, 2), ("u1", "c", 5, 3)]))
    assert data.user_ids.tolist() == ["u1", "u2"]
    assert data.item_ids.tolist() == ["a", "b", "c"]
    assert data.user_index(["u2", "zz"]).tolist() == [1, OOV_INDEX]
    assert data.item_index(["c", "nope"]).tolist() == [2, OOV_INDEX]
    assert data.seen_matrix().toarray().tolist() == [[1, 0, 1], [0, 1, 0]]
    assert data.item_popularity().tolist() == [1, 1, 1]


def test_training_data_missing_column_lists_available():
    with pytest.raises(KeyError, match="Available columns"):
        TrainingData(pd.DataFrame({"user": [1], "movie_id": [2]}))


def test_recommend_excludes_seen_items():
    data = TrainingData(frame([("u1", "a", 3, 1), ("u1", "b", 3, 2), ("u2", "c", 3, 3)]))
    algo = FixedScores(np.array([[9, 8, 1], [5, 6, 7]], np.float32)).fit(data)
    items, _ = algo.recommend(np.array([0, 1]), k=1)
    assert items.tolist() == [[2], [1]]  # u1 saw a,b -> c; u2 saw c -> b (6 > 5)
    items, _ = algo.recommend(np.array([0]), k=1, exclude_seen=False)
    assert items.tolist() == [[0]]


def test_full_catalog_metrics_hand_computed():
    # Train: u1 saw a; u2 saw b. Test: u1 -> c, d ; u2 -> a.
    train = frame([("u1", "a", 4, 1), ("u2", "b", 4, 1), ("u3", "c", 4, 1), ("u3", "d", 4, 1)])
    test = frame([("u1", "c", 5, 2), ("u1", "d", 3, 2), ("u2", "a", 4, 2)])
    data = EvaluationData.build(train, test, Columns())
    # items a,b,c,d = 0..3 ; users u1,u2,u3 = 0..2
    table = np.array([[0, 0.1, 0.5, 0.9], [0.2, 0, 0.9, 0.8], [0, 0, 0, 0]], np.float32)
    from tfrec.evaluation.evaluator import EvaluatedAlgorithm

    out = EvaluatedAlgorithm(FixedScores(table), Protocol("random"), k=2).evaluate(data)["metrics"]
    # u1 top-2 (a excluded): d, c -> hits [1, 1]; u2 top-2 (b excluded): c, d -> hits [0, 0]
    assert out["precision@2"] == pytest.approx((1.0 + 0.0) / 2)
    assert out["recall@2"] == pytest.approx((1.0 + 0.0) / 2)
    assert out["hr@2"] == pytest.approx(0.5)
    assert out["ndcg@2"] == pytest.approx((1.0 + 0.0) / 2)  # u1 ideal order achieved
    # several held-out items per user: the per-user sum of 1/rank, not ARHR (a leave-one-out metric)
    assert out["reciprocal_rank_sum@2"] == pytest.approx((1 / 1 + 1 / 2 + 0) / 2)
    assert "arhr@2" not in out
    assert out["catalog_coverage"] == pytest.approx(2 / 4)
    assert out["test_users"] == 2


def test_sampled_protocol_hand_computed():
    # one user, held-out item scored 0.5 against negatives scored 0.9, 0.5 (tie counts above), 0.1
    train = frame([("u", "a", 4, 1), ("v", "b", 4, 1), ("v", "c", 4, 1), ("v", "d", 4, 1), ("v", "e", 4, 1)])
    test = frame([("u", "b", 4, 2)])
    data = EvaluationData.build(train, test, Columns(), negatives=np.array([["c", "d", "e"]]))
    table = np.array([[0, 0.5, 0.9, 0.5, 0.1], [0, 0, 0, 0, 0]], np.float32)
    from tfrec.evaluation.evaluator import EvaluatedAlgorithm

    out = EvaluatedAlgorithm(FixedScores(table), Protocol("ncf"), k=2).evaluate(data)["metrics"]
    assert out["hr@2"] == 0.0  # rank 3 (0-based 2): two negatives at or above it
    out3 = EvaluatedAlgorithm(FixedScores(table), Protocol("ncf"), k=3).evaluate(data)["metrics"]
    assert out3["hr@3"] == 1.0
    assert out3["ndcg@3"] == pytest.approx(1 / np.log2(4))


def test_no_test_interaction_reaches_fit(ml100k_path):
    from tfrec.data import load_movielens

    ratings = load_movielens(ml100k_path).ratings
    for proto in ("msr_stratified", "leave_one_out", "ncf"):
        ev = Evaluator(ratings, proto, progress=False)
        spy = FixedScores()
        ev.evaluate(spy)
        seen = spy.seen_frames[0]
        fold = ev.folds[0]
        key = lambda f: set(zip(f["user_id"], f["movie_id"], f["timestamp"]))  # noqa: E731
        assert not key(seen) & key(fold.test), proto
        assert len(seen) + len(fold.test) == len(ratings)
        # vocabularies and statistics come from tfrec.training rows only
        assert set(spy.data.item_ids) == set(seen["movie_id"])
        assert spy.data.item_popularity().sum() == len(seen)


def test_item_only_in_test_is_oov_and_counts_as_miss():
    train = frame([("u1", "a", 4, 1), ("u1", "b", 4, 1), ("u2", "a", 4, 1)])
    test = frame([("u1", "new", 5, 2), ("u2", "b", 4, 2)])
    data = EvaluationData.build(train, test, Columns())
    assert data.test["item_idx"].tolist() == [OOV_INDEX, 1]
    assert data.num_relevant.tolist() == [1, 1]
    assert data.relevant.nnz == 1


def test_unknown_protocol_and_parameter_messages():
    with pytest.raises(ValueError, match="Did you mean 'ncf'.*Valid protocols"):
        Protocol("ncff")
    with pytest.raises(ValueError, match="valid parameters"):
        Protocol("random", {"ratoi": 0.5})


def test_unknown_algorithm_lists_choices():
    with pytest.raises(ValueError, match="Did you mean 'popularity'.*Valid models"):
        build_algorithm("populartiy")


def test_evaluator_refuses_a_name_and_says_how_to_build_it():
    ev = Evaluator(frame([("u1", "a", 4, 1), ("u2", "b", 3, 2), ("u1", "b", 5, 3), ("u2", "a", 2, 4)]),
                   "random", k=1, progress=False, protocol_params={"ratio": 0.5})
    with pytest.raises(TypeError, match=r"build_algorithm\('popularity'\)"):
        ev.evaluate("popularity")


def test_canonical_protocol_needs_data_path():
    with pytest.raises(ValueError, match="data_path"):
        Evaluator(frame([("u", "a", 4, 1)]), "canonical")


def test_metadata_aligned_to_index_keeps_id_column():
    train = frame([("u1", "b", 4, 1), ("u1", "a", 4, 1)])
    items = pd.DataFrame({"movie_id": ["a", "b", "zz"], "movie_title": ["A", "B", "Z"]})
    data = TrainingData(train, items=items)
    assert data.items["movie_id"].tolist() == ["a", "b"]
    assert data.items["movie_title"].tolist() == ["A", "B"]


def test_registry_label_is_the_row_name():
    algo = build_algorithm("popularity", label="pop-row")
    assert algo.name == "pop-row"


def test_every_registered_keras_name_is_unique():
    """Two classes registered under one name would make deserialization pick whichever loaded last."""
    import importlib
    import pkgutil

    import tfrec.layers
    import tfrec.models

    names = {}
    for pkg in (tfrec.layers, tfrec.models):
        for mod in pkgutil.iter_modules(pkg.__path__):
            module = importlib.import_module(f"{pkg.__name__}.{mod.name}")
            for obj in vars(module).values():
                if isinstance(obj, type) and obj.__module__ == module.__name__:
                    import tensorflow as tf

                    registered = tf.keras.utils.get_registered_name(obj)
                    if registered.startswith("tfrec>"):
                        assert registered not in names or names[registered] is obj, (
                            f"{registered} is registered by {names.get(registered)} and {obj}")
                        names[registered] = obj
    assert "tfrec>MLP" in names and "tfrec>NCFMLP" in names
