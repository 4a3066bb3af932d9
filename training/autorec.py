"""AutoRec in the shared training loop: validation ratings scored from the training vectors.

:class:`tfrec.models.autorec.AutoRec` reconstructs the vector it is given, so its ``test_step``
scores the training entries. :class:`AutoRecWithTargets` takes ``{"input", "target", "mask"}``
batches instead: ``input`` is each row's *training* rating vector (0 = unobserved), ``target`` and
``mask`` the ratings it is scored on (training rows for ``fit``; the held-out validation ratings of
the same rows for validation), so ``val_rmse`` is the RMSE of validation ratings predicted from the
training ratings only.
"""

from __future__ import annotations

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.models.autorec import AutoRec, masked_squared_error


@tf.keras.utils.register_keras_serializable(package="tfrec")
class AutoRecWithTargets(AutoRec):
    """:class:`AutoRec` trained and validated on ``{"input", "target", "mask"}`` batches.

    Args: those of :class:`AutoRec`.

    Example:

    >>> m = AutoRecWithTargets(num_inputs=3, hidden_units=2)
    >>> m({"input": tf.constant([[5.0, 0.0, 3.0]])}).shape
    TensorShape([1, 3])
    """

    def call(self, inputs, training=False):
        if isinstance(inputs, dict):
            inputs = inputs["input"]
        return super().call(inputs, training=training)

    def _parts(self, data):
        return (tf.cast(data["input"], tf.float32), tf.cast(data["target"], tf.float32),
                tf.cast(data["mask"], tf.float32))

    def train_step(self, data):
        x, y, mask = self._parts(data)
        with tf.GradientTape() as tape:
            recon = self(x, training=True)
            loss = self.compute_loss(y, mask, recon, self._penalty_weight(x))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return self._update_metrics(y, mask, recon, loss)

    def test_step(self, data):
        x, y, mask = self._parts(data)
        recon = self(x, training=False)
        # validation loss: the squared error of the held-out entries (no weight decay)
        return self._update_metrics(y, mask, recon, masked_squared_error(y, mask, recon))
