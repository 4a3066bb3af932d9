"""Feature inputs of the feature-based recommenders: frames to tensors, and the all-unknown row."""

from __future__ import annotations

from typing import Dict

import numpy as np
import pandas as pd

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.features import FeatureLayer, FeatureSpec, frame_to_tensors


def oov_frame(spec: FeatureSpec, n: int = 1) -> pd.DataFrame:
    """A frame of ``n`` rows with every feature missing (ids -> OOV, numbers -> NaN, lists empty)."""
    cols = {}
    for f in spec:
        if f.kind == "categorical":
            cols[f.column] = [""] * n
        elif f.kind == "multi_hot":
            cols[f.column] = [[] for _ in range(n)]
        elif f.kind == "text":
            cols[f.column] = [""] * n
        else:
            cols[f.column] = [np.nan] * n
    return pd.DataFrame(cols)


def feature_tensors(layer: FeatureLayer, frame: pd.DataFrame) -> Dict[str, tf.Tensor]:
    """Raw input tensors of ``layer``'s features from ``frame`` (strings as ``tf.string``)."""
    return {k: tf.constant(v.astype(str)) if v.dtype == object else tf.constant(v)
            for k, v in frame_to_tensors(frame, layer).items()}


__all__ = ["feature_tensors", "oov_frame"]
