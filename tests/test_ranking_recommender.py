"""RankingRecommender (ranking_mlp) against the global mean on a real slice."""

import numpy as np

import tfrec  # noqa: F401

from tfrec.data.training_data import TrainingData
from tfrec.recommenders.ranking import RankingRecommender


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
