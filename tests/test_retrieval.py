"""Two-tower retrieval: loss wiring (log-Q), round trips, OOV, cold start, and a real-data check."""

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.data.side_features import training_frame
from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.features import frame_to_dataset
from tfrec.models.retrieval import TwoTowerRetrieval
from tfrec.models.tower import Tower, make_tower
from tfrec.recommenders.two_tower import TwoTowerRecommender


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    n = 64
    frame = pd.DataFrame({
        "user_id": rng.integers(0, 10, n).astype(str),
        "age": rng.uniform(10, 60, n),
        "movie_id": rng.integers(0, 12, n).astype(str),
        "movie_genres": [list(rng.integers(0, 4, rng.integers(1, 3))) for _ in range(n)],
        "p": rng.uniform(0.01, 0.2, n),
    })
    return frame


def _model(frame, hidden=None, **kwargs):
    tf.keras.utils.set_random_seed(1)
    q = make_tower([{"name": "user_id", "kind": "categorical"}, {"name": "age", "kind": "numeric"}],
                   frame, embedding_dim=4, hidden_units=hidden, name="query")
    c = make_tower([{"name": "movie_id", "kind": "categorical"}, {"name": "movie_genres", "kind": "multi_hot"}],
                   frame, embedding_dim=4, hidden_units=hidden, name="candidate")
    return TwoTowerRetrieval(q, c, **kwargs)


def _batch(model, frame, n=8, extra=()):
    layers = [model.query_tower.feature_layer, model.candidate_tower.feature_layer]
    return next(iter(frame_to_dataset(frame.iloc[:n], layers, extra_columns=list(extra), batch_size=n)))


def test_logq_loss_matches_hand_computation(toy):
    model = _model(toy, sampling_probability_key="p")
    x = _batch(model, toy, extra=["p"])
    q, c = (t.numpy().astype(np.float64) for t in model(x))
    # in-batch softmax with log-Q: logits_ij = q_i . c_j - log p_j; loss = sum_i -log softmax(logits_i)[i]
    expected = _softmax_loss(q @ c.T - np.log(x["p"].numpy().astype(np.float64))[None, :])
    np.testing.assert_allclose(float(model.compute_loss(x, training=True)), expected, rtol=1e-4)
    # without the correction key the loss is the plain in-batch softmax, which differs here
    plain = _model(toy)
    plain(x)
    plain.set_weights(model.get_weights())
    assert abs(float(plain.compute_loss(x, training=True)) - expected) > 1e-3


def test_towers_must_match(toy):
    q = make_tower([{"name": "user_id", "kind": "categorical"}], toy, embedding_dim=4)
    c = make_tower([{"name": "movie_id", "kind": "categorical"}], toy, embedding_dim=5)
    with pytest.raises(ValueError, match="query 4 and candidate 5"):
        TwoTowerRetrieval(q, c)


def test_accidental_hits_need_an_id_key(toy):
    q = make_tower([{"name": "user_id", "kind": "categorical"}], toy, embedding_dim=4)
    c = make_tower([{"name": "movie_id", "kind": "categorical"}], toy, embedding_dim=4)
    with pytest.raises(ValueError, match="candidate_id_key"):
        TwoTowerRetrieval(q, c, remove_accidental_hits=True)


def _softmax_loss(logits):
    logits = logits - logits.max(axis=1, keepdims=True)
    return -np.sum(np.diag(logits) - np.log(np.exp(logits).sum(axis=1)))


def test_accidental_hits_and_hard_negatives_match_hand_computation(toy):
    model = _model(toy, hidden=[8, 4], num_hard_negatives=2, remove_accidental_hits=True,
                   candidate_id_key="movie_id", temperature=0.5)
    x = _batch(model, toy, n=8)
    q, c = (t.numpy().astype(np.float64) for t in model(x))
    ids = x["movie_id"].numpy()
    assert len(set(ids)) < len(ids)  # the batch has accidental hits to remove
    logits = q @ c.T / 0.5
    # an in-batch negative with the positive's id is masked out (TFRS uses the float32 minimum)
    same = (ids[:, None] == ids[None, :]) & ~np.eye(len(ids), dtype=bool)
    logits[same] = -np.inf
    # hard negatives: keep the positive and the 2 highest-scoring remaining negatives of each row
    kept = np.full_like(logits, -np.inf)
    for i, row in enumerate(logits):
        negatives = np.delete(np.arange(len(row)), i)
        top = negatives[np.argsort(-row[negatives], kind="stable")[:2]]
        kept[i, i], kept[i, top] = row[i], row[top]
    np.testing.assert_allclose(float(model.compute_loss(x, training=True)), _softmax_loss(kept), rtol=1e-4)


def test_config_and_saved_model_round_trip(toy, tmp_path):
    model = _model(toy, hidden=[8, 4], temperature=0.2, sampling_probability_key="p")
    x = _batch(model, toy)
    q, c = (t.numpy() for t in model(x))
    clone = TwoTowerRetrieval.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    tower = Tower.from_config(model.query_tower.get_config())
    assert tower.get_config() == model.query_tower.get_config()
    model.save(tmp_path / "two_tower", save_traces=False)
    loaded = tf.keras.models.load_model(tmp_path / "two_tower")
    assert isinstance(loaded, TwoTowerRetrieval)
    lq, lc = loaded(x)
    np.testing.assert_allclose(lq.numpy(), q, rtol=1e-5)
    np.testing.assert_allclose(lc.numpy(), c, rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# Real data: a small ml-100k slice
# ---------------------------------------------------------------------------------------------


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


def test_docstring_examples_run():
    import doctest

    import tfrec.models.retrieval as retrieval_module
    import tfrec.models.tower as tower_module

    for module in (retrieval_module, tower_module):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
