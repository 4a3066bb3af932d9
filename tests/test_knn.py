"""Neighbourhood CF (user_knn, item_knn): hand-computed similarities and predictions, Surprise parity."""

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.recommenders.knn import ItemKNNRecommender, UserKNNRecommender, als_baselines, similarity_matrix

# users a, b, c; items x, y, z
ROWS = [("a", "x", 4.0), ("a", "y", 2.0), ("a", "z", 5.0), ("b", "x", 5.0), ("b", "y", 3.0), ("c", "x", 3.0), ("c", "z", 1.0)]


def tiny() -> TrainingData:
    return TrainingData(pd.DataFrame(ROWS, columns=["user_id", "movie_id", "user_rating"]))


def item_matrix() -> sp.csr_matrix:
    """Items x users (x, y, z) x (a, b, c) of ROWS."""
    return sp.csr_matrix(np.array([[4.0, 5.0, 3.0], [2.0, 3.0, 0.0], [5.0, 0.0, 1.0]]))


def test_cosine_over_co_rated_entries():
    sim = similarity_matrix("cosine", item_matrix())
    # x, y co-rated by a, b: (4*2 + 5*3) / sqrt((16 + 25) * (4 + 9))
    assert sim[0, 1] == pytest.approx(23 / math.sqrt(41 * 13))
    # x, z co-rated by a, c: (4*5 + 3*1) / sqrt((16 + 9) * (25 + 1))
    assert sim[0, 2] == pytest.approx(23 / math.sqrt(25 * 26))
    # y, z co-rated by a only: a single common rating has cosine 1
    assert sim[1, 2] == pytest.approx(1.0)
    np.testing.assert_array_equal(np.diag(sim), 1.0)
    np.testing.assert_allclose(sim, sim.T)


def test_msd_is_inverse_mean_squared_difference_plus_one():
    sim = similarity_matrix("msd", item_matrix())
    assert sim[0, 1] == pytest.approx(1 / ((2**2 + 2**2) / 2 + 1))  # (4-2)^2, (5-3)^2 -> 0.2
    assert sim[0, 2] == pytest.approx(1 / ((1**2 + 2**2) / 2 + 1))  # (4-5)^2, (3-1)^2 -> 1/3.5
    assert sim[1, 2] == pytest.approx(1 / (3**2 + 1))  # (2-5)^2 -> 0.1


def test_pearson_centres_on_co_rated_means():
    sim = similarity_matrix("pearson", item_matrix())
    assert sim[0, 1] == pytest.approx(1.0)  # x (4, 5) and y (2, 3): centred (-.5, .5) both
    assert sim[0, 2] == pytest.approx(1.0)  # x (4, 3) and z (5, 1): centred (.5, -.5) and (2, -2)
    flipped = similarity_matrix("pearson", sp.csr_matrix(np.array([[4.0, 3.0], [1.0, 5.0]])))
    assert flipped[0, 1] == pytest.approx(-1.0)  # (.5, -.5) against (-2, 2)
    assert sim[1, 2] == 0.0  # one common rating: zero variance -> 0


def test_min_support_zeroes_thin_pairs():
    sim = similarity_matrix("msd", item_matrix(), min_support=2)
    assert sim[1, 2] == 0.0 and sim[0, 1] == pytest.approx(0.2)


def test_pearson_baseline_is_shrunk_cosine_of_residuals():
    m = item_matrix()
    rng = np.random.default_rng(0)
    residual = m.copy()
    residual.data = rng.normal(size=m.nnz)
    sim = similarity_matrix("pearson_baseline", residual, shrinkage=2.0)
    d = residual.toarray()
    # x, y co-rated by users 0 and 1: cosine of their residuals times (n - 1) / (n - 1 + shrinkage) = 1/3
    dx, dy = d[0, :2], d[1, :2]
    assert sim[0, 1] == pytest.approx(dx @ dy / math.sqrt((dx @ dx) * (dy @ dy)) / 3)
    assert sim[1, 2] == 0.0  # support 1 < 2


def test_implicit_cosine_and_jaccard_on_sets():
    m = item_matrix()
    cos = similarity_matrix("cosine", m, implicit=True)
    jac = similarity_matrix("jaccard", m, implicit=True)
    # x seen by {a, b, c}, y by {a, b}, z by {a, c}
    assert cos[0, 1] == pytest.approx(2 / math.sqrt(3 * 2)) and jac[0, 1] == pytest.approx(2 / 3)
    assert cos[1, 2] == pytest.approx(1 / 2) and jac[1, 2] == pytest.approx(1 / 3)


