"""Reliability of the built-in server: fuzzed requests, killed exports, broken versions, SIGTERM."""

import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

import tfrec  # noqa: F401
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from tfrec.serving.batching import BatchOptions
from tfrec.serving.config import ModelConfig
from tfrec.serving.server import ModelServer
from tfrec.export import layout
from tfrec.export.retrieval import export_retrieval
from tfrec.export.testing import tiny_two_tower

REPO = Path(__file__).resolve().parents[1]
K = 4


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = tmp_path_factory.mktemp("models")
    toy = tiny_two_tower(num_users=20, num_items=100, dim=4, seed=3)
    export_retrieval(base, "movies", toy.query_model, toy.query_features, toy.item_ids, toy.item_embeddings,
                     k=K, version=1, scann=False, warmup_examples={"user_id": toy.user_ids}, log=None)
    server = ModelServer([ModelConfig("movies", base / "movies")], rest_port=0, grpc_port=0, host="127.0.0.1",
                         poll_seconds=0.2, batch_options=BatchOptions(max_batch_size=16), max_num_load_retries=1,
                         load_retry_interval_micros=300_000).start()
    yield {"base": base, "toy": toy, "server": server}
    server.stop(drain_seconds=5)


def _post(conn, path, body: bytes, method="POST"):
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, data


def _valid_answer(server) -> list:
    conn = http.client.HTTPConnection("127.0.0.1", server.rest_port, timeout=30)
    status, data = _post(conn, "/v1/models/movies:predict", b'{"instances": ["u1"]}')
    conn.close()
    assert status == 200, data
    return json.loads(data)["predictions"][0]["item_ids"]


def _random_json(rng: random.Random, depth: int = 0):
    choice = rng.randrange(9 if depth < 4 else 6)
    if choice == 0:
        return rng.randint(-2**70, 2**70)
    if choice == 1:
        return rng.uniform(-1e300, 1e300)
    if choice == 2:
        return "".join(rng.choice("ab\u00e9\u4e2d\x00\"\\ ") for _ in range(rng.randrange(6)))
    if choice == 3:
        return None
    if choice == 4:
        return rng.choice([True, False])
    if choice == 5:
        return {"b64": rng.choice(["!!!", "dTE=", "", 5])}
    if choice in (6, 7):
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["user_id", "instances", "inputs", "x", "signature_name"]): _random_json(rng, depth + 1)
            for _ in range(rng.randrange(3))}


def _fuzz_bodies(rng: random.Random, n: int):
    valid = {"instances": ["u1", "u2"]}
    for i in range(n):
        kind = i % 10
        if kind == 0:
            yield "/v1/models/movies:predict", bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        elif kind == 1:
            text = json.dumps(valid)
            yield "/v1/models/movies:predict", text[: rng.randrange(len(text))].encode()
        elif kind == 2:
            yield "/v1/models/movies:predict", json.dumps(_random_json(rng)).encode()
        elif kind == 3:
            yield "/v1/models/movies:predict", json.dumps({"instances": _random_json(rng)}).encode()
        elif kind == 4:
            yield "/v1/models/movies:predict", json.dumps({"inputs": {"user_id": _random_json(rng)}}).encode()
        elif kind == 5:
            yield "/v1/models/movies:predict", json.dumps(
                {"signature_name": "exclude", "inputs": {"user_id": ["u1"], "exclude_items": _random_json(rng)}}).encode()
        elif kind == 6:
            yield "/v1/models/movies:predict", json.dumps(
                {"signature_name": _random_json(rng), "instances": ["u1"]}).encode()
        elif kind == 7:
            seg = rng.choice(["movies", "nosuch", "movies/versions/1", "movies/versions/99", "movies/versions/x",
                              "movies/labels/stable", "", "movies:predict", "%00", "movies/metadata"])
            yield f"/v1/models/{seg}:{rng.choice(['predict', 'classify', 'regress', 'bogus'])}", json.dumps(valid).encode()
        elif kind == 8:
            yield "/v1/models/movies:predict", ("[" * rng.randrange(1, 5000)).encode()
        else:
            yield "/v1/models/movies:predict", json.dumps(
                {"instances": [{"user_id": "u1"}, {"user_id": ["u1", "u2"]}]}).encode()


