"""FeatureSpec / FeatureLayer / frame_to_dataset: shapes, hand-derived transforms, OOV, errors, round trips."""

import math

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec.features import (
    ENCODED_SUFFIX,
    Feature,
    FeatureLayer,
    FeatureSpec,
    frame_to_dataset,
    frame_to_tensors,
)

ALL_KINDS = [
    {"name": "user_id", "kind": "categorical"},
    {"name": "zip", "column": "zip_code", "kind": "categorical", "hash_bins": 16},
    {"name": "age", "kind": "numeric", "missing_indicator": True},
    {"name": "age_log", "column": "age", "kind": "numeric", "transform": "log"},
    {"name": "age_bucket", "column": "age", "kind": "numeric", "transform": "bucketize", "num_buckets": 4},
    {"name": "timestamp", "kind": "timestamp", "num_buckets": 3},
    {"name": "genres", "kind": "multi_hot"},
    {"name": "title", "kind": "text", "max_length": 4},
]


@pytest.fixture()
def frame():
    return pd.DataFrame(
        {
            "user_id": ["a", "b", "a", "c", "a", "b"],
            "zip_code": ["111", "222", "111", "333", "111", None],
            "age": [10.0, 20.0, np.nan, 40.0, 50.0, 60.0],
            "timestamp": np.array([100, 200, 300, 400, 500, 600], np.int64),
            "genres": [[1, 2], [3], [], [1], [2, 2, 3], [4]],
            "title": ["Toy Story", "Heat", "toy soldiers!", "Heat", "Story", ""],
            "rating": [5.0, 3.0, 4.0, 1.0, 2.0, 3.0],
        }
    )


def _raw(layer, frame):
    return {k: tf.constant(v.astype(str) if v.dtype == object else v) for k, v in frame_to_tensors(frame, layer).items()}


def test_every_kind_gives_batch_by_dim(frame):
    layer = FeatureLayer(ALL_KINDS, embedding_dim=6)
    layer.adapt(frame)
    out = layer(_raw(layer, frame))
    assert list(out) == [f["name"] for f in ALL_KINDS]
    for name, value in out.items():
        assert tuple(value.shape) == (6, 6), name
        assert np.isfinite(value.numpy()).all(), name


def test_output_modes_concat_and_stack(frame):
    layer = FeatureLayer(ALL_KINDS, embedding_dim=6)
    layer.adapt(frame)
    raw = _raw(layer, frame)
    as_dict = layer(raw)
    concat = FeatureLayer.from_config({**layer.get_config(), "output_mode": "concat"})
    stack = FeatureLayer.from_config({**layer.get_config(), "output_mode": "stack"})
    concat(raw), stack(raw)  # build, then share the weights of the dict layer
    concat.set_weights(layer.get_weights())
    stack.set_weights(layer.get_weights())
    assert concat(raw).shape == (6, 6 * len(ALL_KINDS)) == (6, layer.output_dim)
    np.testing.assert_allclose(concat(raw).numpy(), layer.concat(as_dict).numpy())
    np.testing.assert_allclose(stack(raw).numpy()[:, 2], as_dict["age"].numpy())


def test_stack_needs_equal_dims():
    with pytest.raises(ValueError, match="same dimension"):
        FeatureLayer([{"name": "a", "kind": "categorical", "embedding_dim": 3},
                      {"name": "b", "kind": "categorical"}], embedding_dim=4, output_mode="stack")


def test_vocabulary_is_frequency_ordered_with_oov_zero(frame):
    layer = FeatureLayer([{"name": "user_id", "kind": "categorical", "min_count": 2}], embedding_dim=3)
    layer.adapt(frame)
    # counts a=3, b=2, c=1 -> vocabulary [a, b] (c below min_count) -> indices a=1, b=2, OOV=0
    assert layer.adapted_state["user_id"]["vocabulary"] == ["a", "b"]
    enc = layer.encode({"user_id": tf.constant(["a", "b", "c", "never-seen"])})
    np.testing.assert_array_equal(enc["user_id" + ENCODED_SUFFIX].numpy(), [1, 2, 0, 0])


def test_unknown_id_at_predict_time_uses_the_oov_row(frame):
    layer = FeatureLayer([{"name": "user_id", "kind": "categorical"}], embedding_dim=3)
    layer.adapt(frame)
    out = layer({"user_id": tf.constant(["zzz", "a"])})["user_id"].numpy()
    table = layer._tables["user_id"].embeddings.numpy()
    np.testing.assert_allclose(out[0], table[0])  # OOV bucket
    np.testing.assert_allclose(out[1], table[1])  # most frequent id


def test_integer_ids_match_their_string_form():
    frame = pd.DataFrame({"item": np.array([7, 8, 7], np.int64)})
    layer = FeatureLayer([{"name": "item", "kind": "categorical"}], embedding_dim=2)
    layer.adapt(frame)
    a = layer({"item": tf.constant([7, 8, 9], tf.int64)})["item"].numpy()
    b = layer({"item": tf.constant(["7", "8", "9"])})["item"].numpy()
    np.testing.assert_allclose(a, b)


def _identity_projection(layer, name, n_in):
    kernel = np.zeros((n_in, 1), np.float32)
    kernel[0, 0] = 1.0
    layer._dense[name].set_weights([kernel, np.zeros(1, np.float32)])


def test_numeric_normalize_and_missing_to_zero():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, np.nan]})
    layer = FeatureLayer([{"name": "x", "kind": "numeric", "missing_indicator": True}], embedding_dim=1)
    layer.adapt(frame)
    raw = {"x": tf.constant([1.0, 2.0, 3.0, np.nan])}
    layer(raw)
    _identity_projection(layer, "x", 2)
    # mean of [1, 2, 3] = 2, population std = sqrt(2/3) = 0.8165; NaN -> 0 after normalization
    s = math.sqrt(2 / 3)
    np.testing.assert_allclose(layer(raw)["x"].numpy()[:, 0], [-1 / s, 0.0, 1 / s, 0.0], rtol=1e-5)
    # the missing indicator is the second input of the projection
    kernel = np.array([[0.0], [1.0]], np.float32)
    layer._dense["x"].set_weights([kernel, np.zeros(1, np.float32)])
    np.testing.assert_allclose(layer(raw)["x"].numpy()[:, 0], [0, 0, 0, 1])


def test_numeric_log_transform():
    e = math.e
    frame = pd.DataFrame({"x": [0.0, e - 1, e * e - 1]})  # log1p -> [0, 1, 2]: mean 1, std sqrt(2/3)
    layer = FeatureLayer([{"name": "x", "kind": "numeric", "transform": "log"}], embedding_dim=1)
    layer.adapt(frame)
    raw = {"x": tf.constant(frame["x"].to_numpy(np.float32))}
    layer(raw)
    _identity_projection(layer, "x", 1)
    s = math.sqrt(2 / 3)
    np.testing.assert_allclose(layer(raw)["x"].numpy()[:, 0], [-1 / s, 0, 1 / s], rtol=1e-5, atol=1e-6)


def test_numeric_bucketize_uses_training_quantiles():
    frame = pd.DataFrame({"x": np.arange(1.0, 9.0)})
    layer = FeatureLayer([{"name": "x", "kind": "numeric", "transform": "bucketize", "num_buckets": 4}])
    layer.adapt(frame)
    # np.quantile(1..8, [.25, .5, .75]) = [2.75, 4.5, 6.25]; bucket = 1 + #boundaries <= x; NaN -> 0
    assert layer.adapted_state["x"]["boundaries"] == [2.75, 4.5, 6.25]
    enc = layer.encode({"x": tf.constant([1.0, 3.0, 5.0, 7.0, 100.0, np.nan])})["x" + ENCODED_SUFFIX]
    np.testing.assert_array_equal(enc.numpy(), [1, 2, 3, 4, 4, 0])


