"""Load test of ``tfrec serve``: 16 and 128 concurrent clients, REST (uvicorn and stdlib) and gRPC.

Setup: a retrieval model (StringLookup + Embedding query tower over 10,000 users, 64-d) with a
ScaNN index over 100,000 clustered synthetic candidates, exported by ``tfrec.export.export_retrieval``
(recall@10 target 0.95). Two ``tfrec serve`` processes (built-in engine, default limits and
batching) run on loopback: one with the default REST server (``--rest-engine uvicorn``) and gRPC, one
with the standard library's ``ThreadingHTTPServer`` (``--rest-engine stdlib``: the REST server before
uvicorn, same request handling and model manager) for the ``rest_stdlib`` rows.

Both servers also serve ``light``: the same query tower with a brute-force top-10 over only 100
candidates (``export_retrieval(..., scann=False)``), whose answer has the same shape (10 item ids and
scores) but whose model call takes about 0.15 ms (mostly TensorFlow's per-call cost). Its rows (``rest_light``,
``rest_stdlib_light``, ``grpc_light``) isolate the cost of the HTTP / gRPC layer, which the ScaNN
model's CPU time hides in the main rows.

Measured:
* in-process latency: the exported SavedModel's ``serving_default`` called in this process, one
  user per call (median of 500 calls); sequential latency through each server (1 client, 300 calls);
* load: N clients (16, then 128) in separate client processes (``_load_client.py``: 2 processes for
  16 clients, 4 for 128, so the client's GIL is not the limit), each sending one-user predict
  requests back to back over a keep-alive connection (REST, JSON row format) or a channel (gRPC) for
  ``--seconds``: QPS, p50/p95/p99, errors (any non-200 / non-OK answer or exception);
* resident memory (RSS) of the serving process before and after each row;
* server CPU per request: user + system CPU seconds of the serving process (psutil ``cpu_times``)
  over the row, divided by the requests answered; beside it the in-process CPU time of one model call
  (``time.process_time``), so a row shows how much of a request is the model and how much the server.
Rows ``rest``, ``rest_stdlib``, ``grpc``, ``rest_light``, ``rest_stdlib_light``, ``grpc_light`` (16
clients) and ``*_128``, run one after the other in that order: on a shared machine compare rows of one
run (``ratios``), not across runs. ``ratios`` also holds ``cpu_split_<N>_clients``: per server, CPU ms
per request with the ScaNN model, with the light model (the server's own cost) and their difference
(the ScaNN model's share).

Run: ``python benchmarks/serving_load.py [--seconds 30] [--clients 16 128] [--candidates 100000]
[--light-candidates 100]``
"""

from __future__ import annotations

import argparse
import base64
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


def sequential(worker, users, n: int):
    """Latency of one client's requests, one after the other (after 20 warm-up calls)."""
    for u in users[:20]:
        worker(u)
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        worker(users[i % len(users)])
        times.append(time.perf_counter() - t0)
    return percentiles(times)


def start_server(config: Path, engine: str, grpc: bool):
    """Starts ``tfrec serve`` in its own process; returns ``(process, rest_port, grpc_port or None)``."""
    cmd = [sys.executable, "-m", "tfrec.cli.main", "serve", "--model-config", str(config), "--rest-port", "0",
           "--grpc-port", "0" if grpc else "-1", "--host", "127.0.0.1", "--engine", "builtin",
           "--rest-engine", engine]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    for line in proc.stdout:
        m = re.search(r"ready .*REST http://127\.0\.0\.1:(\d+) gRPC (?:127\.0\.0\.1:(\d+)|off)", line)
        if m:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # drain its output
            return proc, int(m.group(1)), int(m.group(2)) if m.group(2) else None
    raise RuntimeError(f"tfrec serve --rest-engine {engine} did not start")


def request_bodies(users, model: str, path: Path) -> Path:
    """Pre-built REST bodies and serialized gRPC requests for the client processes."""
    from tensorflow_serving.apis import predict_pb2

    rest, grpc_ = [], []
    for u in users[:500]:
        rest.append(json.dumps({"instances": [{"user_id": str(u)}]}))
        req = predict_pb2.PredictRequest()
        req.model_spec.name = model
        t = req.inputs["user_id"]
        t.dtype = 7  # DT_STRING
        t.tensor_shape.dim.add().size = 1
        t.string_val.append(str(u).encode())
        grpc_.append(base64.b64encode(req.SerializeToString()).decode())
    path.write_text(json.dumps({"path": f"/v1/models/{model}:predict", "k": K, "rest": rest, "grpc": grpc_}))
    return path


