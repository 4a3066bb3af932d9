"""DCN-V2 model: structures, config and SavedModel round trips, argument errors."""

import re
import tempfile
import textwrap

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401

import tensorflow as tf

from tfrec.features import FeatureLayer, frame_to_tensors
from tfrec.layers.interaction import CrossNetwork
from tfrec.layers.mlp import MLP
from tfrec.models.dcn import DCN, STRUCTURES

SPEC = [
    {"name": "user", "kind": "categorical"},
    {"name": "item", "kind": "categorical"},
    {"name": "age", "kind": "numeric"},
]


def _frame(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "user": rng.choice(list("abcdef"), n),
            "item": rng.integers(0, 12, n),
            "age": rng.normal(30, 5, n).astype(np.float32),
            "label": (rng.random(n) < 0.3).astype(np.float32),
        }
    )


def _inputs(frame, layer):
    return {k: tf.constant(v.astype(str) if v.dtype == object else v) for k, v in frame_to_tensors(frame, layer).items()}


def _model(frame, **kwargs):
    emb = FeatureLayer(SPEC, embedding_dim=4, output_mode="stack", name="embedding")
    emb.adapt(frame)
    kwargs.setdefault("deep_network", MLP([8], output_activation="relu", name="deep"))
    return DCN(emb, **kwargs)


def test_docstring_example_runs():
    code = textwrap.dedent(re.search(r"```python\n(.*?)```", DCN.__doc__, re.S).group(1))
    scope = {}
    exec(compile(code, "DCN example", "exec"), scope)
    assert scope["model"]({"a": tf.constant([0, 1]), "b": tf.constant([3, 6])}).shape == (2, 1)


@pytest.mark.parametrize("structure, top_width", [("stacked", 8), ("parallel", 3 * 4 + 8)])
def test_structure_wires_cross_and_deep(structure, top_width):
    # x0 is 3 fields x 4 dims = 12 wide. Stacked: top reads deep(cross(x0)) -> 8 units.
    # Parallel: top reads concat(cross(x0) [12], deep(x0) [8]) -> 20 units.
    frame = _frame()
    model = _model(frame, structure=structure)
    out = model(_inputs(frame, model.embedding_layer)).numpy()
    assert out.shape == (len(frame), 1)
    assert np.all((out > 0) & (out < 1))  # ctr task: probabilities
    assert model.top_layer.kernel.shape == (top_width, 1)
    assert model.deep_network.trainable_weights[0].shape == (12, 8)  # reads x0 or cross(x0), both 12 wide


def test_stacked_equals_manual_composition():
    frame = _frame()
    model = _model(frame, task="rating", initial_bias=3.5)
    x = _inputs(frame, model.embedding_layer)
    x0 = tf.reshape(model.embedding_layer(x), [len(frame), -1])
    expected = model.top_layer(model.deep_network(model.cross_network(x0))) + 3.5
    np.testing.assert_allclose(model(x).numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_low_rank_cross_is_used():
    frame = _frame()
    model = _model(frame, cross_network=CrossNetwork(num_layers=1, projection_dim=2))
    model(_inputs(frame, model.embedding_layer))
    shapes = sorted(tuple(w.shape) for w in model.cross_network.trainable_weights)
    assert shapes == [(2, 12), (12,), (12, 2)]


def test_config_round_trip_same_outputs():
    frame = _frame()
    model = _model(frame, structure="parallel", task="rating", initial_bias=3.0, embedding_l2=1e-3,
                   cross_network=CrossNetwork(2, projection_dim=3))
    x = _inputs(frame, model.embedding_layer)
    out = model(x).numpy()
    config = model.get_config()
    clone = DCN.from_config(config)
    clone(x)
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), out, rtol=1e-6)


def test_savedmodel_round_trip_same_outputs():
    frame = _frame()
    model = _model(frame, structure="parallel")
    x = _inputs(frame, model.embedding_layer)
    out = model(x).numpy()
    with tempfile.TemporaryDirectory() as path:
        # Keras SavedModel revived from the registered config + restored variables (no traced graphs,
        # which take ~20 s to write on 2 cores; the export module tests traced serving signatures).
        model.save(path, save_traces=False)
        loaded = tf.keras.models.load_model(path)
    assert isinstance(loaded, DCN)
    np.testing.assert_allclose(loaded(x).numpy(), out, rtol=1e-6)


def _linear(frame):
    lin = FeatureLayer(SPEC, embedding_dim=1, output_mode="stack", name="linear")
    lin.adapt(frame)
    return lin


def test_linear_term_adds_first_order_weights():
    # logit = bias + top(deep(cross(x0))) + sum_f w_f(x_f); the linear weights enter the embedding penalty
    frame = _frame()
    model = _model(frame, task="rating", initial_bias=3.5, linear_layer=_linear(frame), embedding_l2=1.0)
    x = _inputs(frame, model.embedding_layer)
    x0 = tf.reshape(model.embedding_layer(x), [len(frame), -1])
    w = model.linear_layer(x).numpy()  # [batch, 3 fields, 1]
    assert w.shape == (len(frame), 3, 1)
    deep = model.top_layer(model.deep_network(model.cross_network(x0))).numpy()
    np.testing.assert_allclose(model(x).numpy(), deep + w.sum(axis=(1, 2))[:, None] + 3.5, rtol=1e-5, atol=1e-5)
    _, penalty = model.compute_logits(x)
    expected = (np.square(x0.numpy()).sum() + np.square(w).sum()) / len(frame)
    np.testing.assert_allclose(penalty.numpy(), expected, rtol=1e-5)