def test_2000_malformed_requests_give_no_5xx_and_the_server_keeps_answering(served):
    server = served["server"]
    before = _valid_answer(server)
    rng = random.Random(7)
    statuses = {}
    conn = http.client.HTTPConnection("127.0.0.1", server.rest_port, timeout=30)
    n_rest = 0
    for path, body in _fuzz_bodies(rng, 1700):
        method = "POST" if rng.random() < 0.95 else rng.choice(["GET", "PUT", "DELETE"])
        try:
            status, data = _post(conn, path, body, method)
        except (http.client.HTTPException, ConnectionError):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", server.rest_port, timeout=30)
            status, data = _post(conn, path, body, method)
        n_rest += 1
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, (path, body[:200], status, data[:300])
        if status >= 400:
            assert "error" in json.loads(data), data[:300]
    conn.close()
    # garbage at the HTTP layer itself
    for raw in (b"GARBAGE\r\n\r\n", b"BREW /v1/models/movies HTTP/1.1\r\n\r\n", b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
                b"POST /v1/models/movies:predict HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                b"POST /v1/models/movies:predict HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}"):
        with socket.create_connection(("127.0.0.1", server.rest_port), timeout=10) as s:
            s.sendall(raw)
            s.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := s.recv(65536):
                reply += chunk
        n_rest += 1
        m = re.match(rb"HTTP/1\.[01] (\d{3})", reply)
        assert m is None or int(m.group(1)) < 500, reply[:200]
    # gRPC: random tensors, dtypes, shapes and model specs
    channel = grpc.insecure_channel(server.grpc_target)
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    codes = {}
    for i in range(300):
        req = predict_pb2.PredictRequest()
        req.model_spec.name = rng.choice(["movies", "movies", "nosuch", ""])
        if rng.random() < 0.2:
            req.model_spec.version.value = rng.choice([1, 2, -1])
        req.model_spec.signature_name = rng.choice(["", "serving_default", "exclude", "bogus"])
        name = rng.choice(["user_id", "user_id", "exclude_items", "nope"])
        value = rng.choice([np.array(["u1"], object), np.array([1.0], np.float32), np.array([[b"u1"]], object),
                            np.array([], object), np.array(7, np.int64), np.zeros((2, 3), np.int32)])
        proto = tf.make_tensor_proto(value)
        if rng.random() < 0.2:
            proto.tensor_shape.dim.add().size = rng.choice([5, -1, 10**12])  # shape that contradicts the content
        if rng.random() < 0.1:
            proto.tensor_content = bytes(rng.randrange(256) for _ in range(7))
        req.inputs[name].CopyFrom(proto)
        try:
            stub.Predict(req, timeout=30)
            code = grpc.StatusCode.OK
        except grpc.RpcError as e:
            code = e.code()
        codes[code.name] = codes.get(code.name, 0) + 1
        assert code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNAVAILABLE), (req, code)
    channel.close()
    assert n_rest + sum(codes.values()) >= 2000
    assert statuses.get(200, 0) < n_rest  # the fuzzer did produce errors...
    assert sum(v for s, v in statuses.items() if 400 <= s < 500) > 1000  # ...mostly 4xx
    assert _valid_answer(server) == before