def test_als_baselines_match_the_sweep_written_out():
    users, items = np.array([0, 0, 0, 1, 1, 2, 2]), np.array([0, 1, 2, 0, 1, 0, 2])
    r = np.array([4.0, 2.0, 5.0, 5.0, 3.0, 3.0, 1.0])
    bu, bi = als_baselines(users, items, r, 3, 3, reg_u=1.0, reg_i=2.0, epochs=3)
    mu, eu, ei = r.mean(), np.zeros(3), np.zeros(3)
    for _ in range(3):
        for i in range(3):
            on = items == i
            ei[i] = np.sum(r[on] - mu - eu[users[on]]) / (2.0 + on.sum())
        for u in range(3):
            on = users == u
            eu[u] = np.sum(r[on] - mu - ei[items[on]]) / (1.0 + on.sum())
    np.testing.assert_allclose(bu, eu)
    np.testing.assert_allclose(bi, ei)


def predict_one(algo, data, user, item):
    return float(algo.predict(data.user_index([user]), data.item_index([item]))[0])


def test_item_based_variants_hand_computed():
    data = tiny()
    # predict (b, z): b rated x (5) and y (3); msd sims: z~x = 1/3.5, z~y = 0.1
    sx, sy = 1 / 3.5, 0.1
    basic = ItemKNNRecommender(similarity="msd", variant="basic").fit(data)
    assert predict_one(basic, data, "b", "z") == pytest.approx((sx * 5 + sy * 3) / (sx + sy), rel=1e-6)
    # with_means: item means x 4, y 2.5, z 3
    means = ItemKNNRecommender(similarity="msd", variant="with_means").fit(data)
    assert predict_one(means, data, "b", "z") == pytest.approx(3 + (sx * (5 - 4) + sy * (3 - 2.5)) / (sx + sy), rel=1e-6)
    # with_zscore: population std x sqrt(2/3), y 0.5, z 2
    z = ItemKNNRecommender(similarity="msd", variant="with_zscore").fit(data)
    expected = 3 + 2 * (sx * (5 - 4) / math.sqrt(2 / 3) + sy * (3 - 2.5) / 0.5) / (sx + sy)
    assert predict_one(z, data, "b", "z") == pytest.approx(min(expected, 5.0), rel=1e-6)  # clipped to [1, 5]
    # k=1 keeps only the most similar rated item (x)
    one = ItemKNNRecommender(similarity="msd", variant="basic", k=1).fit(data)
    assert predict_one(one, data, "b", "z") == pytest.approx(5.0)


def test_baseline_variant_hand_computed():
    data = tiny()
    algo = ItemKNNRecommender(similarity="msd", variant="baseline", baseline_reg_u=1.0, baseline_reg_i=1.0).fit(data)
    mu = np.mean([r for *_, r in ROWS])
    bu, bi = algo.bu_, algo.bi_
    u, x, y, z = data.user_index(["b"])[0], *data.item_index(["x", "y", "z"])
    sx, sy = 1 / 3.5, 0.1
    dev = sx * (5 - (mu + bu[u] + bi[x])) + sy * (3 - (mu + bu[u] + bi[y]))
    assert predict_one(algo, data, "b", "z") == pytest.approx(mu + bu[u] + bi[z] + dev / (sx + sy), rel=1e-6)


def test_user_based_hand_computed():
    data = tiny()
    # predict (b, z) user-based: z rated by a (5) and c (1); msd b~a over x, y: (1 + 1)/2 -> 0.5; b~c over x: 4 -> 0.2
    algo = UserKNNRecommender(similarity="msd", variant="basic").fit(data)
    assert predict_one(algo, data, "b", "z") == pytest.approx((0.5 * 5 + 0.2 * 1) / 0.7, rel=1e-6)


def test_min_k_and_unknowns_fall_back():
    data = tiny()
    algo = ItemKNNRecommender(similarity="msd", variant="with_means", min_k=3).fit(data)
    assert predict_one(algo, data, "b", "z") == pytest.approx(3.0)  # 2 neighbours < 3: the item mean
    basic = ItemKNNRecommender(similarity="msd", variant="basic", min_k=3).fit(data)
    mu = np.mean([r for *_, r in ROWS])
    assert predict_one(basic, data, "b", "z") == pytest.approx(mu)  # the global mean
    assert basic.predict(np.array([OOV_INDEX]), np.array([0]))[0] == pytest.approx(mu)
    thresholded = ItemKNNRecommender(similarity="msd", variant="basic", threshold=0.2).fit(data)
    assert predict_one(thresholded, data, "b", "z") == pytest.approx(5.0)  # only x (1/3.5 > 0.2) remains


