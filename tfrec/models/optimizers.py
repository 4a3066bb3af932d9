"""The one optimizer factory of the models: a name and a learning rate to a Keras optimizer.

Built on ``tf.keras.optimizers.get``, so a name means the Keras optimizer of that name with its own
defaults (``"adam"`` is ``tf.keras.optimizers.Adam(learning_rate)``), in the current (not legacy)
optimizer implementation.
"""

from __future__ import annotations

import numbers
from typing import Any

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

__all__ = ["OPTIMIZERS", "make_optimizer"]

#: Names :func:`make_optimizer` accepts (case-insensitive).
OPTIMIZERS = ("adadelta", "adagrad", "adam", "adamax", "adamw", "ftrl", "nadam", "rmsprop", "sgd")


def make_optimizer(name: str, learning_rate: float, **kwargs: Any) -> tf.keras.optimizers.Optimizer:
    """A Keras optimizer by name.

    Args:
      name: one of :data:`OPTIMIZERS`, case-insensitive, e.g. ``"adam"`` or ``"Adagrad"``.
      learning_rate: positive float, or a ``tf.keras.optimizers.schedules.LearningRateSchedule``.
      **kwargs: further arguments of that optimizer's constructor (e.g. ``beta_1``, ``momentum``,
        ``weight_decay``, ``clipnorm``).

    Returns:
      A new ``tf.keras.optimizers.Optimizer``.

    Raises:
      ValueError: ``name`` is not one of :data:`OPTIMIZERS` (the message lists them), the learning
        rate is not positive, or an argument does not belong to that optimizer.

    Example:

    >>> opt = make_optimizer("adam", 0.01)
    >>> type(opt).__name__, round(float(opt.learning_rate), 4)
    ('Adam', 0.01)
    """
    key = str(name).lower() if isinstance(name, str) else None
    if key not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {name!r}. Valid optimizers: {', '.join(OPTIMIZERS)}.")
    if not isinstance(learning_rate, tf.keras.optimizers.schedules.LearningRateSchedule):
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real) or learning_rate <= 0:
            raise ValueError(
                f"learning_rate must be a positive number or a LearningRateSchedule. Received: "
                f"learning_rate={learning_rate!r}"
            )
    config = {"learning_rate": learning_rate, **kwargs, "is_legacy_optimizer": False}
    try:
        return tf.keras.optimizers.get({"class_name": key, "config": config})
    except TypeError as e:
        raise ValueError(f"Invalid argument(s) for optimizer {key!r}: {sorted(kwargs)}. {e}") from e
