"""The REST API's HTTP server: uvicorn (httptools parser, uvloop when installed) on its own thread.

Chosen on measurement over aiohttp and Starlette (16 keep-alive clients posting small JSON bodies to
a handler that runs a numpy scoring call on a thread pool): a bare ASGI callable on uvicorn answered
the most requests per second; routing is the two regular expressions of
:class:`~tfrec.serving.rest.RestApp`, so Starlette would add only per-request cost. Small requests
are parsed on the event loop and queued on the signature's batcher with a callback, so no thread
waits on a batch; large bodies and unbatched signatures run on a bounded worker pool (``workers``).
What uvicorn lacks is added here, per :class:`RequestLimits`:

* header deadline: a connection that has not sent a request's complete headers within
  ``header_timeout_s`` of connecting (or of starting the request) gets a 408 and is closed, so a
  client that trickles bytes is cut off and half-open connections cost no thread and expire;
* body deadline (``body_timeout_s``), body size (``max_body_bytes``, 413 before reading it);
* connection limit (``max_connections``: further connections are closed on accept);
* per-request time (``request_timeout_s``: 504 ``DEADLINE_EXCEEDED``);
* drain: on :meth:`RestServer.drain` the port closes, in-flight requests finish, every later response
  carries ``Connection: close``, and idle keep-alive connections are closed only after
  ``DRAIN_IDLE_GRACE_S`` without a request, so a request a client sent before the signal is answered.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import json
import logging
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Tuple

from tfrec.serving.errors import HTTP_STATUS
from tfrec.serving.limits import RequestLimits
from tfrec.serving.rest import PendingPredict, RestApp, error_answer

logger = logging.getLogger("tfrec.serving.rest")

DRAIN_IDLE_GRACE_S = 0.5  # on drain, an idle keep-alive connection stays open this long for a request on the wire
MAX_HEADER_BYTES = 64 * 1024  # request line + headers (a 431 past it)
_INLINE_BYTES = 64 * 1024  # bodies up to this size are parsed on the event loop
_TRIM_AFTER_BYTES = 1 << 20  # after a request body this large, return freed heap memory to the OS


def _json(status: int, payload) -> Tuple[int, bytes]:
    return status, json.dumps(payload, separators=(",", ":")).encode("utf-8")


class _OneWriteResponse:
    """The transport as a request's response cycle sees it: the status line and headers are held back
    and sent in one ``write`` with the body that follows them.

    uvicorn writes a response in two calls (headers, then body); with ``TCP_NODELAY`` each is a
    ``send`` system call and a loopback segment of its own, and the client wakes twice. Measured
    (16 keep-alive clients, a model answering in about 0.2 ms): the header write alone took 0.06 ms
    of the event loop's time per request. Interim ``100 Continue`` lines are written at once.
    """

    __slots__ = ("_transport", "_head")

    def __init__(self, transport):
        self._transport = transport
        self._head: Optional[bytes] = None

    def write(self, data: bytes) -> None:
        if self._head is not None:
            data, self._head = self._head + data, None
        elif data.startswith(b"HTTP/") and data[9:10] != b"1":  # a final status line (not 1xx): wait for the body
            self._head = data
            return
        self._transport.write(data)

    def close(self) -> None:
        if self._head is not None:
            self._transport.write(self._head)
            self._head = None
        self._transport.close()

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


def _make_protocol(limits: RequestLimits):
    """An ``HttpToolsProtocol`` subclass with the header deadline, connection limit and drain above."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class _Protocol(HttpToolsProtocol):
        draining = False  # set on the class by RestServer.drain (one class per server)

        def connection_made(self, transport) -> None:
            self._accepted = len(self.connections) < limits.max_connections
            if not self._accepted:
                transport.abort()  # over the connection limit: refuse without reading anything
                return
            super().connection_made(transport)
            try:
                transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except (AttributeError, OSError):
                pass
            self._header_timer = None
            self._in_request = False
            self._header_bytes = 0
            self._arm_header_deadline()

        def _arm_header_deadline(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(limits.header_timeout_s, self._header_deadline)

        def _cancel_header_deadline(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _header_deadline(self) -> None:
            self._header_timer = None
            if self.transport.is_closing():
                return
            if self.cycle is None or self.cycle.response_complete:  # headers still incomplete
                body = json.dumps({"error": f"Request headers not received within {limits.header_timeout_s:g} s"})
                self.transport.write(
                    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
                    + f"content-length: {len(body)}\r\n\r\n{body}".encode())
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            if self._header_timer is None and not self._in_request:
                self._arm_header_deadline()  # the first bytes of a new request on a kept-alive connection
            super().data_received(data)
            if self._header_timer is not None and not self.transport.is_closing():  # headers still incomplete
                self._header_bytes += len(data)
                if self._header_bytes > MAX_HEADER_BYTES:
                    body = json.dumps({"error": f"Malformed request: request line and headers exceed "
                                                f"{MAX_HEADER_BYTES} bytes"})
                    self.transport.write(
                        b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
                        + f"connection: close\r\ncontent-length: {len(body)}\r\n\r\n{body}".encode())
                    self._cancel_header_deadline()
                    self.transport.close()

        def on_message_begin(self) -> None:
            self._in_request = True
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._cancel_header_deadline()
            self._header_bytes = 0
            super().on_headers_complete()
            if self.cycle is not None:
                self.cycle.transport = _OneWriteResponse(self.transport)
                if type(self).draining:
                    self.cycle.keep_alive = False

        def on_response_complete(self) -> None:
            self._in_request = False
            super().on_response_complete()
            if type(self).draining and not self.transport.is_closing():
                self.transport.close()

        def connection_lost(self, exc) -> None:
            if not self._accepted:
                return
            self._cancel_header_deadline()
            super().connection_lost(exc)

        def shutdown(self) -> None:
            """Drain: answer what is in flight (``Connection: close``); close idle connections after a grace."""
            if self.cycle is not None and not self.cycle.response_complete:
                self.cycle.keep_alive = False
                return
            self.loop.call_later(DRAIN_IDLE_GRACE_S, self._close_if_idle)

        def _close_if_idle(self) -> None:
            if not self._in_request and not self.transport.is_closing():
                self.transport.close()

    return _Protocol


class _AsgiApp:
    """ASGI callable: reads the body under the limits, answers through :class:`RestApp`."""

    def __init__(self, app: RestApp, limits: RequestLimits):
        self.app = app
        self.limits = limits
        self.pool = ThreadPoolExecutor(max_workers=limits.workers, thread_name_prefix="rest")
        self.inflight = 0
        libc = ctypes.util.find_library("c")
        self._malloc_trim = getattr(ctypes.CDLL(libc), "malloc_trim", None) if libc else None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        self.inflight += 1
        try:
            status, body = await self._answer(scope, receive)
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            if status in (408, 413):  # the body was not read to its end: the connection cannot be reused
                headers.append((b"connection", b"close"))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        finally:
            self.inflight -= 1

    async def _answer(self, scope, receive) -> Tuple[int, bytes]:
        method = scope["method"]
        path = scope.get("raw_path", b"").decode("latin-1") or scope["path"]
        if method not in ("GET", "POST"):
            return _json(405, {"error": f"Malformed request: {method} {path} (use GET or POST)"})
        length = None
        for k, v in scope["headers"]:
            if k == b"content-length":
                try:
                    length = int(v)
                except ValueError:
                    return _json(400, {"error": f"Malformed request: invalid Content-Length {v.decode('latin-1')!r}"})
        limit = self.limits.max_body_bytes
        if length is not None and length > limit:
            return _json(413, {"error": f"Request body of {length} bytes exceeds the limit of {limit} bytes "
                                        "(--max-body-bytes)"})
        try:
            body = await self._read_body_within(receive, limit)
        except asyncio.TimeoutError:
            return _json(408, {"error": f"Request body not received within {self.limits.body_timeout_s:g} s"})
        if body is None:
            return _json(413, {"error": f"Request body exceeds the limit of {limit} bytes (--max-body-bytes)"})
        try:
            if len(body) > _INLINE_BYTES:  # parsing would hold up the event loop: all on a worker thread
                return await self._within_timeout(asyncio.get_running_loop().run_in_executor(
                    self.pool, self._handle, method, path, body))
            return await self._inline(method, path, body)
        except asyncio.TimeoutError:
            return _json(HTTP_STATUS["DEADLINE_EXCEEDED"], {
                "error": f"Deadline exceeded: the request took longer than {self.limits.request_timeout_s:g} s "
                         "(--request-timeout-s)"})

    async def _within_timeout(self, future: asyncio.Future):
        """``future``'s result, or TimeoutError after ``request_timeout_s`` (the work itself goes on)."""
        if self.limits.request_timeout_s is None:
            return await future
        return await asyncio.wait_for(asyncio.shield(future), self.limits.request_timeout_s)

    async def _inline(self, method: str, path: str, body: bytes) -> Tuple[int, bytes]:
        """A small request: parsed on the event loop, its model call queued on the batcher (no worker
        thread held while it waits), or run on a worker thread for a signature that is not batched."""
        loop = asyncio.get_running_loop()
        answer = self.app.start(method, path, body)
        if not isinstance(answer, PendingPredict):
            return _json(*answer)
        done = loop.create_future()

        def settle(out, error) -> None:
            if not done.done():
                done.set_result((out, error))

        if answer.submit(lambda out, error: loop.call_soon_threadsafe(settle, out, error)):
            timeout = self.limits.request_timeout_s
            timer = loop.call_later(timeout, settle, None, asyncio.TimeoutError()) if timeout else None
            out, error = await done  # a timer, not wait_for: no extra task per request
            if timer is not None:
                timer.cancel()
            if isinstance(error, asyncio.TimeoutError):
                raise error
            if error is not None:
                return _json(*error_answer(error, method, path))
            try:
                return _json(200, answer.answer(out))
            except Exception as e:  # noqa: BLE001 - converted to an error answer
                return _json(*error_answer(e, method, path))
        return await self._within_timeout(loop.run_in_executor(self.pool, self._run_pending, answer, method, path))

    @staticmethod
    def _run_pending(answer: PendingPredict, method: str, path: str) -> Tuple[int, bytes]:
        try:
            return _json(200, answer.run())
        except Exception as e:  # noqa: BLE001 - converted to an error answer
            return _json(*error_answer(e, method, path))

    async def _read_body_within(self, receive, limit: int) -> Optional[bytes]:
        """The body, None past ``limit`` bytes; TimeoutError after ``body_timeout_s`` (a timer that cancels
        this task, not wait_for: no extra task per request)."""
        task = asyncio.current_task()
        fired = []

        def expire() -> None:
            fired.append(True)
            task.cancel()

        timer = asyncio.get_running_loop().call_later(self.limits.body_timeout_s, expire)
        try:
            return await self._read_body(receive, limit)
        except asyncio.CancelledError:
            if not fired:
                raise  # cancelled by the server, not by the deadline
            task.uncancel()
            raise asyncio.TimeoutError() from None
        finally:
            timer.cancel()

    @staticmethod
    async def _read_body(receive, limit: int) -> Optional[bytes]:
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    def _handle(self, method: str, path: str, body: bytes) -> Tuple[int, bytes]:
        status, payload = self.app.handle(method, path, body)
        out = _json(status, payload)
        if len(body) >= _TRIM_AFTER_BYTES and self._malloc_trim is not None:
            del payload, body
            self._malloc_trim(0)  # a large request's freed arenas go back to the OS (RSS back to baseline)
        return out


class RestServer:
    """uvicorn serving :class:`RestApp` on ``address``, on a daemon thread with its own event loop.

    Args:
      address: ``(host, port)``; port 0 picks a free one.
      app: the request handler.
      limits: deadlines, sizes, connection limit and worker count (default: ``app.limits``).
    """

    def __init__(self, address: Tuple[str, int], app: RestApp, limits: Optional[RequestLimits] = None):
        import uvicorn

        self.limits = limits or app.limits
        self._asgi = _AsgiApp(app, self.limits)
        self._protocol = _make_protocol(self.limits)
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(address)
        self._sock.listen(1024)
        self._sock.setblocking(False)
        config = uvicorn.Config(self._asgi, http=self._protocol, lifespan="off", access_log=False, log_config=None,
                                log_level="warning", proxy_headers=False, server_header=False, date_header=False,
                                timeout_keep_alive=int(max(1, round(self.limits.keep_alive_s))),
                                timeout_graceful_shutdown=30, ws="none")
        self._server = uvicorn.Server(config)
        self._thread: Optional[threading.Thread] = None
        self._started = threading.Event()

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    @property
    def inflight(self) -> int:
        """Requests being answered now."""
        return self._asgi.inflight

    @property
    def open_connections(self) -> int:
        return len(self._server.server_state.connections)

    def start(self) -> "RestServer":
        """Starts serving; returns once the port accepts connections."""
        self._thread = threading.Thread(target=self._run, name="rest-server", daemon=True)
        self._thread.start()
        if not self._started.wait(30):
            raise RuntimeError("the REST server did not start within 30 s")
        return self

    def _run(self) -> None:
        try:
            import uvloop

            loop = uvloop.new_event_loop()
        except ImportError:
            loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._server.config.load()  # uvicorn's serve() would load it again; loaded here to catch errors early
        self._loop = loop
        loop.call_soon(self._started.set)
        try:
            loop.run_until_complete(self._server.serve(sockets=[self._sock]))
        finally:
            loop.close()

    def drain(self, timeout: float = 30.0) -> bool:
        """Closes the port, finishes in-flight requests (up to ``timeout`` s), closes every connection.

        Returns True when every in-flight request finished in time.
        """
        if self._thread is None:
            return True
        self._protocol.draining = True
        self._server.config.timeout_graceful_shutdown = max(1, int(round(timeout)))
        try:  # in-flight answers say Connection: close from now on, not from uvicorn's next tick
            self._loop.call_soon_threadsafe(self._shutdown_connections)
        except RuntimeError:  # the loop already stopped
            pass
        self._server.should_exit = True
        self._thread.join(timeout + 5)
        done = not self._thread.is_alive() and self._asgi.inflight == 0
        self._asgi.pool.shutdown(wait=False, cancel_futures=True)
        return done

    def _shutdown_connections(self) -> None:
        for connection in list(self._server.server_state.connections):
            connection.shutdown()

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass
