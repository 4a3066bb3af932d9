"""Tests of tfrec.splits: invariants, hand-derived cases and references on the real files."""

import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfrec import splits


def _frame(users, items, times, ratings=None):
    df = pd.DataFrame({"user_id": users, "movie_id": items, "timestamp": times})
    df["user_rating"] = ratings if ratings is not None else np.ones(len(df), np.float32)
    return df


def _random_frame(n_rows=300, n_users=20, n_items=40, seed=0):
    rng = np.random.default_rng(seed)
    return _frame(
        users=rng.integers(0, n_users, n_rows).astype(str),
        items=rng.integers(0, n_items, n_rows).astype(str),
        times=rng.integers(0, 50, n_rows),  # many equal timestamps on purpose
        ratings=rng.integers(1, 6, n_rows).astype(np.float32),
    )


def _assert_partition(df, train, test):
    """train and test are disjoint and together hold every row of df exactly once."""
    both = np.concatenate([train.index.to_numpy(), test.index.to_numpy()])
    assert len(both) == len(df)
    assert np.array_equal(np.sort(both), np.sort(df.index.to_numpy()))
    pd.testing.assert_frame_equal(pd.concat([train, test]).sort_index(), df.sort_index())


@pytest.fixture(scope="module")
def ml100k(ml100k_path):
    df = pd.read_csv(ml100k_path / "u.data", sep="\t", header=None,
                     names=["user_id", "movie_id", "user_rating", "timestamp"])
    df["user_id"] = df["user_id"].astype(str)
    df["movie_id"] = df["movie_id"].astype(str)
    return df


# ---------------------------------------------------------------------------------------------
# random_split


def test_random_split_partitions_and_sizes():
    df = _random_frame(n_rows=10)
    train, test = splits.random_split(df, ratio=0.8, seed=1)
    assert (len(train), len(test)) == (8, 2)
    _assert_partition(df, train, test)


def test_random_split_seeded():
    df = _random_frame()
    a = splits.random_split(df, seed=3)
    b = splits.random_split(df, seed=3)
    c = splits.random_split(df, seed=4)
    pd.testing.assert_frame_equal(a.train, b.train)
    pd.testing.assert_frame_equal(a.test, b.test)
    assert not a.test.index.equals(c.test.index)


@pytest.mark.parametrize("ratio", [0, 1, 1.5, -0.2, True, "0.8"])
def test_random_split_rejects_bad_ratio(ratio):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        splits.random_split(_random_frame(), ratio=ratio)


def test_missing_column_lists_available():
    df = _random_frame().rename(columns={"movie_id": "item"})
    with pytest.raises(KeyError, match=r"movie_id.*Available columns.*item"):
        splits.leave_one_out(df)


def test_splitters_do_not_mutate_input():
    df = _random_frame()
    before = df.copy()
    splits.random_split(df)
    splits.temporal_split(df)
    splits.leave_one_out(df)
    splits.ncf_split(df, num_negatives=5)
    splits.stratified_split(df)
    splits.kfold_split(df)
    pd.testing.assert_frame_equal(df, before)


# ---------------------------------------------------------------------------------------------
# temporal_split


def test_temporal_split_hand_case():
    # user a: 5 rows at times 3,1,2,5,4 -> round(0.8*5)=4 earliest (times 1..4) in train, time 5 test.
    # user b: 2 rows -> round(1.6)=2 train, 0 test. user c: 1 row -> round(0.8)=1 train.
    # user d: 4 rows all at time 7 -> round(3.2)=3 train; ties keep df order, so the last row tests.
    df = _frame(
        users=["a"] * 5 + ["b"] * 2 + ["c"] + ["d"] * 4,
        items=["i3", "i1", "i2", "i5", "i4", "x", "y", "z", "d1", "d2", "d3", "d4"],
        times=[3, 1, 2, 5, 4, 1, 2, 9, 7, 7, 7, 7],
    )
    train, test = splits.temporal_split(df, ratio=0.8)
    assert sorted(test["movie_id"]) == ["d4", "i5"]
    assert len(train) == 10
    _assert_partition(df, train, test)


