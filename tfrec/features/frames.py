"""DataFrames to feature tensors and ``tf.data`` datasets: :func:`frame_to_tensors`, :func:`frame_to_dataset`."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.features.columns import check_columns, to_float, to_tf, feature_arrays
from tfrec.features.layer import FeatureLayer
from tfrec.features.spec import ENCODED_SUFFIX, Feature, FeatureSpec


def _specs_of(spec) -> List[Feature]:
    """Features of a FeatureSpec / FeatureLayer / list of dicts / sequence of those (merged)."""
    if isinstance(spec, FeatureLayer):
        return list(spec.spec)
    if isinstance(spec, FeatureSpec):
        return list(spec)
    if isinstance(spec, Sequence) and spec and all(isinstance(s, (FeatureSpec, FeatureLayer)) for s in spec):
        merged: Dict[str, Feature] = {}
        for s in spec:
            for f in _specs_of(s):
                if f.name in merged and merged[f.name] != f:
                    raise ValueError(f"Feature {f.name!r} is defined twice with different settings.")
                merged[f.name] = f
        return list(merged.values())
    return list(FeatureSpec.coerce(spec))


def _layers_of(spec) -> List["FeatureLayer"]:
    if isinstance(spec, FeatureLayer):
        return [spec]
    if isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        return [s for s in spec if isinstance(s, FeatureLayer)]
    return []


def _adapted_lengths(spec) -> Dict[str, int]:
    """Padded multi_hot lengths fixed by the adapted FeatureLayers in ``spec``."""
    lengths: Dict[str, int] = {}
    for layer in _layers_of(spec):
        for name, state in (layer.adapted_state or {}).items():
            if "max_length" in state:
                lengths[name] = int(state["max_length"])
    return lengths


def frame_to_tensors(frame: pd.DataFrame, spec, max_lengths: Optional[Mapping[str, int]] = None) -> Dict[str, np.ndarray]:
    """Raw input arrays of ``spec``'s features from ``frame``, keyed by column.

    Args:
      frame: DataFrame holding every column the spec reads.
      spec: FeatureSpec, FeatureLayer, list of feature dicts, or a sequence of specs/layers.
      max_lengths: optional padded length per multi_hot feature name; an adapted FeatureLayer
        supplies its own.

    Returns:
      dict column -> numpy array: categorical ``[n]`` str (missing -> ""), numeric ``[n]`` float32
      (missing -> NaN), timestamp ``[n]`` float64, multi_hot ``[n, max_length]`` str padded with "",
      text ``[n]`` str.
    """
    return feature_arrays(frame, _specs_of(spec), {**_adapted_lengths(spec), **dict(max_lengths or {})})


def frame_to_dataset(
    frame: pd.DataFrame,
    spec,
    label: Optional[str] = None,
    batch_size: int = 1024,
    shuffle: bool = False,
    seed: Optional[int] = None,
    encoder: Optional["FeatureLayer"] = None,
    extra_columns: Sequence[str] = (),
    cache: bool = True,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """A batched ``tf.data.Dataset`` of ``spec``'s feature columns of ``frame``.

    Args:
      frame: DataFrame with every column the spec reads (plus ``label`` and ``extra_columns``).
      spec: FeatureSpec, FeatureLayer, list of feature dicts, or a sequence of specs/layers (merged,
        e.g. ``[query_layer, candidate_layer]``).
      label: optional label column; the dataset then yields ``(features, label)`` with a float32
        ``[batch]`` label, else ``features`` alone.
      batch_size: examples per batch, default 1024.
      shuffle: reshuffle the examples every epoch.
      seed: shuffle seed.
      encoder: optional adapted FeatureLayer (or sequence of them): its features are encoded once here
        (vocabulary indices, see :meth:`FeatureLayer.encode`) and given under
        ``name + ENCODED_SUFFIX`` instead of the raw column, so training skips the lookups.
      extra_columns: numeric columns passed through unchanged as float32 (e.g. a sampling probability).
      cache: cache the (encoded) examples in memory after the first epoch.
      drop_remainder: drop the last incomplete batch.

    Returns:
      A dataset of dicts of ``[batch, ...]`` tensors.

    Example:

    >>> frame = pd.DataFrame({"user_id": ["a", "b", "a"], "age": [20.0, 30.0, None]})
    >>> ds = frame_to_dataset(frame, [{"name": "user_id", "kind": "categorical"},
    ...                               {"name": "age", "kind": "numeric"}], batch_size=2)
    >>> sorted(next(iter(ds)))
    ['age', 'user_id']
    """
    if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer. Received: batch_size={batch_size!r}")
    needed = list(extra_columns) + ([label] if label is not None else [])
    check_columns(frame, needed, what="dataset")
    encoders = [] if encoder is None else ([encoder] if isinstance(encoder, FeatureLayer) else list(encoder))
    encoded_names = set()
    tensors: Dict[str, tf.Tensor] = {}
    for enc in encoders:
        for key, value in enc.encode_frame(frame).items():
            tensors[key] = value
            encoded_names.add(key[: -len(ENCODED_SUFFIX)])
    raw_features = [f for f in _specs_of(spec) if f.name not in encoded_names]
    if raw_features:
        lengths = _adapted_lengths(spec)
        for col, arr in feature_arrays(frame, raw_features, lengths).items():
            tensors[col] = to_tf(arr)
    for col in extra_columns:
        tensors[col] = tf.constant(to_float(frame[col], col))
    data: Any = tensors
    if label is not None:
        data = (tensors, tf.constant(to_float(frame[label], label)))
    ds = tf.data.Dataset.from_tensor_slices(data)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(frame), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.prefetch(tf.data.AUTOTUNE)


__all__ = ["frame_to_dataset", "frame_to_tensors"]
