"""ContentKNN: similarities against hand-computed values, predictions, and feature-file errors."""

import numpy as np
import pandas as pd
import pytest

from tfrec.data.errors import DataFormatError
from tfrec.data.item_features import read_item_features
from tfrec.data.training_data import TrainingData
from tfrec.recommenders.content_knn import ContentKNNRecommender, weighted_top_k


def _data():
    # items 1..3: genres {0,1}, {0}, {1}; years 1990, 2000, 1990
    frame = pd.DataFrame({"user_id": ["a", "a", "b", "b"], "movie_id": ["1", "2", "1", "3"],
                          "user_rating": [5.0, 3.0, 2.0, 4.0]})
    items = pd.DataFrame({"movie_id": ["1", "2", "3"], "movie_genres": [[0, 1], [0], [1]],
                          "year": [1990, 2000, 1990]})
    return TrainingData(frame, items=items)


def test_similarity_is_the_product_of_genre_cosine_and_year_decay():
    algo = ContentKNNRecommender().fit(_data())
    c = 1 / np.sqrt(2)  # cos([1,1],[1,0]) = cos([1,1],[0,1])
    expected = np.array([[0, c * np.exp(-1.0), c],
                         [c * np.exp(-1.0), 0, 0],  # items 2 and 3 share no genre
                         [c, 0, 0]])
    np.testing.assert_allclose(algo.sim_, expected, atol=1e-6)


def test_genres_only_and_year_scale():
    algo = ContentKNNRecommender(features=["year"], year_scale=5.0).fit(_data())
    assert algo.sim_[0, 1] == pytest.approx(np.exp(-10 / 5))
    assert algo.sim_[0, 2] == pytest.approx(1.0)


def test_prediction_is_the_similarity_weighted_mean_of_the_users_ratings():
    algo = ContentKNNRecommender().fit(_data())
    data = algo.data
    u_a, u_b = data.user_index(["a", "b"])
    i1, i2, i3 = data.item_index(["1", "2", "3"])
    c = 1 / np.sqrt(2)
    # user b rated item 1 (2.0) and 3 (4.0); item 2's neighbours among them: item 1 only (sim c*e^-1)
    # -> 2.0; user a rated 1 (5.0) and 2 (3.0); item 3: item 1 only (sim c) -> 5.0
    pred = algo.predict(np.array([u_b, u_a]), np.array([i2, i3]))
    np.testing.assert_allclose(pred, [2.0, 5.0], atol=1e-6)
    # k=1 keeps the single most similar rated item
    mean, weight = weighted_top_k(np.array([[0.2, 0.9, 0.5]]), np.array([1.0, 4.0, 2.0]), k=2)
    assert mean[0] == pytest.approx((0.9 * 4 + 0.5 * 2) / 1.4) and weight[0] == pytest.approx(1.4)
    # top-N scores are the predictions
    np.testing.assert_allclose(algo.score(np.array([u_b]))[0, i2], 2.0, atol=1e-6)


def test_dense_feature_file_is_z_normalised(tmp_path):
    path = tmp_path / "visual.csv"
    path.write_text("movie_id,f1,f2\n1,1,10\n2,3,10\n3,3,30\n9,100,100\n")
    algo = ContentKNNRecommender(features=[], feature_files=[str(path)]).fit(_data())
    X = np.array([[1, 10], [3, 10], [3, 30]], float)  # item 9 is not a training item
    Z = (X - X.mean(0)) / X.std(0)
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    np.testing.assert_allclose(algo.sim_[0, 1], (1 + Z[0] @ Z[1]) / 2, atol=1e-6)


def test_feature_file_non_numeric_cell_names_file_line_and_column(tmp_path):
    path = tmp_path / "visual.csv"
    path.write_text("movie_id,f1,f2\n1,0.5,2\n2,abc,4\n")
    with pytest.raises(DataFormatError) as e:
        read_item_features(path)
    assert f"{path}:3:" in str(e.value) and "column 2 ('f1')" in str(e.value) and "'abc'" in str(e.value)


def test_feature_file_missing_cell_names_file_line_and_column(tmp_path):
    path = tmp_path / "visual.csv"
    path.write_text("movie_id,f1,f2\n1,0.5,2\n2,1.5,4\n3,2.5,\n")
    with pytest.raises(DataFormatError) as e:
        read_item_features(path)
    assert f"{path}:4:" in str(e.value) and "column 3 ('f2') is empty" in str(e.value)


def test_unknown_feature_set_is_refused():
    with pytest.raises(ValueError, match="unknown content_knn feature set"):
        ContentKNNRecommender(features=["colour"])


def test_beats_random_on_a_real_slice(ml100k_path):
    from tfrec.data import load_movielens
    from tfrec.evaluation import Evaluator
    from tfrec.recommenders.random import RandomRecommender

    ml = load_movielens(ml100k_path)
    ratings = ml.ratings[ml.ratings["user_id"].astype(int) <= 150]
    ev = Evaluator(ratings, "random", k=10, items=ml.movies, progress=False)
    content = ev.evaluate(ContentKNNRecommender())["metrics"]["rmse"]
    rand = ev.evaluate(RandomRecommender())["metrics"]["rmse"]
    assert content < rand


def test_a_similarity_matrix_over_the_memory_limit_is_refused_before_allocation():
    n = 40_000  # 40,000^2 float32 = 5.96 GiB > the 4 GiB default
    frame = pd.DataFrame({"user_id": ["a"] * n, "movie_id": np.arange(n).astype(str), "user_rating": 3.0})
    algo = ContentKNNRecommender()
    with pytest.raises(MemoryError) as e:
        algo.fit(TrainingData(frame))
    assert str(e.value).startswith("content_knn: the item-item content similarity matrix would take 5.96 GiB "
                                   "(40,000 x 40,000 x 4 bytes), over max_similarity_gib=4.")
    assert "Fit on fewer items" in str(e.value) and "{max_similarity_gib: 6}" in str(e.value)
    assert not hasattr(algo, "sim_")
    with pytest.raises(ValueError, match="max_similarity_gib"):
        ContentKNNRecommender(max_similarity_gib=-1.0)
