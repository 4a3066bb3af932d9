"""Export trained models as TensorFlow Serving SavedModels (``<base>/<name>/<version>/``).

Public API (TensorFlow is imported only when a TF-using name is first used, so the layout helpers
stay usable from light processes):

* layout: :func:`atomic_version_dir`, :func:`list_versions`, :func:`next_version`,
  :func:`write_models_config`, :func:`clean_stale_temp_dirs`.
* warm-up: :func:`write_warmup_requests`, :func:`read_warmup_requests`.
* ScaNN: :class:`ScannSettings`, :class:`ScannTuning`, :func:`build_scann`, :func:`tune_scann`.
* retrieval: :class:`RetrievalModule`, :func:`export_retrieval` (``<name>`` brute force and
  ``<name>_scann``).
* other signatures: :func:`export_ranking` (features -> ``score``), :func:`export_ctr`
  (features -> ``probability``), :func:`export_session` (``item_ids`` sequence -> next-item top-k),
  :func:`export_signatures` (any ``tf.function``\\ s).
* run folders: :func:`export_run` (``tfrec export RUN_DIR``).
"""

from __future__ import annotations

import importlib

from tfrec.export.layout import (
    atomic_version_dir,
    clean_stale_temp_dirs,
    list_versions,
    next_version,
    version_path,
    write_models_config,
)

_LAZY = {
    "write_warmup_requests": "tfrec.export.warmup",
    "read_warmup_requests": "tfrec.export.warmup",
    "ScannSettings": "tfrec.export.scann_index",
    "ScannTuning": "tfrec.export.scann_index",
    "build_scann": "tfrec.export.scann_index",
    "tune_scann": "tfrec.export.scann_index",
    "RetrievalModule": "tfrec.export.retrieval",
    "RetrievalExport": "tfrec.export.retrieval",
    "export_retrieval": "tfrec.export.retrieval",
    "export_signatures": "tfrec.export.signatures",
    "export_ranking": "tfrec.export.signatures",
    "export_ctr": "tfrec.export.signatures",
    "export_session": "tfrec.export.signatures",
    "SessionTopKModule": "tfrec.export.signatures",
    "PairScoringModule": "tfrec.export.signatures",
    "FeatureModelModule": "tfrec.export.signatures",
    "export_run": "tfrec.export.run",
}

__all__ = [
    "atomic_version_dir",
    "clean_stale_temp_dirs",
    "list_versions",
    "next_version",
    "version_path",
    "write_models_config",
    *_LAZY,
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tfrec.export' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
