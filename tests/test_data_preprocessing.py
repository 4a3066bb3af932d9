"""tfrec.data.preprocessing: statistics equal numpy on the training values; OOV and missing never crash."""

import doctest
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tfrec.data.preprocessing as preprocessing
from tfrec.data import (
    MISSING_BUCKET,
    OOV_INDEX,
    Bucketizer,
    Normalizer,
    Vocabulary,
    load_criteo,
    preprocessor_from_config,
)


def _round_trip(obj):
    return preprocessor_from_config(json.loads(json.dumps(obj.to_config())))


def test_docstring_examples_run():
    result = doctest.testmod(preprocessing)
    assert result.attempted >= 5 and result.failed == 0


# ----------------------------------------------------------------------------------------------
# Vocabulary


def test_vocabulary_order_and_oov():
    # counts: b=3, a=2, c=2, d=1 -> order b, a, c (tie by id), d
    vocab = Vocabulary.fit(["a", "b", "c", "b", "a", "d", "c", "b"])
    assert vocab.tokens == ["b", "a", "c", "d"] and vocab.size == 5
    assert vocab.lookup(["b", "a", "c", "d", "never-seen"]).tolist() == [1, 2, 3, 4, OOV_INDEX]
    assert vocab.lookup(["zzz", None, float("nan")]).tolist() == [0, 0, 0]
    assert vocab.token([0, 1, 4]).tolist() == [None, "b", "d"]


def test_vocabulary_min_count_and_max_size():
    values = ["a", "b", "c", "b", "a", "d", "c", "b"]
    assert Vocabulary.fit(values, min_count=2).tokens == ["b", "a", "c"]
    assert Vocabulary.fit(values, max_size=2).tokens == ["b", "a"]
    assert Vocabulary.fit(values, min_count=3, max_size=2).tokens == ["b"]


def test_vocabulary_ints_and_strings_are_the_same_id():
    vocab = Vocabulary.fit(np.array([7, 7, 3, 12]))
    assert vocab.tokens == ["7", "12", "3"]
    assert vocab.lookup(["7", 12, np.int64(3), 99]).tolist() == [1, 2, 3, 0]
    # ids read as float because of a missing value: 3.0 is "3", NaN is skipped
    assert Vocabulary.fit(np.array([3.0, np.nan, 3.0, 4.5])).tokens == ["3", "4.5"]


def test_vocabulary_config_round_trip():
    vocab = Vocabulary.fit(["x", "y", "y"])
    again = _round_trip(vocab)
    assert isinstance(again, Vocabulary) and again.tokens == vocab.tokens
    assert again.lookup(["y", "x", "q"]).tolist() == vocab.lookup(["y", "x", "q"]).tolist() == [1, 2, 0]


def test_vocabulary_fit_on_train_only_unseen_test_ids(ml100k_path):
    from tfrec.data import load_movielens

    ratings = load_movielens(ml100k_path).ratings.sort_values("timestamp", kind="stable")
    train, test = ratings.iloc[:80_000], ratings.iloc[80_000:]
    vocab = Vocabulary.fit(train["movie_id"])
    assert vocab.tokens[0] == train["movie_id"].value_counts().idxmax()
    assert set(vocab.tokens) == set(train["movie_id"])
    idx = vocab.lookup(test["movie_id"])
    unseen = ~test["movie_id"].isin(set(train["movie_id"])).to_numpy()
    assert unseen.any()  # movies released after the split exist; they must hit the OOV bucket
    assert (idx[unseen] == OOV_INDEX).all() and (idx[~unseen] >= 1).all()


def test_vocabulary_invalid_arguments():
    with pytest.raises(ValueError, match=r"min_count, expected an integer >= 1\. Received: min_count=0"):
        Vocabulary.fit(["a"], min_count=0)
    with pytest.raises(ValueError, match=r"max_size.*Received: max_size=2\.5"):
        Vocabulary.fit(["a"], max_size=2.5)
    with pytest.raises(ValueError, match=r"unique; received duplicates \['a'\]"):
        Vocabulary(["a", "b", "a"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=60), st.lists(st.integers(-5, 40), max_size=30))
