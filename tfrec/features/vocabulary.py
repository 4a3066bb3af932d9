"""Vocabularies and statistics :meth:`FeatureLayer.adapt` computes from the training rows."""

from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np
import pandas as pd

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf


def value_vocabulary(values: np.ndarray, min_count: int, max_tokens: Optional[int]) -> List[str]:
    """Values seen at least ``min_count`` times ("" left out), most frequent first, ties by value."""
    values = values[values != ""]
    counts = pd.Series(values, dtype=object).value_counts(sort=False)
    counts = counts[counts >= min_count]
    # most frequent first, ties by value: deterministic
    order = sorted(zip(-counts.to_numpy(), counts.index.astype(str)))
    vocab = [v for _, v in order]
    return vocab[:max_tokens] if max_tokens else vocab


#: TextVectorization's default standardization ("lower_and_strip_punctuation").
STRIP_REGEX = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'


def text_vocabulary(texts: np.ndarray, max_tokens: Optional[int]) -> List[str]:
    """Tokens of ``texts`` as TextVectorization splits them, most frequent first (ties by token)."""
    standardized = tf.strings.regex_replace(tf.strings.lower(tf.constant(texts.astype(str))), STRIP_REGEX, "")
    tokens = tf.strings.split(standardized).flat_values.numpy()
    values, counts = np.unique(tokens, return_counts=True)
    order = np.lexsort((values, -counts))
    vocab = [v.decode("utf-8") for v in values[order] if v]
    return vocab[:max_tokens] if max_tokens else vocab


def quantile_boundaries(x: np.ndarray, num_buckets: int) -> List[float]:
    """Distinct inner quantiles of ``x`` (NaN left out) cutting it into ``num_buckets`` buckets."""
    x = x[~np.isnan(x)]
    if x.size == 0:
        return []
    qs = np.quantile(x, np.linspace(0, 1, num_buckets + 1)[1:-1])
    return [float(b) for b in np.unique(qs)]


def mean_std(x: np.ndarray) -> Dict[str, float]:
    """``{"mean", "std"}`` of ``x`` without NaN (std 1.0 when 0 or no values)."""
    x = x[~np.isnan(x)]
    if x.size == 0:
        return {"mean": 0.0, "std": 1.0}
    std = float(np.std(x))
    return {"mean": float(np.mean(x)), "std": std if std > 0 else 1.0}


__all__ = ["STRIP_REGEX", "mean_std", "quantile_boundaries", "text_vocabulary", "value_vocabulary"]
