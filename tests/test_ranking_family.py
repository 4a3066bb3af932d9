"""The ``ranking`` family trained by the Trainer (``FamilyAlgorithm``) against the global mean on a real slice."""

import numpy as np
import pytest

import tfrec  # noqa: F401

from tfrec.data.training_data import TrainingData
from tfrec.recommenders.ranking import RankingScorer
from tfrec.training.family_algorithm import FamilyAlgorithm


@pytest.fixture(scope="module")
def slice_200(ml100k_path):
    from tfrec.data import load_movielens
    from tfrec.splits import random_split

    ml = load_movielens(ml100k_path)
    split = random_split(ml.ratings[ml.ratings["user_id"].astype(int) <= 200], 0.8, seed=42)
    return split, TrainingData(split.train)


@pytest.fixture(scope="module")
def trained(slice_200):
    _, data = slice_200
    return FamilyAlgorithm("ranking", {"embedding_dim": 8, "hidden_units": [32]},
                           training={"epochs": 3, "batch_size": 512, "learning_rate": 0.003, "verbose": 0},
                           log=lambda msg: None).fit(data)


def test_ranking_family_beats_the_global_mean(slice_200, trained):
    split, data = slice_200
    users, items = data.user_index(split.test["user_id"]), data.item_index(split.test["movie_id"])
    y = split.test["user_rating"].to_numpy()
    assert trained.predicts_ratings and isinstance(trained.trained, RankingScorer)
    rmse = np.sqrt(np.mean((trained.predict(users, items) - y) ** 2))
    baseline = np.sqrt(np.mean((data.ratings.mean() - y) ** 2))
    assert rmse < baseline, f"ranking RMSE {rmse:.3f} >= global mean {baseline:.3f}"
    # full-catalog scores are the pairwise predictions, clipped to the training rating range
    scores = trained.score(users[:2])
    assert scores.shape == (2, data.n_items)
    np.testing.assert_allclose(scores[0, items[0]], trained.predict(users[:1], items[:1])[0], rtol=1e-5)
    assert trained.trained.rating_range_ == (1.0, 5.0)
    assert scores.min() >= 1 and scores.max() <= 5


def test_scorer_predicts_the_model_s_output_and_checks_the_vocabulary(slice_200, trained):
    split, data = slice_200
    scorer = trained.trained
    users, items = np.array([0, 1, -1]), np.array([0, -1, 2])
    raw = RankingScorer(scorer.model, scorer.layer, scorer.user_names, scorer.item_names, data, (1.0, 5.0),
                        clip=False)
    with pytest.raises(RuntimeError, match="call fit"):
        raw.predict(users, items)
    unclipped = raw.fit(data).predict(users, items)
    np.testing.assert_allclose(np.clip(unclipped, 1, 5), scorer.predict(users, items), rtol=1e-6)
    other = TrainingData(split.train.iloc[: len(split.train) // 2])
    with pytest.raises(ValueError, match="another vocabulary"):
        RankingScorer(scorer.model, scorer.layer, scorer.user_names, scorer.item_names, data, (1.0, 5.0)).fit(other)
