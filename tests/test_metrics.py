"""Tests of tfrec.metrics: hand-computed cases (arithmetic in comments) and loop references."""

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp

from tfrec import metrics

# Shared hand case, k = 4 (list length 4):
#   user 0: hits [1, 0, 1, 0], 3 relevant items
#   user 1: hits [0, 0, 0, 0], 2 relevant items
#   user 2: hits [0, 1, 0, 0], 1 relevant item
#   user 3: hits [0, 0, 0, 0], 0 relevant items -> left out of every mean, NaN per user
HITS = np.array([[1, 0, 1, 0], [0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]], dtype=bool)
NREL = np.array([3, 2, 1, 0])
L3 = 1 / math.log2(3)  # discount of rank 2


# ---------------------------------------------------------------------------------------------
# hits_matrix


def test_hits_matrix_sets_and_csr_agree_on_hand_case():
    recommended = np.array([[5, 2, 7], [0, 1, -1], [3, 3, 4]])
    relevant_sets = [{2, 9}, {4}, {3}]
    # user 0: 2 is relevant (position 1); user 1: nothing, -1 is padding; user 2: 3 twice.
    expected = np.array([[0, 1, 0], [0, 0, 0], [1, 1, 0]], dtype=bool)
    np.testing.assert_array_equal(metrics.hits_matrix(recommended, relevant_sets), expected)
    csr = sp.csr_matrix((np.ones(4), ([0, 0, 1, 2], [2, 9, 4, 3])), shape=(3, 10))
    np.testing.assert_array_equal(metrics.hits_matrix(recommended, csr), expected)
    np.testing.assert_array_equal(metrics.relevant_counts(csr), [2, 1, 1])
    np.testing.assert_array_equal(metrics.relevant_counts(relevant_sets), [2, 1, 1])


def test_hits_matrix_ignores_explicit_zeros():
    csr = sp.csr_matrix((np.array([0.0, 4.0]), np.array([1, 2]), np.array([0, 2])), shape=(1, 3))
    np.testing.assert_array_equal(metrics.hits_matrix(np.array([[1, 2]]), csr), [[False, True]])


def test_hits_matrix_random_matches_loop():
    rng = np.random.default_rng(0)
    n_users, n_items, k = 50, 30, 8
    dense = rng.random((n_users, n_items)) < 0.2
    recommended = np.stack([rng.permutation(n_items)[:k] for _ in range(n_users)])
    expected = np.array([[dense[u, i] for i in row] for u, row in enumerate(recommended)])
    np.testing.assert_array_equal(metrics.hits_matrix(recommended, sp.csr_matrix(dense)), expected)


def test_hits_matrix_errors():
    with pytest.raises(ValueError, match="item index 5 but relevant has only 3"):
        metrics.hits_matrix(np.array([[5]]), sp.csr_matrix((1, 3)))
    with pytest.raises(ValueError, match="2 rows but recommended has 1"):
        metrics.hits_matrix(np.array([[0]]), sp.csr_matrix((2, 3)))
    with pytest.raises(TypeError, match="integer item indices"):
        metrics.hits_matrix(np.array([[0.5]]), [{0}])


# ---------------------------------------------------------------------------------------------
# ranking metrics on the hand case


def test_precision_hand():
    # 2/4, 0/4, 1/4 -> mean over the 3 users with relevant items = 0.75 / 3 = 0.25
    assert metrics.precision_at_k(HITS, NREL) == pytest.approx(0.25)
    per_user = metrics.precision_at_k(HITS, NREL, reduce=False)
    np.testing.assert_allclose(per_user, [0.5, 0.0, 0.25, np.nan])


def test_recall_hand():
    # 2/3, 0/2, 1/1 -> (2/3 + 1) / 3 = 5/9
    assert metrics.recall_at_k(HITS, NREL) == pytest.approx(5 / 9)


def test_ndcg_hand():
    # user 0: DCG = 1/log2(2) + 1/log2(4) = 1.5; IDCG over min(3, 4) = 3 places = 1 + 1/log2(3) + 0.5
    # user 1: 0; user 2: DCG = 1/log2(3), IDCG = 1
    expected = (1.5 / (1.5 + L3) + 0.0 + L3) / 3
    assert metrics.ndcg_at_k(HITS, NREL) == pytest.approx(expected)


