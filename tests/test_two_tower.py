"""TwoTowerRecommender: beats popularity on a real slice, cold start from side features, OOV users,
per-epoch index."""

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.data.side_features import training_frame
from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.recommenders.two_tower import TwoTowerRecommender


@pytest.fixture(scope="module")
def ml_slice(ml100k_path):
    from tfrec.data import load_movielens
    from tfrec.splits import random_split

    ml = load_movielens(ml100k_path)
    ratings = ml.ratings[ml.ratings["user_id"].astype(int) <= 100]
    split = random_split(ratings, 0.8, seed=42)
    return ml, split, TrainingData(split.train, items=ml.movies, users=ml.users)


@pytest.fixture(scope="module")
def side_model(ml_slice):
    _, _, data = ml_slice
    return TwoTowerRecommender(
        query_features="movielens_user", candidate_features="movielens_item", embedding_dim=16,
        hidden_units=[32, 16], logq_correction=True, batch_size=512, epochs=2, seed=42).fit(data)


def _top_k_accuracy(scores, data, test, k):
    """Share of test pairs whose item scores among the user's top k over the catalog (TFRS FactorizedTopK)."""
    users, items = data.user_index(test["user_id"]), data.item_index(test["movie_id"])
    keep = (users != OOV_INDEX) & (items != OOV_INDEX)
    s = scores[users[keep]]
    positive = s[np.arange(len(s)), items[keep]]
    return float(np.mean((s > positive[:, None]).sum(axis=1) < k))


def test_two_tower_beats_popularity_on_a_real_slice(ml_slice, side_model):
    _, split, data = ml_slice
    all_users = np.arange(data.n_users)
    popularity = np.tile(data.item_popularity().astype(np.float32), (data.n_users, 1))
    pop = _top_k_accuracy(popularity, data, split.test, k=50)
    ours = _top_k_accuracy(side_model.score(all_users), data, split.test, k=50)
    assert ours > pop, f"two-tower top-50 accuracy {ours:.3f} <= popularity {pop:.3f}"


def test_cold_start_user_gets_recommendations_from_side_features(ml_slice, side_model):
    _, _, data = ml_slice
    new_users = pd.DataFrame({
        "user_id": ["never-seen-1", "never-seen-2"], "raw_user_age": [19.0, 62.0], "user_gender": [True, False],
        "user_occupation_label": [17, 13], "user_zip_code": ["02139", "94110"],
    })
    ids, scores = side_model.recommend_for_features(new_users, k=10)
    assert ids.shape == (2, 10) and np.all(np.diff(scores, axis=1) <= 0)
    assert set(ids.ravel()) <= set(data.item_ids)
    assert len(set(ids[0])) == 10
    # the side features move the query: the two profiles and the all-unknown query differ
    q = side_model.model.embed_queries({k: tf.constant(v.to_numpy().astype(str) if v.dtype == object else v.to_numpy())
                                        for k, v in new_users.items()})
    assert not np.allclose(q[0], q[1])
    assert not np.allclose(q[0], side_model.query_embeddings(np.array([OOV_INDEX]))[0])


def test_oov_user_index_uses_the_oov_bucket(ml_slice):
    _, _, data = ml_slice
    rec = TwoTowerRecommender(embedding_dim=8)
    # an untrained model is enough here: build and index it as fit() does, without the training loop
    rec.data, rec.model = data, rec.build_model(data, training_frame(data, ["user_id"], ["movie_id"]))
    rec._index(data)
    table = rec.model.query_tower.feature_layer._tables["user_id"].embeddings.numpy()
    np.testing.assert_allclose(rec.query_embeddings(np.array([OOV_INDEX]))[0], table[0], rtol=1e-6)
    raw = rec.model.query_embeddings({"user_id": tf.constant(["no-such-user"])}).numpy()[0]
    np.testing.assert_allclose(raw, table[0], rtol=1e-6)
    # the BruteForce index answers raw-id queries with the same top-k as the full score matrix
    index = rec.index_candidates(k=5)
    _, ids = index({"user_id": tf.constant([str(data.user_ids[3])])})
    expected = data.item_ids[np.argsort(-rec.score(np.array([3]))[0], kind="stable")[:5]]
    assert [i.decode() for i in ids.numpy()[0]] == [str(i) for i in expected]


def test_on_epoch_end_sees_each_epochs_index(ml_slice):
    _, _, data = ml_slice
    seen = []
    rec = TwoTowerRecommender(embedding_dim=8, batch_size=512, epochs=2, seed=42)
    rec.fit(data, on_epoch_end=lambda epoch, r: seen.append((epoch, r.score(np.arange(3)))))
    assert [e for e, _ in seen] == [1, 2]
    # the index is refreshed after every epoch: epoch 1 differs, the last epoch is what fit returns
    assert not np.allclose(seen[0][1], seen[1][1])
    np.testing.assert_allclose(seen[1][1], rec.score(np.arange(3)), rtol=1e-6)
