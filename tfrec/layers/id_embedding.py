"""Integer-id embeddings that read a zero vector for unknown ids, and the argument checks of the NCF layers.

:func:`id_embedding` makes a table with one extra row (index ``n``) for ids outside ``[0, n)``;
:func:`safe_index` maps such ids to that row and returns the mask that zeroes it on read.
"""

from __future__ import annotations

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf


def check_positive_int(name: str, value) -> int:
    """``value`` as an int; a ValueError naming ``name`` unless it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"Received an invalid value for {name}, expected a positive integer. Received: {name}={value!r}")
    return int(value)


def check_non_negative(name: str, value) -> float:
    """``value`` as a float; a ValueError naming ``name`` unless it is a number >= 0."""
    if not isinstance(value, (int, float, np.floating, np.integer)) or value < 0:
        raise ValueError(f"Received an invalid value for {name}, expected a float >= 0. Received: {name}={value!r}")
    return float(value)


def check_units(hidden_units) -> list:
    """``hidden_units`` as a non-empty list of positive ints (layer sizes of a tower)."""
    if isinstance(hidden_units, (int, np.integer)):
        raise ValueError(
            f"hidden_units must be a sequence of positive integers such as [32, 16, 8]. Received: hidden_units={hidden_units!r}"
        )
    units = list(hidden_units)
    if not units:
        raise ValueError("hidden_units must hold at least one layer size, e.g. [32, 16, 8]. Received: hidden_units=[]")
    return [check_positive_int("hidden_units[%d]" % k, u) for k, u in enumerate(units)]


def safe_index(idx, n: int):
    """Maps indices outside [0, n) to the extra row n and returns (index, [batch, 1] mask)."""
    idx = tf.cast(tf.reshape(idx, [-1]), tf.int32)
    known = tf.logical_and(idx >= 0, idx < n)
    return tf.where(known, idx, n), tf.cast(known, tf.float32)[:, None]


def id_embedding(n: int, dim: int, stddev: float, l2: float, name: str) -> tf.keras.layers.Embedding:
    """An ``Embedding`` of ``n + 1`` rows of size ``dim``: the extra row (index ``n``) is for unknown ids
    and is masked to zero on read (:func:`safe_index`); normal(``stddev``) init, optional L2 ``l2``."""
    return tf.keras.layers.Embedding(
        n + 1, dim,
        embeddings_initializer=tf.keras.initializers.RandomNormal(stddev=stddev),
        embeddings_regularizer=tf.keras.regularizers.L2(l2) if l2 > 0 else None,
        name=name,
    )


__all__ = ["check_non_negative", "check_positive_int", "check_units", "id_embedding", "safe_index"]