def test_map_hand():
    # user 0: hits at ranks 1 and 3: (P@1 + P@3) / 3 relevant = (1 + 2/3) / 3 = 5/9
    # user 1: 0; user 2: hit at rank 2: P@2 / 1 = 1/2.  Mean (5/9 + 1/2) / 3 = 19/54
    assert metrics.map_at_k(HITS, NREL) == pytest.approx(19 / 54)


def test_map_denominators_at_k2():
    # k = 2: user 0 hits [1, 0]: P@1 = 1, divided by 3 relevant -> 1/3, or by min(3, 2) = 2 -> 1/2
    # user 2 hits [0, 1]: P@2 = 1/2 over 1 relevant -> 1/2 either way; user 1: 0
    assert metrics.map_at_k(HITS, NREL, k=2) == pytest.approx((1 / 3 + 0.5) / 3)
    assert metrics.map_at_k(HITS, NREL, k=2, denominator="min") == pytest.approx((0.5 + 0.5) / 3)


def test_hit_rate_arhr_mrr_hand():
    # HR: users 0 and 2 hit, user 1 not -> 2/3
    assert metrics.hit_rate_at_k(HITS, NREL) == pytest.approx(2 / 3)
    # per-user sum of 1/rank: user 0: 1/1 + 1/3 = 4/3; user 2: 1/2 -> (4/3 + 1/2) / 3 = 11/18
    assert metrics.reciprocal_rank_sum_at_k(HITS, NREL) == pytest.approx(11 / 18)
    # MRR: first hits at ranks 1, -, 2 -> (1 + 0 + 1/2) / 3 = 1/2
    assert metrics.mrr_at_k(HITS, NREL) == pytest.approx(0.5)


def test_k_smaller_than_list():
    # k = 1: only user 0 hits at rank 1. precision (1 + 0 + 0) / 3; HR 1/3; NDCG user 0 = 1/1
    assert metrics.precision_at_k(HITS, NREL, k=1) == pytest.approx(1 / 3)
    assert metrics.hit_rate_at_k(HITS, NREL, k=1) == pytest.approx(1 / 3)
    assert metrics.ndcg_at_k(HITS, NREL, k=1) == pytest.approx(1 / 3)


def test_k_larger_than_list():
    # k = 6 on lists of 4: missing places are misses. precision (2/6 + 0 + 1/6) / 3 = 1/6
    assert metrics.precision_at_k(HITS, NREL, k=6) == pytest.approx(1 / 6)
    assert metrics.recall_at_k(HITS, NREL, k=6) == pytest.approx(5 / 9)
    # one user, 6 relevant, 4 hits in a list of 4, k = 6:
    # DCG = 1 + 1/log2 3 + 1/2 + 1/log2 5; IDCG adds 1/log2 6 + 1/log2 7 for the 2 missing places
    dcg = 1 + L3 + 0.5 + 1 / math.log2(5)
    idcg = dcg + 1 / math.log2(6) + 1 / math.log2(7)
    assert metrics.ndcg_at_k([[1, 1, 1, 1]], [6], k=6) == pytest.approx(dcg / idcg)
    assert metrics.ndcg_at_k([[1, 1, 1, 1]], [6]) == pytest.approx(1.0)  # k = 4: IDCG over 4 places


def test_no_relevant_users_give_nan():
    assert math.isnan(metrics.recall_at_k([[0, 0]], [0]))
    assert np.isnan(metrics.ndcg_at_k([[0, 0], [1, 0]], [0, 1], reduce=False)[0])


def test_ranking_input_errors():
    with pytest.raises(ValueError, match="2 hits but num_relevant=1"):
        metrics.precision_at_k([[1, 1]], [1])
    with pytest.raises(ValueError, match="0/1"):
        metrics.precision_at_k([[2, 0]], [1])
    with pytest.raises(ValueError, match="same length"):
        metrics.precision_at_k([[1, 0]], [1, 1])
    with pytest.raises(ValueError, match="k must be a positive integer"):
        metrics.precision_at_k([[1, 0]], [1], k=0)
    with pytest.raises(ValueError, match="denominator"):
        metrics.map_at_k([[1, 0]], [1], denominator="k")


def _ndcg_loop(hits_row, n_rel, k):
    dcg = sum(1 / math.log2(i + 2) for i in range(min(k, len(hits_row))) if hits_row[i])
    idcg = sum(1 / math.log2(i + 2) for i in range(min(n_rel, k)))
    return dcg / idcg


