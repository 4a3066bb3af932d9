"""Shared CTR/rating base (task, bias, losses), LR and FM, build/fit helpers, the Algorithm wrapper,
and a deep CTR model against the constant predictor on a real Criteo slice."""

import math
import re
import textwrap

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401

import tensorflow as tf

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.features import FeatureLayer, frame_to_dataset, frame_to_tensors
from tfrec.models.ctr import (
    CTRRecommender,
    FactorizationMachine,
    LogisticRegression,
    build_model,
    criteo_features,
    fit_model,
    initial_bias,
    warm_start_from_lr,
)

SPEC = [{"name": "user", "kind": "categorical"}, {"name": "item", "kind": "categorical"}]


def _frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"user": rng.choice(list("abcd"), n), "item": rng.choice(list("wxyz"), n)})


def _inputs(frame, layer):
    return {k: tf.constant(v.astype(str)) for k, v in frame_to_tensors(frame, layer).items()}


def _linear(frame, initializer):
    layer = FeatureLayer(SPEC, embedding_dim=1, output_mode="stack", embeddings_initializer=initializer)
    layer.adapt(frame)
    return layer


def _run_example(cls):
    code = textwrap.dedent(re.search(r"```python\n(.*?)```", cls.__doc__, re.S).group(1))
    scope = {}
    exec(compile(code, f"{cls.__name__} example", "exec"), scope)
    return scope


def test_docstring_examples_run():
    lr = _run_example(LogisticRegression)["model"]
    assert lr({"x": tf.constant([1, 2])}).shape == (2, 1)
    fm = _run_example(FactorizationMachine)["model"]
    assert fm({"a": tf.constant([0, 1]), "b": tf.constant([3, 6])}).shape == (2, 1)
    _run_example(build_model)


def test_initial_bias_hand_values():
    assert initial_bias([1, 2, 3, 4, 5], "rating") == pytest.approx(3.0)
    # p = 1/4 -> log(0.25 / 0.75) = -log(3)
    assert initial_bias([1, 0, 0, 0], "ctr") == pytest.approx(-math.log(3.0))


def test_zero_weights_predict_the_bias():
    frame = _frame()
    rating = LogisticRegression(_linear(frame, "zeros"), task="rating", initial_bias=3.25)
    ctr = LogisticRegression(_linear(frame, "zeros"), task="ctr", initial_bias=-math.log(3.0))
    x = _inputs(frame, rating.linear_layer)
    np.testing.assert_allclose(rating(x).numpy(), 3.25)
    np.testing.assert_allclose(ctr(x).numpy(), 0.25, rtol=1e-6)  # sigmoid(-log 3) = 1 / (1 + 3)


def test_losses_and_embedding_penalty_hand_derived():
    frame = _frame(2)
    # every looked-up weight is 1: linear term = 2 fields * 1 = 2 for each example.
    model = LogisticRegression(_linear(frame, "ones"), task="rating", initial_bias=0.0, embedding_l2=0.1)
    x = _inputs(frame, model.linear_layer)
    labels = tf.constant([2.0, 4.0])
    # MSE = ((2 - 2)^2 + (2 - 4)^2) / 2 = 2.
    assert float(model.compute_loss((x, labels), training=False)) == pytest.approx(2.0)
    # penalty = sum of squared looked-up weights / batch = (2 + 2) / 2 = 2; loss = 2 + 0.1 * 2.
    assert float(model.compute_loss((x, labels), training=True)) == pytest.approx(2.2)
    ctr = LogisticRegression(_linear(frame, "zeros"), task="ctr")
    # logits 0: binary cross-entropy = -log(0.5) for either label.
    loss = ctr.compute_loss({**x, "label": tf.constant([1.0, 0.0])})
    assert float(loss) == pytest.approx(math.log(2.0), rel=1e-6)


def test_fm_is_linear_plus_pairwise():
    frame = _frame()
    emb = FeatureLayer(SPEC, embedding_dim=3, output_mode="stack")
    emb.adapt(frame)
    lin = _linear(frame, "uniform")
    model = FactorizationMachine(emb, linear_layer=lin, task="rating", initial_bias=1.0)
    x = _inputs(frame, emb)
    v = emb(x).numpy()
    expected = 1.0 + lin(x).numpy().sum(axis=(1, 2)) + (v[:, 0] * v[:, 1]).sum(axis=1)
    np.testing.assert_allclose(model(x).numpy()[:, 0], expected, rtol=1e-5)


def test_lr_and_fm_config_round_trip():
    frame = _frame()
    emb = FeatureLayer(SPEC, embedding_dim=3, output_mode="stack")
    emb.adapt(frame)
    for model in (LogisticRegression(_linear(frame, "uniform"), embedding_l2=1e-3),
                  FactorizationMachine(emb, linear_layer=_linear(frame, "uniform"), task="rating")):
        x = _inputs(frame, emb)
        out = model(x).numpy()
        clone = type(model).from_config(model.get_config())
        clone(x)
        assert clone.get_config() == model.get_config()
        clone.set_weights(model.get_weights())
        np.testing.assert_allclose(clone(x).numpy(), out, rtol=1e-6)


def test_build_model_unknown_name_lists_models():
    with pytest.raises(ValueError, match="model: 'xgboost'. Valid values: dcn, deepfm, fm, logreg"):
        build_model("xgboost", SPEC)


def test_build_model_unknown_param_lists_valid_ones():
    with pytest.raises(ValueError, match=r"'fm' got unknown parameter\(s\) \['deep_layers'\]. Valid parameters"):
        build_model("fm", SPEC, deep_layers=[8])


def test_criteo_features_bad_transform():
    with pytest.raises(ValueError, match="numeric: 'sqrt'. Valid values: log, bucketize, normalize"):
        criteo_features(numeric="sqrt")


