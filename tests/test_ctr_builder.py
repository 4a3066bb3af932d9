"""build_model / criteo_features errors, the docstring example, and the warm start from a trained LR."""

import numpy as np
import pytest

import tfrec  # noqa: F401

import tensorflow as tf

from ctr_helpers import SPEC, make_frame, run_example, trained_lr
from tfrec.models.ctr_builder import build_model, criteo_features, warm_start_from_lr


def test_build_model_unknown_name_lists_models():
    with pytest.raises(ValueError, match="model: 'xgboost'. Valid values: dcn, deepfm, fm, logreg"):
        build_model("xgboost", SPEC)


def test_build_model_unknown_param_lists_valid_ones():
    with pytest.raises(ValueError, match=r"'fm' got unknown parameter\(s\) \['deep_layers'\]. Valid parameters"):
        build_model("fm", SPEC, deep_layers=[8])


def test_criteo_features_bad_transform():
    with pytest.raises(ValueError, match="numeric: 'sqrt'. Valid values: log, bucketize, normalize"):
        criteo_features(numeric="sqrt")


@pytest.mark.parametrize("name, params", [("dcn", {"first_order": True, "deep_layers": [8]}),
                                          ("deepfm", {"fm_gate": True, "deep_layers": [8]})])
def test_warm_start_from_lr_predicts_the_trained_lr(name, params):
    frame = make_frame()
    lr, x = trained_lr(frame)
    assert np.ptp(lr(x).numpy()) > 0.05  # the LR learned something beyond its bias
    model = build_model(name, SPEC, frame, embedding_dim=3, **params)  # top_layer random (no zero_init_top)
    warm_start_from_lr(model, lr, sample=x)
    np.testing.assert_allclose(model(x).numpy(), lr(x).numpy(), atol=1e-6)
    # the interaction parts still train: one step moves the prediction away from the LR's
    y = tf.constant((frame["user"] < "c").to_numpy(np.float32)[:, None])
    model.compile(optimizer=tf.keras.optimizers.Adam(0.05), run_eagerly=True)
    model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(40), epochs=1, verbose=0)
    assert np.abs(model(x).numpy() - lr(x).numpy()).max() > 1e-4


def test_warm_start_rejects_other_vocabularies():
    frame = make_frame()
    lr, x = trained_lr(frame)
    model = build_model("dcn", SPEC, frame.iloc[:10], embedding_dim=3, first_order=True, deep_layers=[8])
    with pytest.raises(ValueError, match="index spaces do not match"):
        warm_start_from_lr(model, lr, sample=x)


def test_warm_start_deepfm_needs_fm_gate():
    frame = make_frame()
    lr, x = trained_lr(frame)
    model = build_model("deepfm", SPEC, frame, embedding_dim=3, deep_layers=[8])
    with pytest.raises(ValueError, match="fm_gate=True"):
        warm_start_from_lr(model, lr, sample=x)


def test_docstring_example_runs():
    model = run_example(build_model)["model"]
    assert type(model).__name__ == "DeepFM"