def _ap_loop(hits_row, n_rel, k):
    found, total = 0, 0.0
    for i, h in enumerate(hits_row[:k]):
        if h:
            found += 1
            total += found / (i + 1)
    return total / n_rel


@pytest.mark.parametrize("k", [3, 10, 15])
def test_ndcg_and_map_match_loop_reference(k):
    rng = np.random.default_rng(k)
    hits = rng.random((200, 10)) < 0.3
    n_rel = hits.sum(axis=1) + rng.integers(0, 5, 200)
    ok = n_rel > 0
    ndcg_ref = np.mean([_ndcg_loop(h, n, k) for h, n in zip(hits[ok], n_rel[ok])])
    map_ref = np.mean([_ap_loop(h, n, k) for h, n in zip(hits[ok], n_rel[ok])])
    assert metrics.ndcg_at_k(hits, n_rel, k=k) == pytest.approx(ndcg_ref, rel=1e-12)
    assert metrics.map_at_k(hits, n_rel, k=k) == pytest.approx(map_ref, rel=1e-12)


def test_cumulative_and_rating_hit_rate_hand():
    hits_any = np.array([True, False, True, True, False, True])
    ratings = np.array([5, 4, 3, 4, 5, 4])
    # ratings >= 4: positions 0 (hit), 1, 3 (hit), 4, 5 (hit) -> 3 / 5
    assert metrics.cumulative_hit_rate(hits_any, ratings) == pytest.approx(3 / 5)
    # 3: position 2 hit -> 1; 4: positions 1, 3, 5 -> 2/3; 5: positions 0, 4 -> 1/2
    assert metrics.rating_hit_rate(hits_any, ratings) == pytest.approx({3.0: 1.0, 4.0: 2 / 3, 5.0: 0.5})
    # a [n, k] hits matrix is reduced with any()
    assert metrics.cumulative_hit_rate(np.array([[0, 1], [0, 0]]), [4, 5]) == pytest.approx(0.5)
    assert math.isnan(metrics.cumulative_hit_rate([True], [2.0]))


# ---------------------------------------------------------------------------------------------
# rating and classification


def test_rmse_mae_hand():
    # errors 1, 0, 2, -4: squares sum 21 -> RMSE sqrt(21/4); MAE 7/4
    assert metrics.rmse([1, 2, 3, 4], [2, 2, 5, 0]) == pytest.approx(math.sqrt(21 / 4))
    assert metrics.mae([1, 2, 3, 4], [2, 2, 5, 0]) == pytest.approx(7 / 4)


def test_rating_errors():
    with pytest.raises(ValueError, match="same length"):
        metrics.rmse([1, 2], [1])
    with pytest.raises(ValueError, match="NaN"):
        metrics.mae([1, 2], [1, np.nan])
    with pytest.raises(ValueError, match="empty"):
        metrics.rmse([], [])


def test_auc_hand_with_ties():
    # positives 0.9, 0.5, 0.1; negatives 0.9, 0.1. Pairs: (.9,.9) tie 1/2, (.9,.1) 1, (.5,.9) 0,
    # (.5,.1) 1, (.1,.9) 0, (.1,.1) tie 1/2 -> 3 / 6
    assert metrics.auc([1, 0, 1, 0, 1], [0.9, 0.9, 0.5, 0.1, 0.1]) == pytest.approx(0.5)
    assert metrics.auc([0, 0, 1], [0.1, 0.2, 0.3]) == pytest.approx(1.0)


def _auc_pairwise(labels, scores):
    pos = scores[labels == 1]
    neg = scores[labels == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return wins / (len(pos) * len(neg))


@pytest.mark.parametrize("seed", range(5))
def test_auc_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    labels = (rng.random(300) < 0.3).astype(int)
    scores = np.round(rng.random(300) + 0.3 * labels, 1)  # rounding makes many ties
    assert metrics.auc(labels, scores) == pytest.approx(_auc_pairwise(labels, scores), abs=1e-12)


def test_auc_one_class_error():
    with pytest.raises(ValueError, match="both classes; received 0 positive and 2 negative"):
        metrics.auc([0, 0], [0.1, 0.2])


def test_log_loss_hand_and_clipping():
    # -(ln 0.8 + ln(1 - 0.4)) / 2
    assert metrics.log_loss([1, 0], [0.8, 0.4]) == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)
    # p = 0 for a positive is clipped to 1e-7: -ln(1e-7)
    assert metrics.log_loss([1], [0.0]) == pytest.approx(-math.log(1e-7))
    with pytest.raises(ValueError, match="sigmoid"):
        metrics.log_loss([1], [1.5])


