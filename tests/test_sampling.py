"""The one negative sampler: never a positive, seeded, uniform or popularity-weighted."""

import doctest

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from tfrec import sampling
from tfrec.sampling import NegativeSampler


# -- negative sampler --------------------------------------------------------------------------------
@st.composite
def positive_matrices(draw):
    n_users = draw(st.integers(1, 6))
    n_items = draw(st.integers(2, 10))
    dense = np.array(draw(st.lists(st.lists(st.booleans(), min_size=n_items, max_size=n_items),
                                   min_size=n_users, max_size=n_users)))
    free = draw(st.lists(st.integers(0, n_items - 1), min_size=n_users, max_size=n_users))
    dense[np.arange(n_users), free] = False  # every user keeps at least one negative
    return dense


@settings(max_examples=60, deadline=None)
@given(dense=positive_matrices(), seed=st.integers(0, 2**31 - 1), k=st.integers(1, 6))
def test_sampler_never_yields_a_positive(dense, seed, k):
    sampler = NegativeSampler(sp.csr_matrix(dense.astype(np.float32)), seed=seed)
    users = np.repeat(np.arange(dense.shape[0]), 50)
    for _ in range(3):  # several epochs of draws from the same stream
        neg = sampler.sample(users, k)
        assert neg.shape == (len(users), k)
        assert neg.min() >= 0 and neg.max() < dense.shape[1]
        assert not dense[users[:, None], neg].any()
    rows, cols = np.nonzero(dense)
    u, i, j = sampler.pairwise_examples(rows, cols, k)
    assert len(u) == len(rows) * k
    assert dense[u, i].all() and not dense[u, j].any()


def test_sampler_covers_every_negative_and_no_positive():
    # user 0: positives {0, 1, 2}; a user with 9 positives of 10 exercises the exact fallback path
    dense = np.zeros((2, 10), bool)
    dense[0, :3] = True
    dense[1, :9] = True
    sampler = NegativeSampler(sp.csr_matrix(dense), seed=1, max_rounds=1)
    neg = sampler.sample(np.array([0] * 2000 + [1] * 50), 2)
    assert set(np.unique(neg[:2000])) == set(range(3, 10))  # uniform over the 7 negatives: all appear
    assert (neg[2000:] == 9).all()


def test_sampler_training_examples_labels_and_fresh_draws():
    dense = np.zeros((3, 8), bool)
    dense[0, [0, 1]] = dense[1, [2]] = dense[2, [3, 4, 5]] = True
    sampler = NegativeSampler(sp.csr_matrix(dense), seed=0)
    rows, cols = np.nonzero(dense)
    u, i, y = sampler.training_examples(rows, cols, num_negatives=4)
    assert len(y) == 6 * 5 and y.sum() == 6
    assert dense[u[y == 1], i[y == 1]].all()
    assert not dense[u[y == 0], i[y == 0]].any()
    u2, i2, _ = sampler.training_examples(rows, cols, num_negatives=4, shuffle=False)
    u3, i3, _ = sampler.training_examples(rows, cols, num_negatives=4, shuffle=False)
    assert not np.array_equal(i2[6:], i3[6:])  # resampled: a new epoch gets new negatives


def test_sampler_rejects_user_with_every_item():
    with pytest.raises(ValueError, match="every one of the 3 items"):
        NegativeSampler(sp.csr_matrix(np.ones((2, 3))), seed=0).sample(np.array([1]), 2)


def test_sampler_rejects_out_of_range_user():
    with pytest.raises(ValueError, match="Map unknown users"):
        NegativeSampler(sp.csr_matrix(np.eye(3)), seed=0).sample(np.array([-1, 0]), 2)


@settings(max_examples=60, deadline=None)
@given(dense=positive_matrices(), seed=st.integers(0, 2**31 - 1), weighted=st.booleans())
def test_sample_distinct_never_a_positive_nor_a_repeat(dense, seed, weighted):
    n_users, n_items = dense.shape
    free = (~dense).sum(axis=1)
    num = int(free.min())  # as many as the user with the fewest negatives has
    weights = np.arange(1, n_items + 1, dtype=float) if weighted else None
    sampler = NegativeSampler(sp.csr_matrix(dense), seed=seed, item_weights=weights)
    users = np.repeat(np.arange(n_users), 5)
    neg = sampler.sample_distinct(users, num)
    assert neg.shape == (len(users), num)
    assert not dense[users[:, None], neg].any()
    assert all(len(set(row)) == num for row in neg.tolist())


