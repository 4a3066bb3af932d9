"""Rating / click-through-rate models over field embeddings: the shared base, LR and FM.

:class:`FeatureInteractionModel` is the base of every model here and of
:class:`~tfrec.models.dcn.DCN` and :class:`~tfrec.models.deepfm.DeepFM`: it owns the task (rating
regression with MSE and RMSE, or CTR with binary cross-entropy, AUC and log loss), the global bias,
an optional L2 penalty on the looked-up embeddings, and the ``call`` / ``compute_loss`` split of
``tfrs.Model``. A subclass only computes logits from the features.

:class:`LogisticRegression` (first-order terms only) and :class:`FactorizationMachine` (first order
+ the FM pairwise term, Rendle 2010) are the classic CTR baselines.

Inputs of every model are a dict of feature tensors (as produced by
``tfrec.features.frame_to_dataset``); for training, the label is either in the dict under
``label_key`` or the dataset yields ``(features, label)`` pairs.
"""

from __future__ import annotations

import math
import time
from typing import Any, Dict, Optional, Sequence, Tuple

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)

import tensorflow as tf
import tensorflow_recommenders as tfrs

from tfrec.recommenders.base import Algorithm
from tfrec.layers.interaction import FMInteraction
from tfrec.layers.mlp import MLP
from tfrec.models.base import Model as MeanLossModel

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


def _serialize(layer: Optional[tf.keras.layers.Layer]):
    return None if layer is None else tf.keras.layers.serialize(layer)


def _deserialize(config):
    if config is None or isinstance(config, tf.keras.layers.Layer):
        return config
    return tf.keras.layers.deserialize(config)


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
                 initial_bias: float = 0.0, embedding_l2: float = 0.0, linear_l2: Optional[float] = None, **kwargs):
        super().__init__(task=task, label_key=label_key, initial_bias=initial_bias, embedding_l2=embedding_l2,
                         linear_l2=linear_l2, **kwargs)
        self.embedding_layer = embedding_layer
        self.linear_layer = linear_layer
        self.fm_interaction = fm_interaction if fm_interaction is not None else FMInteraction()

    def compute_logits(self, features, training=False):
        v = field_embeddings(_apply(self.embedding_layer, features, training))
        logits = self.fm_interaction(v)
        logits, linear = self._add_first_order(logits, features, training)
        return logits, self._penalties([v], linear)

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


# ------------------------------------------------------------------------------------------------
# building and training
# ------------------------------------------------------------------------------------------------

#: Model names of :func:`build_model` (and of the ``model`` argument of :class:`CTRRecommender`).
MODELS = ("dcn", "deepfm", "fm", "logreg")

_MODEL_PARAMS = {
    "dcn": {"cross_layers", "projection_dim", "diag_scale", "structure", "deep_layers", "dropout", "l2",
            "batch_norm", "embedding_l2", "table_l2", "first_order", "zero_init_top", "linear_l2"},
    "deepfm": {"deep_layers", "dropout", "l2", "batch_norm", "embedding_l2", "table_l2", "first_order", "linear_l2",
               "zero_init_top", "fm_gate"},
    "fm": {"embedding_l2", "table_l2", "first_order", "linear_l2"},
    "logreg": {"embedding_l2"},
}