def test_bad_names_are_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="'similarity' must be one of cosine, msd, pearson, pearson_baseline, jaccard; got 'pearsn' \\(did you mean 'pearson'"):
        ItemKNNRecommender(similarity="pearsn")
    with pytest.raises(ValueError, match="'variant' must be one of basic, with_means, with_zscore, baseline; got 'zscore'"):
        UserKNNRecommender(variant="zscore")


def test_similarity_must_fit_the_data_mode():
    with pytest.raises(ValueError, match="'jaccard' does not apply to ratings"):
        ItemKNNRecommender(similarity="jaccard")
    with pytest.raises(ValueError, match="'msd' does not apply to implicit data"):
        ItemKNNRecommender(similarity="msd", implicit=True)
    with pytest.raises(ValueError, match="k"):
        ItemKNNRecommender(k=0)
    no_ratings = TrainingData(pd.DataFrame({"user_id": [1, 2], "movie_id": [3, 3]}))
    with pytest.raises(ValueError, match="no rating column"):
        ItemKNNRecommender().fit(no_ratings)


def test_top_n_sums_neighbourhood_similarities():
    data = tiny()
    algo = ItemKNNRecommender(implicit=True, k=1).fit(data)
    assert not algo.predicts_ratings
    scores = algo.score(data.user_index(["b", "c"]))
    # implicit cosine: x~y 2/sqrt(6), x~z 2/sqrt(6), y~z 1/2; with k=1 x's neighbour is y (tie, lower index),
    # y's is x, z's is x. b saw x, y: z scores sim(z, x).
    b, x, y, z = 0, *data.item_index(["x", "y", "z"])
    assert scores[b, z] == pytest.approx(2 / math.sqrt(6))
    assert scores[b, x] == pytest.approx(2 / math.sqrt(6))  # x's neighbour y was seen by b
    items, _ = algo.recommend(data.user_index(["b"]), k=1)
    assert items[0, 0] == z  # the only unseen item
    user_based = UserKNNRecommender(implicit=True, similarity="jaccard").fit(data)
    top, _ = user_based.recommend(data.user_index(["b", "c"]), k=1)
    assert top[:, 0].tolist() == [z, y]


def test_registry_names():
    from tfrec.training.families.registry import get_task

    assert isinstance(get_task("user_knn").create(), UserKNNRecommender)
    algo = get_task("item_knn").create({"similarity": "cosine", "variant": "basic"}, label="item cosine")
    assert isinstance(algo, ItemKNNRecommender) and algo.name == "item cosine"
    assert (algo.params.similarity, algo.params.variant) == ("cosine", "basic")


# -- the same predictions as Surprise on a real slice ------------------------------------------------

VARIANT_CLASSES = {"basic": "KNNBasic", "with_means": "KNNWithMeans", "with_zscore": "KNNWithZScore",
                   "baseline": "KNNBaseline"}


@pytest.fixture(scope="module")
def ml100k_slice(ml100k_path):
    surprise = pytest.importorskip("surprise", reason="scikit-surprise is not installed: pip install -e '.[bench]'")
    frame = pd.read_csv(ml100k_path / "u.data", sep="\t", names=["user_id", "movie_id", "user_rating", "timestamp"])
    frame = frame[(frame.user_id <= 150) & (frame.movie_id <= 250)]
    perm = np.random.default_rng(0).permutation(len(frame))
    cut = int(0.75 * len(frame))
    train, test = frame.iloc[perm[:cut]], frame.iloc[perm[cut:]]
    data = TrainingData(train)
    reader = surprise.Reader(rating_scale=(train.user_rating.min(), train.user_rating.max()))
    trainset = surprise.Dataset.load_from_df(data.frame[["user_id", "movie_id", "user_rating"]], reader).build_full_trainset()
    return surprise, data, trainset, test


@pytest.mark.parametrize("user_based", [True, False], ids=["user", "item"])
@pytest.mark.parametrize("similarity", ["cosine", "msd", "pearson", "pearson_baseline"])
def test_predictions_match_surprise(ml100k_slice, user_based, similarity):
    surprise, data, trainset, test = ml100k_slice
    users, items = data.user_index(test.user_id), data.item_index(test.movie_id)
    for variant, cls in VARIANT_CLASSES.items():
        ref = getattr(surprise, cls)(k=20, min_k=2, sim_options={"name": similarity, "user_based": user_based,
                                                                 "min_support": 2}, verbose=False).fit(trainset)
        expected = np.array([ref.predict(u, i).est for u, i in zip(test.user_id, test.movie_id)])
        algo = (UserKNNRecommender if user_based else ItemKNNRecommender)(
            similarity=similarity, variant=variant, k=20, min_k=2, min_support=2).fit(data)
        np.testing.assert_allclose(algo.predict(users, items), expected, atol=1e-5, err_msg=f"{variant} {similarity}")


