"""MultiTaskRecommender: scores by retrieval, predicts ratings with the rating head."""

import numpy as np

import tfrec  # noqa: F401

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.recommenders.multitask import MultiTaskRecommender


def test_recommender_scores_by_retrieval_and_predicts_ratings(ml100k_path):
    from tfrec.data import load_movielens
    from tfrec.splits import random_split

    ml = load_movielens(ml100k_path)
    split = random_split(ml.ratings[ml.ratings["user_id"].astype(int) <= 100], 0.8, seed=42)
    data = TrainingData(split.train, items=ml.movies, users=ml.users)
    users, items = data.user_index(split.test["user_id"]), data.item_index(split.test["movie_id"])
    per_epoch = []
    rec = MultiTaskRecommender(embedding_dim=8, rating_units=[16], batch_size=512, epochs=2,
                               optimizer="adam", learning_rate=0.01, rating_weight=5.0)
    rec.fit(data, on_epoch_end=lambda epoch, r: per_epoch.append(r.predict(users, items)))
    assert rec.predicts_ratings
    # predict works inside the per-epoch hook; its last call sees the final model
    assert len(per_epoch) == 2
    np.testing.assert_allclose(per_epoch[-1], rec.predict(users, items), rtol=1e-5)
    y = split.test["user_rating"].to_numpy()
    pred = rec.predict(users, items)
    assert pred.min() >= 1 and pred.max() <= 5
    assert np.sqrt(np.mean((pred - y) ** 2)) < np.sqrt(np.mean((data.ratings.mean() - y) ** 2))
    # score = query . candidate over the catalog; an unknown item still gets a finite rating
    scores = rec.score(np.array([0, 1]))
    q = rec.query_embeddings(np.array([0, 1]))
    np.testing.assert_allclose(scores, q @ rec.candidate_embeddings()[1].T, rtol=1e-5)
    assert np.isfinite(rec.predict(np.array([0]), np.array([OOV_INDEX]))).all()
