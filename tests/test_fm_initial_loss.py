"""FM / DeepFM with log-transformed numeric Criteo features start near the base rate, not saturated.

Before the fix the numeric projections started with Dense's glorot_uniform kernels: on criteo-10k the
initial log loss was ~1.8-3.0 (FM) and ~1.7-2.3 (DeepFM) against ~0.51 for the constant predictor.
"""

import numpy as np
import pytest

import tfrec  # noqa: F401
import tensorflow as tf

from tfrec import metrics as M
from tfrec.data import load_criteo
from tfrec.features import FeatureLayer, frame_to_dataset
from tfrec.models.ctr_builder import build_model, criteo_features, feature_layers
from tfrec.models.feature_interaction import initial_bias


@pytest.fixture(scope="module")
def criteo_rows(criteo_path):
    return load_criteo(criteo_path / "criteo_sampled_data_10k.csv").frame.iloc[:3000]


def _initial_log_loss(model, frame):
    layers = feature_layers(model)
    ds = frame_to_dataset(frame, layers, label="label", batch_size=4096, encoder=layers[0])
    prob = np.concatenate([np.reshape(model(x, training=False).numpy(), [-1]) for x, _ in ds])
    return M.log_loss(frame["label"].to_numpy(np.float64), prob)


@pytest.mark.parametrize("name", ["fm", "deepfm"])
def test_initial_log_loss_is_near_the_constant_predictor(criteo_rows, name):
    y = criteo_rows["label"].to_numpy(np.float64)
    p = y.mean()
    constant = -(p * np.log(p) + (1 - p) * np.log(1 - p))  # log loss of predicting the base rate everywhere
    for seed in (0, 1):
        tf.keras.utils.set_random_seed(seed)
        model = build_model(name, criteo_features(numeric="log"), criteo_rows, task="ctr", embedding_dim=16,
                            initial_bias=initial_bias(criteo_rows["label"], "ctr"))
        assert _initial_log_loss(model, criteo_rows) == pytest.approx(constant, abs=0.03)


def test_dcn_and_logreg_keep_the_dense_default(criteo_rows):
    spec = criteo_features(numeric_columns=["I1"], categorical_columns=["C1"])
    for name in ("dcn", "logreg"):
        for layer in feature_layers(build_model(name, spec, criteo_rows, task="ctr", embedding_dim=4,
                                                **({"deep_layers": [4]} if name == "dcn" else {}))):
            assert isinstance(layer.projection_initializer, tf.keras.initializers.GlorotUniform)
    for layer in feature_layers(build_model("deepfm", spec, criteo_rows, task="ctr", embedding_dim=4,
                                            deep_layers=[4])):
        assert isinstance(layer.projection_initializer, tf.keras.initializers.RandomUniform)


def test_projection_initializer_config_round_trip(criteo_rows):
    layer = FeatureLayer(criteo_features(numeric_columns=["I1"], categorical_columns=[]), embedding_dim=4,
                         projection_initializer=tf.keras.initializers.RandomUniform(-0.01, 0.01))
    layer.adapt(criteo_rows)
    clone = FeatureLayer.from_config(layer.get_config())
    assert tf.keras.initializers.serialize(clone.projection_initializer) == \
        tf.keras.initializers.serialize(layer.projection_initializer)
    out = layer({"I1": tf.constant([0.0, 3.0, np.nan])})["I1"].numpy()
    # kernel entries within +-0.01 on [z-score, missing] inputs (|z| < 4 here), zero bias
    assert out.shape == (3, 4) and np.abs(out).max() < 0.05
