"""Helpers shared by the tests of the rating / CTR models (feature_interaction, logreg, fm,
ctr_builder, ctr)."""

import re
import textwrap

import numpy as np
import pandas as pd

import tfrec  # noqa: F401

import tensorflow as tf

from tfrec.features import FeatureLayer, frame_to_dataset, frame_to_tensors
from tfrec.models.ctr_builder import build_model
from tfrec.models.feature_interaction import initial_bias

SPEC = [{"name": "user", "kind": "categorical"}, {"name": "item", "kind": "categorical"}]


def make_frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"user": rng.choice(list("abcd"), n), "item": rng.choice(list("wxyz"), n)})


def inputs(frame, layer):
    return {k: tf.constant(v.astype(str)) for k, v in frame_to_tensors(frame, layer).items()}


def linear(frame, initializer):
    layer = FeatureLayer(SPEC, embedding_dim=1, output_mode="stack", embeddings_initializer=initializer)
    layer.adapt(frame)
    return layer


def run_example(obj):
    """Runs the ```python example of ``obj``'s docstring; returns its namespace."""
    code = textwrap.dedent(re.search(r"```python\n(.*?)```", obj.__doc__, re.S).group(1))
    scope = {}
    exec(compile(code, f"{obj.__name__} example", "exec"), scope)
    return scope


def trained_lr(frame):
    """A logistic regression trained 2 epochs on label = (user < "c"), and its inputs."""
    frame = frame.assign(label=(frame["user"] < "c").astype(np.float32))
    tf.keras.utils.set_random_seed(0)
    lr = build_model("logreg", SPEC, frame, initial_bias=initial_bias(frame["label"], "ctr"))
    ds = frame_to_dataset(frame, lr.linear_layer, label="label", batch_size=16, encoder=lr.linear_layer)
    lr.compile(optimizer=tf.keras.optimizers.Adam(0.1), run_eagerly=True)
    lr.fit(ds, epochs=2, verbose=0)
    return lr, inputs(frame, lr.linear_layer)