def test_zero_init_top_starts_as_logistic_regression():
    # build_model(first_order=True, zero_init_top=True): top kernel 0, top bias 0, so the first
    # prediction is sigmoid(global bias + linear term), the logistic regression on the same features.
    from tfrec.models.ctr_builder import build_model
    from tfrec.models.feature_interaction import linear_term

    frame = _frame()
    model = build_model("dcn", SPEC, frame, embedding_dim=4, deep_layers=[8], first_order=True,
                        zero_init_top=True, initial_bias=-1.2)
    x = _inputs(frame, model.embedding_layer)
    lr_logit = linear_term(model.linear_layer(x)).numpy() - 1.2
    np.testing.assert_allclose(model(x).numpy(), 1 / (1 + np.exp(-lr_logit)), rtol=1e-6)
    assert np.all(model.top_layer.kernel.numpy() == 0)
    # defaults keep the DCN-V2 paper's model: no first-order term, random top kernel
    plain = build_model("dcn", SPEC, frame, embedding_dim=4, deep_layers=[8])
    plain(x)
    assert plain.linear_layer is None and np.any(plain.top_layer.kernel.numpy() != 0)


def test_linear_term_config_and_savedmodel_round_trip():
    frame = _frame()
    model = _model(frame, linear_layer=_linear(frame), embedding_l2=1e-3)
    x = _inputs(frame, model.embedding_layer)
    out = model(x).numpy()
    config = model.get_config()
    clone = DCN.from_config(config)
    clone(x)
    assert clone.get_config() == config and clone.linear_layer is not None
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), out, rtol=1e-6)
    with tempfile.TemporaryDirectory() as path:
        model.save(path, save_traces=False)
        loaded = tf.keras.models.load_model(path)
    np.testing.assert_allclose(loaded(x).numpy(), out, rtol=1e-6)


def test_unknown_structure_lists_valid_values():
    frame = _frame()
    with pytest.raises(ValueError, match="structure: 'serial'. Valid values: stacked, parallel"):
        _model(frame, structure="serial")
    assert STRUCTURES == ("stacked", "parallel")


def test_unknown_task_lists_valid_values():
    with pytest.raises(ValueError, match="task: 'regression'. Valid values: rating, ctr"):
        _model(_frame(), task="regression")


def test_missing_embedding_layer_says_how_to_fix():
    with pytest.raises(ValueError, match="needs an embedding_layer, e.g. FeatureLayer"):
        DCN(None)


def test_registry_name_dcn_is_the_trainer_family():
    from tfrec.training import FamilyAlgorithm, build_algorithm

    algo = build_algorithm("dcn", training={"epochs": 1})
    assert isinstance(algo, FamilyAlgorithm) and algo.task.name == "dcn" and algo.name == "dcn"


def test_linear_l2_applies_to_first_order_weights_only():
    # training loss - task loss = embedding_l2 * sum(x0^2)/n + linear_l2 * sum(w^2)/n (hand-computed);
    # without linear_l2 the first-order weights share embedding_l2 (the previous behaviour)
    frame = _frame()
    labels = tf.constant(frame["label"].to_numpy())
    for linear_l2 in (0.003, None):
        model = _model(frame, task="ctr", linear_layer=_linear(frame), embedding_l2=0.5, linear_l2=linear_l2)
        x = _inputs(frame, model.embedding_layer)
        x0 = model.embedding_layer(x).numpy()
        w = model.linear_layer(x).numpy()
        emb_sq, lin_sq = np.square(x0).sum() / len(frame), np.square(w).sum() / len(frame)
        assert emb_sq > 0 and lin_sq > 0
        penalty = model.compute_loss((x, labels), training=True) - model.compute_loss((x, labels), training=False)
        expected = 0.5 * emb_sq + (0.5 if linear_l2 is None else linear_l2) * lin_sq
        np.testing.assert_allclose(penalty.numpy(), expected, rtol=1e-4)
    with pytest.raises(ValueError, match="linear_l2"):
        _model(frame, linear_layer=_linear(frame), linear_l2=-1.0)


def test_build_model_linear_l2_round_trips():
    from tfrec.models.ctr_builder import build_model

    frame = _frame()
    model = build_model("dcn", SPEC, frame, task="ctr", embedding_dim=4, deep_layers=[8], first_order=True,
                        embedding_l2=0.1, linear_l2=1e-3)
    assert model.linear_l2 == 1e-3 and model.embedding_l2 == 0.1
    x = _inputs(frame, model.embedding_layer)
    model(x)
    assert DCN.from_config(model.get_config()).linear_l2 == 1e-3
    assert build_model("dcn", SPEC, frame, task="ctr", embedding_dim=4, first_order=True).linear_l2 is None
