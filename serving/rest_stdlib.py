"""TensorFlow Serving's REST API over the standard library's ``ThreadingHTTPServer`` (one thread per connection).

Kept only as ``tfrec serve --rest-engine stdlib`` for side-by-side measurement with the default
server (:class:`~tfrec.serving.rest_server.RestServer`, uvicorn): it has no header deadline and no
connection limit. Request handling (:class:`~tfrec.serving.rest.RestApp`) is shared by both.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Optional, Tuple

from tfrec.serving.rest import RestApp

logger = logging.getLogger("tfrec.serving.rest")


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
                    if n > self.server.app.limits.max_body_bytes:
                        self.close_connection = True
                        self._respond(413, {"error": f"Request body of {n} bytes exceeds the limit of "
                                                     f"{self.server.app.limits.max_body_bytes} bytes"})
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
            if total > self.server.app.limits.max_body_bytes:
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


class StdlibRestServer(ThreadingHTTPServer):
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

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> "StdlibRestServer":
        """Serves on a daemon thread."""
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="rest-server", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self.server_close()
