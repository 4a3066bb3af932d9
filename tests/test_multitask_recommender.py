"""The multitask family as an evaluation algorithm: scores by retrieval, predicts ratings with the rating head."""

import numpy as np

import tfrec  # noqa: F401

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.training.family_algorithm import FamilyAlgorithm


def test_multitask_scores_by_retrieval_and_predicts_ratings(ml100k_path):
    from tfrec.data import load_movielens
    from tfrec.splits import random_split

    ml = load_movielens(ml100k_path)
    split = random_split(ml.ratings[ml.ratings["user_id"].astype(int) <= 100], 0.8, seed=42)
    data = TrainingData(split.train)
    users, items = data.user_index(split.test["user_id"]), data.item_index(split.test["movie_id"])
    algo = FamilyAlgorithm("multitask", {"embedding_dim": 8, "rating_units": [16], "rating_weight": 5.0},
                           training={"batch_size": 512, "epochs": 2, "learning_rate": 0.01, "verbose": 0},
                           log=lambda msg: None).fit(data)
    rec = algo.trained
    assert algo.predicts_ratings and rec.predicts_ratings
    y = split.test["user_rating"].to_numpy()
    pred = algo.predict(users, items)
    assert pred.min() >= 1 and pred.max() <= 5
    assert np.sqrt(np.mean((pred - y) ** 2)) < np.sqrt(np.mean((data.ratings.mean() - y) ** 2))
    # score = query . candidate over the catalog; an unknown item still gets a finite rating
    scores = algo.score(np.array([0, 1]))
    q = rec.query_embeddings(np.array([0, 1]))
    np.testing.assert_allclose(scores, q @ rec.candidate_embeddings()[1].T, rtol=1e-5)
    assert np.isfinite(algo.predict(np.array([0]), np.array([OOV_INDEX]))).all()
