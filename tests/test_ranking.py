"""RankingModel / RankingRecommender / TwoStageRecommender."""

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.data.training_data import TrainingData
from tfrec.features import FeatureLayer, frame_to_dataset
from tfrec.models.ranking import RankingModel
from tfrec.recommenders.ranking import RankingRecommender
from tfrec.recommenders.two_stage import TwoStageRecommender

SPEC = [{"name": "user_id", "kind": "categorical"}, {"name": "movie_id", "kind": "categorical"},
        {"name": "age", "kind": "numeric", "transform": "log"}, {"name": "genres", "kind": "multi_hot"}]


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    n = 40
    return pd.DataFrame({
        "user_id": rng.integers(0, 6, n).astype(str), "movie_id": rng.integers(0, 8, n).astype(str),
        "age": rng.uniform(15, 70, n), "genres": [list(rng.integers(0, 5, 2)) for _ in range(n)],
        "user_rating": rng.integers(1, 6, n).astype(np.float32),
    })


def _model(toy):
    tf.keras.utils.set_random_seed(3)
    layer = FeatureLayer(SPEC, embedding_dim=4, output_mode="concat")
    layer.adapt(toy)
    return RankingModel(layer, hidden_units=[8, 4], output_offset=3.5)


def test_loss_is_the_mean_squared_error_and_labels_can_come_either_way(toy):
    model = _model(toy)
    layer = model.feature_layer
    features, labels = next(iter(frame_to_dataset(toy, layer, label="user_rating", batch_size=16)))
    predictions = model(features).numpy()[:, 0]
    expected = np.mean((labels.numpy() - predictions) ** 2)
    np.testing.assert_allclose(float(model.compute_loss((features, labels))), expected, rtol=1e-5)
    with_key = dict(features, user_rating=labels)
    np.testing.assert_allclose(float(model.compute_loss(with_key)), expected, rtol=1e-5)


def test_missing_label_says_which_key(toy):
    model = _model(toy)
    features = next(iter(frame_to_dataset(toy, model.feature_layer, batch_size=4)))
    with pytest.raises(KeyError, match="no label 'user_rating'"):
        model.compute_loss(features)


def test_config_and_saved_model_round_trip(toy, tmp_path):
    model = _model(toy)
    features = next(iter(frame_to_dataset(toy, model.feature_layer, batch_size=16)))
    expected = model(features).numpy()
    assert RankingModel.from_config(model.get_config()).get_config() == model.get_config()
    model.save(tmp_path / "ranking", save_traces=False)
    loaded = tf.keras.models.load_model(tmp_path / "ranking")
    assert isinstance(loaded, RankingModel)
    np.testing.assert_allclose(loaded(features).numpy(), expected, rtol=1e-5)


def test_ranking_recommender_beats_the_global_mean(ml100k_path):
    from tfrec.data import load_movielens
    from tfrec.splits import random_split

    ml = load_movielens(ml100k_path)
    split = random_split(ml.ratings[ml.ratings["user_id"].astype(int) <= 200], 0.8, seed=42)
    data = TrainingData(split.train, items=ml.movies, users=ml.users)
    rec = RankingRecommender(embedding_dim=8, hidden_units=[32], epochs=3, batch_size=512,
                             validation_fraction=0.0, learning_rate=0.003).fit(data)
    users, items = data.user_index(split.test["user_id"]), data.item_index(split.test["movie_id"])
    y = split.test["user_rating"].to_numpy()
    rmse = np.sqrt(np.mean((rec.predict(users, items) - y) ** 2))
    baseline = np.sqrt(np.mean((data.ratings.mean() - y) ** 2))
    assert rmse < baseline, f"ranking RMSE {rmse:.3f} >= global mean {baseline:.3f}"
    # full-catalog scores are the pairwise predictions, clipped to the rating range
    scores = rec.score(users[:2])
    assert scores.shape == (2, data.n_items)
    np.testing.assert_allclose(scores[0, items[0]], rec.predict(users[:1], items[:1])[0], rtol=1e-5)
    assert scores.min() >= 1 and scores.max() <= 5


class _Fixed:
    """A fitted stand-in: fixed scores (retrieval) or fixed ratings per (user, item) (ranking)."""

    def __init__(self, table):
        self.table = table

    def score(self, users):
        return self.table[users]

    def predict(self, users, items):
        return self.table[users, items]


def test_two_stage_reranks_the_retrieved_unseen_items():
    frame = pd.DataFrame({"user_id": ["u0", "u0", "u1"], "movie_id": ["i0", "i1", "i2"], "user_rating": [5.0, 3.0, 4.0]})
    data = TrainingData(frame)  # 2 users x 3 items; u0 saw i0 and i1 (indices 0, 1)
    rng = np.random.default_rng(0)
    retrieval = rng.normal(size=(2, 3))
    ratings = rng.uniform(1, 5, size=(2, 3))
    rec = TwoStageRecommender(num_candidates=2)
    rec.data, rec.retrieval, rec.ranking = data, _Fixed(retrieval), _Fixed(ratings)
    scores = rec.score(np.array([0, 1]))
    for u in (0, 1):
        seen = set(data.seen_matrix()[u].indices)
        unseen = [i for i in np.argsort(-retrieval[u], kind="stable") if i not in seen]
        cands = unseen[:2]  # u0 has a single unseen item: seen items never become candidates
        np.testing.assert_allclose(scores[u, cands], ratings[u, cands], rtol=1e-6)  # candidates: ranking score
        others = [i for i in range(3) if i not in cands]
        assert all(scores[u, o] < scores[u, cands].min() for o in others)  # everything else below
        # non-candidates keep their retrieval order
        order = sorted(others, key=lambda i: -retrieval[u, i])
        assert list(np.array(others)[np.argsort(-scores[u, others], kind="stable")]) == order
    np.testing.assert_array_equal(rec.candidates(np.array([0])), [[2, -1]])


def test_two_stage_validates_num_candidates():
    with pytest.raises(ValueError, match="num_candidates"):
        TwoStageRecommender(num_candidates=0)


def test_docstring_examples_run():
    import doctest

    import tfrec.models.ranking as module

    result = doctest.testmod(module, extraglobs={"tf": tf, "pd": pd})
    assert result.attempted > 0 and result.failed == 0