def test_numeric_features_are_keras_normalization_and_discretization_layers():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "b": np.arange(1.0, 4.0)})
    layer = FeatureLayer([{"name": "x", "kind": "numeric"},
                          {"name": "b", "kind": "numeric", "transform": "bucketize", "num_buckets": 2}])
    layer.adapt(frame)
    norm, disc = layer._lookups["x"], layer._lookups["b"]
    assert isinstance(norm, tf.keras.layers.Normalization) and isinstance(disc, tf.keras.layers.Discretization)
    assert norm.get_config()["mean"] == 2.0 and norm.get_config()["variance"] == pytest.approx(2 / 3)
    assert disc.get_config()["bin_boundaries"] == [2.0]


def test_timestamp_is_bucketized_and_normalized():
    frame = pd.DataFrame({"ts": np.array([10, 20, 30, 40], np.int64)})
    layer = FeatureLayer([{"name": "ts", "kind": "timestamp", "num_buckets": 2}], embedding_dim=1)
    layer.adapt(frame)
    st = layer.adapted_state["ts"]
    assert st["boundaries"] == [25.0] and st["mean"] == 25.0
    raw = {"ts": tf.constant([10, 40], tf.int64)}
    layer(raw)
    layer._tables["ts"].set_weights([np.array([[0.0], [100.0], [200.0]], np.float32)])
    layer._dense["ts"].set_weights([np.ones((1, 1), np.float32)])
    # bucket(10) = 1 -> 100; z(10) = (10 - 25) / std([10..40]) = -15 / 11.1803
    std = np.std([10, 20, 30, 40])
    np.testing.assert_allclose(layer(raw)["ts"].numpy()[:, 0], [100 - 15 / std, 200 + 15 / std], rtol=1e-5)


def test_multi_hot_is_the_mean_of_the_listed_embeddings(frame):
    layer = FeatureLayer([{"name": "genres", "kind": "multi_hot"}], embedding_dim=1)
    layer.adapt(frame)
    vocab = layer.adapted_state["genres"]["vocabulary"]
    assert sorted(vocab) == ["1", "2", "3", "4"] and layer.adapted_state["genres"]["max_length"] == 3
    raw = _raw(layer, frame)
    layer(raw)
    table = np.arange(len(vocab) + 1, dtype=np.float32)[:, None] * 10  # row i -> 10 * i
    layer._tables["genres"].set_weights([table])
    idx = {v: i + 1 for i, v in enumerate(vocab)}
    expected = [np.mean([10 * idx[str(g)] for g in gs]) if gs else 0.0 for gs in frame["genres"]]
    np.testing.assert_allclose(layer(raw)["genres"].numpy()[:, 0], expected, rtol=1e-6)
    # a ragged input and an unseen value (-> OOV row 0) are accepted too
    ragged = tf.ragged.constant([["1", "99"], ["3"]])
    np.testing.assert_allclose(layer({"genres": ragged})["genres"].numpy()[:, 0],
                               [(10 * idx["1"] + 0) / 2, 10 * idx["3"]])


def test_text_tokens_lowercased_and_unknown_to_oov(frame):
    layer = FeatureLayer([{"name": "title", "kind": "text", "max_length": 3}], embedding_dim=2)
    layer.adapt(frame)
    vocab = layer.adapted_state["title"]["vocabulary"]
    assert set(vocab) == {"toy", "story", "heat", "soldiers"}
    enc = layer.encode({"title": tf.constant(["TOY unknown", ""])})["title" + ENCODED_SUFFIX].numpy()
    # TextVectorization ids: 0 padding, 1 OOV, vocabulary from 2
    np.testing.assert_array_equal(enc, [[2 + vocab.index("toy"), 1, 0], [0, 0, 0]])
    out = layer({"title": tf.constant(["TOY unknown", ""])})["title"].numpy()
    np.testing.assert_allclose(out[1], [0, 0])  # empty text -> zero vector


