"""AutoRecRecommender (I-/U-AutoRec): predictions are the reconstruction of the right vector, unknown
ids, schedules, argument checks."""


import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401

from tfrec.data.training_data import TrainingData
from tfrec.recommenders.autorec import AutoRecRecommender


def test_invalid_recommender_arguments_say_what_was_received():
    with pytest.raises(ValueError, match="based_on='items'"):
        AutoRecRecommender(based_on="items")
    with pytest.raises(ValueError, match="no rating column"):
        AutoRecRecommender().fit(TrainingData(pd.DataFrame({"user_id": ["a"], "movie_id": ["x"]})))


def _frame():
    # user a rates x twice (4 and 2: averaged to 3) and y 5; b rates x 1 and z 4; c rates y 2
    return pd.DataFrame({"user_id": ["a", "a", "a", "b", "b", "c"], "movie_id": ["x", "x", "y", "x", "z", "y"],
                         "user_rating": np.array([4, 2, 5, 1, 4, 2], np.float32)})


@pytest.mark.parametrize("based_on", ["item", "user"])
def test_predictions_are_the_reconstruction_of_the_right_vector(based_on):
    data = TrainingData(_frame())
    rec = AutoRecRecommender(based_on=based_on, hidden_units=3, epochs=2, l2=1.0, clip=False).fit(data)
    # training matrix [users a, b, c] x [items x, y, z], duplicates averaged
    r = np.array([[3, 5, 0], [1, 0, 4], [0, 2, 0]], np.float32)
    if based_on == "item":  # input: item i's vector over users; read entry u
        expected = rec.model(r.T).numpy().T
    else:  # input: user u's vector over items; read entry i
        expected = rec.model(r).numpy()
    users, items = np.meshgrid(np.arange(3), np.arange(3), indexing="ij")
    np.testing.assert_allclose(rec.predict(users.ravel(), items.ravel()), expected.ravel(), rtol=1e-5)
    np.testing.assert_allclose(rec.score(np.arange(3)), expected, rtol=1e-5)


def test_unknown_ids_get_means_and_predictions_are_clipped():
    data = TrainingData(_frame())
    rec = AutoRecRecommender(hidden_units=3, epochs=1).fit(data)
    pred = rec.predict(np.array([0, -1, -1, 0, 1, 2]), np.array([-1, 1, -1, 0, 1, 2]))
    # unknown item -> user a's mean (3 + 5) / 2; unknown user -> item y's mean (5 + 2) / 2;
    # both unknown -> global mean of the 6 training rows 18 / 6
    np.testing.assert_allclose(pred[:3], [4.0, 3.5, 3.0], rtol=1e-6)
    assert pred.min() >= 1.0 and pred.max() <= 5.0
    np.testing.assert_allclose(rec.score(np.array([-1]))[0], [2.0, 3.5, 4.0], rtol=1e-6)  # item means
    assert rec.predicts_ratings


def test_cosine_schedule_decays_to_the_floor_over_the_epochs():
    data = TrainingData(_frame())
    rec = AutoRecRecommender(hidden_units=3, epochs=4, batch_size=2, learning_rate=0.01, lr_schedule="cosine",
                             lr_floor=0.1).fit(data)
    opt = rec.model.optimizer
    # 3 items in batches of 2: 2 steps per epoch, 8 steps; cosine: lr * (floor + (1 - floor) * (1 + cos(pi t / T)) / 2)
    assert int(opt.iterations) == 8
    schedule = opt._learning_rate
    assert float(schedule(0)) == pytest.approx(0.01)
    assert float(schedule(4)) == pytest.approx(0.01 * (0.1 + 0.9 * 0.5))
    assert float(schedule(8)) == pytest.approx(0.001)


def test_invalid_schedule_says_what_was_received():
    with pytest.raises(ValueError, match="lr_schedule='step'"):
        AutoRecRecommender(lr_schedule="step")
    with pytest.raises(ValueError, match="1.5"):
        AutoRecRecommender(lr_floor=1.5)
