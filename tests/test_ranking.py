"""RankingModel: the squared-error loss, labels either way, round trips, docstring example."""

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.features import FeatureLayer, frame_to_dataset
from tfrec.models.ranking import RankingModel


SPEC = [{"name": "user_id", "kind": "categorical"}, {"name": "movie_id", "kind": "categorical"},
        {"name": "age", "kind": "numeric", "transform": "log"}, {"name": "genres", "kind": "multi_hot"}]


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    n = 40
    return pd.DataFrame({
        "user_id": rng.integers(0, 6, n).astype(str), "movie_id": rng.integers(0, 8, n).astype(str),
        "age": rng.uniform(15, 70, n), "genres": [list(rng.integers(0, 5, 2)) for _ in range(n)],
        "user_rating": rng.integers(1, 6, n).astype(np.float32),
    })


def _model(toy):
    tf.keras.utils.set_random_seed(3)
    layer = FeatureLayer(SPEC, embedding_dim=4, output_mode="concat")
    layer.adapt(toy)
    return RankingModel(layer, hidden_units=[8, 4], output_offset=3.5)


def test_loss_is_the_mean_squared_error_and_labels_can_come_either_way(toy):
    model = _model(toy)
    layer = model.feature_layer
    features, labels = next(iter(frame_to_dataset(toy, layer, label="user_rating", batch_size=16)))
    predictions = model(features).numpy()[:, 0]
    expected = np.mean((labels.numpy() - predictions) ** 2)
    np.testing.assert_allclose(float(model.compute_loss((features, labels))), expected, rtol=1e-5)
    with_key = dict(features, user_rating=labels)
    np.testing.assert_allclose(float(model.compute_loss(with_key)), expected, rtol=1e-5)


def test_missing_label_says_which_key(toy):
    model = _model(toy)
    features = next(iter(frame_to_dataset(toy, model.feature_layer, batch_size=4)))
    with pytest.raises(KeyError, match="no label 'user_rating'"):
        model.compute_loss(features)


def test_config_and_saved_model_round_trip(toy, tmp_path):
    model = _model(toy)
    features = next(iter(frame_to_dataset(toy, model.feature_layer, batch_size=16)))
    expected = model(features).numpy()
    assert RankingModel.from_config(model.get_config()).get_config() == model.get_config()
    model.save(tmp_path / "ranking", save_traces=False)
    loaded = tf.keras.models.load_model(tmp_path / "ranking")
    assert isinstance(loaded, RankingModel)
    np.testing.assert_allclose(loaded(features).numpy(), expected, rtol=1e-5)


def test_docstring_examples_run():
    import doctest

    import tfrec.models.ranking as module

    result = doctest.testmod(module, extraglobs={"tf": tf, "pd": pd})
    assert result.attempted > 0 and result.failed == 0
