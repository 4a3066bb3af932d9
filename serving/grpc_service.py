"""TensorFlow Serving's gRPC API with the servicers and protos of ``tensorflow_serving.apis``.

Implemented: ``PredictionService.Predict``, ``PredictionService.GetModelMetadata`` (the
``signature_def`` field), ``ModelService.GetModelStatus``. ``Classify``, ``Regress``,
``MultiInference`` and ``HandleReloadConfigRequest`` answer ``UNIMPLEMENTED``.
"""

from __future__ import annotations

import logging
from concurrent import futures
from typing import Optional

import grpc
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from tfrec.serving.errors import ServingError, invalid
from tfrec.serving.limits import RequestLimits
from tfrec.serving.manager import ModelManager

logger = logging.getLogger("tfrec.serving.grpc")

MAX_MESSAGE_BYTES = 256 * 1024 * 1024


def _version(spec) -> Optional[int]:
    return spec.version.value if spec.HasField("version") else None


def _label(spec) -> Optional[str]:
    return spec.version_label if spec.WhichOneof("version_choice") == "version_label" else None


def _abort(context, e: Exception) -> None:
    if isinstance(e, ServingError):
        context.abort(e.grpc_code, e.message)
    logger.exception("internal error in a gRPC call")
    context.abort(grpc.StatusCode.INTERNAL, f"Internal error: {type(e).__name__}: {e}")


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """``tensorflow.serving.PredictionService`` over a :class:`ModelManager`."""

    def __init__(self, manager: ModelManager):
        self.manager = manager

    def Predict(self, request, context):  # noqa: N802 - gRPC method name
        from tfrec.serving.tensors import array_to_proto, proto_to_array

        try:
            spec = request.model_spec
            if not spec.name:
                raise invalid("model_spec.name is empty: name the model to query")
            with self.manager.servable(spec.name, _version(spec), _label(spec)) as s:
                sig = s.signature(spec.signature_name)
                arrays = {}
                for key, proto in request.inputs.items():
                    if key not in sig.inputs:
                        raise invalid(f"unknown input '{key}' for signature '{sig.name}' (expects "
                                      f"{', '.join(sig.inputs)})")
                    arrays[key] = proto_to_array(proto, key, sig.inputs[key].dtype)
                out = s.predict(sig.name, arrays, list(request.output_filter))
                response = predict_pb2.PredictResponse()
                response.model_spec.name = s.name
                response.model_spec.version.value = s.version
                response.model_spec.signature_name = sig.name
                for key, value in out.items():
                    response.outputs[key].CopyFrom(array_to_proto(value))
                return response
        except Exception as e:  # noqa: BLE001 - converted to a gRPC status
            _abort(context, e)

    def GetModelMetadata(self, request, context):  # noqa: N802
        try:
            fields = list(request.metadata_field)
            if fields != ["signature_def"]:
                raise invalid(f"metadata_field must be exactly ['signature_def'] (the only metadata served); "
                              f"got {fields}")
            spec = request.model_spec
            with self.manager.servable(spec.name, _version(spec), _label(spec)) as s:
                response = get_model_metadata_pb2.GetModelMetadataResponse()
                response.model_spec.name = s.name
                response.model_spec.version.value = s.version
                response.metadata["signature_def"].Pack(s.signature_defs)
                return response
        except Exception as e:  # noqa: BLE001
            _abort(context, e)

    def _unimplemented(self, request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "Only Predict and GetModelMetadata are supported by this server")

    Classify = Regress = MultiInference = _unimplemented


class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
    """``tensorflow.serving.ModelService``: version status."""

    def __init__(self, manager: ModelManager):
        self.manager = manager

    def GetModelStatus(self, request, context):  # noqa: N802
        try:
            spec = request.model_spec
            statuses = self.manager.status(spec.name, _version(spec), _label(spec))
            response = get_model_status_pb2.GetModelStatusResponse()
            for st in statuses:
                entry = response.model_version_status.add()
                entry.version = st.version
                entry.state = get_model_status_pb2.ModelVersionStatus.State.Value(st.state)
                entry.status.error_code = _error_code(st.error_code)
                entry.status.error_message = st.error_message
            return response
        except Exception as e:  # noqa: BLE001
            _abort(context, e)

    def HandleReloadConfigRequest(self, request, context):  # noqa: N802
        context.abort(grpc.StatusCode.UNIMPLEMENTED,
                      "HandleReloadConfigRequest is not supported: edit the model config file instead "
                      "(it is re-read when it changes)")


def _error_code(name: str) -> int:
    from tensorflow_serving.apis import status_pb2

    enum = status_pb2.StatusProto.DESCRIPTOR.fields_by_name["error_code"].enum_type
    value = enum.values_by_name.get(name)
    return value.number if value is not None else enum.values_by_name["UNKNOWN"].number


def make_grpc_server(manager: ModelManager, address: str, max_workers: int = 16,
                     limits: Optional[RequestLimits] = None):
    """A ready (not yet started) ``grpc.Server`` with both services; returns ``(server, port)``.

    Requests larger than ``limits.max_body_bytes`` fail with RESOURCE_EXHAUSTED (gRPC's own check);
    rows and ``exclude_items`` are checked by the manager as for REST.
    """
    max_in = limits.max_body_bytes if limits is not None else MAX_MESSAGE_BYTES
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        options=[("grpc.max_receive_message_length", max_in),
                 ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                 ("grpc.so_reuseport", 0)])
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionServicer(manager), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelServicer(manager), server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot bind the gRPC port {address} (in use?)")
    return server, port
