"""SVD and SVD++: the minibatch SGD update against its per-rating formula, Surprise as the reference
on a real slice (skipped where scikit-surprise is absent), parameters, unknown ids."""

import numpy as np
import pandas as pd
import pytest

from tfrec import splits
from tfrec.config import ConfigError
from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.recommenders.svd import SVDRecommender
from tfrec.recommenders.svdpp import SVDppRecommender
from tfrec.training.families.registry import get_task

FRAME = pd.DataFrame({"user_id": [1, 2, 3], "movie_id": [10, 20, 30], "user_rating": [5.0, 1.0, 4.0]})


def _sequential_svd(frame, k, init, lr, reg, epochs):
    """Surprise's SVD update, one rating at a time (every factor starts at ``init``)."""
    users, items = sorted(frame.user_id.unique()), sorted(frame.movie_id.unique())
    P = np.full((len(users), k), init)
    Q = np.full((len(items), k), init)
    bu, bi = np.zeros(len(users)), np.zeros(len(items))
    mu = frame.user_rating.mean()
    for _ in range(epochs):
        for u_id, i_id, r in frame[["user_id", "movie_id", "user_rating"]].itertuples(index=False):
            u, i = users.index(u_id), items.index(i_id)
            err = r - (mu + bu[u] + bi[i] + P[u] @ Q[i])
            bu[u] += lr * (err - reg * bu[u])
            bi[i] += lr * (err - reg * bi[i])
            P[u], Q[i] = P[u] + lr * (err * Q[i] - reg * P[u]), Q[i] + lr * (err * P[u] - reg * Q[i])
    return mu, bu, bi, P, Q


def test_one_batch_of_distinct_users_and_items_is_the_per_rating_update():
    # no two ratings of the batch share a user or an item, so the batch update equals the sequential one
    algo = SVDRecommender(n_factors=3, n_epochs=1, init_mean=0.1, init_std_dev=0.0, lr_all=0.05, reg_all=0.1,
                          batch_size=3, clip=False).fit(TrainingData(FRAME))
    mu, bu, bi, P, Q = _sequential_svd(FRAME, 3, 0.1, 0.05, 0.1, epochs=1)
    np.testing.assert_allclose(algo.bu_, bu, rtol=1e-5)
    np.testing.assert_allclose(algo.bi_, bi, rtol=1e-5)
    np.testing.assert_allclose(algo.pu_, P, rtol=1e-5)
    np.testing.assert_allclose(algo.qi_, Q, rtol=1e-5)
    users, items = np.array([0, 1, 2]), np.array([2, 0, 1])
    np.testing.assert_allclose(algo.predict(users, items), mu + bu[users] + bi[items] + (P[users] * Q[items]).sum(1),
                               rtol=1e-5)


def test_ratings_of_one_user_in_a_batch_add_their_steps():
    frame = pd.DataFrame({"user_id": [1, 1], "movie_id": [10, 20], "user_rating": [5.0, 2.0]})
    algo = SVDRecommender(n_factors=2, n_epochs=1, init_mean=0.2, init_std_dev=0.0, lr_all=0.1, reg_all=0.5,
                          batch_size=2).fit(TrainingData(frame))
    mu = 3.5
    err = np.array([5.0, 2.0]) - (mu + 2 * 0.2 * 0.2)  # both errors from the starting parameters
    # b_u moves by the sum of both steps; each shrinks by lr * reg * b_u (b_u = 0 here)
    assert algo.bu_[0] == pytest.approx(0.1 * err.sum(), rel=1e-5)
    # p_u: 0.2 + lr * (sum_i e_i q_i - 2 * reg * p_u)
    np.testing.assert_allclose(algo.pu_[0], 0.2 + 0.1 * (err.sum() * 0.2 - 2 * 0.5 * 0.2), rtol=1e-5)