def test_killed_export_leaves_nothing_the_server_loads(served, tmp_path):
    """SIGKILL an exporter mid-write: its temporary folder is ignored; the next export cleans it up."""
    base, server = served["base"], served["server"]
    script = (
        "import shutil, sys, time\n"
        "from tfrec.export.layout import atomic_version_dir\n"
        "with atomic_version_dir(sys.argv[1], 'movies', 2) as tmp:\n"
        "    shutil.copytree(sys.argv[2], tmp, dirs_exist_ok=True)\n"
        "    print('WRITING', tmp, flush=True)\n"
        "    time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(base), str(base / "movies" / "1")],
                            stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        line = proc.stdout.readline()
        assert line.startswith("WRITING"), line
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    temp = Path(line.split(" ", 1)[1].strip())
    assert temp.is_dir() and temp.name.startswith(layout.TEMP_PREFIX)  # a complete SavedModel, but not renamed
    time.sleep(1.0)  # five polls
    assert server.manager.versions("movies") == [1]
    assert [s.version for s in server.manager.status("movies")] == [1]
    assert layout.list_versions(base / "movies") == [1]
    # the next export removes the dead writer's folder and takes version 2 atomically
    toy = served["toy"]
    export_retrieval(base, "movies", toy.query_model, toy.query_features, toy.item_ids, toy.item_embeddings,
                     k=K, scann=False, log=None)
    assert not temp.exists()
    assert layout.list_versions(base / "movies") == [1, 2]
    assert server.manager.wait_until_available("movies", 2, timeout=10)


def test_broken_version_is_reported_and_does_not_replace_the_working_one(served):
    base, server = served["base"], served["server"]
    current = max(server.manager.versions("movies"))
    broken = base / "movies" / str(current + 1)
    broken.mkdir()
    (broken / "saved_model.pb").write_bytes(b"this is not a SavedModel")
    deadline = time.monotonic() + 10
    states = []
    while time.monotonic() < deadline:
        st = {s.version: s for s in server.manager.status("movies")}
        if current + 1 in st:
            states.append((st[current + 1].state, st[current + 1].error_code))
            if st[current + 1].state == "END":
                break
        time.sleep(0.05)
    # one retry (LOADING with the first error), then END with the canonical code of an unparsable file
    assert ("LOADING", "DATA_LOSS") in states, states
    assert st[current + 1].state == "END" and st[current + 1].error_code == "DATA_LOSS"
    assert "Error parsing message" in st[current + 1].error_message
    assert server.manager.versions("movies") == [current]
    assert _valid_answer(server)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sigterm_finishes_in_flight_requests(served, capsys):
    """``tfrec serve`` (its ``run``, in this process's main thread) gets SIGTERM while three requests wait
    in a 3 s batch window: all three complete, then the server exits 0 and the port is closed."""
    from tfrec.cli.main import build_parser

    base = served["base"]
    port = _free_port()
    args = build_parser().parse_args([
        "serve", "--model-base-path", str(base / "movies"), "--model-name", "movies", "--rest-port", str(port),
        "--grpc-port", "-1", "--host", "127.0.0.1", "--engine", "builtin", "--poll-seconds", "0",
        "--max-batch-size", "512", "--batch-timeout-ms", "3000", "--no-warmup"])
    results, timing = [], {}

    def call():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        results.append(_post(conn, "/v1/models/movies:predict", b'{"instances": ["u1"]}'))

    def driver():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        threads = [threading.Thread(target=call) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(1.0)  # the requests now wait in the batch window; the signal handler is installed
        timing["term"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGTERM)
        for t in threads:
            t.join(timeout=60)

    helper = threading.Thread(target=driver)
    helper.start()
    rc = args.func(args)
    helper.join(timeout=60)
    out = capsys.readouterr().out
    assert [s for s, _ in results] == [200, 200, 200], results
    assert all(len(json.loads(d)["predictions"][0]["item_ids"]) == K for _, d in results)
    assert rc == 0, out
    assert "SIGTERM received; draining 3 in-flight" in out, out
    assert time.monotonic() - timing["term"] < 30
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_sigterm_with_keep_alive_clients_fails_no_request_sent_before_it(served, capsys):
    """Eight clients on keep-alive connections send requests back to back (each waits in a 200 ms batch
    window) while ``tfrec serve`` gets SIGTERM: every request sent before the signal is answered 200, the
    answers in flight at the signal say ``Connection: close``, and no connection is reset under a client."""
    from tfrec.cli.main import build_parser

    base = served["base"]
    port = _free_port()
    args = build_parser().parse_args([
        "serve", "--model-base-path", str(base / "movies"), "--model-name", "movies", "--rest-port", str(port),
        "--grpc-port", "-1", "--host", "127.0.0.1", "--engine", "builtin", "--poll-seconds", "0",
        "--batch-timeout-ms", "200", "--no-warmup"])
    records, timing = [], {}
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while "term" not in timing or time.monotonic() < timing["term"] + 1.0:
            sent = time.monotonic()
            try:
                conn.request("POST", "/v1/models/movies:predict", body=b'{"instances": ["u1"]}',
                             headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                outcome = (resp.status, resp.getheader("Connection"))
            except (OSError, http.client.HTTPException) as e:
                outcome = (type(e).__name__, None)
                conn.close()
                time.sleep(0.05)
            with lock:
                records.append((sent, time.monotonic(), outcome))

    def driver():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        timing["term"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGTERM)
        for t in threads:
            t.join(timeout=60)

    helper = threading.Thread(target=driver)
    helper.start()
    rc = args.func(args)
    helper.join(timeout=60)
    capsys.readouterr()
    term = timing["term"]
    before = [r for r in records if r[0] < term]
    assert len(before) >= 16 and rc == 0
    assert [r for r in before if r[2][0] != 200] == [], [r for r in before if r[2][0] != 200]
    answered_after = [r for r in before if r[1] > term]  # in flight at the signal (a 200 ms batch window)
    assert any(r[2][1] == "close" for r in answered_after), answered_after
    late = [r for r in answered_after if r[1] > term + 0.15]  # surely answered once the drain began
    assert all(r[2][1] == "close" for r in late), late


def test_grpc_drain_finishes_in_flight_calls_and_refuses_new_ones(served):
    """Four gRPC calls wait in a 300 ms batch window when the server stops: all four answer OK; a call
    after the stop is UNAVAILABLE."""
    base = served["base"]
    server = ModelServer([ModelConfig("movies", base / "movies")], rest_port=None, grpc_port=0, host="127.0.0.1",
                         poll_seconds=0, warmup=False,
                         batch_options=BatchOptions(max_batch_size=64, batch_timeout_ms=300)).start()
    channel = grpc.insecure_channel(server.grpc_target)
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    req = predict_pb2.PredictRequest()
    req.model_spec.name = "movies"
    req.inputs["user_id"].CopyFrom(tf.make_tensor_proto(np.array(["u1"], object)))
    stub.Predict(req, timeout=30)  # connected
    codes = []

    def call():
        try:
            stub.Predict(req, timeout=30)
            codes.append("OK")
        except grpc.RpcError as e:
            codes.append(e.code().name)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    assert server.stop(drain_seconds=10)
    for t in threads:
        t.join(timeout=30)
    assert codes == ["OK"] * 4, codes
    with pytest.raises(grpc.RpcError) as e:
        stub.Predict(req, timeout=5)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    channel.close()