def test_temporal_split_train_precedes_test_per_user():
    df = _random_frame()
    train, test = splits.temporal_split(df, ratio=0.6)
    last_train = train.groupby("user_id")["timestamp"].max()
    first_test = test.groupby("user_id")["timestamp"].min()
    common = first_test.index
    assert (last_train.reindex(common) <= first_test).all()


# ---------------------------------------------------------------------------------------------
# leave_one_out


def test_leave_one_out_picks_latest_and_keeps_singletons_in_train():
    df = _frame(
        users=["1", "1", "1", "2", "2", "3"],
        items=["a", "b", "c", "a", "d", "e"],
        times=[10, 30, 20, 5, 1, 100],
    )
    train, test = splits.leave_one_out(df)
    # user 1's latest is b (t=30), user 2's is a (t=5); user 3 has one row: train only.
    assert test["user_id"].tolist() == ["1", "2"]
    assert test["movie_id"].tolist() == ["b", "a"]
    assert "3" in set(train["user_id"]) and "3" not in set(test["user_id"])
    _assert_partition(df, train, test)


def test_leave_one_out_random_frame_picks_a_latest_row():
    df = _random_frame(seed=5)
    train, test = splits.leave_one_out(df, seed=9)
    latest = df.groupby("user_id")["timestamp"].max()
    assert (test["timestamp"].to_numpy() == latest.loc[test["user_id"]].to_numpy()).all()
    assert test["user_id"].is_unique
    _assert_partition(df, train, test)


def test_leave_one_out_ties_seeded():
    # user u has two rows at its latest time 5: the seed picks one, deterministically.
    df = _frame(users=["u"] * 3, items=["a", "b", "c"], times=[1, 5, 5])
    picks = {s: splits.leave_one_out(df, seed=s).test["movie_id"].item() for s in range(40)}
    assert set(picks.values()) == {"b", "c"}
    assert all(splits.leave_one_out(df, seed=s).test["movie_id"].item() == picks[s] for s in range(5))


def test_leave_one_out_pick_random_draws_any_row_uniformly():
    # user u has rows a (oldest), b, c (latest): pick="random" holds out each about a third of the time
    df = _frame(users=["u"] * 3 + ["v", "v"], items=["a", "b", "c", "a", "b"], times=[1, 2, 3, 1, 2])
    picks = [splits.leave_one_out(df, seed=s, pick="random").test.set_index("user_id").loc["u", "movie_id"]
             for s in range(300)]
    counts = pd.Series(picks).value_counts()
    assert set(counts.index) == {"a", "b", "c"} and counts.min() > 70  # binomial(300, 1/3): mean 100, sd 8
    split = splits.leave_one_out(df, seed=3, pick="random")
    assert split.test["user_id"].tolist() == ["u", "v"]
    _assert_partition(df, split.train, split.test)
    # seeded: the same seed holds out the same rows; no time column is needed
    again = splits.leave_one_out(df.drop(columns="timestamp"), seed=3, pick="random")
    assert again.test["movie_id"].tolist() == split.test["movie_id"].tolist()


def test_leave_one_out_unknown_pick_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown leave-one-out pick 'first'; expected one of \['latest', 'random'\]"):
        splits.leave_one_out(_frame(["u", "u"], ["a", "b"], [1, 2]), pick="first")


def test_protocol_passes_pick_and_keeps_the_other_defaults():
    from tfrec.evaluation import Protocol

    p = Protocol("leave_one_out", {"pick": "random"})
    assert p.params == {"seed": 42, "pick": "random"}
    df = _random_frame(seed=2)
    (split,) = p.split(df)
    assert split.test["movie_id"].tolist() == splits.leave_one_out(df, seed=42, pick="random").test["movie_id"].tolist()
    assert Protocol("ncf").params["pick"] == "latest"


# ---------------------------------------------------------------------------------------------
# ncf_split


def _positives(df):
    return df.groupby("user_id")["movie_id"].agg(set).to_dict()