def test_fit_model_rejects_bad_epochs():
    model = build_model("logreg", SPEC, _frame())
    with pytest.raises(ValueError, match="epochs must be a positive integer. Received: epochs=0"):
        fit_model(model, None, epochs=0)


def test_recommender_rejects_unknown_model():
    with pytest.raises(ValueError, match="model: 'svd'. Valid values: dcn, deepfm, fm, logreg"):
        CTRRecommender("svd")


def test_recommender_fit_predict_score_with_oov():
    rng = np.random.default_rng(1)
    n = 300
    frame = pd.DataFrame({
        "user_id": rng.choice([f"u{i}" for i in range(20)], n),
        "movie_id": rng.choice([f"m{i}" for i in range(15)], n),
    })
    frame["user_rating"] = rng.integers(1, 6, n).astype(np.float32)
    items = pd.DataFrame({"movie_id": [f"m{i}" for i in range(15)], "movie_genres": [[i % 3] for i in range(15)]})
    data = TrainingData(frame, items=items)
    rec = CTRRecommender("logreg", task="rating", epochs=1, batch_size=64, validation_fraction=0.0).fit(data)
    assert [f.name for f in rec.spec] == ["user_id", "movie_id", "movie_genres"]  # side feature picked up
    pred = rec.predict(np.array([0, OOV_INDEX, 3]), np.array([1, 2, OOV_INDEX]))
    assert pred.shape == (3,) and np.all(np.isfinite(pred))
    assert rec.score(np.array([0, 1])).shape == (2, data.n_items)
    assert rec.fit_info["examples_per_second"] > 0


def test_dcn_beats_constant_log_loss_on_criteo(criteo_path):
    from tfrec.data import load_criteo

    frame = load_criteo(criteo_path / "criteo_sampled_data_10k.csv").frame.iloc[:4000]
    train, test = frame.iloc[:3200], frame.iloc[3200:]
    # 12 of the 39 fields keep the graph small (tracing dominates on 2 cores): numerics in
    # training-quantile buckets, categoricals seen < 3 times share the OOV bucket.
    spec = criteo_features(numeric="bucketize", num_buckets=8, min_count=3,
                           numeric_columns=[f"I{i}" for i in range(1, 7)],
                           categorical_columns=[f"C{i}" for i in range(1, 7)])
    tf.keras.utils.set_random_seed(0)
    model = build_model("dcn", spec, train, task="ctr", embedding_dim=4, deep_layers=[16],
                        embedding_l2=1e-3, initial_bias=initial_bias(train["label"], "ctr"))
    ds = frame_to_dataset(train, model.embedding_layer, label="label", batch_size=128, shuffle=True, seed=0,
                          encoder=model.embedding_layer)
    fit_model(model, ds, epochs=2, learning_rate=3e-3)
    p = model(model.embedding_layer.encode_frame(test)).numpy()[:, 0]  # eager: no second graph trace
    p = np.clip(p, 1e-7, 1 - 1e-7)
    y = test["label"].to_numpy(np.float64)
    model_ll = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    c = train["label"].mean()  # the constant predictor: the training click rate
    constant_ll = -np.mean(y * np.log(c) + (1 - y) * np.log(1 - c))
    assert model_ll < constant_ll - 0.01, (model_ll, constant_ll)


def _trained_lr(frame):
    frame = frame.assign(label=(frame["user"] < "c").astype(np.float32))
    tf.keras.utils.set_random_seed(0)
    lr = build_model("logreg", SPEC, frame, initial_bias=initial_bias(frame["label"], "ctr"))
    ds = frame_to_dataset(frame, lr.linear_layer, label="label", batch_size=16, encoder=lr.linear_layer)
    fit_model(lr, ds, epochs=2, learning_rate=0.1, run_eagerly=True)
    return lr, _inputs(frame, lr.linear_layer)


@pytest.mark.parametrize("name, params", [("dcn", {"first_order": True, "deep_layers": [8]}),
                                          ("deepfm", {"fm_gate": True, "deep_layers": [8]})])
def test_warm_start_from_lr_predicts_the_trained_lr(name, params):
    frame = _frame()
    lr, x = _trained_lr(frame)
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
    frame = _frame()
    lr, x = _trained_lr(frame)
    model = build_model("dcn", SPEC, frame.iloc[:10], embedding_dim=3, first_order=True, deep_layers=[8])
    with pytest.raises(ValueError, match="index spaces do not match"):
        warm_start_from_lr(model, lr, sample=x)


def test_warm_start_deepfm_needs_fm_gate():
    frame = _frame()
    lr, x = _trained_lr(frame)
    model = build_model("deepfm", SPEC, frame, embedding_dim=3, deep_layers=[8])
    with pytest.raises(ValueError, match="fm_gate=True"):
        warm_start_from_lr(model, lr, sample=x)


def test_fit_model_restore_initial_keeps_start_when_no_epoch_improves():
    frame = _frame()
    lr, x = _trained_lr(frame)
    before = lr(x).numpy()
    ds = frame_to_dataset(frame.assign(label=1.0 - (frame["user"] < "c")), lr.linear_layer, label="label",
                          batch_size=16, encoder=lr.linear_layer)  # flipped labels: every step hurts the
    val = frame_to_dataset(frame.assign(label=(frame["user"] < "c").astype(np.float32)), lr.linear_layer,
                           label="label", batch_size=64, encoder=lr.linear_layer)  # validation loss
    info = fit_model(lr, ds, val, epochs=2, learning_rate=0.1, patience=1, run_eagerly=True, restore_initial=True)
    assert info["best_epoch"] == 0 and min(info["history"]["val_loss"]) >= info["initial_val_loss"]
    np.testing.assert_allclose(lr(x).numpy(), before, atol=1e-7)