def test_vocabulary_lookup_in_range(train, other):
    vocab = Vocabulary.fit(train)
    idx = vocab.lookup(other)
    assert ((idx >= 0) & (idx < vocab.size)).all()
    assert ((idx == 0) == ~np.isin(other, train)).all()


# ----------------------------------------------------------------------------------------------
# Normalizer


def test_normalizer_equals_numpy_on_train(criteo_path):
    frame = load_criteo(criteo_path / "criteo_sampled_data_10k.csv").frame
    train, test = frame.iloc[:8000], frame.iloc[8000:]
    x = train["I5"].to_numpy()
    norm = Normalizer.fit(x)
    assert norm.mean == pytest.approx(np.nanmean(x), rel=1e-12)
    assert norm.std == pytest.approx(np.nanstd(x), rel=1e-12)
    y = test["I5"].to_numpy()
    expected = np.where(np.isnan(y), 0.0, (y - np.nanmean(x)) / np.nanstd(x))
    np.testing.assert_allclose(norm.transform(y), expected, rtol=1e-6, atol=1e-6)

    # signed log1p on I2, which has negatives
    x2 = train["I2"].to_numpy()
    assert np.nanmin(x2) < 0
    t = np.sign(x2) * np.log1p(np.abs(x2))
    log_norm = Normalizer.fit(x2, log1p=True)
    assert log_norm.mean == pytest.approx(np.nanmean(t)) and log_norm.std == pytest.approx(np.nanstd(t))


def test_normalizer_hand_example_and_inverse():
    # [1, 3, NaN]: mean 2, std 1 -> [-1, 1, missing_value]
    norm = Normalizer.fit([1.0, 3.0, np.nan], missing_value=-9.0)
    assert norm.transform([1.0, 3.0, np.nan, np.inf]).tolist() == [-1.0, 1.0, -9.0, -9.0]
    log_norm = Normalizer.fit([0.0, 10.0, 100.0, -3.0], log1p=True)
    np.testing.assert_allclose(log_norm.inverse_transform(log_norm.transform([5.0, -2.0])), [5.0, -2.0], rtol=1e-6)


def test_normalizer_constant_and_empty():
    assert Normalizer.fit([4.0, 4.0]).transform([4.0, 5.0]).tolist() == [0.0, 1.0]  # std 0 -> 1
    with pytest.raises(ValueError, match="no finite value"):
        Normalizer.fit([np.nan, np.inf])


def test_normalizer_config_round_trip():
    norm = Normalizer.fit([1.0, 2.0, 9.0], log1p=True, missing_value=0.5)
    again = _round_trip(norm)
    assert again.to_config() == norm.to_config()
    np.testing.assert_array_equal(again.transform([3.0, np.nan]), norm.transform([3.0, np.nan]))


# ----------------------------------------------------------------------------------------------
# Bucketizer


def test_bucketizer_equals_numpy_quantiles(criteo_path):
    frame = load_criteo(criteo_path / "criteo_sampled_data_10k.csv").frame
    x = frame["I5"].iloc[:8000].to_numpy()
    buckets = Bucketizer.fit(x, num_buckets=4)
    finite = x[np.isfinite(x)]
    np.testing.assert_array_equal(buckets.boundaries, np.quantile(finite, [0.25, 0.5, 0.75]))
    y = frame["I5"].iloc[8000:].to_numpy()
    expected = np.where(np.isnan(y), 0, np.searchsorted(np.quantile(finite, [0.25, 0.5, 0.75]), y, side="right") + 1)
    np.testing.assert_array_equal(buckets.transform(y), expected)
    counts = np.bincount(buckets.transform(finite), minlength=5)
    assert counts[0] == 0 and all(abs(c - len(finite) / 4) <= len(finite) * 0.02 for c in counts[1:])


def test_bucketizer_hand_example():
    # quantiles of [1, 2, 3, 4] at 1/2: 2.5 -> buckets 1 (< 2.5) and 2 (>= 2.5); NaN -> 0
    b = Bucketizer.fit([1, 2, 3, 4], num_buckets=2)
    assert b.boundaries.tolist() == [2.5] and b.num_buckets == 2 and b.size == 3
    assert b.transform([-100, 2.5, 3, np.nan]).tolist() == [1, 2, 2, MISSING_BUCKET]