def test_ncf_split_shape_alignment_and_loo_part():
    df = _random_frame(seed=2)
    split = splits.ncf_split(df, num_negatives=10, seed=7)
    loo = splits.leave_one_out(df, seed=7)
    pd.testing.assert_frame_equal(split.test, loo.test)
    pd.testing.assert_frame_equal(split.train, loo.train)
    assert split.negatives.shape == (len(split.test), 10)
    pos = _positives(df)
    for user, row in zip(split.test["user_id"], split.negatives):
        assert len(set(row)) == 10
        assert not set(row) & pos[user]
        assert set(row) <= set(df["movie_id"])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 8), st.integers(3, 15), st.integers(5, 60))
def test_ncf_negatives_never_positives_property(seed, n_users, n_items, n_rows):
    rng = np.random.default_rng(seed)
    df = _frame(users=rng.integers(0, n_users, n_rows), items=rng.integers(0, n_items, n_rows),
                times=rng.integers(0, 10, n_rows))
    pos = _positives(df)
    catalog = set(df["movie_id"])
    test_users = splits.leave_one_out(df, seed=seed).test["user_id"]
    if len(test_users) == 0:
        return
    num = min(len(catalog - pos[u]) for u in test_users)
    if num == 0:
        with pytest.raises(ValueError):
            splits.ncf_split(df, num_negatives=1, seed=seed)
        return
    split = splits.ncf_split(df, num_negatives=num, seed=seed)
    for user, row in zip(split.test["user_id"], split.negatives):
        assert len(set(row.tolist())) == num
        assert not set(row.tolist()) & pos[user]
        assert set(row.tolist()) <= catalog


def test_ncf_negatives_uniform():
    # 3000 users share positives {0, 1} among items 0..9: 8 candidates, 4 drawn each, so every
    # candidate is drawn with probability 1/2: 1500 expected, sd sqrt(3000/4) ~ 27; allow 6 sd.
    n_users = 3000
    df = _frame(users=np.repeat(np.arange(n_users), 2), items=np.tile([0, 1], n_users),
                times=np.tile([0, 1], n_users))
    # items 0..9 each get a one-row user (no test row) so the catalog is 0..9
    extra = _frame(users=n_users + np.arange(10), items=np.arange(10), times=np.zeros(10, int))
    df = pd.concat([df, extra], ignore_index=True)
    split = splits.ncf_split(df, num_negatives=4, seed=0)
    neg = split.negatives
    assert neg.shape == (n_users, 4)
    counts = np.bincount(neg.ravel().astype(int), minlength=10)
    assert counts[0] == counts[1] == 0
    assert np.all(np.abs(counts[2:] - 1500) < 6 * 27)


def test_ncf_split_too_many_negatives():
    df = _frame(users=["1", "1", "2", "2"], items=["a", "b", "a", "c"], times=[1, 2, 1, 2])
    # catalog {a, b, c}: each user has 1 item left.
    with pytest.raises(ValueError, match=r"num_negatives=2.*num_negatives <= 1"):
        splits.ncf_split(df, num_negatives=2)


def test_ncf_split_ml100k_fast(ml100k):
    start = time.process_time()  # CPU time: the shared test machine's load does not count
    split = splits.ncf_split(ml100k, num_negatives=99, seed=42)
    assert time.process_time() - start < 2.0
    assert split.negatives.shape == (943, 99)
    pos = _positives(ml100k)
    assert all(not set(row) & pos[u] for u, row in zip(split.test["user_id"], split.negatives))


# ---------------------------------------------------------------------------------------------
# stratified_split


def _reference_stratified(data, ratios, seed, by):
    """Microsoft Recommenders' legacy algorithm written plainly: per group sample + np.split."""
    cuts = np.cumsum(ratios).tolist()[:-1]
    pieces = []
    for _, group in data.groupby(by):
        shuffled = group.sample(frac=1, random_state=seed)
        bounds = [0] + [round(c * len(shuffled)) for c in cuts] + [len(shuffled)]
        for i in range(len(ratios)):
            piece = shuffled.iloc[bounds[i]:bounds[i + 1]].copy()
            piece["split_index"] = i
            pieces.append(piece)
    allp = pd.concat(pieces)
    return [allp[allp["split_index"] == i].drop(columns="split_index") for i in range(len(ratios))]


