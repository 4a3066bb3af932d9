"""``tfrs.Model`` whose reported losses are means over the epoch (training) or the data (evaluation).

``tfrs.Model.train_step`` / ``test_step`` return the loss of the current batch. Keras keeps the last
step's logs as the epoch's, so with them ``history["loss"]``, ``val_loss``, the progress bar's final
value, TensorBoard's scalars and ``EarlyStopping(monitor="val_loss")`` would all see the loss of the
LAST batch only (for a validation set of several batches: a few hundred rows out of thousands). The
:class:`Model` here reports, for ``loss``, ``regularization_loss`` and ``total_loss``, the mean over
every example seen since the metrics were last reset (Keras resets them at the start of each epoch
and of each ``evaluate``), each batch weighted by its number of examples.
"""

from __future__ import annotations

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf
import tensorflow_recommenders as tfrs

__all__ = ["Model", "batch_size_of"]

_LOSS_KEYS = ("loss", "regularization_loss", "total_loss")


def batch_size_of(inputs) -> tf.Tensor:
    """Number of examples in a batch of (possibly nested, ragged or sparse) inputs, as float32."""
    for x in tf.nest.flatten(inputs):
        if isinstance(x, tf.RaggedTensor):
            return tf.cast(x.nrows(), tf.float32)
        if isinstance(x, tf.SparseTensor):
            return tf.cast(x.dense_shape[0], tf.float32)
        if isinstance(x, tf.Tensor) and x.shape.rank:
            return tf.cast(tf.shape(x)[0], tf.float32)
    return tf.constant(1.0)


class Model(tfrs.Model):
    """A ``tfrs.Model`` (``compute_loss`` API) that logs epoch / evaluation means of its losses."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # metric attributes are tracked by Keras (model.metrics), hence reset with the others
        self.mean_loss = tf.keras.metrics.Mean(name="loss")
        self.mean_regularization_loss = tf.keras.metrics.Mean(name="regularization_loss")
        self.mean_total_loss = tf.keras.metrics.Mean(name="total_loss")

    def train_step(self, inputs):
        return self._mean_logs(super().train_step(inputs), inputs)

    def test_step(self, inputs):
        return self._mean_logs(super().test_step(inputs), inputs)

    def _mean_logs(self, logs, inputs):
        n = batch_size_of(inputs)
        out = dict(logs)
        for tracker in (self.mean_loss, self.mean_regularization_loss, self.mean_total_loss):
            tracker.update_state(logs[tracker.name], sample_weight=n)
            out[tracker.name] = tracker.result()
        return out