def run_clients(protocol: str, port: int, clients: int, seconds: float, bodies: Path, work: Path):
    """``clients`` threads over 2 (<= 16 clients) or 4 client processes; returns load statistics."""
    procs = 2 if clients <= 16 else 4
    start_at = time.time() + 3.0  # every process has imported grpc and connected by then
    outs, children = [], []
    for i in range(procs):
        out = work / f"load_{protocol}_{port}_{clients}_{i}.json"
        threads = clients // procs + (1 if i < clients % procs else 0)
        children.append(subprocess.Popen([
            sys.executable, str(Path(__file__).resolve().parent / "_load_client.py"), "--protocol", protocol,
            "--port", str(port), "--threads", str(threads), "--seconds", str(seconds), "--bodies", str(bodies),
            "--start-at", repr(start_at), "--out", str(out)]))
        outs.append(out)
    for c in children:
        if c.wait(timeout=seconds + 120) != 0:
            raise RuntimeError(f"a load client exited with {c.returncode}")
    latencies, errors = [], []
    for out in outs:
        d = json.loads(out.read_text())
        latencies += d["latencies"]
        errors += d["errors"]
    return {"requests": len(latencies), "errors": len(errors), "error_examples": errors[:3],
            "qps": len(latencies) / seconds, "client_processes": procs, **percentiles(latencies)}


def in_process(export_path: Path, users, n: int = 500):
    """Median latency and mean CPU time (ms) of one-user calls to a SavedModel's serving_default here."""
    sig = tf.saved_model.load(str(export_path)).signatures["serving_default"]
    for i in range(20):
        sig(user_id=tf.constant([users[i % len(users)]]))
    times = []
    cpu0 = time.process_time()
    for i in range(n):
        t0 = time.perf_counter()
        sig(user_id=tf.constant([users[i % len(users)]]))
        times.append(time.perf_counter() - t0)
    cpu_ms = (time.process_time() - cpu0) * 1000.0 / n
    return percentiles(times)["p50_ms"], cpu_ms


