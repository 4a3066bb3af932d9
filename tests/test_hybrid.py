"""The hybrid: normalisation and blending by hand, weight tuning on training rows only, the registry entry."""

import numpy as np
import pandas as pd
import pytest

from tfrec.data.training_data import TrainingData
from tfrec.recommenders.base import Algorithm
from tfrec.recommenders.hybrid import HybridRecommender, normalize_scores, simplex_grid
from tfrec.training.families.registry import get_task


class Fixed(Algorithm):
    """Scores and predicted ratings from fixed tables; records the rows it was fitted on."""

    predicts_ratings = True

    def __init__(self, scores, ratings, name):
        super().__init__()
        self.table, self.ratings, self.name = np.asarray(scores, float), np.asarray(ratings, float), name
        self.fitted_on = []

    def fit(self, data):
        self.data = data
        self.fitted_on.append(set(zip(data.frame["user_id"], data.frame["movie_id"])))
        return self

    def score(self, users):
        return self.table[np.asarray(users)]

    def predict(self, users, items):
        return self.ratings[np.asarray(users), np.asarray(items)]


def _data():
    frame = pd.DataFrame({"user_id": ["a", "a", "b"], "movie_id": ["x", "y", "z"], "user_rating": [4.0, 2.0, 5.0]})
    return TrainingData(frame)


def test_normalize_minmax_and_z_by_hand():
    s = np.array([[1.0, 3.0, 2.0, -np.inf], [2.0, 2.0, 2.0, 2.0]])
    mm = normalize_scores(s, "minmax")
    np.testing.assert_allclose(mm[0, :3], [0.0, 1.0, 0.5])
    assert mm[0, 3] == -np.inf and (mm[1] == 0).all()  # excluded stays excluded; a constant row is 0
    z = normalize_scores(s, "z")
    np.testing.assert_allclose(z[0, :3], [-1.224744871, 1.224744871, 0.0], atol=1e-6)  # mean 2, std sqrt(2/3)


def test_fixed_weights_blend_by_hand():
    a = Fixed([[0, 10, 5], [1, 1, 1], [0, 0, 0]], np.full((3, 3), 4.0), "a")
    b = Fixed([[2, 0, 1], [0, 1, 2], [0, 0, 0]], np.full((3, 3), 2.0), "b")
    hybrid = HybridRecommender([a, b], weights=[3, 1]).fit(_data())
    np.testing.assert_allclose(hybrid.weights_, [0.75, 0.25])
    # user 0: a -> [0, 1, .5], b -> [1, 0, .5]; 0.75 a + 0.25 b
    np.testing.assert_allclose(hybrid.score(np.array([0])), [[0.25, 0.75, 0.5]], atol=1e-6)
    np.testing.assert_allclose(hybrid.predict(np.array([0, 1]), np.array([2, 0])), [3.5, 3.5])


def test_simplex_grid():
    grid = simplex_grid(3, 0.5)
    assert np.allclose(grid.sum(axis=1), 1.0) and len(grid) == 6
    with pytest.raises(ValueError, match="grid_step must divide 1"):
        simplex_grid(2, 0.3)


def _ratings(n_users=40, n_items=30, seed=0):
    rng = np.random.default_rng(seed)
    rows = [(f"u{u}", f"i{i}", float(rng.integers(1, 6))) for u in range(n_users) for i in range(n_items)
            if rng.random() < 0.5]
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "user_rating"])


def test_weight_tuning_sees_training_rows_only_and_finds_the_better_component():
    train = _ratings()
    test = pd.DataFrame({"user_id": ["u0"], "movie_id": ["i0"], "user_rating": [1.0]})
    data = TrainingData(train)
    truth = np.zeros((data.n_users, data.n_items))
    truth[data.users_idx, data.items_idx] = data.ratings
    good = Fixed(np.zeros_like(truth), truth + 0.1, "good")  # nearly the training ratings
    bad = Fixed(np.zeros_like(truth), np.full_like(truth, 3.0), "bad")
    hybrid = HybridRecommender([good, bad], tune_weights=True, validation_ratio=0.2, seed=1).fit(data)
    assert hybrid.weights_.tolist() == [1.0, 0.0]
    train_pairs = set(zip(train["user_id"], train["movie_id"]))
    test_pairs = set(zip(test["user_id"], test["movie_id"])) - train_pairs
    for algo in (good, bad):  # the tuned copies were fitted on the carve; these on all training rows
        assert algo.fitted_on[-1] == train_pairs
        assert not any(p & test_pairs for p in algo.fitted_on)
    assert len(hybrid.validation_) == len(simplex_grid(2, 0.1))


def test_carve_copies_never_see_held_out_rows():
    data = TrainingData(_ratings())
    seen_by_copies = []

    class Spy(Fixed):
        def fit(self, d):
            seen_by_copies.append(len(d.frame))
            return super().fit(d)

    z = np.zeros((data.n_users, data.n_items))
    HybridRecommender([Spy(z, z + 3, "s1"), Spy(z, z + 4, "s2")], tune_weights=True, validation_ratio=0.25,
                      seed=3).fit(data)
    assert seen_by_copies[0] < len(data.frame) and seen_by_copies[-1] == len(data.frame)


def test_registry_entry_validates_components():
    task = get_task("hybrid")
    algo = task.create({"components": [{"name": "popularity"}, {"name": "item_mean", "params": {"damping": 1.0}}],
                        "normalize": "z"}, label="blend")
    assert algo.name == "blend" and [c.name for c in algo.components] == ["popularity", "item_mean"]
    with pytest.raises(ValueError, match="at least two"):
        task.create({"components": [{"name": "popularity"}]})
    with pytest.raises(ValueError, match="weight to some entries only"):
        task.create({"components": [{"name": "popularity", "weight": 1}, {"name": "item_mean"}]})
    with pytest.raises(ValueError, match=r"components\[1\] \('nope'\)"):
        task.create({"components": [{"name": "popularity"}, {"name": "nope"}]})


def test_hybrid_in_tfrec_evaluate(tmp_path, ml100k_path, capsys):
    from tfrec.cli.main import main

    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"""
data: {{path: {ml100k_path}, filter: {{max_user_ratings: 60}}}}
protocol: {{name: random, params: {{ratio: 0.75, seed: 42}}}}
algorithms:
  - name: item_mean
  - name: content_knn
  - name: hybrid
    params: {{components: [{{name: item_mean}}, {{name: content_knn}}], tune_weights: true}}
""")
    assert main(["evaluate", "--config", str(cfg), "--run-dir", str(tmp_path / "run"), "--no-progress"]) == 0
    import json

    rows = {r["algorithm"]: r["metrics"] for r in json.loads((tmp_path / "run" / "results.json").read_text())["results"]}
    assert set(rows) == {"item_mean", "content_knn", "hybrid"} and "rmse" in rows["hybrid"]
    assert "data.filter: removed" in capsys.readouterr().out
