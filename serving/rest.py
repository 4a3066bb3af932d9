"""TensorFlow Serving's REST API over the standard library's ``ThreadingHTTPServer``.

Endpoints (as TF Serving 2.x):

* ``GET /v1/models/{m}[/versions/{v}]`` -> ``{"model_version_status": [...]}``
* ``GET /v1/models/{m}[/versions/{v}]/metadata`` -> ``{"model_spec": ..., "metadata": {"signature_def": ...}}``
* ``POST /v1/models/{m}[/versions/{v}]:predict`` with ``{"signature_name"?, "instances": [...]}`` ->
  ``{"predictions": [...]}`` or ``{"inputs": ...}`` -> ``{"outputs": ...}``

Every error is ``{"error": "<message>"}`` with TF Serving's status (400 for a malformed request, 404
for an unknown model or version). One thread per connection (HTTP/1.1 keep-alive).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Optional, Tuple

from tfrec.serving.errors import ServingError, invalid
from tfrec.serving.manager import ModelManager

logger = logging.getLogger("tfrec.serving.rest")

_GET_RE = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+)|/labels/([^/:]+))?(/metadata)?/?$", re.I)
_POST_RE = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+)|/labels/([^/:]+))?:(predict|classify|regress)$", re.I)
MAX_BODY_BYTES = 256 * 1024 * 1024


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

    def __init__(self, manager: ModelManager, max_body_bytes: int = MAX_BODY_BYTES):
        self.manager = manager
        self.max_body_bytes = max_body_bytes

    def handle(self, method: str, path: str, body: bytes) -> Tuple[int, Dict[str, Any]]:
        try:
            return 200, self._dispatch(method, path.split("?", 1)[0], body)
        except ServingError as e:
            return e.http_status, {"error": e.message}
        except Exception as e:  # noqa: BLE001 - never leak a traceback; the server keeps serving
            logger.exception("internal error on %s %s", method, path)
            return 500, {"error": f"Internal error: {type(e).__name__}: {e}"}

    def _dispatch(self, method: str, path: str, body: bytes) -> Dict[str, Any]:
        if method == "GET":
            m = _GET_RE.match(path)
            if not m:
                raise invalid(f"Malformed request: {method} {path}")
            name, version, label, meta = m.groups()
            version = int(version) if version is not None else None
            if meta:
                with self.manager.servable(name, version, label) as s:
                    return metadata_json(s)
            if label is not None:
                raise ServingError("NOT_FOUND", f"Could not find version label {label} of model {name}")
            return status_json(self.manager.status(name, version))
        if method == "POST":
            m = _POST_RE.match(path)
            if not m:
                raise invalid(f"Malformed request: {method} {path}")
            name, version, label, verb = m.groups()
            if verb.lower() != "predict":
                raise invalid(f"The {verb} API needs a {verb.lower()} signature; this server runs predict "
                              f"signatures only: use POST /v1/models/{name}:predict")
            return self._predict(name, int(version) if version is not None else None, label, body)
        raise invalid(f"Malformed request: {method} {path}")

    def _predict(self, name: str, version: Optional[int], label: Optional[str], body: bytes) -> Dict[str, Any]:
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
        with self.manager.servable(name, version, label) as s:
            sig = s.signature(signature_name)
            if has_inst:
                arrays = parse_instances(doc["instances"], sig.inputs)
            else:
                arrays = parse_columnar(doc["inputs"], sig.inputs)
            out = s.predict(sig.name, arrays)
        if has_inst:
            return {"predictions": format_row(out)}
        return {"outputs": format_columnar(out)}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tfrec-serving"
    timeout = 60  # idle keep-alive connections close after this many seconds

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        logger.debug("%s - %s", self.address_string(), format % args)

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
        """Errors of the HTTP layer (bad request line, unknown method, ...) also get a JSON body."""
        if code == 501:  # unsupported method: the client's mistake, not a server error
            code, message = 405, f"Malformed request: method {self.command!r} not allowed (use GET or POST)"
        text = message or explain or "Malformed request"
        data = json.dumps({"error": f"Malformed request: {text}" if "Malformed" not in text else text}).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                self.wfile.write(data)
        except OSError:
            pass
        self.close_connection = True

    def setup(self) -> None:
        super().setup()
        try:  # headers and body are two writes: without this, Nagle + delayed ACK add 40 ms per response
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def _respond(self, status: int, payload: Dict[str, Any]) -> None:
        data = json.dumps(payload, indent=None, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.server.draining.is_set() or self.close_connection:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def _serve(self, method: str) -> None:
        self.server.request_started()
        try:
            body = b""
            if method == "POST":
                length = self.headers.get("Content-Length")
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = self._read_chunked()
                    if body is None:
                        return
                else:
                    try:
                        n = int(length) if length is not None else 0
                        if n < 0:
                            raise ValueError
                    except ValueError:
                        self.close_connection = True
                        self._respond(400, {"error": f"Malformed request: invalid Content-Length {length!r}"})
                        return
                    if n > self.server.app.max_body_bytes:
                        self.close_connection = True
                        self._respond(413, {"error": f"Request body of {n} bytes exceeds the limit of "
                                                     f"{self.server.app.max_body_bytes} bytes"})
                        return
                    body = self.rfile.read(n)
                    if len(body) < n:
                        self.close_connection = True
                        return
            status, payload = self.server.app.handle(method, self.path, body)
            self._respond(status, payload)
        except (ConnectionError, socket.timeout, BrokenPipeError):
            self.close_connection = True
        finally:
            self.server.request_finished()

    def _read_chunked(self) -> Optional[bytes]:
        chunks = []
        total = 0
        while True:
            line = self.rfile.readline(65537)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                self._respond(400, {"error": "Malformed request: invalid chunked encoding"})
                return None
            if size == 0:
                self.rfile.readline()
                return b"".join(chunks)
            total += size
            if total > self.server.app.max_body_bytes:
                self.close_connection = True
                self._respond(413, {"error": "Request body exceeds the size limit"})
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def _not_allowed(self) -> None:
        self.server.request_started()
        self.close_connection = True
        try:
            self._respond(405, {"error": f"Malformed request: {self.command} {self.path} (use GET or POST)"})
        finally:
            self.server.request_finished()

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_allowed


class RestServer(ThreadingHTTPServer):
    """The HTTP server; :meth:`drain` stops accepting, lets in-flight requests finish, then closes."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: Tuple[str, int], app: RestApp):
        self.app = app
        self.draining = threading.Event()
        self._inflight = 0
        self._cond = threading.Condition()
        self._connections: Dict[socket.socket, bool] = {}
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._cond:
            if alive:
                self._connections[conn] = True
            else:
                self._connections.pop(conn, None)

    def request_started(self) -> None:
        with self._cond:
            self._inflight += 1

    def request_finished(self) -> None:
        with self._cond:
            self._inflight -= 1
            self._cond.notify_all()

    @property
    def inflight(self) -> int:
        with self._cond:
            return self._inflight

    def drain(self, timeout: float = 30.0) -> bool:
        """Stops accepting connections and waits (up to ``timeout`` s) for in-flight requests.

        Returns True when every in-flight request finished.
        """
        self.draining.set()
        self.shutdown()  # stops serve_forever: no new connections are accepted
        self.socket.close()
        with self._cond:
            done = self._cond.wait_for(lambda: self._inflight == 0, timeout=timeout)
            conns = list(self._connections)
        for c in conns:  # idle keep-alive connections: wake their threads up
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return done