def test_docstring_examples_run():
    import doctest

    from tfrec.recommenders.knn import baselines, params, recommender, similarities

    for module in (baselines, params, recommender, similarities):
        failed, tried = doctest.testmod(module)
        assert tried and not failed, module.__name__


def _by_definition(name, dense, observed, min_support=1, shrinkage=100.0):
    """Surprise's formulas written out pair by pair (0 where a denominator is 0)."""
    n = dense.shape[0]
    out = np.eye(n)
    for i in range(n):
        for j in range(n):
            common = observed[i] & observed[j]
            support = common.sum()
            if i == j or support < (max(2, min_support) if name == "pearson_baseline" else min_support):
                continue
            a, b = dense[i, common], dense[j, common]
            if name == "msd":
                out[i, j] = 1 / (np.mean((a - b) ** 2) + 1)
                continue
            if name == "pearson":
                a, b = a - a.mean(), b - b.mean()
            den = math.sqrt((a @ a) * (b @ b))
            out[i, j] = a @ b / den if den else 0.0
            if name == "pearson_baseline":
                out[i, j] *= (support - 1) / (support - 1 + shrinkage)
    return out


@pytest.mark.parametrize("block_pairs", [1 << 21, 7], ids=["one block", "row blocks"])
@pytest.mark.parametrize("name", ["cosine", "msd", "pearson", "pearson_baseline"])
def test_similarities_match_their_definition_with_zero_ratings(name, block_pairs, monkeypatch):
    from tfrec.recommenders.knn import similarities

    monkeypatch.setattr(similarities, "_BLOCK_PAIRS", block_pairs)
    rng = np.random.default_rng(7)
    observed = rng.random((9, 12)) < 0.6
    dense = np.where(observed, rng.integers(0, 3, size=(9, 12)).astype(float), 0.0)  # many exact zeros
    dense[0, observed[0]] = 0.0  # a row of zero ratings: products that sum to exactly 0 everywhere
    rows, cols = np.nonzero(observed)
    m = sp.csr_matrix((dense[rows, cols], (rows, cols)), shape=dense.shape)  # zeros stored as ratings
    np.testing.assert_allclose(similarity_matrix(name, m, min_support=2, shrinkage=3.0),
                               _by_definition(name, dense, observed, 2, 3.0), atol=1e-12)


def _many_items(n_items: int) -> TrainingData:
    """One user per item pair: ``n_items`` items, two ratings each (cheap to build, no matrix)."""
    items = np.repeat(np.arange(n_items), 2)
    users = np.arange(2 * n_items) % 7
    return TrainingData(pd.DataFrame({"user_id": users.astype(str), "movie_id": items.astype(str),
                                      "user_rating": np.where(items % 2 == 0, 4.0, 2.0)}))


def test_a_similarity_matrix_over_the_memory_limit_is_refused_before_allocation():
    data = _many_items(27_278)  # ml-25m's item count: 27,278^2 float64 = 5.54 GiB > the 4 GiB default
    algo = ItemKNNRecommender(similarity="cosine", variant="basic")
    with pytest.raises(MemoryError) as e:
        algo.fit(data)
    message = str(e.value)
    assert message.startswith("item_knn: the item-item similarity matrix would take 5.54 GiB (27,278 x 27,278 x 8 "
                              "bytes), over max_similarity_gib=4.")
    assert "drop items with few ratings" in message and "use user_knn if there are fewer users (7)" in message
    assert "raise the limit (params: {max_similarity_gib: 6})" in message
    assert not hasattr(algo, "sim_") and algo.data is None  # refused before anything was fitted
    # user-based: 7 users, a tiny matrix, fits under the same default
    assert UserKNNRecommender(similarity="cosine", variant="basic").fit(data).sim_.shape == (7, 7)


def test_the_memory_limit_is_a_parameter():
    small = _many_items(300)  # 300^2 x 8 bytes = 0.00067 GiB
    with pytest.raises(MemoryError, match=r"would take 0\.00 GiB \(300 x 300 x 8 bytes\), over max_similarity_gib=0\.0001"):
        ItemKNNRecommender(max_similarity_gib=0.0001).fit(small)
    assert ItemKNNRecommender(max_similarity_gib=0.001).fit(small).sim_.shape == (300, 300)
    with pytest.raises(ValueError, match="max_similarity_gib"):
        ItemKNNRecommender(max_similarity_gib=0)