# ---------------------------------------------------------------------------------------------
# beyond accuracy


def test_catalog_coverage_hand():
    # items {0, 1, 3} of 5 (padding -1 ignored)
    assert metrics.catalog_coverage(np.array([[0, 1, -1], [1, 3, -1]]), n_items=5) == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match="n_items=3"):
        metrics.catalog_coverage(np.array([[4]]), n_items=3)


def test_user_coverage_hand():
    scores = np.array([[4.5, 3.0], [3.9, 2.0], [4.0, np.nan]])
    # users 0 (4.5) and 2 (4.0) have a score >= 4 -> 2/3; over 4 users in all -> 2/4
    assert metrics.user_coverage(scores, threshold=4.0) == pytest.approx(2 / 3)
    assert metrics.user_coverage(scores, threshold=4.0, n_users=4) == pytest.approx(0.5)
    # bool input (a hits matrix): users with at least one True
    assert metrics.user_coverage(HITS) == pytest.approx(2 / 4)


SIMS = np.array([[1.0, 0.5, 0.1], [0.5, 1.0, 0.3], [0.1, 0.3, 1.0]])


def test_diversity_hand():
    recs = np.array([[0, 1, 2], [1, 0, -1], [0, -1, -1]])
    # user 0: pairs 0.5, 0.1, 0.3 -> 1 - 0.3 = 0.7; user 1: pair 0.5 -> 0.5; user 2: no pair (left out)
    assert metrics.diversity(recs, SIMS) == pytest.approx(0.6)
    np.testing.assert_allclose(metrics.diversity(recs, SIMS, reduce=False), [0.7, 0.5, np.nan])
    # same through a similarity function, with chunks of one user
    assert metrics.diversity(recs, lambda i, j: SIMS[i, j], chunk_size=1) == pytest.approx(0.6)


def test_diversity_matches_pair_loop():
    rng = np.random.default_rng(1)
    feats = rng.random((20, 4))
    sims = feats @ feats.T
    recs = np.stack([rng.permutation(20)[:5] for _ in range(30)])
    ref = np.mean([1 - np.mean([sims[a, b] for a, b in itertools.combinations(r, 2)]) for r in recs])
    assert metrics.diversity(recs, sims) == pytest.approx(ref)


def test_novelty_hand():
    # popularity ranks of items 0..3 are 1..4; recommended 0, 3, 2 -> (1 + 4 + 3) / 3
    assert metrics.novelty(np.array([[0, 3], [2, -1]]), np.array([1, 2, 3, 4])) == pytest.approx(8 / 3)


def test_churn_hand():
    a = np.array([[0, 1, 2], [3, 4, -1], [-1, -1, -1]])
    b = np.array([[2, 1, 0], [3, 5, 6], [0, 1, 2]])
    # user 0: same items (order ignored) -> 0; user 1: 4 left, 1 of 2 -> 1/2; user 2: empty, left out
    assert metrics.churn(a, b) == pytest.approx(0.25)
    np.testing.assert_allclose(metrics.churn(a, b, reduce=False), [0.0, 0.5, np.nan])
    with pytest.raises(ValueError, match="same users"):
        metrics.churn(a, b[:2])


def test_public_api_listed():
    for name in metrics.__all__:  # functions, and constants such as UNRANKED
        obj = getattr(metrics, name)
        assert callable(obj) or (name.isupper() and isinstance(obj, int)), name


def test_arhr_is_leave_one_out_only():
    # one held-out item per user at ranks 2, -, 1 -> (1/2 + 0 + 1) / 3 = 1/2, equal to MRR there
    hits = np.array([[0, 1, 0], [0, 0, 0], [1, 0, 0]])
    nrel = np.array([1, 1, 1])
    assert metrics.arhr_at_k(hits, nrel) == pytest.approx(0.5) == metrics.mrr_at_k(hits, nrel)
    with pytest.raises(ValueError, match=r"arhr_at_k is defined for leave-one-out .* 2 users have more \(up to 3\)"
                                         r".*reciprocal_rank_sum_at_k"):
        metrics.arhr_at_k(HITS, NREL)
