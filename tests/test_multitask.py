"""MultiTaskModel: the weighted loss of both tasks, round trips, docstring example."""

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.features import frame_to_dataset
from tfrec.models.multitask import MultiTaskModel
from tfrec.models.tower import make_tower


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    n = 48
    return pd.DataFrame({
        "user_id": rng.integers(0, 8, n).astype(str), "movie_id": rng.integers(0, 10, n).astype(str),
        "user_rating": rng.integers(1, 6, n).astype(np.float32),
    })


def _model(toy, **kwargs):
    tf.keras.utils.set_random_seed(5)
    q = make_tower([{"name": "user_id", "kind": "categorical"}], toy, embedding_dim=4, name="query")
    c = make_tower([{"name": "movie_id", "kind": "categorical"}], toy, embedding_dim=4, name="candidate")
    return MultiTaskModel(q, c, rating_units=[8], output_offset=3.0, **kwargs)


def test_loss_is_the_weighted_sum_of_both_tasks(toy):
    model = _model(toy, retrieval_weight=0.3, rating_weight=2.0)
    layers = [model.query_tower.feature_layer, model.candidate_tower.feature_layer]
    features, labels = next(iter(frame_to_dataset(toy, layers, label="user_rating", batch_size=8)))
    q, c, r = (t.numpy().astype(np.float64) for t in model(features))
    # retrieval: in-batch softmax, sum over the batch; rating: mean squared error
    logits = q @ c.T
    logits -= logits.max(axis=1, keepdims=True)
    retrieval = -np.sum(np.diag(logits) - np.log(np.exp(logits).sum(axis=1)))
    rating = np.mean((labels.numpy() - r[:, 0]) ** 2)
    np.testing.assert_allclose(float(model.compute_loss((features, labels), training=True)),
                               0.3 * retrieval + 2.0 * rating, rtol=1e-4)


def test_weights_must_train_something(toy):
    with pytest.raises(ValueError, match="both 0"):
        _model(toy, retrieval_weight=0.0, rating_weight=0.0)
    with pytest.raises(ValueError, match="rating_weight must be >= 0"):
        _model(toy, rating_weight=-1.0)


def test_config_and_saved_model_round_trip(toy, tmp_path):
    model = _model(toy, retrieval_weight=0.5, temperature=0.1)
    layers = [model.query_tower.feature_layer, model.candidate_tower.feature_layer]
    features = next(iter(frame_to_dataset(toy, layers, batch_size=8)))
    expected = [t.numpy() for t in model(features)]
    assert MultiTaskModel.from_config(model.get_config()).get_config() == model.get_config()
    model.save(tmp_path / "multitask", save_traces=False)
    loaded = tf.keras.models.load_model(tmp_path / "multitask")
    assert isinstance(loaded, MultiTaskModel)
    for got, want in zip(loaded(features), expected):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5)


def test_docstring_examples_run():
    import doctest

    import tfrec.models.multitask as module

    result = doctest.testmod(module, extraglobs={"tf": tf, "pd": pd, "make_tower": make_tower,
                                                 "frame_to_dataset": frame_to_dataset})
    assert result.attempted > 0 and result.failed == 0
