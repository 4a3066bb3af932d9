"""Implicit ALS: the half-step against the dense normal equations, a real-data check against
popularity, parameters."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tfrec.config import ConfigError
from tfrec.data.training_data import TrainingData
from tfrec.evaluation.evaluator import Evaluator
from tfrec.recommenders.als import ALSRecommender, solve_side
from tfrec.recommenders.popularity import PopularityRecommender
from tfrec.training.families.registry import get_task


def test_half_step_solves_the_weighted_normal_equations():
    rng = np.random.default_rng(0)
    fixed = rng.normal(size=(12, 3))
    conf = sp.random(5, 12, density=0.4, random_state=1, format="csr") * 4.0  # alpha * r on observed pairs
    conf.data += 0.5
    got = solve_side(fixed, conf, regularization=0.3)
    for u in range(5):
        c = 1.0 + conf[u].toarray().ravel()  # confidence of every column, 1 where unobserved
        p = (conf[u].toarray().ravel() > 0).astype(float)  # preference
        expected = np.linalg.solve(fixed.T @ np.diag(c) @ fixed + 0.3 * np.eye(3), fixed.T @ (c * p))
        np.testing.assert_allclose(got[u], expected, rtol=1e-9, atol=1e-12)


def test_duplicate_interactions_add_their_confidence():
    frame = pd.DataFrame({"user_id": [1, 1, 1, 2], "movie_id": [1, 1, 2, 2]})
    once = pd.DataFrame({"user_id": [1, 1, 2], "movie_id": [1, 2, 2]})
    twice = ALSRecommender(n_factors=2, n_iterations=2, alpha=2.0).fit(TrainingData(frame))
    plain = ALSRecommender(n_factors=2, n_iterations=2, alpha=2.0).fit(TrainingData(once))
    assert not np.allclose(twice.user_factors_, plain.user_factors_)


def test_als_beats_popularity_on_hit_rate(ml100k_path):
    frame = pd.read_csv(ml100k_path / "u.data", sep="\t", names=["user_id", "movie_id", "user_rating", "timestamp"])
    frame = frame[frame.user_id <= 300]
    ev = Evaluator(frame, "leave_one_out", k=10, progress=False)
    als = ev.evaluate(ALSRecommender(n_factors=32, n_iterations=8))["metrics"]["hr@10"]
    pop = ev.evaluate(PopularityRecommender())["metrics"]["hr@10"]
    assert als > pop, (als, pop)


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match="n_factors"):
        ALSRecommender(n_factors=-1)
    with pytest.raises(ValueError, match="alpha"):
        ALSRecommender(alpha="big")
    with pytest.raises(ConfigError, match=r"model\.params\.regularization"):
        get_task("als").create({"regularization": -0.1})
    with pytest.raises(ValueError, match="use_ratings"):
        ALSRecommender(use_ratings=True).fit(TrainingData(pd.DataFrame({"user_id": [1], "movie_id": [2]})))
