"""Load-generating client process for ``serving_load.py`` (imports neither TensorFlow nor the protos).

Runs ``--threads`` client threads for ``--seconds``, each sending requests back to back over one
keep-alive connection (REST) or one channel (gRPC), cycling through pre-built request bodies, and
writes the latencies and errors as JSON to ``--out``. A REST answer must be 200 with ``k`` item ids;
a gRPC answer must be OK and non-empty (the parent checks one answer's content before the load).

Run by ``serving_load.py``: ``python benchmarks/_load_client.py --protocol rest --port P --threads 8
--seconds 30 --bodies bodies.json --out out.json``
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import threading
import time


def rest_worker(port: int, path: str, k: int):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(body: bytes) -> None:
        nonlocal conn
        try:
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            raise
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {data[:200]!r}")
        if len(json.loads(data)["predictions"][0]["item_ids"]) != k:
            raise RuntimeError("wrong answer length")

    return call


def grpc_worker(port: int):
    import grpc

    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    predict = channel.unary_unary("/tensorflow.serving.PredictionService/Predict")  # bytes in, bytes out

    def call(body: bytes) -> None:
        if not predict(body, timeout=60):
            raise RuntimeError("empty answer")

    return call


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--protocol", choices=("rest", "grpc"), required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--bodies", required=True, help="JSON: {path, k, rest: [str], grpc: [base64]}")
    p.add_argument("--start-at", type=float, required=True, help="time.time() at which every client starts")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    spec = json.loads(open(args.bodies).read())
    bodies = ([b.encode() for b in spec["rest"]] if args.protocol == "rest"
              else [base64.b64decode(b) for b in spec["grpc"]])
    latencies, errors = [], []
    lock = threading.Lock()

    def client(seed: int) -> None:
        call = rest_worker(args.port, spec["path"], spec["k"]) if args.protocol == "rest" else grpc_worker(args.port)
        local, errs = [], []
        i = seed * 7919
        time.sleep(max(0.0, args.start_at - time.time()))
        stop_at = args.start_at + args.seconds
        while time.time() < stop_at:
            body = bodies[i % len(bodies)]
            i += 1
            t0 = time.perf_counter()
            try:
                call(body)
                local.append(time.perf_counter() - t0)
            except Exception as e:  # noqa: BLE001 - counted and reported
                errs.append(repr(e)[:200])
        with lock:
            latencies.extend(local)
            errors.extend(errs)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(args.out, "w") as f:
        json.dump({"latencies": latencies, "errors": errors}, f)


if __name__ == "__main__":
    main()