def test_stratified_hand_counts():
    # ratio 0.75: round(0.75*n) rows to train (Python round, half to even):
    # n=4 -> 3/1, n=2 -> round(1.5)=2/0, n=6 -> round(4.5)=4/2, n=3 -> round(2.25)=2/1, n=1 -> 1/0.
    sizes = {"a": 4, "b": 2, "c": 6, "d": 3, "e": 1}
    users = [u for u, n in sizes.items() for _ in range(n)]
    df = _frame(users=users, items=[f"i{j}" for j in range(len(users))], times=np.arange(len(users)))
    train, test = splits.stratified_split(df, ratio=0.75, seed=42)
    assert train["user_id"].value_counts().to_dict() == {"a": 3, "b": 2, "c": 4, "d": 2, "e": 1}
    assert test["user_id"].value_counts().to_dict() == {"a": 1, "c": 2, "d": 1}
    _assert_partition(df, train, test)


def test_stratified_hand_rows():
    # A group of 4 is shuffled by DataFrame.sample(frac=1, random_state=42), i.e. NumPy's
    # RandomState(42) permutation of positions 0..3, [1, 3, 0, 2]: the last shuffled row
    # (position 2, item "c") is the test row; the same seed shuffles every group of 4 alike.
    assert np.random.RandomState(42).permutation(4).tolist() == [1, 3, 0, 2]
    df = _frame(users=["u"] * 4 + ["v"] * 4, items=list("abcdefgh"), times=np.arange(8))
    train, test = splits.stratified_split(df, ratio=0.75, seed=42)
    assert test["movie_id"].tolist() == ["c", "g"]
    assert train["movie_id"].tolist() == ["b", "d", "a", "f", "h", "e"]


@pytest.mark.parametrize("ratio,by,min_rating", [(0.75, "user", 1), ([0.6, 0.2, 0.2], "user", 1),
                                                  ([2, 1, 1], "item", 3), (0.7, "item", 5)])
def test_stratified_matches_reference(ratio, by, min_rating):
    df = _random_frame(n_rows=250, seed=11)
    col = "user_id" if by == "user" else "movie_id"
    ref_data = df.groupby(col).filter(lambda g: len(g) >= min_rating) if min_rating > 1 else df
    ratios = [ratio, 1 - ratio] if isinstance(ratio, float) else [x / sum(ratio) for x in ratio]
    expected = _reference_stratified(ref_data, ratios, 42, col)
    got = splits.stratified_split(df, ratio=ratio, min_rating=min_rating, filter_by=by, seed=42)
    got = list(got) if isinstance(ratio, float) else got
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        pd.testing.assert_frame_equal(g, e)


def test_stratified_ml100k_per_user_ratio(ml100k):
    train, test = splits.stratified_split(ml100k, ratio=0.75)
    n = ml100k.groupby("user_id").size()
    n_test = test.groupby("user_id").size().reindex(n.index, fill_value=0)
    expected_test = n - np.round(0.75 * n).astype(int)
    assert (n_test == expected_test).all()
    assert len(train) + len(test) == len(ml100k)


def test_stratified_bad_arguments():
    df = _random_frame()
    with pytest.raises(ValueError, match="filter_by"):
        splits.stratified_split(df, filter_by="session")
    with pytest.raises(ValueError, match="min_rating"):
        splits.stratified_split(df, min_rating=0)
    with pytest.raises(ValueError, match="positive numbers"):
        splits.stratified_split(df, ratio=[0.5, -0.5])


# ---------------------------------------------------------------------------------------------
# kfold_split


