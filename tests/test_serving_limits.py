"""The REST server under hostile clients: half-open connections, trickled headers, oversized requests.

A real server (uvicorn) runs in this process on 127.0.0.1 with small limits; every test stops by itself.
"""

import gc
import http.client
import json
import socket
import statistics
import threading
import time

import grpc
import numpy as np
import psutil
import pytest

import tfrec  # noqa: F401
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from tfrec.serving.config import ModelConfig
from tfrec.serving.limits import RequestLimits
from tfrec.serving.rest import RestApp
from tfrec.serving.rest_server import RestServer
from tfrec.serving.server import ModelServer
from tfrec.export.retrieval import export_retrieval
from tfrec.export.testing import tiny_two_tower

HEADER_TIMEOUT = 2.0
LIMITS = RequestLimits(max_batch_size=64, max_exclude_items=50, max_body_bytes=16 << 20,
                       header_timeout_s=HEADER_TIMEOUT, body_timeout_s=2.0)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    base = tmp_path_factory.mktemp("models")
    toy = tiny_two_tower(num_users=20, num_items=100, dim=4, seed=3)
    export_retrieval(base, "movies", toy.query_model, toy.query_features, toy.item_ids, toy.item_embeddings,
                     k=4, version=1, scann=False, log=None)
    return base / "movies"


@pytest.fixture(scope="module")
def server(folder):
    srv = ModelServer([ModelConfig("movies", folder)], rest_port=0, grpc_port=0, host="127.0.0.1",
                      poll_seconds=0, limits=LIMITS, warmup=False).start()
    yield srv
    srv.stop(drain_seconds=5)


def _post(port, body: bytes, path="/v1/models/movies:predict", conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    if own:
        conn.close()
    return resp.status, json.loads(data)


def _closed_within(sock: socket.socket, seconds: float) -> bytes:
    """Reads until the server closes ``sock``; fails if that takes longer than ``seconds``."""
    sock.settimeout(seconds)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def test_1000_half_open_connections_leave_requests_fast_and_threads_bounded(server):
    port = server.rest_port
    _post(port, b'{"instances": ["u1"]}')  # warm
    threads_before = threading.active_count()
    socks = []
    try:
        for _ in range(1000):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"POST /v1/models/movies:predict HTTP/1.1\r\nHost: x\r\n")  # headers never finished
            socks.append(s)
        deadline = time.monotonic() + 5
        while server.rest.open_connections < 1000 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.rest.open_connections >= 1000  # all accepted and held...
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        took = []
        for _ in range(20):
            t0 = time.perf_counter()
            status, body = _post(port, b'{"instances": ["u1"]}', conn=conn)
            took.append(time.perf_counter() - t0)
            assert status == 200, body
        conn.close()
        # ...by no extra thread (the stdlib server ran one per connection)
        assert threading.active_count() - threads_before <= 8, threading.active_count() - threads_before
        assert statistics.median(took) < 0.1, took
        # the header deadline closes every one of them
        t0 = time.monotonic()
        replies = [_closed_within(s, HEADER_TIMEOUT + 5) for s in socks[:50]]
        assert time.monotonic() - t0 < HEADER_TIMEOUT + 5
        assert all(r.startswith(b"HTTP/1.1 408") for r in replies), replies[:3]
    finally:
        for s in socks:
            s.close()


def test_trickling_client_is_cut_off_at_the_header_deadline(server):
    s = socket.create_connection(("127.0.0.1", server.rest_port), timeout=10)
    t0 = time.monotonic()
    closed_at = None
    try:
        for byte in b"GET /v1/models/movies HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            s.sendall(bytes([byte]))  # one byte every 0.25 s
            time.sleep(0.25)
            if time.monotonic() - t0 > HEADER_TIMEOUT + 3:
                break
    except (BrokenPipeError, ConnectionResetError):
        closed_at = time.monotonic()
    reply = _closed_within(s, 5)
    closed_at = closed_at or time.monotonic()
    s.close()
    assert closed_at - t0 < HEADER_TIMEOUT + 1.5, closed_at - t0
    assert reply == b"" or reply.startswith(b"HTTP/1.1 408"), reply[:100]


def _rss_mib() -> float:
    return psutil.Process().memory_info().rss / 2**20


def test_over_limit_batch_is_400_with_tf_serving_wording_and_memory_returns(server):
    port = server.rest_port
    for _ in range(3):
        _post(port, json.dumps({"instances": ["u1"] * 64}).encode())
    gc.collect()
    baseline = _rss_mib()
    body = json.dumps({"instances": [f"u{i % 20}" for i in range(1_000_000)]}).encode()  # 1M users, ~8 MB
    status, answer = _post(port, body)
    assert (status, answer) == (400, {"error": "Task size 1000000 is larger than maximum input batch size 64"})
    status, answer = _post(port, json.dumps({"inputs": {"user_id": ["u1"] * 65}}).encode())
    assert (status, answer) == (400, {"error": "Task size 65 is larger than maximum input batch size 64"})
    del body
    gc.collect()
    assert _rss_mib() <= 1.10 * baseline, (baseline, _rss_mib())
    assert _post(port, json.dumps({"instances": ["u1"] * 64}).encode())[0] == 200  # 64 rows still pass