def test_bucketizer_ties_merge_and_errors():
    b = Bucketizer.fit([0, 0, 0, 0, 0, 0, 1, 5], num_buckets=4)  # quantiles 0, 0, 0.25 -> [0, 0.25]
    assert b.boundaries.tolist() == [0.0, 0.25] and b.num_buckets == 3
    with pytest.raises(ValueError, match=r"num_buckets, expected an integer >= 1\. Received: num_buckets=0"):
        Bucketizer.fit([1.0], num_buckets=0)
    with pytest.raises(ValueError, match="strictly increasing"):
        Bucketizer([2.0, 1.0])


def test_bucketizer_config_round_trip():
    b = Bucketizer.fit(np.arange(100.0), num_buckets=5)
    again = _round_trip(b)
    np.testing.assert_array_equal(again.boundaries, b.boundaries)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50),
    st.integers(1, 8),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=20),
)
def test_bucketizer_monotone_and_in_range(train, k, other):
    b = Bucketizer.fit(train, num_buckets=k)
    out = b.transform(other)
    assert ((out >= 0) & (out <= b.num_buckets)).all()
    finite = np.isfinite(np.asarray(other, dtype=float)) if other else np.array([], bool)
    assert ((out == 0) == ~finite).all()
    x = np.sort(np.asarray(train))
    assert (np.diff(b.transform(x)) >= 0).all()


def test_preprocessor_from_config_unknown_class():
    with pytest.raises(ValueError, match=r"class_name must be one of.*Received|received 'Scaler'"):
        preprocessor_from_config({"class_name": "Scaler"})


# -- add_user_history (SVD++'s N(u) as a multi_hot list column) --------------------------------------


def _history_frames():
    import pandas as pd

    train = pd.DataFrame({"user_id": [1, 1, 1, 2], "movie_id": [10, 11, 12, 10], "t": [3, 1, 2, 5]})
    test = pd.DataFrame({"user_id": [1, 2, 3], "movie_id": [13, 11, 10]})
    return train, test


def test_add_user_history_uses_only_the_history_rows():
    from tfrec.data import add_user_history

    train, test = _history_frames()
    out = add_user_history(test, train)
    assert out["user_history"].tolist() == [[10, 11, 12], [10], []]
    assert "user_history" not in test.columns  # the input frame is not modified
    # the test rows' own items never enter any list
    both = add_user_history(train, train)
    assert all(13 not in h for h in both["user_history"]) and both["user_history"].tolist()[0] == [10, 11, 12]


def test_add_user_history_exclude_own_and_max_length():
    from tfrec.data import add_user_history

    train, _ = _history_frames()
    out = add_user_history(train, train, exclude_own=True)
    assert out["user_history"].tolist() == [[11, 12], [10, 12], [10, 11], []]
    # most recent two by t: user 1's order is 11 (t=1), 12 (t=2), 10 (t=3)
    recent = add_user_history(train, train, max_length=2, order_by="t")
    assert recent["user_history"].tolist()[0] == [12, 10]
    # excluding the own item first, then truncating: each row still gets max_length others
    both = add_user_history(train, train, exclude_own=True, max_length=2, order_by="t")
    assert both["user_history"].tolist() == [[11, 12], [12, 10], [11, 10], []]


def test_add_user_history_bad_input():
    from tfrec.data import add_user_history

    train, test = _history_frames()
    with pytest.raises(ValueError, match="max_length"):
        add_user_history(test, train, max_length=0)
    with pytest.raises(KeyError, match="lacks column"):
        add_user_history(test, train, order_by="nope")
    with pytest.raises(KeyError, match="lacks column"):
        add_user_history(test.drop(columns="movie_id"), train, exclude_own=True)
    with pytest.raises(ValueError, match="already has a column"):
        add_user_history(test.assign(user_history=1), train)
    with pytest.raises(TypeError, match="DataFrame"):
        add_user_history(test, train.to_dict())
