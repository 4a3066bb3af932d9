"""Warm-up requests: ``assets.extra/tf_serving_warmup_requests``, a TFRecord of ``PredictionLog``.

TF Serving (and ``tfrec serve``) replays these requests when it loads a version, before the version
takes traffic, so the first real request does not pay for graph initialisation. TF Serving reads at
most 1000 records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Union

import numpy as np

WARMUP_FILE = "tf_serving_warmup_requests"
MAX_WARMUP_RECORDS = 1000


def warmup_path(version_dir: Union[str, Path]) -> Path:
    """``<version_dir>/assets.extra/tf_serving_warmup_requests``."""
    return Path(version_dir) / "assets.extra" / WARMUP_FILE


def write_warmup_requests(version_dir: Union[str, Path], model_name: str,
                          requests: Sequence[tuple]) -> Path:
    """Writes predict warm-up requests into ``version_dir``.

    Args:
      version_dir: the (temporary) version folder of a SavedModel.
      model_name: written into each request's ``model_spec.name``.
      requests: ``(signature_name, inputs)`` pairs; ``inputs`` maps each input name of the signature
        to an array (strings as ``str``/``bytes``), with the batch dimension first.

    Returns:
      The file written.

    Raises:
      ValueError: more than 1000 requests (TF Serving reads at most 1000), or none.
    """
    import tensorflow as tf
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    if not requests:
        raise ValueError("write_warmup_requests needs at least one (signature_name, inputs) pair.")
    if len(requests) > MAX_WARMUP_RECORDS:
        raise ValueError(f"TF Serving replays at most {MAX_WARMUP_RECORDS} warm-up requests; received {len(requests)}.")
    path = warmup_path(version_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature_name, inputs in requests:
            req = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature_name))
            for key, value in inputs.items():
                req.inputs[key].CopyFrom(tf.make_tensor_proto(_as_array(value)))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=req))
            writer.write(log.SerializeToString())
    return path


def read_warmup_requests(version_dir: Union[str, Path]) -> List["object"]:
    """The ``PredictRequest`` protos of a version's warm-up file (empty list where it has none)."""
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    path = warmup_path(version_dir)
    if not path.is_file():
        return []
    out = []
    for i, record in enumerate(tf.data.TFRecordDataset(str(path)).as_numpy_iterator()):
        if i >= MAX_WARMUP_RECORDS:
            break
        log = prediction_log_pb2.PredictionLog.FromString(record)
        if log.WhichOneof("log_type") == "predict_log":
            out.append(log.predict_log.request)
    return out


def _as_array(value) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind in ("U", "O"):
        arr = np.vectorize(lambda v: v.encode() if isinstance(v, str) else v, otypes=[object])(arr) if arr.size else arr.astype(object)
    return arr


def example_inputs(features: Mapping[str, np.ndarray], n: int = 4) -> Dict[str, np.ndarray]:
    """The first ``n`` rows of each feature array (a small warm-up batch)."""
    return {k: _as_array(v)[:n] for k, v in features.items()}
