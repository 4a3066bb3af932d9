"""The two_tower family as an evaluation algorithm: beats popularity on a real slice, cold start from side
features, OOV users, the BruteForce index."""

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.evaluation.evaluator import EvaluationData, factorized_ranks
from tfrec.metrics import factorized_top_k
from tfrec.recommenders.popularity import PopularityRecommender
from tfrec.recommenders.two_tower import TwoTowerScorer
from tfrec.training.config import from_dict
from tfrec.training.families import get_task
from tfrec.training.family_algorithm import FamilyAlgorithm


@pytest.fixture(scope="module")
def ml_slice(ml100k_path):
    from tfrec.data import load_movielens
    from tfrec.splits import random_split

    ml = load_movielens(ml100k_path)
    ratings = ml.ratings[ml.ratings["user_id"].astype(int) <= 100]
    split = random_split(ratings, 0.8, seed=42)
    return split, EvaluationData.build(split.train, split.test, TrainingData(split.train).columns)


@pytest.fixture(scope="module")
def side_model(ml_slice):
    _, data = ml_slice
    algo = FamilyAlgorithm("two_tower", {"query_features": "movielens_user", "candidate_features": "movielens_item",
                                         "embedding_dim": 16, "hidden_units": [32, 16], "logq_correction": True},
                           training={"batch_size": 512, "epochs": 2, "learning_rate": 0.01, "verbose": 0},
                           log=lambda msg: None)
    return algo.fit(data.train).trained


def test_two_tower_beats_popularity_on_a_real_slice(ml_slice, side_model):
    _, data = ml_slice
    pop = factorized_top_k(factorized_ranks(PopularityRecommender().fit(data.train), data), ks=[50])
    ours = factorized_top_k(factorized_ranks(side_model, data), ks=[50])
    key = "top_50_categorical_accuracy"
    assert ours[key] > pop[key], f"two-tower top-50 accuracy {ours[key]:.3f} <= popularity {pop[key]:.3f}"


def test_cold_start_user_gets_recommendations_from_side_features(ml_slice, side_model):
    _, data = ml_slice
    new_users = pd.DataFrame({
        "user_id": ["never-seen-1", "never-seen-2"], "raw_user_age": [19.0, 62.0], "user_gender": [True, False],
        "user_occupation_label": [17, 13], "user_zip_code": ["02139", "94110"],
    })
    ids, scores = side_model.recommend_for_features(new_users, k=10)
    assert ids.shape == (2, 10) and np.all(np.diff(scores, axis=1) <= 0)
    assert set(ids.ravel()) <= set(data.train.item_ids)
    assert len(set(ids[0])) == 10
    # the side features move the query: the two profiles and the all-unknown query differ
    q = side_model.model.embed_queries({k: tf.constant(v.to_numpy().astype(str) if v.dtype == object else v.to_numpy())
                                        for k, v in new_users.items()})
    assert not np.allclose(q[0], q[1])
    assert not np.allclose(q[0], side_model.query_embeddings(np.array([OOV_INDEX]))[0])


def test_oov_user_index_uses_the_oov_bucket(ml_slice):
    split, _ = ml_slice
    task = get_task("two_tower")
    cfg = from_dict({"model": {"name": "two_tower", "params": {"embedding_dim": 8}}})
    run = task.prepare_frame(cfg, split.train)
    # an untrained model is enough here: the scorer only embeds and indexes
    rec = TwoTowerScorer(task.build_model(dict(cfg.model.params), run), run.vocab).fit(run.vocab)
    data = run.vocab
    table = rec.model.query_tower.feature_layer._tables["user_id"].embeddings.numpy()
    np.testing.assert_allclose(rec.query_embeddings(np.array([OOV_INDEX]))[0], table[0], rtol=1e-6)
    raw = rec.model.query_embeddings({"user_id": tf.constant(["no-such-user"])}).numpy()[0]
    np.testing.assert_allclose(raw, table[0], rtol=1e-6)
    # the BruteForce index answers raw-id queries with the same top-k as the full score matrix
    index = rec.index_candidates(k=5)
    _, ids = index({"user_id": tf.constant([str(data.user_ids[3])])})
    expected = data.item_ids[np.argsort(-rec.score(np.array([3]))[0], kind="stable")[:5]]
    assert [i.decode() for i in ids.numpy()[0]] == [str(i) for i in expected]


def test_scorer_refuses_another_vocabulary(ml_slice):
    split, _ = ml_slice
    task = get_task("two_tower")
    cfg = from_dict({"model": {"name": "two_tower", "params": {"embedding_dim": 4}}})
    run = task.prepare_frame(cfg, split.train)
    rec = TwoTowerScorer(task.build_model(dict(cfg.model.params), run), run.vocab)
    with pytest.raises(ValueError, match="another vocabulary"):
        rec.fit(TrainingData(split.test))
