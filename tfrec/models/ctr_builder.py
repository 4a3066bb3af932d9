"""Builds the rating / CTR models (DCN, DeepFM, FM, logistic regression) from a feature spec.

:func:`build_model` makes one of :data:`MODELS` with its feature layers adapted on the training
rows; :func:`warm_start_from_lr` starts a DCN / DeepFM / FM as a trained logistic regression;
:func:`criteo_features` is the feature spec of Criteo-style tables; :func:`feature_layers` lists a
built model's feature layers (what ``frame_to_dataset`` needs to encode its inputs).
"""

from __future__ import annotations

from typing import Optional, Sequence

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)

import tensorflow as tf

from tfrec.features import FeatureLayer
from tfrec.layers.interaction import CrossNetwork
from tfrec.layers.mlp import MLP
from tfrec.models.dcn import DCN
from tfrec.models.deepfm import DeepFM
from tfrec.models.feature_interaction import FeatureInteractionModel, check_task
from tfrec.models.fm import FactorizationMachine
from tfrec.models.logreg import LogisticRegression


#: Model names of :func:`build_model` (and of the ``model`` argument of
#: :class:`tfrec.recommenders.ctr.CTRRecommender`).
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
                initial_bias: float = 0.0, adapted_state=None, **params) -> FeatureInteractionModel:
    """Builds (and adapts) one of :data:`MODELS` on a feature spec.

    Args:
      model: ``"dcn"``, ``"deepfm"``, ``"fm"`` or ``"logreg"``.
      spec: ``FeatureSpec`` or list of feature dicts (see :mod:`tfrec.features`).
      train_frame: optional training ``pd.DataFrame``; when given, the feature layers are adapted
        on it (vocabularies and statistics from the training rows only).
      adapted_state: optional vocabularies / statistics per feature (``FeatureLayer.adapted_state``)
        computed elsewhere (e.g. in a streaming pass over shards), instead of ``train_frame``.
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
    from tfrec.models.ctr_builder import build_model

    frame = pd.DataFrame({"user": ["a", "b", "a"], "item": ["x", "y", "y"], "label": [1.0, 0.0, 1.0]})
    spec = [{"name": "user", "kind": "categorical"}, {"name": "item", "kind": "categorical"}]
    model = build_model("deepfm", spec, frame, task="ctr", embedding_dim=4, deep_layers=[8])
    ```
    """
    if model not in MODELS:
        raise ValueError(f"Received an invalid value for model: {model!r}. Valid values: {', '.join(MODELS)}.")
    check_task(task)
    unknown = sorted(set(params) - _MODEL_PARAMS[model])
    if unknown:
        raise ValueError(
            f"Model {model!r} got unknown parameter(s) {unknown}. Valid parameters: {sorted(_MODEL_PARAMS[model])}."
        )
    embedding_l2 = params.get("embedding_l2", 0.0)

    # FM / DeepFM: numeric projections start on the scale of the embedding tables (uniform +-0.05).
    # With Dense's glorot_uniform a z-scored count gets a first-order weight up to +-1.4 (fan 1+1 -> 1)
    # and a 16-d vector of entries up to +-0.58: summed over 13 fields and 78 numeric pairs the initial
    # logit has a spread of several units (first-order std ~3, pairwise std ~5 on criteo-10k) and the
    # model starts saturated (log loss ~2 against ~0.51 for the base rate). DCN and LR keep the default.
    projection_init = "uniform" if model in ("fm", "deepfm") else "glorot_uniform"

    def features(dim, name):
        table_l2 = params.get("table_l2", 0.0) if name == "embedding" else 0.0
        layer = FeatureLayer(spec, embedding_dim=dim, output_mode="stack", name=name,
                             embeddings_regularizer=tf.keras.regularizers.l2(table_l2) if table_l2 else None,
                             projection_initializer=projection_init, adapted_state=adapted_state)
        if train_frame is not None and adapted_state is None:
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
        return DeepFM(features(embedding_dim, "embedding"), linear_layer=linear, deep_network=deep([200, 200, 200]),
                      top_layer=top(), fm_gate=params.get("fm_gate", False), **common)
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


def feature_layers(model) -> list:
    """The ``FeatureLayer`` s of a built model: its ``embedding_layer`` and ``linear_layer`` where it has them."""
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


__all__ = ["MODELS", "build_model", "criteo_features", "feature_layers", "warm_start_from_lr"]