def test_kfold_each_row_tested_once():
    df = _random_frame(n_rows=103)
    folds = splits.kfold_split(df, k=5, seed=3)
    assert len(folds) == 5
    tested = np.concatenate([f.test.index.to_numpy() for f in folds])
    assert np.array_equal(np.sort(tested), np.sort(df.index.to_numpy()))
    assert sorted(len(f.test) for f in folds) == [20, 20, 21, 21, 21]
    for f in folds:
        _assert_partition(df, f.train, f.test)
    other = splits.kfold_split(df, k=5, seed=4)
    assert not folds[0].test.index.equals(other[0].test.index)


@pytest.mark.parametrize("k", [1, 0, 2.5])
def test_kfold_rejects_bad_k(k):
    with pytest.raises(ValueError, match="k must be an integer >= 2"):
        splits.kfold_split(_random_frame(), k=k)


def test_kfold_rejects_more_folds_than_rows():
    with pytest.raises(ValueError, match="at least k rows"):
        splits.kfold_split(_random_frame(n_rows=3), k=4)


# ---------------------------------------------------------------------------------------------
# canonical_ml100k


def test_canonical_u1_and_ua(ml100k_path):
    train, test = splits.canonical_ml100k(ml100k_path, "u1")
    assert (len(train), len(test)) == (80000, 20000)
    assert list(train.columns) == ["user_id", "movie_id", "user_rating", "timestamp"]
    assert train["user_rating"].dtype == np.float32 and train["timestamp"].dtype == np.int64
    assert isinstance(train["user_id"].iloc[0], str)
    ua_train, ua_test = splits.canonical_ml100k(ml100k_path, "ua")
    assert (ua_test.groupby("user_id").size() == 10).all()  # ua holds out 10 ratings per user
    assert len(ua_train) + len(ua_test) == 100000


def test_canonical_unknown_name(tmp_path):
    with pytest.raises(ValueError, match=r"Valid names: \['u1'"):
        splits.canonical_ml100k(tmp_path, "u9")
    with pytest.raises(FileNotFoundError, match="u1.base"):
        splits.canonical_ml100k(tmp_path, "u1")


# ---------------------------------------------------------------------------------------------
# session_time_split


def test_session_split_hand_case():
    day = 86400.0
    rows = [
        # session 1: train (ends 2 days before tmax); items A, B
        (1, "A", 0.0), (1, "B", 10.0),
        # session 2: one event -> dropped first
        (2, "A", 20.0),
        # session 3: train; contains rare item R (support 1) -> R dropped, session keeps A, B
        (3, "A", 30.0), (3, "B", 40.0), (3, "R", 50.0),
        # session 4: test (ends at tmax); C is in train? no -> dropped from test; A, B stay
        (4, "A", 2 * day), (4, "C", 2 * day + 1), (4, "B", 2 * day + 2), (4, "C", 2 * day + 3),
        # session 5: test; after dropping C only one event left -> dropped
        (5, "A", 2 * day + 5), (5, "C", 2 * day + 6),
        # session 6: starts before the test window but ends inside it -> test
        (6, "B", day + 2.5), (6, "A", 2 * day + 4),
        # session 7: ends exactly at tmax - 1 day (tmax = 2 days + 6 s) -> test (>= boundary)
        (7, "A", day), (7, "B", day + 6),
    ]
    df = pd.DataFrame(rows, columns=["SessionId", "ItemId", "Time"])
    train, test = splits.session_time_split(df, min_item_support=2)
    # support of C is 3 >= 2, so C survives filtering but is absent from train.
    assert train["SessionId"].tolist() == [1, 1, 3, 3]
    assert test["SessionId"].tolist() == [4, 4, 6, 6, 7, 7]
    assert test["ItemId"].tolist() == ["A", "B", "B", "A", "A", "B"]


def test_session_split_reproduces_gru4rec_files(rsc15_path):
    # GRU4Rec's preprocess.py made train_tr / train_valid from train_full with exactly this
    # protocol and no item-support filter on that step.
    read = lambda name: pd.read_csv(rsc15_path / f"yoochoose-clicks-100k_{name}.txt", sep="\t")
    train, test = splits.session_time_split(read("train_full"), min_item_support=1)
    pd.testing.assert_frame_equal(train.reset_index(drop=True), read("train_tr"))
    pd.testing.assert_frame_equal(test.reset_index(drop=True), read("train_valid"))


