"""TensorFlow Serving's REST API, independent of the HTTP transport: ``(method, path, body) -> (status, JSON)``.

Endpoints (as TF Serving 2.x):

* ``GET /v1/models/{m}[/versions/{v}]`` -> ``{"model_version_status": [...]}``
* ``GET /v1/models/{m}[/versions/{v}]/metadata`` -> ``{"model_spec": ..., "metadata": {"signature_def": ...}}``
* ``POST /v1/models/{m}[/versions/{v}]:predict`` with ``{"signature_name"?, "instances": [...]}`` ->
  ``{"predictions": [...]}`` or ``{"inputs": ...}`` -> ``{"outputs": ...}``

``/versions/{v}`` may also be ``/labels/{label}`` (a ``version_labels`` entry of the model config);
path segments are URL-decoded (``movies%2Dv2`` is ``movies-v2``). Every error is
``{"error": "<message>"}`` with TF Serving's status (400 for a malformed request, 404 for an
unknown model or version). The HTTP servers are :class:`~tfrec.serving.rest_server.RestServer`
(uvicorn, the default) and :class:`~tfrec.serving.rest_stdlib.StdlibRestServer`.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.parse
from typing import Any, Callable, Dict, Optional, Tuple, Union

from tfrec.serving.errors import ServingError, invalid
from tfrec.serving.limits import EXCLUDE_INPUT, RequestLimits
from tfrec.serving.manager import ModelManager

logger = logging.getLogger("tfrec.serving.rest")

_GET_RE = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+)|/labels/([^/:]+))?(/metadata)?/?$", re.I)
_POST_RE = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+)|/labels/([^/:]+))?:(predict|classify|regress)$", re.I)


def _to_dict(message) -> Dict[str, Any]:
    from google.protobuf import json_format

    try:
        return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                         always_print_fields_with_no_presence=True)
    except TypeError:  # protobuf < 5
        return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                         including_default_value_fields=True)


def status_json(statuses) -> Dict[str, Any]:
    return {"model_version_status": [
        {"version": str(s.version), "state": s.state,
         "status": {"error_code": s.error_code, "error_message": s.error_message}} for s in statuses]}


def metadata_json(servable) -> Dict[str, Any]:
    return {"model_spec": {"name": servable.name, "signature_name": "", "version": str(servable.version)},
            "metadata": {"signature_def": _to_dict(servable.signature_defs)}}


class RestApp:
    """Request handling independent of the HTTP transport: ``(method, path, body) -> (status, json)``."""

    def __init__(self, manager: ModelManager, limits: Optional[RequestLimits] = None):
        self.manager = manager
        self.limits = limits or manager.limits

    def handle(self, method: str, path: str, body: bytes) -> Tuple[int, Dict[str, Any]]:
        """Answers one request; never raises (internal errors are a 500 with the exception's type)."""
        answer = self.start(method, path, body)
        if isinstance(answer, PendingPredict):
            try:
                return 200, answer.run()
            except Exception as e:  # noqa: BLE001 - converted to an error answer
                return error_answer(e, method, path)
        return answer

    def start(self, method: str, path: str, body: bytes) -> Union[Tuple[int, Dict[str, Any]], "PendingPredict"]:
        """Parses and validates a request: the answer, or a :class:`PendingPredict` left to run."""
        try:
            result = self._dispatch(method, path.split("?", 1)[0], body)
        except Exception as e:  # noqa: BLE001 - converted to an error answer
            return error_answer(e, method, path)
        return result if isinstance(result, PendingPredict) else (200, result)

    def _dispatch(self, method: str, path: str, body: bytes) -> Union[Dict[str, Any], "PendingPredict"]:
        if method == "GET":
            m = _GET_RE.match(path)
            if not m:
                raise invalid(f"Malformed request: {method} {path}")
            name, version, label, meta = m.groups()
            name, label = _unquote(name), _unquote(label)
            version = int(version) if version is not None else None
            if meta:
                with self.manager.servable(name, version, label) as s:
                    return metadata_json(s)
            return status_json(self.manager.status(name, version, label))
        if method == "POST":
            m = _POST_RE.match(path)
            if not m:
                raise invalid(f"Malformed request: {method} {path}")
            name, version, label, verb = m.groups()
            if verb.lower() != "predict":
                raise invalid(f"The {verb} API needs a {verb.lower()} signature; this server runs predict "
                              f"signatures only: use POST /v1/models/{name}:predict")
            return self._predict(_unquote(name), int(version) if version is not None else None, _unquote(label), body)
        raise invalid(f"Malformed request: {method} {path}")

    def _predict(self, name: str, version: Optional[int], label: Optional[str], body: bytes) -> "PendingPredict":
        from tfrec.serving.tensors import format_columnar, format_row, parse_columnar, parse_instances

        try:
            doc = json.loads(body.decode("utf-8"))  # NaN/Infinity accepted, as TF Serving does
        except UnicodeDecodeError as e:
            raise invalid(f"JSON Parse error: Invalid encoding in string. at offset: {e.start}") from None
        except json.JSONDecodeError as e:
            raise invalid(f"JSON Parse error: {e.msg}. at offset: {e.pos}") from None
        except (ValueError, RecursionError) as e:
            raise invalid(f"JSON Parse error: {e}") from None
        if not isinstance(doc, dict):
            raise invalid("JSON Parse error: the request body must be a JSON object "
                          "({\"instances\": [...]} or {\"inputs\": ...})")
        has_inst, has_inputs = "instances" in doc, "inputs" in doc
        if has_inst and has_inputs:
            raise invalid("Not allowed to have both 'inputs' and 'instances' keys in request")
        if not has_inst and not has_inputs:
            raise invalid("Missing 'inputs' or 'instances' key")
        signature_name = doc.get("signature_name", "")
        if not isinstance(signature_name, str):
            raise invalid("'signature_name' must be a string")
        s = self.manager.acquire(name, version, label)
        try:
            sig = s.signature(signature_name)
            self._check_sizes(doc, sig.inputs)
            if has_inst:
                arrays = parse_instances(doc["instances"], sig.inputs)
            else:
                arrays = parse_columnar(doc["inputs"], sig.inputs)
            return PendingPredict(s, sig, sig.validate(arrays), row_format=has_inst)
        except BaseException:
            s.release()
            raise

    def _check_sizes(self, doc: Dict[str, Any], specs) -> None:
        """Row count and ``exclude_items`` length read off the JSON lists, before any array is built."""
        limits = self.limits
        instances = doc.get("instances")
        if isinstance(instances, list):
            limits.check_rows(len(instances))
            first = instances[0] if instances else None
            excl = first.get(EXCLUDE_INPUT) if isinstance(first, dict) else None
        else:
            inputs = doc.get("inputs")
            if not isinstance(inputs, dict) or _is_b64(inputs):
                inputs = {next(iter(specs)): inputs} if len(specs) == 1 else {}
            for n, v in inputs.items():
                spec = specs.get(n)
                if isinstance(v, list) and spec is not None and spec.shape.rank and spec.shape[0] is None:
                    limits.check_rows(len(v))
            excl = inputs.get(EXCLUDE_INPUT)
            excl = excl[0] if isinstance(excl, list) and excl else None
        if isinstance(excl, list) and limits.max_exclude_items is not None and len(excl) > limits.max_exclude_items:
            raise invalid(f"input '{EXCLUDE_INPUT}' has {len(excl)} items per row, more than the limit of "
                          f"{limits.max_exclude_items} (--max-exclude-items)")


def _is_b64(v: Any) -> bool:
    return isinstance(v, dict) and set(v) == {"b64"}


def _unquote(segment: Optional[str]) -> Optional[str]:
    return urllib.parse.unquote(segment) if segment is not None else None


def error_answer(error: BaseException, method: str = "", path: str = "") -> Tuple[int, Dict[str, Any]]:
    """``(HTTP status, {"error": message})`` of an exception; anything but a ServingError is a 500."""
    if isinstance(error, ServingError):
        return error.http_status, {"error": error.message}
    logger.error("internal error on %s %s", method, path, exc_info=error)
    return 500, {"error": f"Internal error: {type(error).__name__}: {error}"}


class PendingPredict:
    """A validated predict request that holds its model version until it has run.

    Args:
      servable: the version, acquired with :meth:`ModelManager.acquire` (released here).
      signature: the signature to call.
      arrays: validated inputs.
      row_format: answer ``{"predictions": ...}`` (else ``{"outputs": ...}``).
    """

    def __init__(self, servable, signature, arrays, row_format: bool):
        self.servable = servable
        self.signature = signature
        self.arrays = arrays
        self.row_format = row_format

    def run(self) -> Dict[str, Any]:
        """Runs the model here (blocking) and returns the JSON answer."""
        try:
            out = self.signature.execute(self.arrays)
        finally:
            self.servable.release()
        return self.answer(out)

    def submit(self, callback: Callable[[Optional[Dict], Optional[BaseException]], None]) -> bool:
        """Queues the request on the signature's batcher; ``callback(outputs, error)`` runs on a batch
        thread once done. False (nothing queued) when the signature is not batched: use :meth:`run`."""
        def done(out, error):
            self.servable.release()
            callback(out, error)

        return self.signature.submit(self.arrays, done)

    def answer(self, out) -> Dict[str, Any]:
        """The JSON answer for the model's outputs."""
        from tfrec.serving.tensors import format_columnar, format_row

        if self.row_format:
            return {"predictions": format_row(out)}
        return {"outputs": format_columnar(out)}