@settings(max_examples=40, deadline=None)
@given(dense=positive_matrices(), seed=st.integers(0, 2**31 - 1), k=st.integers(1, 4))
def test_weighted_sample_never_a_positive(dense, seed, k):
    weights = np.random.default_rng(seed).random(dense.shape[1]) + 0.01
    sampler = NegativeSampler(sp.csr_matrix(dense), seed=seed, item_weights=weights)
    users = np.repeat(np.arange(dense.shape[0]), 20)
    assert not dense[users[:, None], sampler.sample(users, k)].any()


@pytest.mark.parametrize("weights", [None, np.array([5.0, 1.0, 0.0, 3.0, 2.0, 1.0])])
def test_same_seed_same_draws(weights):
    dense = np.zeros((3, 6), bool)
    dense[0, [0, 1]] = dense[2, [5]] = True
    users = np.array([0, 1, 2, 2, 1, 0])

    def draws(seed):
        sampler = NegativeSampler(sp.csr_matrix(dense), seed=seed, item_weights=weights)
        return sampler.sample(users, 3), sampler.sample_distinct(users, 2), sampler.sample(users, 3)

    first, again, other = draws(7), draws(7), draws(8)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    assert not np.array_equal(first[0], first[2])  # the stream continues: the next epoch differs


def test_popularity_weighting_follows_counts():
    # user 0 has item 0 as a positive; items 1..4 have training counts 1, 2, 3, 4: conditioned on
    # not being a positive, item i is drawn with probability count_i / 10 (item 5 has count 0: never)
    counts = np.array([7.0, 1.0, 2.0, 3.0, 4.0, 0.0])
    dense = np.zeros((1, 6), bool)
    dense[0, 0] = True
    sampler = NegativeSampler(sp.csr_matrix(dense), seed=0, item_weights=counts)
    neg = sampler.sample(np.zeros(20000, np.int64), 1).ravel()
    freq = np.bincount(neg, minlength=6) / neg.size
    np.testing.assert_allclose(freq, [0, 0.1, 0.2, 0.3, 0.4, 0], atol=0.015)
    # without replacement, the first pick follows the same weights
    first = sampler.sample_distinct(np.zeros(20000, np.int64), 2)[:, 0]
    np.testing.assert_allclose(np.bincount(first, minlength=6) / first.size, [0, 0.1, 0.2, 0.3, 0.4, 0], atol=0.015)


def test_uniform_sample_distinct_is_uniform():
    dense = np.zeros((1, 10), bool)
    dense[0, :2] = True
    neg = NegativeSampler(sp.csr_matrix(dense), seed=3).sample_distinct(np.zeros(8000, np.int64), 3)
    freq = np.bincount(neg.ravel(), minlength=10) / neg.size
    np.testing.assert_allclose(freq, [0, 0] + [1 / 8] * 8, atol=0.015)


def test_sample_distinct_rejects_too_many_negatives():
    dense = np.zeros((2, 5), bool)
    dense[1, :3] = True
    with pytest.raises(ValueError, match=r"Users \[1\] have fewer than 3 items"):
        NegativeSampler(sp.csr_matrix(dense), seed=0).sample_distinct(np.array([0, 1]), 3)


def test_weights_leave_no_item_to_draw():
    dense = np.array([[True, False, False]])
    with pytest.raises(ValueError, match="items of nonzero weight"):
        NegativeSampler(sp.csr_matrix(dense), seed=0, item_weights=[1.0, 0.0, 0.0]).sample(np.array([0]), 1)


@pytest.mark.parametrize("weights", [[1.0, 2.0], [1.0, -1.0, 1.0], [0.0, 0.0, 0.0], [1.0, np.nan, 1.0]])
def test_invalid_item_weights(weights):
    with pytest.raises(ValueError, match="item_weights"):
        NegativeSampler(sp.csr_matrix(np.eye(3)), item_weights=weights)


def test_docstring_examples_run():
    assert doctest.testmod(sampling).failed == 0
