"""A model server with TensorFlow Serving's REST and gRPC APIs, plus clients.

Public API (imported on first use, so ``import serving`` is light):

* :class:`ModelServer` -- REST + gRPC over a :class:`ModelManager` (polling, versions, batching,
  draining on SIGTERM); :func:`tfserving_command` -- the equivalent real ``tensorflow_model_server``
  command line.
* :class:`ModelConfig`, :func:`parse_config_file`, :func:`configs_from_base_path` -- what to serve.
* :class:`BatchOptions` -- server-side batching.
* :class:`RestClient`, :class:`GrpcClient`, :class:`ServingClientError` -- clients.
* :class:`ServingError` -- an error with TF Serving's code and HTTP status.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "ModelServer": "serving.server",
    "tfserving_command": "serving.server",
    "find_tensorflow_model_server": "serving.server",
    "ModelManager": "serving.manager",
    "ModelConfig": "serving.config",
    "VersionPolicy": "serving.config",
    "ModelConfigError": "serving.config",
    "parse_config_file": "serving.config",
    "parse_policy": "serving.config",
    "configs_from_base_path": "serving.config",
    "BatchOptions": "serving.batching",
    "RestClient": "serving.client",
    "GrpcClient": "serving.client",
    "ServingClientError": "serving.client",
    "ServingError": "serving.errors",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'serving' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