def cpu_seconds(proc: psutil.Process) -> float:
    """User + system CPU seconds of ``proc`` so far (every thread)."""
    t = proc.cpu_times()
    return t.user + t.system


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--clients", type=int, nargs="+", default=[16, 128])
    p.add_argument("--candidates", type=int, default=100_000)
    p.add_argument("--light-candidates", type=int, default=100)
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--dim", type=int, default=64)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="serving_load_"))
    servers = []
    rows, ratios = [], {}
    try:
        tower, users, item_ids, items, user_vecs = build_model(args.users, args.candidates, args.dim)
        rng = np.random.default_rng(1)
        export = export_retrieval(work, "movies", tower, {"user_id": tf.TensorSpec([None], tf.string)}, item_ids,
                                  items, k=K, version=1, scann=True, scann_recall=0.95,
                                  tuning_queries=user_vecs[rng.choice(len(users), 1000, replace=False)],
                                  warmup_examples={"user_id": users[:4]})
        light = export_retrieval(work, "light", tower, {"user_id": tf.TensorSpec([None], tf.string)},
                                 item_ids[:args.light_candidates], items[:args.light_candidates], k=K, version=1,
                                 scann=False, warmup_examples={"user_id": users[:4]})
        model, light_model = "movies_scann", "light"
        inproc = {model: in_process(export.paths[model], users), light_model: in_process(light.paths[light_model], users)}
        print("in-process: " + ", ".join(f"{m} p50 {v[0]:.3f} ms, CPU {v[1]:.3f} ms/call" for m, v in inproc.items()),
              flush=True)
        main_proc, rest_port, grpc_port = start_server(work / "models.config", "uvicorn", grpc=True)
        servers.append(main_proc)
        std_proc, std_port, _ = start_server(work / "models.config", "stdlib", grpc=False)
        servers.append(std_proc)
        bodies = {model: request_bodies(users, model, work / "bodies.json"),
                  light_model: request_bodies(users, light_model, work / "bodies_light.json")}
        targets = {}  # row name -> (protocol, port, server process, model)
        for sfx, m in (("", model), ("_light", light_model)):
            targets.update({f"rest{sfx}": ("rest", rest_port, main_proc, m),
                            f"rest_stdlib{sfx}": ("rest", std_port, std_proc, m),
                            f"grpc{sfx}": ("grpc", grpc_port, main_proc, m)})
        seq = {name: sequential(RestWorker(port, m) if protocol == "rest" else GrpcWorker(port, m), users, 300)
               for name, (protocol, port, _proc, m) in targets.items()}
        print("sequential p50: " + ", ".join(f"{k} {v['p50_ms']:.3f} ms" for k, v in seq.items()), flush=True)
        t = export.tuning
        for clients in args.clients:
            for name, (protocol, port, proc, m) in targets.items():
                server = psutil.Process(proc.pid)
                rss_before = server.memory_info().rss / 2**20
                cpu_before = cpu_seconds(server)
                load = run_clients(protocol, port, clients, args.seconds, bodies[m], work)
                cpu_ms = (cpu_seconds(server) - cpu_before) * 1000.0 / max(1, load["requests"] + load["errors"])
                rss_after = server.memory_info().rss / 2**20
                label = name if clients == 16 else f"{name}_{clients}"
                print(f"{label}: {load['qps']:.0f} QPS, p50 {load['p50_ms']:.2f} / p95 {load['p95_ms']:.2f} / "
                      f"p99 {load['p99_ms']:.2f} ms, errors {load['errors']}, server CPU {cpu_ms:.3f} ms/request, "
                      f"RSS {rss_before:.0f} -> {rss_after:.0f} MiB", flush=True)
                rows.append(row(label, {
                    "qps": load["qps"], "p50_ms": load["p50_ms"], "p95_ms": load["p95_ms"], "p99_ms": load["p99_ms"],
                    "errors": load["errors"], "requests": load["requests"],
                    "server_cpu_ms_per_request": cpu_ms, "in_process_cpu_ms_per_call": inproc[m][1],
                    "sequential_p50_ms": seq[name]["p50_ms"],
                    "server_overhead_p50_ms": seq[name]["p50_ms"] - inproc[m][0]},
                    error_examples=load["error_examples"], clients=clients, seconds=args.seconds,
                    client_processes=load["client_processes"], rest_engine=None if protocol == "grpc" else
                    ("stdlib" if name.startswith("rest_stdlib") else "uvicorn"),
                    candidates=args.candidates if m == model else args.light_candidates, dim=args.dim,
                    model=m, server_rss_mib_before=round(rss_before, 1), server_rss_mib_after=round(rss_after, 1),
                    in_process_p50_ms=round(inproc[m][0], 4), load_average=[round(x, 2) for x in os.getloadavg()]))
            by = {r["algorithm"]: r["metrics"] for r in rows if r["clients"] == clients}
            sfx = "" if clients == 16 else f"_{clients}"
            for kind in ("", "_light"):
                new, old = by[f"rest{kind}{sfx}"], by[f"rest_stdlib{kind}{sfx}"]
                key = f"rest{kind}_vs_stdlib{kind}_{clients}_clients" if kind else f"rest_vs_stdlib_{clients}_clients"
                ratios[key] = {"qps_ratio": round(new["qps"] / old["qps"], 3),
                               "p99_ratio": round(new["p99_ms"] / old["p99_ms"], 3)}
                print(f"{clients} clients{' (light model)' if kind else ''}: REST uvicorn/stdlib QPS "
                      f"x{ratios[key]['qps_ratio']}, p99 x{ratios[key]['p99_ratio']}", flush=True)
            split = {}
            for server_name in ("rest", "rest_stdlib", "grpc"):
                total = by[f"{server_name}{sfx}"]["server_cpu_ms_per_request"]
                own = by[f"{server_name}_light{sfx}"]["server_cpu_ms_per_request"]
                split[server_name] = {"cpu_ms_per_request": round(total, 4), "server_cpu_ms_per_request": round(own, 4),
                                      "model_cpu_ms_per_request": round(total - own, 4)}
            ratios[f"cpu_split_{clients}_clients"] = split
            print(f"{clients} clients CPU ms/request (total / server / model): " + ", ".join(
                f"{k} {v['cpu_ms_per_request']:.3f} / {v['server_cpu_ms_per_request']:.3f} / "
                f"{v['model_cpu_ms_per_request']:.3f}" for k, v in split.items()), flush=True)
    finally:
        for proc in servers:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)
    write_results(
        "serving_load", f"synthetic retrieval: {args.users} users, {args.candidates} x {args.dim} clustered candidates "
        f"(light model: the first {args.light_candidates})",
        f"{' and '.join(map(str, args.clients))} concurrent clients (client processes apart from the servers) x "
        f"{args.seconds:.0f} s per row on loopback, one-user predict requests to {model} (ScaNN "
        f"{t.settings.num_leaves} leaves / search {t.settings.num_leaves_to_search} / reorder "
        f"{t.settings.num_reordering_candidates}, tuned recall@10 {t.recall:.3f}) and, in the *_light rows, to "
        f"{light_model} (same query tower, brute-force top-{K} over {args.light_candidates} candidates: the HTTP/gRPC "
        "layer's own cost); servers = `tfrec serve` built-in "
        "engine, default limits and batching, REST on uvicorn (rows rest*, grpc*) or on the standard library's "
        "ThreadingHTTPServer (rows rest_stdlib*, the server before uvicorn), each in its own process; rows run one "
        "after the other on a machine shared with other jobs, so compare within this run (ratios); "
        "overhead = sequential served p50 - in-process p50; server_cpu_ms_per_request = user+system CPU of the "
        "serving process over the row / requests; cpu_split = ScaNN rows' CPU per request - light rows' (model share)",
        rows, ratios=ratios, scann=t.to_dict())


if __name__ == "__main__":
    main()
