"""Clients of TensorFlow Serving's REST and gRPC APIs (they work with ``tfrec serve`` and real TF Serving).

Both clients take the same arguments and return plain Python/numpy values::

    client = RestClient("http://localhost:8501")            # or GrpcClient("localhost:8500")
    out = client.predict("movies", {"user_id": ["42"]})     # {"item_ids": [[...]], "scores": [[...]]}
    client.status("movies")                                 # [{"version": 3, "state": "AVAILABLE", ...}]
    client.metadata("movies")                               # {"serving_default": {"inputs": ..., "outputs": ...}}

Errors raise :class:`ServingClientError` with the server's code and message.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any, Dict, List, Mapping, Optional

import numpy as np


class ServingClientError(RuntimeError):
    """A request failed.

    Attributes:
      status: the HTTP status (REST) or the ``grpc.StatusCode`` name (gRPC).
      message: the server's error message (``{"error": ...}`` of the REST API).
    """

    def __init__(self, status, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype == object or value.dtype.kind in "SU":
            return _jsonable(value.tolist())
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"b64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _model_path(model: str, version: Optional[int]) -> str:
    path = f"/v1/models/{model}"
    return path + (f"/versions/{int(version)}" if version is not None else "")


class RestClient:
    """TF Serving REST client over ``urllib`` (no extra dependency).

    Args:
      url: server root, e.g. ``http://localhost:8501``.
      timeout: seconds per request.
    """

    def __init__(self, url: str, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, payload: Optional[dict] = None) -> Dict[str, Any]:
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            body = e.read().decode("utf-8", "replace")
            try:
                message = json.loads(body).get("error", body)
            except (ValueError, AttributeError):
                message = body
            raise ServingClientError(e.code, message) from None
        except urllib.error.URLError as e:
            raise ServingClientError("UNAVAILABLE", f"cannot reach {self.url}: {e.reason}") from None

    def predict(self, model: str, inputs: Mapping[str, Any], signature: str = "serving_default",
                version: Optional[int] = None, row_format: bool = False) -> Dict[str, Any]:
        """Runs a predict request; returns output name -> nested lists (batch first).

        Args:
          model: model name.
          inputs: input name -> batch of values (lists or arrays; ``bytes`` that are not UTF-8 are sent
            as ``{"b64": ...}``).
          signature: signature name.
          version: a specific version; default the latest.
          row_format: send ``instances`` (row format) instead of ``inputs`` (columnar).
        """
        cols = {k: _jsonable(v) for k, v in inputs.items()}
        if row_format:
            n = len(next(iter(cols.values())))
            body = {"signature_name": signature, "instances": [{k: v[i] for k, v in cols.items()} for i in range(n)]}
            preds = self._call("POST", _model_path(model, version) + ":predict", body)["predictions"]
            if preds and isinstance(preds[0], dict):
                return {k: [p[k] for p in preds] for k in preds[0]}
            return {"output": preds}
        out = self._call("POST", _model_path(model, version) + ":predict", {"signature_name": signature, "inputs": cols})
        outputs = out["outputs"]
        return outputs if isinstance(outputs, dict) else {"output": outputs}

    def status(self, model: str, version: Optional[int] = None) -> List[Dict[str, Any]]:
        """``model_version_status`` entries with integer versions."""
        entries = self._call("GET", _model_path(model, version))["model_version_status"]
        return [dict(e, version=int(e["version"])) for e in entries]

    def metadata(self, model: str, version: Optional[int] = None) -> Dict[str, Any]:
        """Signature defs: signature name -> ``{"inputs", "outputs", "method_name"}``."""
        meta = self._call("GET", _model_path(model, version) + "/metadata")
        return meta["metadata"]["signature_def"]["signature_def"]


class GrpcClient:
    """TF Serving gRPC client with the official ``tensorflow_serving.apis`` stubs.

    Args:
      target: ``host:port`` of the gRPC API (TF Serving's ``--port``, default 8500).
      timeout: seconds per call.
    """

    def __init__(self, target: str, timeout: float = 30.0):
        import grpc
        from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

        self.target = target
        self.timeout = timeout
        self._channel = grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", 256 << 20),
                                                               ("grpc.max_send_message_length", 256 << 20)])
        self.predictions = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self.models = model_service_pb2_grpc.ModelServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "GrpcClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _spec(self, spec, model: str, version: Optional[int], signature: Optional[str] = None) -> None:
        spec.name = model
        if version is not None:
            spec.version.value = int(version)
        if signature is not None:
            spec.signature_name = signature

    def _rpc(self, method, request):
        import grpc

        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as e:
            raise ServingClientError(e.code().name, e.details()) from None

    def predict(self, model: str, inputs: Mapping[str, Any], signature: str = "serving_default",
                version: Optional[int] = None, output_filter: Optional[List[str]] = None) -> Dict[str, np.ndarray]:
        """Runs a predict request; returns output name -> numpy array (strings as ``bytes``)."""
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        self._spec(request.model_spec, model, version, signature)
        for k, v in inputs.items():
            arr = np.asarray(v)
            if arr.dtype.kind == "U":
                arr = arr.astype(object)
            request.inputs[k].CopyFrom(tf.make_tensor_proto(arr))
        request.output_filter.extend(output_filter or [])
        response = self._rpc(self.predictions.Predict, request)
        self.last_version = response.model_spec.version.value
        return {k: tf.make_ndarray(v) for k, v in response.outputs.items()}

    def status(self, model: str, version: Optional[int] = None) -> List[Dict[str, Any]]:
        from tensorflow_serving.apis import get_model_status_pb2

        request = get_model_status_pb2.GetModelStatusRequest()
        self._spec(request.model_spec, model, version)
        response = self._rpc(self.models.GetModelStatus, request)
        states = get_model_status_pb2.ModelVersionStatus.State
        codes = response.DESCRIPTOR.fields_by_name["model_version_status"].message_type.fields_by_name[
            "status"].message_type.fields_by_name["error_code"].enum_type
        return [{"version": s.version, "state": states.Name(s.state),
                 "status": {"error_code": codes.values_by_number[s.status.error_code].name,
                            "error_message": s.status.error_message}}
                for s in response.model_version_status]

    def metadata(self, model: str, version: Optional[int] = None):
        """The ``SignatureDefMap`` proto's ``signature_def`` map (signature name -> ``SignatureDef``)."""
        from tensorflow_serving.apis import get_model_metadata_pb2

        request = get_model_metadata_pb2.GetModelMetadataRequest()
        self._spec(request.model_spec, model, version)
        request.metadata_field.append("signature_def")
        response = self._rpc(self.predictions.GetModelMetadata, request)
        sig_map = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(sig_map)
        return dict(sig_map.signature_def)
