"""Explicit feature-interaction layers: the FM second-order term and the DCN-V2 cross network.

Both take the field embeddings produced by an embedding layer (for example
:class:`tfrec.features.FeatureLayer` with ``output_mode="stack"``):

* :class:`FMInteraction` reads ``[batch, n_fields, dim]`` and returns the factorization-machine
  pairwise term ``sum_{i<j} <v_i, v_j>`` (Rendle 2010), as used by FM and DeepFM.
* :class:`CrossNetwork` reads the flattened ``[batch, n_fields * dim]`` embeddings and applies a
  stack of ``tfrs.layers.dcn.Cross`` layers (DCN-V2, Wang et al. 2021), full-rank or low-rank.
"""

from __future__ import annotations

from typing import Optional, Union

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)

import tensorflow as tf
import tensorflow_recommenders as tfrs

_FM_OUTPUTS = ("scalar", "vector")


@tf.keras.utils.register_keras_serializable(package="tfrec")
class FMInteraction(tf.keras.layers.Layer):
    """Second-order factorization-machine interaction over field embeddings.

    For field embeddings ``v_1 .. v_n`` (each of size ``dim``) the pairwise term is::

        sum_{i<j} <v_i, v_j> = 0.5 * sum_k [ (sum_i v_ik)^2 - sum_i v_ik^2 ]

    which costs ``O(n * dim)`` instead of ``O(n^2 * dim)`` (Rendle 2010, Lemma 3.1).

    Args:
      output_mode: ``"scalar"`` (default) sums over the embedding dimension and returns ``[batch, 1]``,
        the FM / DeepFM term; ``"vector"`` keeps it and returns ``[batch, dim]`` (the
        bi-interaction pooling of NFM).
      **kwargs: passed to ``tf.keras.layers.Layer``.

    Input shape:
      ``[batch, n_fields, dim]`` float tensor.

    Output shape:
      ``[batch, 1]`` (``output_mode="scalar"``) or ``[batch, dim]`` (``output_mode="vector"``).

    Example:

    ```python
    import tfrec
    import tensorflow as tf
    from tfrec.layers.interaction import FMInteraction

    v = tf.constant([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])  # [1, 3 fields, dim 2]
    FMInteraction()(v)  # <v1,v2> + <v1,v3> + <v2,v3> = 11 + 17 + 39 = [[67.0]]
    ```
    """

    def __init__(self, output_mode: str = "scalar", **kwargs):
        super().__init__(**kwargs)
        if output_mode not in _FM_OUTPUTS:
            raise ValueError(
                f"Received an invalid value for output_mode: {output_mode!r}. Valid values: {', '.join(_FM_OUTPUTS)}."
            )
        self.output_mode = output_mode

    def build(self, input_shape):
        shape = tf.TensorShape(input_shape)
        if shape.rank != 3:
            raise ValueError(
                "FMInteraction expects field embeddings of shape [batch, n_fields, dim]. "
                f"Received a tensor of shape {shape}. Use an embedding layer with output_mode='stack' "
                "or tf.stack the per-field embeddings on axis 1."
            )
        super().build(input_shape)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        """Computes the pairwise term.

        Args:
          inputs: [batch, n_fields, dim] float tensor of field embeddings.

        Returns:
          [batch, 1] (``output_mode="scalar"``) or [batch, dim] (``output_mode="vector"``) float tensor.
        """
        square_of_sum = tf.square(tf.reduce_sum(inputs, axis=1))  # [batch, dim]
        sum_of_square = tf.reduce_sum(tf.square(inputs), axis=1)  # [batch, dim]
        pairwise = 0.5 * (square_of_sum - sum_of_square)
        if self.output_mode == "vector":
            return pairwise
        return tf.reduce_sum(pairwise, axis=1, keepdims=True)

    def compute_output_shape(self, input_shape):
        shape = tf.TensorShape(input_shape)
        return tf.TensorShape([shape[0], 1 if self.output_mode == "scalar" else shape[2]])

    def get_config(self):
        config = super().get_config()
        config.update({"output_mode": self.output_mode})
        return config