def build_model(model: str, spec, train_frame=None, task: str = "ctr", embedding_dim: int = 16,
                initial_bias: float = 0.0, **params) -> FeatureInteractionModel:
    """Builds (and adapts) one of :data:`MODELS` on a feature spec.

    Args:
      model: ``"dcn"``, ``"deepfm"``, ``"fm"`` or ``"logreg"``.
      spec: ``FeatureSpec`` or list of feature dicts (see :mod:`tfrec.features`).
      train_frame: optional training ``pd.DataFrame``; when given, the feature layers are adapted
        on it (vocabularies and statistics from the training rows only).
      task: ``"rating"`` or ``"ctr"``.
      embedding_dim: field embedding size (default 16).
      initial_bias: global bias start (see :func:`initial_bias`).
      **params: per model —
        dcn: ``cross_layers`` (2), ``projection_dim`` (None = full rank), ``diag_scale`` (0.0),
        ``structure`` ("stacked"), ``deep_layers`` ([192, 192]), ``dropout``, ``l2``, ``batch_norm``,
        ``embedding_l2``, ``table_l2``, ``first_order`` (False), ``zero_init_top`` (False);
        deepfm: ``deep_layers`` ([200, 200, 200]), ``dropout``, ``l2``, ``batch_norm``,
        ``embedding_l2``, ``table_l2``, ``first_order`` (True), ``zero_init_top`` (False),
        ``fm_gate`` (False: see :class:`~tfrec.models.deepfm.DeepFM`);
        fm: ``embedding_l2``, ``table_l2``, ``first_order`` (True); logreg: ``embedding_l2``.
        ``embedding_l2`` penalizes the embeddings looked up in a batch (frequent ids more often);
        ``table_l2`` is an L2 regularizer on the whole field-embedding tables (every row, every step:
        rare ids shrink towards zero); ``l2`` regularizes the deep and cross kernels. ``linear_l2``
        (dcn, deepfm, fm; default None = ``embedding_l2``): separate batch L2 on the first-order weights.
        ``first_order`` adds the first-order (logistic-regression) term ``sum_f w_f(x_f)`` to the
        logit; ``zero_init_top`` starts the deep/cross output projection (``top_layer``) at zero, so
        that a model with ``first_order`` begins as that logistic regression (DeepFM: plus its FM
        term) and the deep part only grows where it lowers the loss.

    Returns:
      The (uncompiled) model.

    Example:

    ```python
    import pandas as pd
    import tfrec
    from tfrec.models.ctr import build_model

    frame = pd.DataFrame({"user": ["a", "b", "a"], "item": ["x", "y", "y"], "label": [1.0, 0.0, 1.0]})
    spec = [{"name": "user", "kind": "categorical"}, {"name": "item", "kind": "categorical"}]
    model = build_model("deepfm", spec, frame, task="ctr", embedding_dim=4, deep_layers=[8])
    ```
    """
    from tfrec.features import FeatureLayer
    from tfrec.layers.interaction import CrossNetwork

    if model not in MODELS:
        raise ValueError(f"Received an invalid value for model: {model!r}. Valid values: {', '.join(MODELS)}.")
    check_task(task)
    unknown = sorted(set(params) - _MODEL_PARAMS[model])
    if unknown:
        raise ValueError(
            f"Model {model!r} got unknown parameter(s) {unknown}. Valid parameters: {sorted(_MODEL_PARAMS[model])}."
        )
    embedding_l2 = params.get("embedding_l2", 0.0)

    def features(dim, name):
        table_l2 = params.get("table_l2", 0.0) if name == "embedding" else 0.0
        layer = FeatureLayer(spec, embedding_dim=dim, output_mode="stack", name=name,
                             embeddings_regularizer=tf.keras.regularizers.l2(table_l2) if table_l2 else None)
        if train_frame is not None:
            layer.adapt(train_frame)
        return layer

    def deep(default):
        l2 = params.get("l2", 0.0)
        return MLP(params.get("deep_layers", default), output_activation="relu", dropout=params.get("dropout", 0.0),
                   batch_norm=params.get("batch_norm", False),
                   kernel_regularizer=tf.keras.regularizers.l2(l2) if l2 else None, name="deep")

    def top():
        init = "zeros" if params.get("zero_init_top", False) else "glorot_uniform"
        return tf.keras.layers.Dense(1, kernel_initializer=init, name="top")

    common = dict(task=task, initial_bias=initial_bias, embedding_l2=embedding_l2)
    if model == "logreg":
        return LogisticRegression(features(1, "linear"), **common)
    if params.get("linear_l2") is not None:
        common["linear_l2"] = params["linear_l2"]
    # first-order term: on by default for FM / DeepFM (part of the model), off for DCN (the paper's DCN-V2)
    linear = features(1, "linear") if params.get("first_order", model != "dcn") else None
    if model == "fm":
        return FactorizationMachine(features(embedding_dim, "embedding"), linear_layer=linear, **common)
    if model == "deepfm":
        from tfrec.models.deepfm import DeepFM

        return DeepFM(features(embedding_dim, "embedding"), linear_layer=linear, deep_network=deep([200, 200, 200]),
                      top_layer=top(), fm_gate=params.get("fm_gate", False), **common)
    from tfrec.models.dcn import DCN

    cross = CrossNetwork(num_layers=params.get("cross_layers", 2), projection_dim=params.get("projection_dim"),
                         diag_scale=params.get("diag_scale", 0.0), kernel_regularizer=(
                             tf.keras.regularizers.l2(params["l2"]) if params.get("l2") else None))
    return DCN(features(embedding_dim, "embedding"), cross_network=cross, deep_network=deep([192, 192]),
               top_layer=top(), structure=params.get("structure", "stacked"), linear_layer=linear, **common)