def test_over_limit_exclude_items_is_400_on_rest_and_grpc(server):
    items = [f"m{i}" for i in range(51)]
    status, answer = _post(server.rest_port, json.dumps(
        {"signature_name": "exclude", "inputs": {"user_id": ["u1"], "exclude_items": [items]}}).encode())
    assert status == 400 and "51 items per row, more than the limit of 50" in answer["error"], answer
    assert _post(server.rest_port, json.dumps(
        {"signature_name": "exclude", "inputs": {"user_id": ["u1"], "exclude_items": [items[:50]]}}).encode())[0] == 200
    req = predict_pb2.PredictRequest()
    req.model_spec.name = "movies"
    req.model_spec.signature_name = "exclude"
    req.inputs["user_id"].CopyFrom(tf.make_tensor_proto(np.array(["u1"], object)))
    req.inputs["exclude_items"].CopyFrom(tf.make_tensor_proto(np.array([items], object)))
    with grpc.insecure_channel(server.grpc_target) as channel:
        with pytest.raises(grpc.RpcError) as e:
            prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(req, timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "more than the limit of 50" in e.value.details()


def test_body_over_the_limit_is_413_before_it_is_read(server):
    with socket.create_connection(("127.0.0.1", server.rest_port), timeout=10) as s:
        s.sendall(b"POST /v1/models/movies:predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (64 << 20))
        reply = s.recv(65536)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"exceeds the limit of 16777216 bytes" in reply


def test_connections_over_the_limit_are_refused_and_the_rest_served(server):
    limits = RequestLimits(max_connections=5, header_timeout_s=5)
    rest = RestServer(("127.0.0.1", 0), RestApp(server.manager, limits), limits).start()
    held = []
    try:
        for _ in range(5):
            held.append(socket.create_connection(("127.0.0.1", rest.port), timeout=5))
        deadline = time.monotonic() + 5
        while rest.open_connections < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        extra = socket.create_connection(("127.0.0.1", rest.port), timeout=5)
        try:
            extra.sendall(b"GET /v1/models/movies HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _closed_within(extra, 5) == b""  # closed without an answer
        except (BrokenPipeError, ConnectionResetError):
            pass
        extra.close()
        conn = http.client.HTTPConnection("127.0.0.1", rest.port, timeout=10)
        conn.sock = held.pop()  # an accepted connection still answers
        conn.request("GET", "/v1/models/movies")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        for s in held:
            s.close()
        assert rest.drain(timeout=5)
        rest.close()


def test_request_over_the_timeout_is_504_deadline_exceeded(folder):
    """A request waiting in a 2 s batch window with a 0.3 s request timeout: 504 after about 0.3 s."""
    from tfrec.serving.batching import BatchOptions

    slow = ModelServer([ModelConfig("movies", folder)], rest_port=0, grpc_port=None, host="127.0.0.1",
                       poll_seconds=0, warmup=False, batch_options=BatchOptions(max_batch_size=64, batch_timeout_ms=2000),
                       limits=RequestLimits(request_timeout_s=0.3)).start()
    try:
        t0 = time.monotonic()
        status, answer = _post(slow.rest_port, b'{"instances": ["u1"]}')
        took = time.monotonic() - t0
        assert status == 504 and answer["error"].startswith("Deadline exceeded"), answer
        assert 0.25 < took < 1.5, took
    finally:
        slow.stop(drain_seconds=5)


def test_body_not_sent_in_time_is_408(server):
    with socket.create_connection(("127.0.0.1", server.rest_port), timeout=10) as s:
        t0 = time.monotonic()
        s.sendall(b"POST /v1/models/movies:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"inst")
        reply = _closed_within(s, LIMITS.body_timeout_s + 5)
        took = time.monotonic() - t0
    assert reply.startswith(b"HTTP/1.1 408") and b"Request body not received within 2 s" in reply, reply[:200]
    assert LIMITS.body_timeout_s - 0.1 < took < LIMITS.body_timeout_s + 1.5, took


def test_response_head_and_body_go_out_in_one_write():
    from tfrec.serving.rest_server import _OneWriteResponse

    class Recorder:
        def __init__(self):
            self.writes, self.closed = [], False

        def write(self, data):
            self.writes.append(data)

        def close(self):
            self.closed = True

        def is_closing(self):
            return self.closed

    raw = Recorder()
    t = _OneWriteResponse(raw)
    t.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # interim answer: at once
    assert raw.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    t.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert len(raw.writes) == 1  # held until the body
    t.write(b"{}")
    assert raw.writes[1] == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
    t.write(b"HTTP/1.1 500 Internal Server Error\r\n\r\n")
    t.close()  # a held head is flushed before the close
    assert raw.writes[2].startswith(b"HTTP/1.1 500") and raw.closed and t.is_closing()


def test_expect_100_continue_is_answered_before_the_body_is_sent(server):
    body = b'{"instances": ["u1"]}'
    with socket.create_connection(("127.0.0.1", server.rest_port), timeout=5) as sock:
        sock.sendall(b"POST /v1/models/movies:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Expect: 100-continue\r\n" + f"Content-Length: {len(body)}\r\n\r\n".encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < int(
                data.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0]):
            data += sock.recv(65536)
    head, payload = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200") and len(json.loads(payload)["predictions"]) == 1
