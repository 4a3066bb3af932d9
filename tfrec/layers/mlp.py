"""A stack of Dense layers (the "deep" part of towers, ranking heads, DCN and DeepFM)."""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

__all__ = ["MLP"]


@tf.keras.utils.register_keras_serializable(package="tfrec")
class MLP(tf.keras.layers.Layer):
    """Dense layers ``units[0] -> ... -> units[-1]``.

    Hidden layers use ``activation`` (then optional batch norm and dropout); the last layer uses
    ``output_activation`` (linear by default, as in a retrieval tower or a regression head).

    Args:
      units: positive layer widths, e.g. ``[64, 32]``.
      activation: activation of the hidden layers; default ``"relu"``.
      output_activation: activation of the last layer; default ``None`` (linear).
      dropout: dropout rate after each hidden layer, in ``[0, 1)``; default 0.
      batch_norm: batch normalization after each hidden Dense layer; default False.
      kernel_initializer: initializer of every kernel; default ``"glorot_uniform"``.
      kernel_regularizer: optional regularizer of every kernel.
      use_bias: add biases; default True.

    Call args:
      inputs: ``[batch, input_dim]`` float tensor.
      training: bool (dropout and batch norm).

    Returns:
      ``[batch, units[-1]]`` float tensor.

    Example:

    >>> mlp = MLP([8, 4], kernel_initializer="ones")
    >>> tuple(mlp(tf.ones([2, 3])).shape)
    (2, 4)
    """

    def __init__(
        self,
        units: Sequence[int],
        activation: Any = "relu",
        output_activation: Any = None,
        dropout: float = 0.0,
        batch_norm: bool = False,
        kernel_initializer: Any = "glorot_uniform",
        kernel_regularizer: Any = None,
        use_bias: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        units = list(units) if isinstance(units, (list, tuple)) else units
        if not isinstance(units, list) or not units or any(
            not isinstance(u, int) or isinstance(u, bool) or u <= 0 for u in units
        ):
            raise ValueError(f"units must be a non-empty list of positive integers. Received: units={units!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout!r}")
        self.units = units
        self.activation = tf.keras.activations.get(activation)
        self.output_activation = tf.keras.activations.get(output_activation)
        self.dropout = float(dropout)
        self.batch_norm = bool(batch_norm)
        self.kernel_initializer = tf.keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = tf.keras.regularizers.get(kernel_regularizer)
        self.use_bias = bool(use_bias)
        self._layers = []
        for i, n in enumerate(units):
            last = i == len(units) - 1
            self._layers.append(
                tf.keras.layers.Dense(
                    n,
                    activation=self.output_activation if last else None,
                    use_bias=self.use_bias,
                    # fresh instance per layer: a shared unseeded initializer repeats its values
                    kernel_initializer=tf.keras.initializers.deserialize(
                        tf.keras.initializers.serialize(self.kernel_initializer)),
                    kernel_regularizer=self.kernel_regularizer,
                    name=f"dense_{i}",
                )
            )
            if not last:
                if self.batch_norm:
                    self._layers.append(tf.keras.layers.BatchNormalization(name=f"batch_norm_{i}"))
                self._layers.append(tf.keras.layers.Activation(self.activation, name=f"activation_{i}"))
                if self.dropout > 0:
                    self._layers.append(tf.keras.layers.Dropout(self.dropout, name=f"dropout_{i}"))

    def call(self, inputs, training=None):
        x = inputs
        for layer in self._layers:
            x = layer(x, training=training) if isinstance(
                layer, (tf.keras.layers.Dropout, tf.keras.layers.BatchNormalization)) else layer(x)
        return x

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "units": list(self.units),
                "activation": tf.keras.activations.serialize(self.activation),
                "output_activation": tf.keras.activations.serialize(self.output_activation),
                "dropout": self.dropout,
                "batch_norm": self.batch_norm,
                "kernel_initializer": tf.keras.initializers.serialize(self.kernel_initializer),
                "kernel_regularizer": tf.keras.regularizers.serialize(self.kernel_regularizer)
                if self.kernel_regularizer is not None else None,
                "use_bias": self.use_bias,
            }
        )
        return config