def warm_start_from_lr(model: FeatureInteractionModel, lr: "LogisticRegression", sample=None) -> None:
    """Starts a DCN / DeepFM / FM as a trained logistic regression (``warm_start: lr``).

    Copies the LR's first-order weights (every ``linear_layer`` table) into ``model.linear_layer`` and
    its global bias into ``model.global_bias``, and sets to zero everything that adds to the logit on
    top of that: ``top_layer`` (kernel and bias: the DCN cross/deep output, the DeepFM deep output) and
    DeepFM's FM gate. The warm-started model then predicts exactly what ``lr`` predicts; the embeddings,
    cross and deep layers keep their random initialisation (they receive gradient once the zeroed
    output weights move). The two linear layers must share spec and adapted vocabularies / buckets
    (``FeatureLayer.adapted_state``), i.e. be adapted on the same training rows with the same
    preprocessing; otherwise their index spaces differ and a ValueError is raised.

    Args:
      model: built (called once) model with a ``linear_layer`` (``first_order=True``); a DeepFM needs
        ``fm_gate=True`` (its FM term cannot be zeroed otherwise).
      lr: the trained :class:`LogisticRegression`.
      sample: optional feature dict; when given, both models are called on it first (builds them).
    """
    from tfrec.features import FeatureLayer

    if not isinstance(lr, LogisticRegression):
        raise TypeError(f"warm_start_from_lr needs a trained LogisticRegression. Received: {type(lr).__name__}")
    linear = getattr(model, "linear_layer", None)
    if linear is None:
        raise ValueError(f"{type(model).__name__} has no first-order term to warm-start; build it with "
                         "first_order=True.")
    if getattr(model, "fm_interaction", None) is not None and getattr(model, "fm_gate_weight", None) is None:
        raise ValueError(f"{type(model).__name__}'s FM term would change the LR's predictions; build it with "
                         "fm_gate=True (the gate starts at 0).")
    if sample is not None:
        lr(sample)
        model(sample)
    src = lr.linear_layer
    if isinstance(src, FeatureLayer) or isinstance(linear, FeatureLayer):
        if not (isinstance(src, FeatureLayer) and isinstance(linear, FeatureLayer)
                and src.spec == linear.spec and src.adapted_state == linear.adapted_state
                and src.embedding_dim == linear.embedding_dim):
            raise ValueError("The LR's and the model's first-order feature layers differ in spec or adapted "
                             "vocabularies/buckets, so their index spaces do not match. Adapt both on the same "
                             "training rows with the same feature spec.")
    source, target = src.get_weights(), linear.get_weights()
    if not target or [w.shape for w in source] != [w.shape for w in target]:
        raise ValueError(f"First-order weights do not match: LR {[w.shape for w in source]}, model "
                         f"{[w.shape for w in target]}. Call both models on a batch first (sample=...).")
    linear.set_weights(source)
    model.global_bias.assign(lr.global_bias)
    top = getattr(model, "top_layer", None)
    if top is not None:
        for w in top.weights:
            w.assign(tf.zeros_like(w))
    if getattr(model, "fm_gate_weight", None) is not None:
        model.fm_gate_weight.assign(0.0)


class _TrainTimer(tf.keras.callbacks.Callback):
    """Seconds spent in training batches per epoch (validation excluded)."""

    def __init__(self):
        super().__init__()
        self.epoch_seconds = []
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_seconds.append(0.0)

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.epoch_seconds[-1] += time.perf_counter() - self._start