@tf.keras.utils.register_keras_serializable(package="tfrec")
class CrossNetwork(tf.keras.layers.Layer):
    """A stack of DCN-V2 cross layers: ``x_{l+1} = x0 * (W_l x_l + b_l) + x_l``.

    Each layer is a ``tfrs.layers.dcn.Cross``. With ``projection_dim=None`` each ``W_l`` is a full
    ``[d, d]`` matrix (DCN-V2 Eq. 1); with an integer ``r`` it is the low-rank product ``U_l V_l``
    with ``U_l: [d, r]`` and ``V_l: [r, d]`` (Eq. 2; the paper finds ``r = d/4`` keeps the accuracy
    of the full-rank network).

    Args:
      num_layers: number of cross layers, a positive int (default 2).
      projection_dim: ``None`` (default) for full-rank kernels, or the rank ``r`` (positive int) of
        the low-rank kernels.
      diag_scale: non-negative float added to the diagonal of each kernel (``W + diag_scale * I``);
        default 0.0. Helps training stability of low-rank crosses.
      use_bias: whether each cross layer has a bias vector (default True).
      kernel_initializer: initializer of the kernels (name or ``tf.keras.initializers`` object);
        default ``"truncated_normal"`` as in TFRS.
      bias_initializer: initializer of the biases; default ``"zeros"``.
      kernel_regularizer: optional regularizer of the kernels (name, object or None).
      bias_regularizer: optional regularizer of the biases.
      **kwargs: passed to ``tf.keras.layers.Layer``.

    Input shape:
      ``[batch, d]`` float tensor (flattened field embeddings and dense features).

    Output shape:
      ``[batch, d]``.

    Example:

    ```python
    import tfrec
    import tensorflow as tf
    from tfrec.layers.interaction import CrossNetwork

    x0 = tf.random.normal([4, 12])
    full = CrossNetwork(num_layers=2)(x0)                      # [4, 12]
    low_rank = CrossNetwork(num_layers=2, projection_dim=3)(x0)  # [4, 12]
    ```
    """

    def __init__(
        self,
        num_layers: int = 2,
        projection_dim: Optional[int] = None,
        diag_scale: float = 0.0,
        use_bias: bool = True,
        kernel_initializer: Union[str, tf.keras.initializers.Initializer] = "truncated_normal",
        bias_initializer: Union[str, tf.keras.initializers.Initializer] = "zeros",
        kernel_regularizer: Union[str, None, tf.keras.regularizers.Regularizer] = None,
        bias_regularizer: Union[str, None, tf.keras.regularizers.Regularizer] = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(
                "Received an invalid value for num_layers, expected a positive integer. "
                f"Received: num_layers={num_layers!r}"
            )
        if projection_dim is not None and (
            isinstance(projection_dim, bool) or not isinstance(projection_dim, int) or projection_dim < 1
        ):
            raise ValueError(
                "Received an invalid value for projection_dim, expected None (full-rank kernels) or a "
                f"positive integer rank. Received: projection_dim={projection_dim!r}"
            )
        if diag_scale is None or diag_scale < 0:
            raise ValueError(
                "Received an invalid value for diag_scale, expected a non-negative float. "
                f"Received: diag_scale={diag_scale!r}"
            )
        self.num_layers = num_layers
        self.projection_dim = projection_dim
        self.diag_scale = float(diag_scale)
        self.use_bias = use_bias
        self.kernel_initializer = tf.keras.initializers.get(kernel_initializer)
        self.bias_initializer = tf.keras.initializers.get(bias_initializer)
        self.kernel_regularizer = tf.keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = tf.keras.regularizers.get(bias_regularizer)
        self.cross_layers = [
            tfrs.layers.dcn.Cross(
                projection_dim=projection_dim,
                diag_scale=self.diag_scale,
                use_bias=use_bias,
                kernel_initializer=self.kernel_initializer.__class__.from_config(
                    self.kernel_initializer.get_config()
                ),
                bias_initializer=self.bias_initializer,
                kernel_regularizer=self.kernel_regularizer,
                bias_regularizer=self.bias_regularizer,
                name=f"cross_{i}",
            )
            for i in range(num_layers)
        ]

    def build(self, input_shape):
        shape = tf.TensorShape(input_shape)
        if shape.rank != 2:
            raise ValueError(
                f"CrossNetwork expects a [batch, d] input. Received a tensor of shape {shape}. "
                "Flatten the field embeddings first, e.g. tf.keras.layers.Flatten()."
            )
        if self.projection_dim is not None and shape[-1] is not None and self.projection_dim >= shape[-1]:
            raise ValueError(
                f"projection_dim={self.projection_dim} is not smaller than the input size {shape[-1]}: a "
                "low-rank cross would cost more than a full one. Use projection_dim=None or a rank around "
                f"input_size / 4 (here {max(1, shape[-1] // 4)})."
            )
        for layer in self.cross_layers:
            layer.build(shape)
        super().build(input_shape)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        """Applies the cross layers.

        Args:
          inputs: [batch, d] float tensor, the base layer ``x0``.

        Returns:
          [batch, d] float tensor ``x_L``.
        """
        x = inputs
        for layer in self.cross_layers:
            x = layer(inputs, x)
        return x

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_layers": self.num_layers,
                "projection_dim": self.projection_dim,
                "diag_scale": self.diag_scale,
                "use_bias": self.use_bias,
                "kernel_initializer": tf.keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": tf.keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": tf.keras.regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": tf.keras.regularizers.serialize(self.bias_regularizer),
            }
        )
        return config


__all__ = ["CrossNetwork", "FMInteraction"]
