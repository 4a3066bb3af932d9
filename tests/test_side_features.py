"""User / item side-feature frames of TrainingData: metadata first, else the first training row."""

import numpy as np
import pandas as pd
import pytest

from tfrec.data.side_features import entity_frame, training_frame, with_year
from tfrec.data.training_data import TrainingData


def _data():
    frame = pd.DataFrame({"user_id": ["u2", "u1", "u1"], "movie_id": ["m1", "m2", "m1"],
                          "user_rating": [4.0, 3.0, 5.0], "user_gender": [True, False, False]})
    items = pd.DataFrame({"movie_id": ["m2", "m1", "m9"], "movie_title": ["Heat (1995)", "Alien (1979)", "X"]})
    return TrainingData(frame, items=items)


def test_with_year_parses_the_title_only_when_needed():
    frame = pd.DataFrame({"movie_title": ["Heat (1995)", "No year"]})
    assert "year" not in with_year(frame, ["movie_title"]).columns
    np.testing.assert_array_equal(with_year(frame, ["year"])["year"].to_numpy(), [1995.0, np.nan])


def test_entity_frame_rows_follow_the_index_order():
    data = _data()
    items = entity_frame(data, "item", ["movie_id", "year"])  # year parsed from the metadata titles
    assert items["movie_id"].tolist() == list(data.item_ids) == ["m1", "m2"]
    assert items["year"].tolist() == [1979.0, 1995.0]
    users = entity_frame(data, "user", ["user_id", "user_gender"])  # from each user's first training row
    assert users["user_id"].tolist() == ["u1", "u2"] and users["user_gender"].tolist() == [False, True]


def test_training_frame_joins_missing_columns_per_row():
    data = _data()
    frame = training_frame(data, ["user_id"], ["movie_id", "movie_title"])
    assert frame["movie_title"].tolist() == ["Alien (1979)", "Heat (1995)", "Alien (1979)"]


def test_unknown_column_lists_the_available_ones():
    with pytest.raises(KeyError, match="'genre' is in neither the training frame nor the item metadata"):
        entity_frame(_data(), "item", ["genre"])
