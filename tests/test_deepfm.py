"""DeepFM: the three terms share one embedding, round trips, errors."""

import re
import tempfile
import textwrap

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401

import tensorflow as tf

from tfrec.features import FeatureLayer, frame_to_tensors
from tfrec.layers.mlp import MLP
from tfrec.models.deepfm import DeepFM
from tfrec.recommenders.ctr import CTRRecommender

SPEC = [
    {"name": "user", "kind": "categorical"},
    {"name": "item", "kind": "categorical"},
    {"name": "genres", "kind": "multi_hot"},
    {"name": "age", "kind": "numeric", "transform": "log"},
]


def _frame(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "user": rng.choice(list("abcdef"), n),
            "item": rng.integers(0, 12, n),
            "genres": [list(rng.integers(0, 5, rng.integers(0, 3))) for _ in range(n)],
            "age": rng.uniform(15, 60, n).astype(np.float32),
            "label": rng.integers(1, 6, n).astype(np.float32),
        }
    )


def _inputs(frame, layer):
    return {k: tf.constant(v.astype(str) if v.dtype == object else v) for k, v in frame_to_tensors(frame, layer).items()}


def _layers(frame):
    emb = FeatureLayer(SPEC, embedding_dim=4, output_mode="stack", name="embedding")
    lin = FeatureLayer(SPEC, embedding_dim=1, output_mode="stack", name="linear")
    emb.adapt(frame)
    lin.adapt(frame)
    return emb, lin


def test_docstring_example_runs():
    code = textwrap.dedent(re.search(r"```python\n(.*?)```", DeepFM.__doc__, re.S).group(1))
    scope = {}
    exec(compile(code, "DeepFM example", "exec"), scope)
    assert scope["model"]({"a": tf.constant([0, 1]), "b": tf.constant([3, 6])}).shape == (2, 1)


def test_logit_is_bias_plus_linear_plus_fm_plus_deep():
    frame = _frame()
    emb, lin = _layers(frame)
    model = DeepFM(emb, linear_layer=lin, deep_network=MLP([8], output_activation="relu"), task="rating",
                   initial_bias=3.5)
    x = _inputs(frame, emb)
    pred = model(x).numpy()[:, 0]
    v = emb(x).numpy()  # [batch, 4 fields, 4]
    w = lin(x).numpy()  # [batch, 4 fields, 1]
    # FM term from its definition: sum over field pairs i<j of <v_i, v_j>
    fm = sum((v[:, i] * v[:, j]).sum(axis=1) for i in range(4) for j in range(i + 1, 4))
    deep = model.top_layer(model.deep_network(tf.reshape(v, [len(frame), 16]))).numpy()[:, 0]
    np.testing.assert_allclose(pred, 3.5 + w.sum(axis=(1, 2)) + fm + deep, rtol=1e-5, atol=1e-5)


def test_fm_and_deep_parts_read_the_same_embeddings():
    # The loss gradient reaches the shared table through both the FM term and the deep part: with the
    # deep top layer zeroed, the FM term alone still moves the embedding table.
    frame = _frame()
    emb, _ = _layers(frame)
    model = DeepFM(emb, deep_network=MLP([8], output_activation="relu"),
                   top_layer=tf.keras.layers.Dense(1, kernel_initializer="zeros"), task="rating")
    x = _inputs(frame, emb)
    with tf.GradientTape() as tape:
        loss = model.compute_loss((x, tf.constant(frame["label"].to_numpy())), training=True)
    table = emb._tables["user"].embeddings
    grad = tape.gradient(loss, table)
    assert np.abs(tf.convert_to_tensor(grad).numpy()).sum() > 0
    # one set of field embeddings: the model's weights are the table(s), deep, top and the global bias
    expected = len(emb.trainable_weights) + len(model.deep_network.trainable_weights) + 2 + 1
    assert len(model.trainable_weights) == expected


def test_zero_init_top_starts_as_fm():
    # build_model(zero_init_top=True): the deep part's output starts at 0, so DeepFM's first prediction
    # is the FM's: global bias + first-order term + pairwise term.
    from tfrec.models.ctr_builder import build_model
    from tfrec.models.feature_interaction import linear_term

    frame = _frame()
    model = build_model("deepfm", SPEC, frame, task="rating", embedding_dim=4, deep_layers=[8],
                        zero_init_top=True, initial_bias=3.0)
    x = _inputs(frame, model.embedding_layer)
    fm = model.fm_interaction(model.embedding_layer(x)).numpy()
    expected = 3.0 + linear_term(model.linear_layer(x)).numpy() + fm
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_without_first_order_term():
    frame = _frame()
    emb, _ = _layers(frame)
    model = DeepFM(emb, linear_layer=None, deep_network=MLP([8], output_activation="relu"))
    assert model(_inputs(frame, emb)).shape == (len(frame), 1)


