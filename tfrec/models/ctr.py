"""Rating / click-through-rate models over field embeddings: the shared base, LR and FM.

:class:`FeatureInteractionModel` is the base of every model here and of
:class:`~tfrec.models.dcn.DCN` and :class:`~tfrec.models.deepfm.DeepFM`: it owns the task (rating
regression with MSE and RMSE, or CTR with binary cross-entropy, AUC and log loss), the global bias,
an optional L2 penalty on the looked-up embeddings, and the ``call`` / ``compute_loss`` split of
``tfrs.Model``. A subclass only computes logits from the features.

:class:`LogisticRegression` (first-order terms only) and :class:`FactorizationMachine` (first order
+ the FM pairwise term, Rendle 2010) are the classic CTR baselines.

Inputs of every model are a dict of feature tensors (as produced by
``tfrec.layers.features.frame_to_dataset``); for training, the label is either in the dict under
``label_key`` or the dataset yields ``(features, label)`` pairs.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Sequence, Tuple

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)

import tensorflow as tf
import tensorflow_recommenders as tfrs

from tfrec.layers.interaction import FMInteraction

#: Valid values of the ``task`` argument of every model here.
TASKS = ("rating", "ctr")


def check_task(task: str) -> str:
    """Returns ``task`` if it is one of :data:`TASKS`, else raises a ValueError listing them."""
    if task not in TASKS:
        raise ValueError(f"Received an invalid value for task: {task!r}. Valid values: {', '.join(TASKS)}.")
    return task


def make_task(task: str) -> tfrs.tasks.Ranking:
    """The ``tfrs.tasks.Ranking`` of a task name; both read logits.

    Args:
      task: ``"rating"``: mean squared error loss, ``rmse`` metric (logits are the ratings).
        ``"ctr"``: binary cross-entropy from logits, ``auc`` and ``log_loss`` metrics.
    """
    check_task(task)
    if task == "rating":
        return tfrs.tasks.Ranking(
            loss=tf.keras.losses.MeanSquaredError(),
            metrics=[tf.keras.metrics.RootMeanSquaredError(name="rmse")],
        )
    return tfrs.tasks.Ranking(
        loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[
            tf.keras.metrics.AUC(from_logits=True, name="auc"),
            tf.keras.metrics.BinaryCrossentropy(from_logits=True, name="log_loss"),
        ],
    )


def mlp(
    layer_sizes: Sequence[int],
    activation: str = "relu",
    dropout: float = 0.0,
    l2: float = 0.0,
    batch_norm: bool = False,
    name: Optional[str] = None,
) -> tf.keras.Sequential:
    """A stack of Dense layers (the deep part of DCN / DeepFM), as a serializable ``Sequential``.

    Args:
      layer_sizes: positive ints, the width of each hidden layer, e.g. ``[256, 128]``.
      activation: activation of every layer (default ``"relu"``).
      dropout: dropout rate after each layer, in [0, 1) (default 0).
      l2: L2 penalty on the kernels (default 0).
      batch_norm: add batch normalization before each activation (default False).
      name: optional name of the Sequential.

    Returns:
      ``tf.keras.Sequential`` mapping [batch, d] -> [batch, layer_sizes[-1]].
    """
    sizes = list(layer_sizes)
    if not sizes or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(
            f"layer_sizes must be a non-empty list of positive integers. Received: layer_sizes={layer_sizes!r}"
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout!r}")
    if l2 < 0:
        raise ValueError(f"l2 must be >= 0. Received: l2={l2!r}")
    reg = tf.keras.regularizers.l2(l2) if l2 > 0 else None
    layers = []
    for size in sizes:
        layers.append(tf.keras.layers.Dense(size, activation=None if batch_norm else activation, kernel_regularizer=reg))
        if batch_norm:
            layers.append(tf.keras.layers.BatchNormalization())
            layers.append(tf.keras.layers.Activation(activation))
        if dropout > 0:
            layers.append(tf.keras.layers.Dropout(dropout))
    return tf.keras.Sequential(layers, name=name)


def field_embeddings(outputs: Any) -> tf.Tensor:
    """Field embeddings of an embedding layer's output as one [batch, n_fields, dim] tensor.

    Args:
      outputs: a [batch, n_fields, dim] tensor (``output_mode="stack"``), a [batch, dim] tensor (one
        field), or a dict of [batch, dim] tensors of equal ``dim`` (stacked in sorted key order).
    """
    if isinstance(outputs, dict):
        if not outputs:
            raise ValueError("The embedding layer returned an empty dict: configure at least one feature.")
        dims = {k: v.shape[-1] for k, v in outputs.items()}
        if len(set(dims.values())) != 1:
            raise ValueError(
                "FM-style interactions need every field embedded in the same dimension. Received "
                f"dimensions {dims}. Give every feature the same embedding_dim."
            )
        return tf.stack([outputs[k] for k in sorted(outputs)], axis=1)
    outputs = tf.convert_to_tensor(outputs)
    if outputs.shape.rank == 2:
        return outputs[:, None, :]
    if outputs.shape.rank != 3:
        raise ValueError(
            f"Expected field embeddings of shape [batch, n_fields, dim]. Received shape {outputs.shape}."
        )
    return outputs


def flat_embeddings(outputs: Any) -> tf.Tensor:
    """An embedding layer's output as one [batch, d] tensor (dicts concatenated in sorted key order)."""
    if isinstance(outputs, dict):
        if not outputs:
            raise ValueError("The embedding layer returned an empty dict: configure at least one feature.")
        return tf.concat([tf.cast(outputs[k], tf.float32) for k in sorted(outputs)], axis=-1)
    outputs = tf.convert_to_tensor(outputs)
    if outputs.shape.rank == 3:
        return tf.reshape(outputs, [-1, outputs.shape[1] * outputs.shape[2]])
    if outputs.shape.rank != 2:
        raise ValueError(f"Expected embeddings of rank 2 or 3. Received shape {outputs.shape}.")
    return outputs


