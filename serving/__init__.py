"""A model server with TensorFlow Serving's REST and gRPC APIs, plus clients.

Public API (imported on first use, so ``import serving`` is light):

* :class:`ModelServer` -- REST + gRPC over a :class:`ModelManager` (polling, versions, batching,
  draining on SIGTERM); :func:`tfserving_command` -- the equivalent real ``tensorflow_model_server``
  command line.
* :class:`ModelConfig`, :func:`parse_config_file`, :func:`configs_from_base_path` -- what to serve.
* :class:`BatchOptions` -- server-side batching; :class:`RequestLimits` -- rows, ``exclude_items``,
  body size, deadlines and connections per request.
* :class:`RestServer` -- the REST API's HTTP server (uvicorn).
* :class:`RestClient`, :class:`GrpcClient`, :class:`ServingClientError` -- clients.
* :class:`ServingError` -- an error with TF Serving's code and HTTP status.
"""

from __future__ import annotations

if __name__ != "tfrec.serving":  # the source folder serving/ is not a package of its own
    raise ImportError(f"{__name__!r} is not importable: the serving package is 'tfrec.serving' (import tfrec.serving).")

import importlib

_LAZY = {
    "ModelServer": "tfrec.serving.server",
    "tfserving_command": "tfrec.serving.server",
    "find_tensorflow_model_server": "tfrec.serving.server",
    "ModelManager": "tfrec.serving.manager",
    "ModelConfig": "tfrec.serving.config",
    "VersionPolicy": "tfrec.serving.config",
    "ModelConfigError": "tfrec.serving.config",
    "parse_config_file": "tfrec.serving.config",
    "parse_policy": "tfrec.serving.config",
    "configs_from_base_path": "tfrec.serving.config",
    "BatchOptions": "tfrec.serving.batching",
    "RequestLimits": "tfrec.serving.limits",
    "RestServer": "tfrec.serving.rest_server",
    "RestClient": "tfrec.serving.client",
    "GrpcClient": "tfrec.serving.client",
    "ServingClientError": "tfrec.serving.client",
    "ServingError": "tfrec.serving.errors",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'serving' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
