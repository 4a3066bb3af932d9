"""The base of the rating / click-through-rate models over field embeddings.

:class:`FeatureInteractionModel` is the base of :class:`~tfrec.models.logreg.LogisticRegression`,
:class:`~tfrec.models.fm.FactorizationMachine`, :class:`~tfrec.models.dcn.DCN` and
:class:`~tfrec.models.deepfm.DeepFM`: it owns the task (rating regression with MSE and RMSE, or CTR
with binary cross-entropy, AUC and log loss), the global bias, an optional L2 penalty on the
looked-up embeddings, and the ``call`` / ``compute_loss`` split of ``tfrs.Model``. A subclass only
computes logits from the features. Beside it: the task helpers (:func:`make_task`,
:func:`check_task`, :func:`initial_bias`) and the embedding-shape helpers the subclasses share
(:func:`field_embeddings`, :func:`flat_embeddings`, :func:`linear_term`).

Inputs of every model are a dict of feature tensors (as produced by
``tfrec.features.frame_to_dataset``); for training, the label is either in the dict under
``label_key`` or the dataset yields ``(features, label)`` pairs.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)

import tensorflow as tf
import tensorflow_recommenders as tfrs

from tfrec.models.base import Model as MeanLossModel
from tfrec.models.layer_config import deserialize_layer


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


class FeatureInteractionModel(MeanLossModel):
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
      linear_l2: separate L2 penalty (same form) on the first-order weights ``w_f`` looked up in the
        batch (models with a ``linear_layer``). ``None`` (default): the first-order weights share
        ``embedding_l2``. Use it e.g. to keep the logistic regression's own L2 on the wide part of a
        model warm-started from that LR.
      **kwargs: passed to ``tf.keras.Model``.
    """

    def __init__(
        self,
        task: str = "ctr",
        label_key: str = "label",
        initial_bias: float = 0.0,
        embedding_l2: float = 0.0,
        linear_l2: Optional[float] = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.task_name = check_task(task)
        if embedding_l2 < 0:
            raise ValueError(f"embedding_l2 must be >= 0. Received: embedding_l2={embedding_l2!r}")
        if linear_l2 is not None and linear_l2 < 0:
            raise ValueError(f"linear_l2 must be >= 0 or None. Received: linear_l2={linear_l2!r}")
        self.linear_l2 = None if linear_l2 is None else float(linear_l2)
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
          over the batch; 0.0 when the model has none), or, with ``linear_l2`` set, a pair of scalars
          (embedding penalty, first-order penalty) (see :meth:`_penalties`).
        """
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------------
    def logits(self, features: Dict[str, tf.Tensor], training: bool = False) -> tf.Tensor:
        """[batch, 1] logits (ratings for the rating task) including the global bias."""
        logits, _ = self.compute_logits(self._features_only(features), training=training)
        return tf.cast(logits, tf.float32) + self.global_bias

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
        logits = tf.cast(raw, tf.float32) + self.global_bias
        labels = tf.reshape(tf.cast(labels, tf.float32), [-1, 1])
        loss = self.task(labels=labels, predictions=logits, training=training)
        if isinstance(penalty, (tuple, list)):
            penalty, linear_penalty = penalty
            if training and self.linear_l2:
                loss = loss + self.linear_l2 * linear_penalty
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

    def _add_first_order(self, logits, features, training):
        """``logits`` plus the first-order term of ``linear_layer`` (when the model has one), and that
        term's weight tensors for :meth:`_penalties` (empty without one)."""
        if getattr(self, "linear_layer", None) is None:
            return logits, []
        w = _apply(self.linear_layer, features, training)
        return logits + linear_term(w), _tensors(w)

    def _penalties(self, embeddings, linear):
        """Penalty for :meth:`compute_logits`: one scalar over ``embeddings`` and the first-order
        tensors ``linear`` (``linear_l2`` None), else the pair (embeddings', linear's)."""
        if self.linear_l2 is None:
            return self._penalty(*embeddings, *linear)
        return self._penalty(*embeddings), self._penalty(*linear)

    def get_config(self) -> Dict[str, Any]:
        config = {
            "task": self.task_name,
            "label_key": self.label_key,
            "initial_bias": self.initial_bias,
            "embedding_l2": self.embedding_l2,
            "name": self.name,
        }
        if self.linear_l2 is not None:
            config["linear_l2"] = self.linear_l2
        return config

    #: names of the constructor arguments that hold layers (serialized in get_config)
    _layer_args: Tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in cls._layer_args:
            config[key] = deserialize_layer(config.get(key))
        return cls(**config)


def initial_bias(labels, task: str) -> float:
    """Starting global bias for ``labels`` (1-D array-like): their mean (rating) or log-odds (ctr)."""
    check_task(task)
    labels = np.asarray(labels, dtype=np.float64)
    if labels.size == 0:
        raise ValueError("initial_bias needs at least one label.")
    mean = float(labels.mean())
    if task == "rating":
        return mean
    p = min(max(mean, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _apply(layer: tf.keras.layers.Layer, features, training):
    """Calls an embedding layer on the feature dict (Keras drops ``training`` if ``call`` has none)."""
    return layer(features, training=training)


def _tensors(outputs) -> list:
    return list(outputs.values()) if isinstance(outputs, dict) else [outputs]


__all__ = [
    "TASKS",
    "FeatureInteractionModel",
    "check_task",
    "field_embeddings",
    "flat_embeddings",
    "initial_bias",
    "linear_term",
    "make_task",
]
