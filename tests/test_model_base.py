"""tfrec.models.base.Model: logged losses are means over all examples, not the last batch's."""

import numpy as np
import pandas as pd
import pytest

import tfrec  # noqa: F401

import tensorflow as tf

from tfrec.features import FeatureLayer, frame_to_tensors
from tfrec.models.base import batch_size_of
from tfrec.models.logreg import LogisticRegression

SPEC = [{"name": "user", "kind": "categorical"}, {"name": "item", "kind": "categorical"}]


def _model_and_data():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"user": rng.choice(list("abcd"), 7), "item": rng.choice(list("wxyz"), 7)})
    layer = FeatureLayer(SPEC, embedding_dim=1, output_mode="stack", embeddings_initializer="ones")
    layer.adapt(frame)
    # every looked-up weight is 1 and the bias 0: each prediction is 2 (two fields)
    model = LogisticRegression(layer, task="rating", initial_bias=0.0)
    x = {k: tf.constant(v.astype(str)) for k, v in frame_to_tensors(frame, layer).items()}
    # squared errors 0 x 6 and 9 for the last row: batches of 3 give batch losses 0, 0, 9
    labels = tf.constant([2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 5.0])
    return model, tf.data.Dataset.from_tensor_slices((x, labels)).batch(3)


def test_evaluate_reports_the_mean_loss_over_every_example():
    model, ds = _model_and_data()
    model.compile(optimizer=tf.keras.optimizers.SGD(0.0))
    logs = model.evaluate(ds, verbose=0, return_dict=True)
    # mean over the 7 examples = 9 / 7 (the last batch alone would say 9)
    assert logs["loss"] == pytest.approx(9 / 7, rel=1e-6)
    assert logs["total_loss"] == pytest.approx(9 / 7, rel=1e-6)
    # a second evaluate starts from fresh means (Keras resets model metrics)
    assert model.evaluate(ds, verbose=0, return_dict=True)["loss"] == pytest.approx(9 / 7, rel=1e-6)


def test_fit_history_and_val_loss_are_epoch_means():
    model, ds = _model_and_data()
    model.compile(optimizer=tf.keras.optimizers.SGD(0.0))  # weights fixed: every epoch sees the same losses
    hist = model.fit(ds, validation_data=ds, epochs=2, verbose=0).history
    assert hist["loss"] == pytest.approx([9 / 7, 9 / 7], rel=1e-6)
    assert hist["val_loss"] == pytest.approx([9 / 7, 9 / 7], rel=1e-6)


def test_batch_size_of_dense_ragged_and_nested():
    assert float(batch_size_of({"a": tf.zeros([5, 2])})) == 5.0
    assert float(batch_size_of(({"g": tf.ragged.constant([[1], [2, 3], []])}, tf.zeros([3])))) == 3.0