def test_unknown_ids_leave_out_their_terms_and_predictions_are_clipped():
    algo = SVDRecommender(n_factors=4, n_epochs=30, lr_all=0.05).fit(TrainingData(FRAME))
    mu = FRAME.user_rating.mean()
    out = algo.predict(np.array([OOV_INDEX, 0, OOV_INDEX]), np.array([1, OOV_INDEX, OOV_INDEX]))
    np.testing.assert_allclose(out, [mu + algo.bi_[1], mu + algo.bu_[0], mu], rtol=1e-5)
    lo, hi = FRAME.user_rating.min(), FRAME.user_rating.max()
    pred = algo.predict(np.repeat([0, 1, 2], 3), np.tile([0, 1, 2], 3))
    assert pred.min() >= lo and pred.max() <= hi
    # score is the unclipped prediction of every item
    unclipped = SVDRecommender(n_factors=4, n_epochs=30, lr_all=0.05, clip=False).fit(TrainingData(FRAME))
    np.testing.assert_allclose(unclipped.score(np.array([1]))[0], unclipped.predict(np.ones(3, int), np.arange(3)),
                               rtol=1e-5)


def test_svdpp_implicit_term_enters_the_user_vector():
    algo = SVDppRecommender(n_factors=3, n_epochs=2).fit(TrainingData(FRAME))
    # each user rated one item: |I_u|^-1/2 sum y_j = y of that item
    np.testing.assert_allclose(algo.user_vectors_, algo.pu_ + algo.yj_[[0, 1, 2]], rtol=1e-5)


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match="n_factors"):
        SVDRecommender(n_factors=0)
    with pytest.raises(ValueError, match="lr_yj"):
        SVDppRecommender(lr_yj=-1.0)
    with pytest.raises(ValueError, match="lr"):
        SVDRecommender(lr=0.1)  # not a parameter: lr_all is
    with pytest.raises(ConfigError, match=r"model\.params\.reg_all"):
        get_task("svd").create({"reg_all": "high"})
    with pytest.raises(ValueError, match="no rating column"):
        SVDRecommender().fit(TrainingData(FRAME[["user_id", "movie_id"]]))


def test_registry_defaults_are_surprises():
    svd, svdpp = get_task("svd").defaults, get_task("svdpp").defaults
    assert (svd["n_factors"], svd["n_epochs"], svd["lr_all"], svd["reg_all"], svd["init_std_dev"]) == (100, 20, 0.005, 0.02, 0.1)
    assert (svdpp["n_factors"], svdpp["n_epochs"], svdpp["lr_all"], svdpp["reg_all"]) == (20, 20, 0.007, 0.02)


# -- Surprise as the reference ----------------------------------------------------------------


def _slice(path, max_user):
    cols = ["user_id", "movie_id", "user_rating", "timestamp"]
    frame = pd.read_csv(path / "u.data", sep="\t", names=cols)
    return frame[frame.user_id <= max_user]


def _surprise_rmse(algo_cls, train, test, **params):
    surprise = pytest.importorskip("surprise", reason="scikit-surprise is a dev extra: pip install scikit-surprise")
    reader = surprise.Reader(rating_scale=(1, 5))
    trainset = surprise.Dataset.load_from_df(train[["user_id", "movie_id", "user_rating"]], reader).build_full_trainset()
    algo = getattr(surprise, algo_cls)(random_state=0, **params).fit(trainset)
    est = np.array([p.est for p in algo.test(list(zip(test.user_id, test.movie_id, test.user_rating)))])
    return float(np.sqrt(np.mean((est - test.user_rating.to_numpy()) ** 2)))


def _tfrec_rmse(algo, train, test):
    data = TrainingData(train)
    pred = algo.fit(data).predict(data.user_index(test.user_id), data.item_index(test.movie_id))
    return float(np.sqrt(np.mean((pred - test.user_rating.to_numpy()) ** 2)))


@pytest.mark.parametrize("name, max_user", [("SVD", 300), ("SVDpp", 60)])
def test_rmse_matches_surprise_on_a_real_slice(ml100k_path, name, max_user):
    train, test = splits.random_split(_slice(ml100k_path, max_user), ratio=0.75, seed=1)
    reference = _surprise_rmse(name, train, test)
    ours = _tfrec_rmse(SVDRecommender() if name == "SVD" else SVDppRecommender(), train, test)
    assert abs(ours - reference) < 0.01, (ours, reference)


def test_seed_attribute_reseeds_the_fit():
    # tfrec bench's seeds and the evaluator's churn rerun set algo.seed
    data = TrainingData(FRAME)
    a, b = SVDppRecommender(n_factors=3, n_epochs=2), SVDppRecommender(n_factors=3, n_epochs=2)
    b.seed = a.seed + 1
    assert b.params.seed == a.seed + 1
    assert not np.allclose(a.fit(data).pu_, b.fit(data).pu_)