def fit_model(model: FeatureInteractionModel, train: tf.data.Dataset, validation: Optional[tf.data.Dataset] = None,
              *, epochs: int = 10, learning_rate: float = 1e-3, patience: int = 2, verbose: int = 0,
              run_eagerly: bool = False, restore_initial: bool = False) -> Dict[str, Any]:
    """Compiles ``model`` with Adam and fits it, early-stopping on the validation loss.

    Args:
      model: a :class:`FeatureInteractionModel`.
      train: batched dataset of ``(features, label)`` (``frame_to_dataset(..., label=...)``).
      validation: optional batched validation dataset (carved from the training data, never the
        test data). With it, training stops after ``patience`` epochs without a lower validation
        loss and the best epoch's weights are restored.
      epochs: maximum number of epochs (default 10).
      learning_rate: Adam learning rate (default 1e-3).
      patience: early-stopping patience in epochs (default 2).
      verbose: Keras verbosity (default 0).
      run_eagerly: train without compiling a graph (default False). Tracing the training step of a
        model with dozens of features takes tens of seconds on a small CPU; for a few hundred steps
        (tests, tiny data) eager execution finishes sooner.
      restore_initial: the starting weights count as epoch 0 (default False): the validation loss is
        measured before training, early stopping must beat it, and when no epoch has a lower
        validation loss the starting weights are restored (``best_epoch`` 0). For warm-started
        models (:func:`warm_start_from_lr`): the baseline to beat is then the LR itself.

    Returns:
      dict with ``history`` (Keras history dict), ``epochs`` (epochs run), ``best_epoch`` (1-based;
      0 when ``restore_initial`` kept the starting weights), ``initial_val_loss`` (with ``restore_initial``),
      ``train_seconds`` (time in training steps, graph tracing included) and ``examples_per_second``
      (training examples per second of training steps, over the epochs after the first, which also
      traces the graph; over the one epoch when only one ran).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer. Received: epochs={epochs!r}")
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), run_eagerly=run_eagerly)
    timer = _TrainTimer()
    callbacks = [timer]
    initial = None
    if restore_initial and validation is not None:
        initial_weights = model.get_weights()
        initial = float(model.evaluate(validation, verbose=0, return_dict=True)["loss"])
    if validation is not None:
        callbacks.append(tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                                          restore_best_weights=True, baseline=initial))
    history = model.fit(train, validation_data=validation, epochs=epochs, callbacks=callbacks, verbose=verbose)
    hist = history.history
    epochs_run = len(hist["loss"])
    n_examples = 0
    for batch in train:
        n_examples += int(tf.shape(tf.nest.flatten(batch)[0])[0])
    best = int(min(range(epochs_run), key=lambda i: hist["val_loss"][i])) + 1 if "val_loss" in hist else epochs_run
    if initial is not None:
        if min(hist["val_loss"]) >= initial:
            model.set_weights(initial_weights)
            best = 0
    # throughput of the epochs after the first: the first one also traces the training graph
    steady = timer.epoch_seconds[1:] or timer.epoch_seconds
    out = {
        "history": hist,
        "epochs": epochs_run,
        "best_epoch": best,
        "train_seconds": sum(timer.epoch_seconds),
        "examples_per_second": n_examples * len(steady) / max(sum(steady), 1e-9),
    }
    if initial is not None:
        out["initial_val_loss"] = initial
    return out


def predict_frame(model: FeatureInteractionModel, frame, batch_size: int = 8192):
    """Predictions of ``model`` for every row of ``frame`` (a ``pd.DataFrame`` with the feature columns).

    Returns:
      [len(frame)] float32 numpy array of ratings (rating task) or click probabilities (ctr).
    """
    import numpy as np

    from tfrec.features import frame_to_dataset

    ds = frame_to_dataset(frame, _feature_layers(model), batch_size=batch_size, cache=False)
    if len(frame) == 0:
        return np.zeros(0, np.float32)
    return model.predict(ds, verbose=0).reshape(-1).astype(np.float32)


def _feature_layers(model) -> list:
    from tfrec.features import FeatureLayer

    return [layer for layer in (getattr(model, n, None) for n in ("embedding_layer", "linear_layer"))
            if isinstance(layer, FeatureLayer)]


def criteo_features(numeric: str = "log", num_buckets: int = 10, min_count: int = 1,
                    hash_bins: Optional[int] = None, missing_indicator: bool = True,
                    numeric_columns: Sequence[str] = tuple(f"I{i}" for i in range(1, 14)),
                    categorical_columns: Sequence[str] = tuple(f"C{i}" for i in range(1, 27))) -> list:
    """Feature dicts for Criteo-style tables (``I1..I13`` counts, ``C1..C26`` hashed categories).

    Args:
      numeric: ``"log"`` (``log1p`` then z-score, projected; the usual Criteo transform),
        ``"bucketize"`` (training-quantile buckets, embedded; bucket 0 = missing) or ``"normalize"``.
      num_buckets: buckets per numeric column for ``"bucketize"`` (default 10).
      min_count: categories seen fewer times in training share the OOV bucket (default 1).
      hash_bins: hash categories into this many buckets instead of a vocabulary (default None).
      missing_indicator: add an is-missing input to log/normalize numerics (default True).
      numeric_columns, categorical_columns: column names (default the Criteo schema's).

    Returns:
      list of feature dicts for ``FeatureSpec.from_config`` / :func:`build_model`.
    """
    if numeric not in ("log", "bucketize", "normalize"):
        raise ValueError(
            f"Received an invalid value for numeric: {numeric!r}. Valid values: log, bucketize, normalize."
        )
    spec = []
    for c in numeric_columns:
        f = {"name": c, "kind": "numeric", "transform": numeric}
        if numeric == "bucketize":
            f["num_buckets"] = num_buckets
        else:
            f["missing_indicator"] = missing_indicator
        spec.append(f)
    for c in categorical_columns:
        f = {"name": c, "kind": "categorical"}
        if hash_bins:
            f["hash_bins"] = hash_bins
        else:
            f["min_count"] = min_count
        spec.append(f)
    return spec


# ------------------------------------------------------------------------------------------------
# the evaluator's Algorithm
# ------------------------------------------------------------------------------------------------

#: Features used when :class:`CTRRecommender` gets ``features=None``: the ids, plus whichever of the
#: MovieLens side features the training data has.
MOVIELENS_SIDE_FEATURES = (
    {"name": "raw_user_age", "kind": "numeric", "transform": "bucketize", "num_buckets": 10},
    {"name": "user_gender", "kind": "categorical"},
    {"name": "user_occupation_label", "kind": "categorical"},
    {"name": "user_zip_code", "kind": "categorical", "min_count": 2},
    {"name": "movie_genres", "kind": "multi_hot"},
    {"name": "year", "kind": "numeric", "transform": "bucketize", "num_buckets": 10},
)


class CTRRecommender(Algorithm):
    """DCN / DeepFM / FM / logistic regression as an evaluator :class:`~tfrec.recommenders.Algorithm`.

    ``fit`` joins the training frame with the user / item metadata of the
    :class:`~tfrec.data.training_data.TrainingData`, adapts the feature layers on the training rows,
    holds out ``validation_fraction`` of them for early stopping, and trains. ``predict`` /
    ``score`` build the user and item features of each pair from the training data (unknown ids go
    to the OOV buckets); a feature that is neither a user nor an item attribute (a context feature
    such as the timestamp) is filled with its training median (numbers) or left missing.

    Args:
      model: one of :data:`MODELS` (default ``"dcn"``).
      task: ``"rating"`` (predict ratings; ``predicts_ratings`` is then True) or ``"ctr"`` (the
        label is ``rating >= positive_threshold``; scores are click probabilities).
      features: list of feature dicts (``FeatureSpec`` config); default: user and item ids as
        categoricals plus the :data:`MOVIELENS_SIDE_FEATURES` present in the data.
      embedding_dim: field embedding size (default 16).
      model_params: dict of model parameters (see :func:`build_model`).
      epochs: maximum epochs (default 10); batch_size: default 1024; learning_rate: Adam, default 1e-3.
      validation_fraction: share of the training rows held out for early stopping (default 0.1;
        0 trains on all rows for ``epochs`` epochs).
      patience: early-stopping patience (default 2).
      positive_threshold: ctr task: ratings ``>=`` this are positives (default 4.0).
      clip: rating task: clip predictions to the training rating range (default True).
      seed: seed of the validation split, the shuffling and TensorFlow (default 42).
      name: display name.
    """

    def __init__(self, model: str = "dcn", task: str = "rating", features=None, embedding_dim: int = 16,
                 model_params: Optional[Dict[str, Any]] = None, epochs: int = 10, batch_size: int = 1024,
                 learning_rate: float = 1e-3, validation_fraction: float = 0.1, patience: int = 2,
                 positive_threshold: float = 4.0, clip: bool = True, seed: int = 42, name: Optional[str] = None):
        super().__init__()
        if model not in MODELS:
            raise ValueError(f"Received an invalid value for model: {model!r}. Valid values: {', '.join(MODELS)}.")
        check_task(task)
        if not 0.0 <= validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in [0, 1). Received: validation_fraction={validation_fraction!r}")
        self.model_name = model
        self.task = task
        self.features = None if features is None else list(features)
        self.embedding_dim = embedding_dim
        self.model_params = dict(model_params or {})
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.positive_threshold = positive_threshold
        self.clip = clip
        self.seed = seed
        self.name = name or model
        self.predicts_ratings = task == "rating"
        self.model: Optional[FeatureInteractionModel] = None
        self.fit_info: Optional[Dict[str, Any]] = None

    # -- fit ----------------------------------------------------------------------------------------
    def _full_frame(self, data):
        frame = data.frame
        for meta, key, ids in ((data.users, data.columns.user, data.user_ids),
                               (data.items, data.columns.item, data.item_ids)):
            if meta is None:
                continue
            # rows are aligned to the indices; take the ids from there (the id column may be named
            # "index" after TrainingData's reindex)
            meta = meta.drop(columns=[c for c in (key, "index") if c in meta.columns]).assign(**{key: ids})
            extra = [c for c in meta.columns if c != key and c not in frame.columns]
            if extra:
                frame = frame.merge(meta[[key] + extra], on=key, how="left")
        return frame

    def _spec(self, frame, cols):
        if self.features is not None:
            return self.features
        spec = [{"name": cols.user, "kind": "categorical"}, {"name": cols.item, "kind": "categorical"}]
        spec += [dict(f) for f in MOVIELENS_SIDE_FEATURES if f["name"] in frame.columns]
        if "raw_user_age" not in frame.columns and "bucketized_user_age" in frame.columns:
            spec.append({"name": "bucketized_user_age", "kind": "numeric"})
        return spec

    def _labels(self, frame, cols):
        import numpy as np

        if cols.rating is None or cols.rating not in frame.columns:
            raise ValueError(
                f"{type(self).__name__} needs a rating column ({cols.rating!r}) for its labels; the training "
                f"frame has {sorted(map(str, frame.columns))}."
            )
        ratings = frame[cols.rating].to_numpy(np.float32)
        if self.task == "rating":
            return ratings
        return (ratings >= self.positive_threshold).astype(np.float32)

    def fit(self, data):
        import numpy as np

        from tfrec.features import FeatureSpec, frame_to_dataset

        tf.keras.utils.set_random_seed(self.seed)
        self.data = data
        cols = data.columns
        frame = self._full_frame(data).copy()
        frame["__label__"] = self._labels(frame, cols)
        self.label_range_ = (float(frame["__label__"].min()), float(frame["__label__"].max()))
        self.spec = FeatureSpec.from_config(self._spec(frame, cols))
        perm = np.random.default_rng(self.seed).permutation(len(frame))
        n_val = int(round(self.validation_fraction * len(frame)))
        val, train = frame.iloc[perm[:n_val]], frame.iloc[perm[n_val:]]
        self.model = build_model(self.model_name, self.spec, train, task=self.task,
                                 embedding_dim=self.embedding_dim,
                                 initial_bias=initial_bias(train["__label__"], self.task), **self.model_params)
        layers = _feature_layers(self.model)
        train_ds = frame_to_dataset(train, layers, label="__label__", batch_size=self.batch_size, shuffle=True,
                                    seed=self.seed, encoder=layers[0])
        val_ds = (frame_to_dataset(val, layers, label="__label__", batch_size=8192, encoder=layers[0])
                  if n_val else None)
        self.fit_info = fit_model(self.model, train_ds, val_ds, epochs=self.epochs,
                                  learning_rate=self.learning_rate, patience=self.patience)
        self._build_lookup(frame, cols)
        return self

    def _build_lookup(self, frame, cols):
        """Per-user and per-item raw feature columns, and fill values of context columns."""
        import numpy as np
        import pandas as pd

        columns = list(dict.fromkeys(f.column for f in self.spec))
        key = lambda s: s.map(repr) if s.dtype == object else s  # noqa: E731  (lists are unhashable)
        user_cols, item_cols, context = [], [], {}
        for c in columns:
            if c == cols.user:
                user_cols.append(c)
            elif c == cols.item:
                item_cols.append(c)
            elif (key(frame[c]).groupby(frame[cols.item]).nunique(dropna=False) <= 1).all():
                item_cols.append(c)
            elif (key(frame[c]).groupby(frame[cols.user]).nunique(dropna=False) <= 1).all():
                user_cols.append(c)
            elif pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]):
                context[c] = float(np.nanmedian(frame[c].to_numpy(np.float64)))
            else:
                context[c] = None
        data = self.data
        users = frame.drop_duplicates(cols.user).set_index(cols.user).reindex(pd.Index(data.user_ids, name=cols.user))
        items = frame.drop_duplicates(cols.item).set_index(cols.item).reindex(pd.Index(data.item_ids, name=cols.item))
        # one extra last row for unknown ids (index -1): None everywhere -> OOV bucket / missing value.
        # object dtype keeps integer and boolean ids as they are beside that None.
        users = users.reset_index()[user_cols].astype(object)
        items = items.reset_index()[item_cols].astype(object)
        users.loc[len(users)] = [None] * len(user_cols)
        items.loc[len(items)] = [None] * len(item_cols)
        self._user_meta, self._item_meta, self._context = users, items, context

    # -- predict ------------------------------------------------------------------------------------
    def _pair_frame(self, users, items):
        import numpy as np
        import pandas as pd

        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        parts = {}
        for meta, idx in ((self._user_meta, users), (self._item_meta, items)):
            rows = meta.iloc[np.where(idx < 0, len(meta) - 1, idx)].reset_index(drop=True)
            for c in rows.columns:
                parts[c] = rows[c]
        frame = pd.DataFrame(parts)
        for c, fill in self._context.items():
            frame[c] = np.nan if fill is None else fill
        for f in self.spec:
            if f.kind == "multi_hot" and f.column in frame:
                frame[f.column] = [v if isinstance(v, (list, tuple, np.ndarray)) else [] for v in frame[f.column]]
        return frame

    def _require_fit(self):
        if self.model is None:
            raise RuntimeError(f"{type(self).__name__}.predict/score called before fit().")

    def _clip(self, pred):
        import numpy as np

        if self.task == "rating" and self.clip and getattr(self, "label_range_", None) is not None:
            return np.clip(pred, *self.label_range_)
        return pred

    def predict(self, users, items):
        self._require_fit()
        return self._clip(predict_frame(self.model, self._pair_frame(users, items)))

    def predict_frame(self, frame):
        """Predictions for a frame that holds every feature column (context features included)."""
        self._require_fit()
        return self._clip(predict_frame(self.model, frame))

    def score(self, users):
        import numpy as np

        self._require_fit()
        users = np.asarray(users, dtype=np.int64)
        n_items = self.data.n_items
        pairs_u = np.repeat(users, n_items)
        pairs_i = np.tile(np.arange(n_items), len(users))
        return self.predict(pairs_u, pairs_i).reshape(len(users), n_items)


class FMRecommender(CTRRecommender):
    """Factorization machine as an evaluator Algorithm (registry name ``fm``)."""

    def __init__(self, task: str = "rating", **kwargs):
        super().__init__(model="fm", task=task, **kwargs)


class LogisticRegressionRecommender(CTRRecommender):
    """Logistic / linear regression on the features as an evaluator Algorithm (registry name ``logreg``)."""

    def __init__(self, task: str = "rating", **kwargs):
        super().__init__(model="logreg", task=task, **kwargs)


__all__ = [
    "MODELS",
    "MOVIELENS_SIDE_FEATURES",
    "TASKS",
    "CTRRecommender",
    "FMRecommender",
    "LogisticRegressionRecommender",
    "FactorizationMachine",
    "FeatureInteractionModel",
    "build_model",
    "criteo_features",
    "fit_model",
    "predict_frame",
    "warm_start_from_lr",
    "LogisticRegression",
    "check_task",
    "field_embeddings",
    "flat_embeddings",
    "initial_bias",
    "linear_term",
    "make_task",
]