def linear_term(outputs: Any) -> tf.Tensor:
    """Sum of first-order (dim-1) field weights: [batch, n_fields, 1] or dict of [batch, 1] -> [batch, 1]."""
    flat = flat_embeddings(outputs)
    return tf.reduce_sum(flat, axis=-1, keepdims=True)


def _serialize(layer: Optional[tf.keras.layers.Layer]):
    return None if layer is None else tf.keras.layers.serialize(layer)


def _deserialize(config):
    if config is None or isinstance(config, tf.keras.layers.Layer):
        return config
    return tf.keras.layers.deserialize(config)


class FeatureInteractionModel(tfrs.Model):
    """Base of the rating / CTR models over field embeddings.

    Subclasses implement :meth:`compute_logits`; this class turns logits into predictions (``call``),
    computes the loss and metrics (``compute_loss``) and holds the global bias.

    Args:
      task: ``"rating"`` (MSE loss, RMSE metric; predictions are ratings) or ``"ctr"`` (binary
        cross-entropy, AUC and log-loss metrics; predictions are click probabilities). Default ``"ctr"``.
      label_key: name of the label in the feature dict (default ``"label"``); also accepted: datasets
        that yield ``(features, label)``.
      initial_bias: starting value of the global bias: the mean training rating for ratings, or
        ``log(p / (1 - p))`` of the training click rate ``p`` for CTR (:func:`initial_bias`). Default 0.
      embedding_l2: L2 penalty on the embeddings looked up in each batch (sum of squares, averaged
        over the batch), added to the training loss. Default 0.
      **kwargs: passed to ``tf.keras.Model``.
    """

    def __init__(
        self,
        task: str = "ctr",
        label_key: str = "label",
        initial_bias: float = 0.0,
        embedding_l2: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.task_name = check_task(task)
        if embedding_l2 < 0:
            raise ValueError(f"embedding_l2 must be >= 0. Received: embedding_l2={embedding_l2!r}")
        self.label_key = label_key
        self.initial_bias = float(initial_bias)
        self.embedding_l2 = float(embedding_l2)
        self.task = make_task(task)
        self.global_bias = self.add_weight(
            name="global_bias",
            shape=(),
            initializer=tf.keras.initializers.Constant(self.initial_bias),
            trainable=True,
        )

    # -- to implement -------------------------------------------------------------------------------
    def compute_logits(self, features: Dict[str, tf.Tensor], training: bool = False) -> Tuple[tf.Tensor, tf.Tensor]:
        """Logits before the global bias and the embedding penalty.

        Args:
          features: dict of feature tensors.
          training: bool.

        Returns:
          (logits, penalty): [batch, 1] float tensor and a scalar (sum of squared embeddings averaged
          over the batch; 0.0 when the model has none).
        """
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------------
    def logits(self, features: Dict[str, tf.Tensor], training: bool = False) -> tf.Tensor:
        """[batch, 1] logits (ratings for the rating task) including the global bias."""
        logits, _ = self.compute_logits(self._features_only(features), training=training)
        return logits + self.global_bias

    def call(self, features: Dict[str, tf.Tensor], training: bool = False) -> tf.Tensor:
        """Predictions.

        Args:
          features: dict of feature tensors, each [batch] (or [batch, k] for multi-valued features).
          training: bool.

        Returns:
          [batch, 1] float32: predicted ratings (task ``"rating"``) or click probabilities (``"ctr"``).
        """
        logits = self.logits(features, training=training)
        return tf.sigmoid(logits) if self.task_name == "ctr" else logits

    def compute_loss(self, inputs, training: bool = False) -> tf.Tensor:
        """Task loss (+ embedding penalty when training); updates the task metrics.

        Args:
          inputs: dict of features holding the label under ``label_key``, or ``(features, label)``.
          training: bool.
        """
        if isinstance(inputs, (tuple, list)):
            features, labels = inputs[0], inputs[1]
        else:
            if self.label_key not in inputs:
                raise KeyError(
                    f"The training batch has no label {self.label_key!r}; keys: {sorted(inputs)}. Pass "
                    "label_key= to the model or yield (features, label) pairs from the dataset."
                )
            features, labels = inputs, inputs[self.label_key]
        features = self._features_only(features)
        raw, penalty = self.compute_logits(features, training=training)
        logits = raw + self.global_bias
        labels = tf.reshape(tf.cast(labels, tf.float32), [-1, 1])
        loss = self.task(labels=labels, predictions=logits, training=training)
        if training and self.embedding_l2 > 0:
            loss = loss + self.embedding_l2 * penalty
        return loss

    def _features_only(self, features):
        if isinstance(features, dict) and self.label_key in features:
            return {k: v for k, v in features.items() if k != self.label_key}
        return features

    @staticmethod
    def _penalty(*embeddings: tf.Tensor) -> tf.Tensor:
        total = 0.0
        for e in embeddings:
            e = tf.cast(e, tf.float32)
            total += tf.reduce_sum(tf.square(e)) / tf.cast(tf.shape(e)[0], tf.float32)
        return tf.convert_to_tensor(total, tf.float32)

    def get_config(self) -> Dict[str, Any]:
        return {
            "task": self.task_name,
            "label_key": self.label_key,
            "initial_bias": self.initial_bias,
            "embedding_l2": self.embedding_l2,
            "name": self.name,
        }

    #: names of the constructor arguments that hold layers (serialized in get_config)
    _layer_args: Tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in cls._layer_args:
            config[key] = _deserialize(config.get(key))
        return cls(**config)


def initial_bias(labels, task: str) -> float:
    """Starting global bias for ``labels`` (1-D array-like): their mean (rating) or log-odds (ctr)."""
    import numpy as np

    check_task(task)
    labels = np.asarray(labels, dtype=np.float64)
    if labels.size == 0:
        raise ValueError("initial_bias needs at least one label.")
    mean = float(labels.mean())
    if task == "rating":
        return mean
    p = min(max(mean, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


@tf.keras.utils.register_keras_serializable(package="tfrec")
class LogisticRegression(FeatureInteractionModel):
    """Logistic (or, for ratings, linear) regression: ``y = w0 + sum_f w_f(x_f)``.

    Args:
      linear_layer: embedding layer with one dimension per field, e.g.
        ``FeatureLayer(spec, embedding_dim=1, output_mode="stack")`` (one weight per category, a
        linear weight on numerics); output [batch, n_fields, 1] or dict of [batch, 1].
      task, label_key, initial_bias, embedding_l2: see :class:`FeatureInteractionModel`
        (``embedding_l2`` is the L2 penalty on the weights used in a batch).

    Example:

    ```python
    import tfrec
    import tensorflow as tf
    from tfrec.models.ctr import LogisticRegression

    class OneField(tf.keras.layers.Layer):  # stand-in for FeatureLayer(spec, embedding_dim=1)
        def __init__(self, **kw):
            super().__init__(**kw)
            self.w = tf.keras.layers.Embedding(10, 1)
        def call(self, f):
            return self.w(f["x"])[:, None, :]  # [batch, 1 field, 1]

    model = LogisticRegression(OneField())
    model({"x": tf.constant([1, 2])})  # [2, 1] click probabilities
    ```
    """

    _layer_args = ("linear_layer",)

    def __init__(self, linear_layer: tf.keras.layers.Layer, task: str = "ctr", label_key: str = "label",
                 initial_bias: float = 0.0, embedding_l2: float = 0.0, **kwargs):
        super().__init__(task=task, label_key=label_key, initial_bias=initial_bias, embedding_l2=embedding_l2, **kwargs)
        self.linear_layer = linear_layer

    def compute_logits(self, features, training=False):
        weights = _apply(self.linear_layer, features, training)
        return linear_term(weights), self._penalty(*_tensors(weights))

    def get_config(self):
        config = super().get_config()
        config["linear_layer"] = _serialize(self.linear_layer)
        return config


@tf.keras.utils.register_keras_serializable(package="tfrec")
class FactorizationMachine(FeatureInteractionModel):
    """Factorization machine (Rendle 2010): ``y = w0 + sum_f w_f(x_f) + sum_{i<j} <v_i, v_j>``.

    Args:
      embedding_layer: field embeddings ``v_f``: output [batch, n_fields, dim] (e.g.
        ``FeatureLayer(spec, embedding_dim=k, output_mode="stack")``) or a dict of [batch, dim].
      linear_layer: first-order weights ``w_f``: output [batch, n_fields, 1] or a dict of [batch, 1];
        ``None`` leaves the first-order term out.
      fm_interaction: the pairwise layer; default ``FMInteraction()``.
      task, label_key, initial_bias, embedding_l2: see :class:`FeatureInteractionModel`.

    Example:

    ```python
    import tfrec
    import tensorflow as tf
    from tfrec.models.ctr import FactorizationMachine

    class TwoFields(tf.keras.layers.Layer):  # stand-in for FeatureLayer(output_mode="stack")
        def __init__(self, dim, **kw):
            super().__init__(**kw)
            self.a = tf.keras.layers.Embedding(5, dim)
            self.b = tf.keras.layers.Embedding(7, dim)
        def call(self, f):
            return tf.stack([self.a(f["a"]), self.b(f["b"])], axis=1)

    model = FactorizationMachine(TwoFields(4), linear_layer=TwoFields(1))
    model({"a": tf.constant([0, 1]), "b": tf.constant([3, 6])})  # [2, 1] probabilities
    ```
    """

    _layer_args = ("embedding_layer", "linear_layer", "fm_interaction")

    def __init__(self, embedding_layer: tf.keras.layers.Layer, linear_layer: Optional[tf.keras.layers.Layer] = None,
                 fm_interaction: Optional[tf.keras.layers.Layer] = None, task: str = "ctr", label_key: str = "label",
                 initial_bias: float = 0.0, embedding_l2: float = 0.0, **kwargs):
        super().__init__(task=task, label_key=label_key, initial_bias=initial_bias, embedding_l2=embedding_l2, **kwargs)
        self.embedding_layer = embedding_layer
        self.linear_layer = linear_layer
        self.fm_interaction = fm_interaction if fm_interaction is not None else FMInteraction()

    def compute_logits(self, features, training=False):
        v = field_embeddings(_apply(self.embedding_layer, features, training))
        logits = self.fm_interaction(v)
        tensors = [v]
        if self.linear_layer is not None:
            w = _apply(self.linear_layer, features, training)
            logits = logits + linear_term(w)
            tensors += _tensors(w)
        return logits, self._penalty(*tensors)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "embedding_layer": _serialize(self.embedding_layer),
                "linear_layer": _serialize(self.linear_layer),
                "fm_interaction": _serialize(self.fm_interaction),
            }
        )
        return config


def _apply(layer: tf.keras.layers.Layer, features, training):
    """Calls an embedding layer on the feature dict (Keras drops ``training`` if ``call`` has none)."""
    return layer(features, training=training)


def _tensors(outputs) -> list:
    return list(outputs.values()) if isinstance(outputs, dict) else [outputs]


__all__ = [
    "TASKS",
    "FactorizationMachine",
    "FeatureInteractionModel",
    "LogisticRegression",
    "check_task",
    "field_embeddings",
    "flat_embeddings",
    "initial_bias",
    "linear_term",
    "make_task",
    "mlp",
]