def test_config_round_trip_same_outputs():
    frame = _frame()
    emb, lin = _layers(frame)
    model = DeepFM(emb, linear_layer=lin, deep_network=MLP([8, 4], output_activation="relu", dropout=0.1),
                   task="rating", initial_bias=3.0, embedding_l2=1e-4)
    x = _inputs(frame, emb)
    out = model(x).numpy()
    config = model.get_config()
    clone = DeepFM.from_config(config)
    clone(x)
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), out, rtol=1e-6)


def test_fm_gate_starts_at_zero_and_round_trips():
    frame = _frame()
    emb, lin = _layers(frame)
    model = DeepFM(emb, linear_layer=lin, deep_network=MLP([8], output_activation="relu"),
                   top_layer=tf.keras.layers.Dense(1, kernel_initializer="zeros"), fm_gate=True)
    x = _inputs(frame, emb)
    out = model(x).numpy()
    # gate 0 and zero top: only bias + first-order term remain
    expected = tf.sigmoid(tf.reduce_sum(lin(x), axis=[1, 2])[:, None] + model.global_bias).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-6)
    config = model.get_config()
    assert config["fm_gate"] is True
    clone = DeepFM.from_config(config)
    clone(x)
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), out, rtol=1e-6)


def test_savedmodel_round_trip_same_outputs():
    frame = _frame()
    emb, lin = _layers(frame)
    model = DeepFM(emb, linear_layer=lin, deep_network=MLP([8], output_activation="relu"), task="ctr")
    x = _inputs(frame, emb)
    out = model(x).numpy()
    with tempfile.TemporaryDirectory() as path:
        model.save(path, save_traces=False)  # revived from the registered config + restored variables
        loaded = tf.keras.models.load_model(path)
    assert isinstance(loaded, DeepFM)
    np.testing.assert_allclose(loaded(x).numpy(), out, rtol=1e-6)


def test_unequal_field_dims_are_rejected_with_fix():
    class TwoDims(tf.keras.layers.Layer):
        def call(self, f):
            return {"a": tf.zeros([2, 4]), "b": tf.zeros([2, 3])}

    model = DeepFM(TwoDims(), deep_network=MLP([2], output_activation="relu"))
    with pytest.raises(ValueError, match=r"same dimension. Received dimensions \{'a': 4, 'b': 3\}"):
        model({"a": tf.zeros([2])})


def test_missing_label_says_what_to_do():
    frame = _frame()
    emb, _ = _layers(frame)
    model = DeepFM(emb, deep_network=MLP([4], output_activation="relu"), label_key="clicked")
    with pytest.raises(KeyError, match="no label 'clicked'.*label_key="):
        model.compute_loss(_inputs(frame, emb))


def test_recommender_defaults_to_ratings():
    rec = CTRRecommender("deepfm")
    assert rec.predicts_ratings and rec.model_name == "deepfm" and rec.click_threshold is None
    clicks = CTRRecommender("deepfm", task="ctr")
    assert not clicks.predicts_ratings and clicks.click_threshold == 4.0


def test_linear_l2_applies_to_first_order_weights_only():
    # training loss - task loss = embedding_l2 * sum(v^2)/n + linear_l2 * sum(w^2)/n (hand-computed)
    from tfrec.models.feature_interaction import field_embeddings

    frame = _frame()
    labels = tf.constant(frame["label"].to_numpy())
    emb, lin = _layers(frame)
    model = DeepFM(emb, linear_layer=lin, deep_network=MLP([8], output_activation="relu"), task="rating",
                   initial_bias=3.0, embedding_l2=0.2, linear_l2=0.01)
    x = _inputs(frame, emb)
    v = field_embeddings(emb(x)).numpy()
    w = lin(x).numpy()
    penalty = model.compute_loss((x, labels), training=True) - model.compute_loss((x, labels), training=False)
    expected = (0.2 * np.square(v).sum() + 0.01 * np.square(w).sum()) / len(frame)
    np.testing.assert_allclose(penalty.numpy(), expected, rtol=1e-4)
    config = model.get_config()
    assert config["linear_l2"] == 0.01 and DeepFM.from_config(config).linear_l2 == 0.01
    assert "linear_l2" not in DeepFM(emb, linear_layer=lin).get_config()  # default off: config unchanged
