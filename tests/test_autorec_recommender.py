"""AutoRecScorer (I-/U-AutoRec predictions from a trained network): the reconstruction of the right vector,
unknown ids, clipping, argument checks."""

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401

from tfrec.data.training_data import TrainingData
from tfrec.models.autorec import AutoRec
from tfrec.recommenders.autorec import AutoRecScorer


def _frame():
    # user a rates x twice (4 and 2: averaged to 3) and y 5; b rates x 1 and z 4; c rates y 2
    return pd.DataFrame({"user_id": ["a", "a", "a", "b", "b", "c"], "movie_id": ["x", "x", "y", "x", "z", "y"],
                         "user_rating": np.array([4, 2, 5, 1, 4, 2], np.float32)})


def test_invalid_arguments_say_what_was_received():
    with pytest.raises(ValueError, match="based_on='items'"):
        AutoRecScorer(AutoRec(3, 2), based_on="items")
    with pytest.raises(ValueError, match="no rating column"):
        AutoRecScorer(AutoRec(3, 2)).fit(TrainingData(pd.DataFrame({"user_id": ["a"], "movie_id": ["x"]})))


def test_scoring_before_fit_is_refused():
    with pytest.raises(RuntimeError, match="call fit"):
        AutoRecScorer(AutoRec(3, 2)).score(np.array([0]))


@pytest.mark.parametrize("based_on", ["item", "user"])
def test_predictions_are_the_reconstruction_of_the_right_vector(based_on):
    data = TrainingData(_frame())
    model = AutoRec(3, hidden_units=3)  # 3 users and 3 items: either orientation has 3 inputs
    rec = AutoRecScorer(model, based_on=based_on, clip=False).fit(data)
    # training matrix [users a, b, c] x [items x, y, z], duplicates averaged
    r = np.array([[3, 5, 0], [1, 0, 4], [0, 2, 0]], np.float32)
    if based_on == "item":  # input: item i's vector over users; read entry u
        expected = model(r.T).numpy().T
    else:  # input: user u's vector over items; read entry i
        expected = model(r).numpy()
    users, items = np.meshgrid(np.arange(3), np.arange(3), indexing="ij")
    np.testing.assert_allclose(rec.predict(users.ravel(), items.ravel()), expected.ravel(), rtol=1e-5)
    np.testing.assert_allclose(rec.score(np.arange(3)), expected, rtol=1e-5)
    assert rec.name == ("i_autorec" if based_on == "item" else "u_autorec")


def test_unknown_ids_get_means_and_predictions_are_clipped():
    data = TrainingData(_frame())
    rec = AutoRecScorer(AutoRec(3, hidden_units=3)).fit(data)
    pred = rec.predict(np.array([0, -1, -1, 0, 1, 2]), np.array([-1, 1, -1, 0, 1, 2]))
    # unknown item -> user a's mean (3 + 5) / 2; unknown user -> item y's mean (5 + 2) / 2;
    # both unknown -> global mean of the 6 training rows 18 / 6
    np.testing.assert_allclose(pred[:3], [4.0, 3.5, 3.0], rtol=1e-6)
    assert pred.min() >= 1.0 and pred.max() <= 5.0
    np.testing.assert_allclose(rec.score(np.array([-1]))[0], [2.0, 3.5, 4.0], rtol=1e-6)  # item means
    assert rec.predicts_ratings


def test_docstring_examples_run():
    import doctest

    from tfrec.recommenders import autorec

    result = doctest.testmod(autorec, extraglobs={"np": np, "TrainingData": TrainingData}, verbose=False)
    assert result.attempted > 0 and result.failed == 0, result
