"""Layers as constructor arguments: serialized in a model's ``get_config``, rebuilt in ``from_config``.

Every model here that takes its parts as layers (towers, embedding layers, cross / deep networks)
writes them with :func:`serialize_layer` and accepts either a layer or that config back through
:func:`deserialize_layer`, so ``Model.from_config(model.get_config())`` round-trips.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Union

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

__all__ = ["deserialize_layer", "serialize_layer"]


def serialize_layer(layer: Optional[tf.keras.layers.Layer]) -> Optional[Dict[str, Any]]:
    """``tf.keras.layers.serialize(layer)``, or None for None."""
    return None if layer is None else tf.keras.layers.serialize(layer)


def deserialize_layer(config: Union[None, tf.keras.layers.Layer, Dict[str, Any]]) -> Optional[tf.keras.layers.Layer]:
    """The layer of a :func:`serialize_layer` config; a layer or None is returned as it is."""
    if config is None or isinstance(config, tf.keras.layers.Layer):
        return config
    return tf.keras.layers.deserialize(config)