def test_session_split_invariants(rsc15_path):
    df = pd.read_csv(rsc15_path / "yoochoose-clicks-100k_train_full.txt", sep="\t")
    train, test = splits.session_time_split(df, min_item_support=5)
    assert set(test["ItemId"]) <= set(train["ItemId"])
    assert (train.groupby("SessionId").size() >= 2).all() and (test.groupby("SessionId").size() >= 2).all()
    assert not set(train["SessionId"]) & set(test["SessionId"])
    tmax = max(train["Time"].max(), test["Time"].max())
    assert (train.groupby("SessionId")["Time"].max() < tmax - 86400).all()
    assert (test.groupby("SessionId")["Time"].max() >= tmax - 86400).all()


def test_session_split_datetime_and_errors():
    t0 = pd.Timestamp("2024-01-01")
    df = pd.DataFrame({
        "SessionId": [1, 1, 2, 2],
        "ItemId": ["a", "b", "a", "b"],
        "Time": [t0, t0 + pd.Timedelta(hours=1), t0 + pd.Timedelta(days=3), t0 + pd.Timedelta(days=3, hours=1)],
    })
    train, test = splits.session_time_split(df, min_item_support=1)
    assert train["SessionId"].tolist() == [1, 1] and test["SessionId"].tolist() == [2, 2]
    with pytest.raises(ValueError, match="no events left"):
        splits.session_time_split(df, min_item_support=5)
    with pytest.raises(ValueError, match="test_days"):
        splits.session_time_split(df, test_days=0)


# ----------------------------------------------------------------------------------------------
# validation_carve


def test_validation_carve_global_is_the_seeded_permutation_tail():
    df = _random_frame(n_rows=103)
    fit, val = splits.validation_carve(df, 0.1, seed=7)
    _assert_partition(df, fit, val)
    perm = np.random.default_rng(7).permutation(103)
    n_fit = round(0.9 * 103)  # 92.7 -> 93 fit rows, the last 10 of the permutation validate
    assert np.array_equal(fit.index.to_numpy(), perm[:n_fit]) and np.array_equal(val.index.to_numpy(), perm[n_fit:])


def test_validation_carve_global_is_what_the_trainer_carved_before():
    df = _random_frame(n_rows=250)
    fit, val = splits.validation_carve(df, 0.2, seed=3)
    old_fit, old_val = splits.random_split(df, 1.0 - 0.2, seed=3)  # training.data.prepare's former carve
    pd.testing.assert_frame_equal(fit, old_fit)
    pd.testing.assert_frame_equal(val, old_val)


def test_validation_carve_per_user_takes_a_share_of_every_user():
    df = _random_frame(n_rows=300, n_users=12)
    fit, val = splits.validation_carve(df, 0.25, seed=5, per_user=True)
    _assert_partition(df, fit, val)
    counts = df["user_id"].value_counts()
    fit_counts = fit["user_id"].value_counts().reindex(counts.index, fill_value=0)
    expected = counts.map(lambda c: round(0.75 * c))  # stratified_split's cut, per user
    assert fit_counts.equals(expected.astype(fit_counts.dtype))


def test_validation_carve_is_seeded():
    df = _random_frame()
    for per_user in (False, True):
        a = splits.validation_carve(df, 0.3, seed=11, per_user=per_user)[1].index
        b = splits.validation_carve(df, 0.3, seed=11, per_user=per_user)[1].index
        c = splits.validation_carve(df, 0.3, seed=12, per_user=per_user)[1].index
        assert a.equals(b) and not a.equals(c)


def test_validation_carve_docstring_example_runs():
    import doctest

    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for test in finder.find(splits.validation_carve, "validation_carve", globs={"validation_carve": splits.validation_carve}):
        runner.run(test)
    assert runner.tries > 0 and runner.failures == 0


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1, True, "0.1"])
def test_validation_carve_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match="fraction must be a number strictly between 0 and 1"):
        splits.validation_carve(_random_frame(), fraction)
