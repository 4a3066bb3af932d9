"""Load test of ``tfrec serve``: 16 concurrent clients for 30 s against ScaNN retrieval over 100k items.

Setup: a retrieval model (StringLookup + Embedding query tower over 10,000 users, 64-d) with a
ScaNN index over 100,000 clustered synthetic candidates, exported by ``tfrec.export.export_retrieval``
(recall@10 target 0.95). ``tfrec serve`` runs as a separate process (built-in engine, default
batching: max batch 64, no batch timeout) on loopback.

Measured:
* in-process latency: the exported SavedModel's ``serving_default`` called in this process, one
  user per call (median of 500 calls);
* sequential latency through the server (1 client, REST and gRPC): the server's overhead is its
  median minus the in-process median;
* load: 16 client threads, each sending one-user predict requests back to back over a keep-alive
  connection for 30 s, once over REST (JSON, row format) and once over gRPC: QPS, p50/p95/p99,
  errors (any non-200 / non-OK answer or exception);
* resident memory (RSS) of the server process after loading, and after the load.

Run: ``python benchmarks/serving_load.py [--seconds 30] [--clients 16] [--candidates 100000]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, row, write_results  # noqa: E402

import tensorflow as tf  # noqa: E402

from tfrec.export.retrieval import export_retrieval  # noqa: E402

K = 10


def build_model(num_users: int, num_items: int, dim: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    users = np.array([f"u{i}" for i in range(num_users)])
    centres = rng.normal(size=(1000, dim)).astype(np.float32)
    items = (centres[rng.integers(0, 1000, num_items)] + 0.5 * rng.normal(size=(num_items, dim))).astype(np.float32)
    user_vecs = (centres[rng.integers(0, 1000, num_users)] + 0.5 * rng.normal(size=(num_users, dim))).astype(np.float32)
    tower = tf.keras.Sequential([
        tf.keras.layers.StringLookup(vocabulary=users.tolist()),
        tf.keras.layers.Embedding(num_users + 1, dim,
                                  weights=[np.vstack([np.zeros((1, dim), np.float32), user_vecs])]),
    ])
    tower(tf.constant(users[:1]))
    return tower, users, np.array([f"i{i}" for i in range(num_items)]), items, user_vecs


def percentiles(values):
    a = np.asarray(values) * 1000.0
    return {"p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95)),
            "p99_ms": float(np.percentile(a, 99)), "mean_ms": float(a.mean())}


class RestWorker:
    def __init__(self, port, model):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.path = f"/v1/models/{model}:predict"

    def __call__(self, user):
        body = json.dumps({"instances": [{"user_id": user}]})
        self.conn.request("POST", self.path, body=body, headers={"Content-Type": "application/json"})
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {data[:200]!r}")
        if len(json.loads(data)["predictions"][0]["item_ids"]) != K:
            raise RuntimeError("wrong answer length")


class GrpcWorker:
    def __init__(self, port, model):
        import grpc
        from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self.pb = predict_pb2
        self.model = model

    def __call__(self, user):
        req = self.pb.PredictRequest()
        req.model_spec.name = self.model
        t = req.inputs["user_id"]
        t.dtype = 7  # DT_STRING
        t.tensor_shape.dim.add().size = 1
        t.string_val.append(user.encode())
        resp = self.stub.Predict(req, timeout=60)
        if len(resp.outputs["item_ids"].string_val) != K:
            raise RuntimeError("wrong answer length")


def run_load(make_worker, users, clients: int, seconds: float):
    latencies, errors = [], []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(seed):
        worker = make_worker()
        rng = np.random.default_rng(seed)
        local, errs = [], []
        start.wait()
        while time.perf_counter() < stop_at[0]:
            user = users[rng.integers(len(users))]
            t0 = time.perf_counter()
            try:
                worker(user)
                local.append(time.perf_counter() - t0)
            except Exception as e:  # noqa: BLE001 - counted
                errs.append(repr(e)[:200])
        with lock:
            latencies.extend(local)
            errors.extend(errs)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    t0 = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return {"requests": len(latencies), "errors": len(errors), "error_examples": errors[:3],
            "qps": len(latencies) / elapsed, "seconds": elapsed, **percentiles(latencies)}


def sequential(worker, users, n: int):
    for u in users[:20]:
        worker(u)
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        worker(users[i % len(users)])
        times.append(time.perf_counter() - t0)
    return percentiles(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--candidates", type=int, default=100_000)
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--dim", type=int, default=64)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="serving_load_"))
    proc = None
    try:
        tower, users, item_ids, items, user_vecs = build_model(args.users, args.candidates, args.dim)
        rng = np.random.default_rng(1)
        export = export_retrieval(work, "movies", tower, {"user_id": tf.TensorSpec([None], tf.string)}, item_ids,
                                  items, k=K, version=1, scann=True, scann_recall=0.95,
                                  tuning_queries=user_vecs[rng.choice(len(users), 1000, replace=False)],
                                  warmup_examples={"user_id": users[:4]})
        model = "movies_scann"
        # in-process reference
        sig = tf.saved_model.load(str(export.paths[model])).signatures["serving_default"]
        inproc = []
        for i in range(520):
            t0 = time.perf_counter()
            sig(user_id=tf.constant([users[i % len(users)]]))
            if i >= 20:
                inproc.append(time.perf_counter() - t0)
        inproc_stats = percentiles(inproc)
        del sig
        print(f"in-process: p50 {inproc_stats['p50_ms']:.3f} ms", flush=True)

        cmd = [sys.executable, "-m", "tfrec.cli.main", "serve", "--model-config", str(work / "models.config"),
               "--rest-port", "0", "--grpc-port", "0", "--host", "127.0.0.1", "--engine", "builtin"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
        rest_port = grpc_port = None
        for line in proc.stdout:
            m = re.search(r"ready .*REST http://127\.0\.0\.1:(\d+) gRPC 127\.0\.0\.1:(\d+)", line)
            if m:
                rest_port, grpc_port = int(m.group(1)), int(m.group(2))
                break
        if rest_port is None:
            raise RuntimeError("server did not start:\n" + proc.stdout.read()[-3000:])
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # drain its output
        server = psutil.Process(proc.pid)
        rss_before = server.memory_info().rss / 2**20
        seq_rest = sequential(RestWorker(rest_port, model), users, 300)
        seq_grpc = sequential(GrpcWorker(grpc_port, model), users, 300)
        print(f"sequential: REST p50 {seq_rest['p50_ms']:.3f} ms, gRPC p50 {seq_grpc['p50_ms']:.3f} ms", flush=True)
        load_rest = run_load(lambda: RestWorker(rest_port, model), users, args.clients, args.seconds)
        print(f"REST load: {load_rest['qps']:.0f} QPS, p50 {load_rest['p50_ms']:.2f} / p95 {load_rest['p95_ms']:.2f} / "
              f"p99 {load_rest['p99_ms']:.2f} ms, errors {load_rest['errors']}", flush=True)
        load_grpc = run_load(lambda: GrpcWorker(grpc_port, model), users, args.clients, args.seconds)
        print(f"gRPC load: {load_grpc['qps']:.0f} QPS, p50 {load_grpc['p50_ms']:.2f} / p95 {load_grpc['p95_ms']:.2f} / "
              f"p99 {load_grpc['p99_ms']:.2f} ms, errors {load_grpc['errors']}", flush=True)
        rss_after = server.memory_info().rss / 2**20
        print(f"server RSS {rss_before:.0f} MiB -> {rss_after:.0f} MiB", flush=True)
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)
    t = export.tuning
    common = {"clients": args.clients, "seconds": args.seconds, "candidates": args.candidates, "dim": args.dim,
              "model": model, "server_rss_mib_before": round(rss_before, 1), "server_rss_mib_after": round(rss_after, 1),
              "in_process_p50_ms": round(inproc_stats["p50_ms"], 4), "load_average": [round(x, 2) for x in os.getloadavg()]}
    rows = []
    for proto, seq, load in (("rest", seq_rest, load_rest), ("grpc", seq_grpc, load_grpc)):
        rows.append(row(f"tfrec_serve_{proto}", {
            "qps": load["qps"], "p50_ms": load["p50_ms"], "p95_ms": load["p95_ms"], "p99_ms": load["p99_ms"],
            "errors": load["errors"], "requests": load["requests"],
            "sequential_p50_ms": seq["p50_ms"],
            "server_overhead_p50_ms": seq["p50_ms"] - inproc_stats["p50_ms"]},
            error_examples=load["error_examples"], **common))
    write_results(
        "serving_load", f"synthetic retrieval: {args.users} users, {args.candidates} x {args.dim} clustered candidates",
        f"{args.clients} concurrent clients x {args.seconds:.0f} s per protocol on loopback, one-user predict requests "
        f"to {model} (ScaNN {t.settings.num_leaves} leaves / search {t.settings.num_leaves_to_search} / reorder "
        f"{t.settings.num_reordering_candidates}, tuned recall@10 {t.recall:.3f}); server = `tfrec serve` built-in "
        "engine in its own process, default batching; overhead = sequential served p50 - in-process p50",
        rows, scann=t.to_dict())


if __name__ == "__main__":
    main()
