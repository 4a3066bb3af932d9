"""pandas side of the features: raw column values -> the arrays a FeatureLayer accepts.

Categorical ids become strings (missing -> ""), numbers float arrays (missing -> NaN), list columns
padded string matrices, text strings. :func:`feature_arrays` does it for a list of features.
"""

from __future__ import annotations

import math
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.features.spec import Feature


def check_columns(frame: pd.DataFrame, columns: Iterable[str], what: str = "feature spec") -> None:
    """Raises a KeyError naming the ``columns`` that ``frame`` lacks and the columns it has."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(
            f"The {what} names column(s) {missing} that the frame does not have. "
            f"Available columns: {sorted(map(str, frame.columns))}. Fix the feature's 'column' "
            f"(or 'name') or add the column to the frame."
        )


def ids_to_str(series: pd.Series, name: str) -> np.ndarray:
    """Categorical ids as strings, exactly as ``_tf_ids_to_str`` renders them in the graph."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype(np.int64).astype(str).to_numpy(dtype=object)
    if pd.api.types.is_float_dtype(series.dtype):
        raise TypeError(
            f"Categorical feature {name!r} has float column dtype {series.dtype}; ids must be strings, "
            f"integers or booleans. Cast the column (e.g. frame[col].astype('Int64').astype(str))."
        )
    values = series.to_numpy(dtype=object)
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            out[i] = ""
        elif isinstance(v, (bool, np.bool_)):
            out[i] = str(int(v))
        elif isinstance(v, bytes):
            out[i] = v.decode("utf-8")
        else:
            out[i] = str(v)
    return out


def list_column(series: pd.Series, name: str) -> List[List[str]]:
    """A multi_hot column as lists of strings (missing -> []); a string value is an error."""
    out = []
    for v in series.to_numpy(dtype=object):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append([])
        elif isinstance(v, (str, bytes)):
            raise TypeError(
                f"multi_hot feature {name!r} expects list values (e.g. [4, 7]); received the string {v!r}. "
                f"Split it first, e.g. frame[col].str.split('|')."
            )
        else:
            out.append([str(int(x)) if isinstance(x, (bool, np.bool_)) else
                        (x.decode() if isinstance(x, bytes) else str(x)) for x in v])
    return out


def pad_lists(lists: List[List[str]], max_length: int) -> np.ndarray:
    """[n, max_length] object array of the lists, cut to ``max_length`` and padded with ""."""
    out = np.full((len(lists), max_length), "", dtype=object)
    for i, values in enumerate(lists):
        values = values[:max_length]
        out[i, : len(values)] = values
    return out


def to_float(series: pd.Series, name: str, dtype=np.float32) -> np.ndarray:
    """The column as a float array (missing -> NaN); a TypeError names feature ``name`` otherwise."""
    try:
        return pd.to_numeric(series, errors="raise").to_numpy(dtype=dtype, na_value=np.nan)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"Feature {name!r} needs numbers; column {series.name!r} has dtype {series.dtype} "
            f"(first values: {series.head(3).tolist()}). Convert it or use kind 'categorical'."
        ) from e


def raw_array(frame: pd.DataFrame, feature: Feature, max_length: Optional[int]) -> np.ndarray:
    """The raw input array of one feature (see :func:`feature_arrays`)."""
    col = frame[feature.column]
    if feature.kind == "categorical":
        return ids_to_str(col, feature.name)
    if feature.kind == "numeric":
        return to_float(col, feature.name)
    if feature.kind == "timestamp":
        return to_float(col, feature.name, np.float64)
    if feature.kind == "multi_hot":
        lists = list_column(col, feature.name)
        if max_length is None:
            max_length = max(1, max((len(v) for v in lists), default=1))
        return pad_lists(lists, max_length)
    # text
    return np.asarray([("" if (v is None or (isinstance(v, float) and math.isnan(v))) else str(v))
                       for v in col.to_numpy(dtype=object)], dtype=object)


def to_tf(array: np.ndarray) -> tf.Tensor:
    """A numpy array as a tensor; object (string) arrays become ``tf.string``."""
    if array.dtype == object:
        return tf.constant(array.astype(str), dtype=tf.string)
    return tf.constant(array)


def feature_arrays(frame: pd.DataFrame, features: Sequence[Feature],
                   lengths: Optional[Mapping[str, int]] = None) -> Dict[str, np.ndarray]:
    """Raw input arrays of ``features`` from ``frame``, keyed by column (one array per column).

    Args:
      frame: DataFrame holding every column the features read.
      features: the features.
      lengths: padded length per multi_hot feature name (default: the feature's ``max_length``,
        else the longest list in ``frame``).

    Returns:
      dict column -> numpy array (see :func:`tfrec.features.frames.frame_to_tensors`).
    """
    check_columns(frame, [f.column for f in features])
    lengths = dict(lengths or {})
    out: Dict[str, np.ndarray] = {}
    for f in features:
        if f.column in out:
            continue
        out[f.column] = raw_array(frame, f, lengths.get(f.name, f.max_length))
    return out


__all__ = ["check_columns", "feature_arrays", "ids_to_str", "list_column", "pad_lists", "raw_array",
           "to_float", "to_tf"]
