"""Errors of the model server, with TensorFlow Serving's status codes and HTTP mapping.

TF Serving answers every failed REST call with ``{"error": "<message>"}`` and an HTTP status derived
from its canonical error code (``INVALID_ARGUMENT`` -> 400, ``NOT_FOUND`` -> 404, ...); gRPC calls
fail with the same code. :class:`ServingError` carries the code and message for both.
"""

from __future__ import annotations

# canonical code name -> HTTP status, as TF Serving's ToHTTPStatusCode maps them
HTTP_STATUS = {
    "OK": 200,
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
    "UNAUTHENTICATED": 401,
}


class ServingError(Exception):
    """A request failed with a canonical error code (a name of ``grpc.StatusCode``) and a message.

    Attributes:
      code: e.g. ``"INVALID_ARGUMENT"``.
      message: what was wrong and where (the request field).
      http_status: the HTTP status TF Serving's REST API uses for ``code``.
    """

    def __init__(self, code: str, message: str):
        if code not in HTTP_STATUS:
            raise ValueError(f"unknown canonical error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]

    @property
    def grpc_code(self):
        import grpc

        return getattr(grpc.StatusCode, self.code)

    def __repr__(self) -> str:
        return f"ServingError({self.code}, {self.message!r})"


def invalid(message: str) -> ServingError:
    return ServingError("INVALID_ARGUMENT", message)


def not_found(message: str) -> ServingError:
    return ServingError("NOT_FOUND", message)


def servable_not_found(name: str, version=None, label=None) -> ServingError:
    """TF Serving's message: ``Servable not found for request: Latest(<name>)`` / ``Specific(<name>, <v>)``."""
    if version is not None:
        req = f"Specific({name}, {version})"
    elif label is not None:
        req = f"Labeled({name}, {label})"
    else:
        req = f"Latest({name})"
    return ServingError("NOT_FOUND", f"Servable not found for request: {req}")


def error_code_of(error: BaseException) -> str:
    """The canonical code name of an exception (what a failed load reports in its status).

    A ServingError's code, a TensorFlow ``OpError``'s code, ``NOT_FOUND`` for a missing file,
    ``DATA_LOSS`` for an unparsable ``saved_model.pb``, else ``UNKNOWN``.
    """
    if isinstance(error, ServingError):
        return error.code
    try:
        import tensorflow as tf

        from tensorflow.core.protobuf import error_codes_pb2

        if isinstance(error, tf.errors.OpError):
            code = error_codes_pb2.Code.Name(error.error_code)
            return code if code in HTTP_STATUS else "UNKNOWN"
    except ImportError:
        pass
    text = str(error)
    if isinstance(error, (FileNotFoundError, NotADirectoryError)) or "does not exist" in text:
        return "NOT_FOUND"
    if type(error).__name__ == "DecodeError" or "Cannot parse file" in text or "Error parsing message" in text:
        return "DATA_LOSS"  # an unparsable saved_model.pb
    return "UNKNOWN"
