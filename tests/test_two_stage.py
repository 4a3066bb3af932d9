"""TwoStageRecommender: retrieved unseen items re-ranked by the ranking stage; argument checks."""

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401

from tfrec.data.training_data import TrainingData
from tfrec.recommenders.two_stage import TwoStageRecommender


class _Fixed:
    """A fitted stand-in: fixed scores (retrieval) or fixed ratings per (user, item) (ranking)."""

    def __init__(self, table):
        self.table = table

    def fit(self, data):
        return self

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
    rec = TwoStageRecommender(_Fixed(retrieval), _Fixed(ratings), num_candidates=2).fit(data)
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
        TwoStageRecommender(_Fixed(None), _Fixed(None), num_candidates=0)