def test_missing_column_lists_available_columns(frame):
    layer = FeatureLayer([{"name": "occupation", "kind": "categorical"}])
    with pytest.raises(KeyError, match=r"occupation.*Available columns.*'age'.*'user_id'"):
        layer.adapt(frame)
    with pytest.raises(KeyError, match="Available columns"):
        frame_to_dataset(frame, [{"name": "occupation", "kind": "categorical"}])


def test_missing_input_key_lists_received_keys(frame):
    layer = FeatureLayer([{"name": "user_id", "kind": "categorical"}])
    layer.adapt(frame)
    with pytest.raises(KeyError, match=r"Received keys: \['movie_id'\]"):
        layer({"movie_id": tf.constant(["1"])})


def test_spec_rejects_unknown_keys_and_kinds():
    with pytest.raises(ValueError, match="unknown key.*'bins'.*Allowed keys"):
        FeatureSpec.from_config([{"name": "a", "kind": "categorical", "bins": 3}])
    with pytest.raises(ValueError, match="unknown kind 'image'"):
        Feature(name="a", kind="image")
    with pytest.raises(ValueError, match="duplicates"):
        FeatureSpec.from_config([{"name": "a", "kind": "categorical"}] * 2)


def test_not_adapted_layer_says_so():
    layer = FeatureLayer([{"name": "a", "kind": "categorical"}])
    with pytest.raises(RuntimeError, match="adapt"):
        layer({"a": tf.constant(["x"])})


def test_frame_to_dataset_raw_and_encoded_agree(frame):
    layer = FeatureLayer(ALL_KINDS, embedding_dim=4, output_mode="concat")
    layer.adapt(frame)
    raw_x, raw_y = next(iter(frame_to_dataset(frame, layer, label="rating", batch_size=6)))
    enc_x = next(iter(frame_to_dataset(frame, layer, encoder=layer, batch_size=6)))
    assert set(enc_x) == {f["name"] + ENCODED_SUFFIX for f in ALL_KINDS}
    np.testing.assert_allclose(raw_y.numpy(), frame["rating"].to_numpy())
    np.testing.assert_allclose(layer(raw_x).numpy(), layer(enc_x).numpy(), rtol=1e-6)


def test_spec_and_layer_config_round_trip(frame):
    spec = FeatureSpec.from_config(ALL_KINDS)
    assert FeatureSpec.from_config(spec.get_config()) == spec
    layer = FeatureLayer(ALL_KINDS, embedding_dim=5, output_mode="concat", embeddings_regularizer="l2")
    layer.adapt(frame)
    clone = FeatureLayer.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    raw = _raw(layer, frame)
    layer(raw), clone(raw)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(raw).numpy(), layer(raw).numpy(), rtol=1e-6)


def test_saved_model_round_trip(frame, tmp_path):
    layer = FeatureLayer(ALL_KINDS, embedding_dim=4, output_mode="concat")
    layer.adapt(frame)
    raw = _raw(layer, frame)
    inputs = {k: tf.keras.Input(shape=v.shape[1:], dtype=v.dtype, name=k) for k, v in raw.items()}
    model = tf.keras.Model(inputs, layer(inputs))
    expected = model(raw).numpy()
    model.save(tmp_path / "m", save_traces=False)  # rebuilt from get_config on load
    loaded = tf.keras.models.load_model(tmp_path / "m")
    np.testing.assert_allclose(loaded(raw).numpy(), expected, rtol=1e-6)


def test_docstring_examples_run():
    import doctest

    import tfrec.features.frames as frames_module
    import tfrec.features.layer as layer_module
    import tfrec.features.spec as spec_module
    import tfrec.layers.mlp as mlp_module

    for module in (spec_module, layer_module, frames_module, mlp_module):
        result = doctest.testmod(module, extraglobs={"tf": tf, "pd": pd})
        assert result.attempted > 0 and result.failed == 0, module.__name__
