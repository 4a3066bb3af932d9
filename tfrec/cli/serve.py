"""``tfrec serve``: serve exported models over TF Serving's REST and gRPC APIs."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

ENGINES = ("auto", "tfserving", "builtin")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "serve",
        help="serve exported models with TF Serving's REST (8501) and gRPC (8500) APIs",
        description=(
            "Serve the models of a TF Serving model base path. --engine auto runs the real "
            "tensorflow_model_server when it is on PATH (it cannot load the *_scann models: give it "
            "models.tfserving.config) and otherwise the built-in server, which implements TF Serving's "
            "REST API (status, metadata, :predict in row and columnar formats) and gRPC "
            "PredictionService/ModelService, imports ScaNN's ops, polls the base path for new versions "
            "(latest 1 kept by default), batches concurrent requests and drains in-flight requests on "
            "SIGTERM. Example: tfrec serve --model-config models/models.config --rest-port 8501 --grpc-port 8500"
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    src = p.add_argument_group("models")
    src.add_argument("--model-config", help="model_config_list text proto (e.g. models/models.config written "
                     "by `tfrec export`); re-read when it changes")
    src.add_argument("--model-base-path", help="a model folder holding <version>/ folders, or a base path holding "
                     "<name>/<version>/ folders (all of them are served unless --model-name is given)")
    src.add_argument("--model-name", help="model name (with --model-base-path)")
    src.add_argument("--version-policy", default="latest",
                     help="versions to serve: latest, latest:N, all, or specific:V1,V2 (applies to models whose "
                     "config sets no model_version_policy)")
    net = p.add_argument_group("network")
    net.add_argument("--rest-port", type=int, default=8501, help="REST API port (0: any free port; -1: no REST)")
    net.add_argument("--grpc-port", type=int, default=8500, help="gRPC port (0: any free port; -1: no gRPC)")
    net.add_argument("--host", default="0.0.0.0", help="interface to bind")
    net.add_argument("--grpc-workers", type=int, default=16, help="gRPC thread-pool size")
    eng = p.add_argument_group("behaviour")
    eng.add_argument("--engine", choices=ENGINES, default="auto",
                     help="auto: tensorflow_model_server if on PATH, else builtin")
    eng.add_argument("--poll-seconds", type=float, default=1.0,
                     help="how often the base paths are checked for new or removed versions (0: never)")
    eng.add_argument("--max-batch-size", type=int, default=1024,
                     help="rows per request (more: 400 'Task size N is larger than maximum input batch size M', "
                     "as TF Serving) and per batched model call")
    eng.add_argument("--no-batching", action="store_true", help="no server-side batching of concurrent requests")
    eng.add_argument("--batch-timeout-ms", type=float, default=0.0,
                     help="how long a batch waits for more requests (0: batch only what is already queued)")
    eng.add_argument("--batch-threads", type=int, default=2, help="batch worker threads per signature")
    eng.add_argument("--drain-seconds", type=float, default=30.0,
                     help="on SIGTERM/SIGINT, how long in-flight requests may take to finish")
    eng.add_argument("--no-warmup", action="store_true", help="do not replay assets.extra warm-up requests on load")
    eng.add_argument("--max_num_load_retries", "--max-num-load-retries", dest="max_num_load_retries", type=int,
                     default=5, help="retries of a version that failed to load (TF Serving's flag)")
    eng.add_argument("--load_retry_interval_micros", "--load-retry-interval-micros", dest="load_retry_interval_micros",
                     type=int, default=60_000_000, help="microseconds between load retries (TF Serving's flag)")
    eng.add_argument("--rest-engine", choices=("uvicorn", "stdlib"), default="uvicorn",
                     help="uvicorn, or the standard library's ThreadingHTTPServer (no header deadline or connection "
                     "limit; kept for comparison in benchmarks/serving_load.py)")
    lim = p.add_argument_group("limits (REST, and gRPC where they apply)")
    lim.add_argument("--max-exclude-items", type=int, default=10_000, help="items per row of exclude_items")
    lim.add_argument("--max-body-bytes", type=int, default=64 << 20, help="request body (gRPC message) size")
    lim.add_argument("--header-timeout-s", type=float, default=10.0,
                     help="seconds a client may take to send a request's headers; then the connection is closed")
    lim.add_argument("--body-timeout-s", type=float, default=30.0, help="seconds a client may take to send a body")
    lim.add_argument("--request-timeout-s", type=float, default=30.0, help="seconds one REST request may run (504)")
    lim.add_argument("--max-connections", type=int, default=4096, help="open REST connections")
    lim.add_argument("--rest-workers", type=int, default=64, help="threads running REST requests' model calls")
    p.set_defaults(func=run)


def _configs(args):
    from tfrec.serving.config import ModelConfigError, configs_from_base_path, parse_config_file, parse_policy

    policy = parse_policy(args.version_policy)
    if args.model_config and args.model_base_path:
        raise ModelConfigError("give either --model-config or --model-base-path, not both")
    if args.model_config:
        configs = parse_config_file(args.model_config)
        if args.version_policy != "latest":
            import dataclasses

            from tfrec.serving.config import VersionPolicy

            configs = [dataclasses.replace(c, policy=policy) if c.policy == VersionPolicy() else c for c in configs]
        return configs, Path(args.model_config)
    if args.model_base_path:
        return configs_from_base_path(args.model_base_path, args.model_name, policy), None
    raise ModelConfigError("nothing to serve: pass --model-config models/models.config or "
                           "--model-base-path models/ [--model-name NAME] (export models with `tfrec export`)")


def _exec_tfserving(binary: str, args) -> int:
    from tfrec.serving.batching import BatchOptions
    from tfrec.serving.server import tfserving_command
    from tfrec.export.layout import TFSERVING_CONFIG_FILE, is_scann_model

    config = Path(args.model_config) if args.model_config else None
    if config is not None:
        from tfrec.serving.config import has_relative_base_paths, parse_config_file

        scann = [c.name for c in parse_config_file(config) if is_scann_model(c.base_path)]
        relative = has_relative_base_paths(config)
        if scann or relative:
            alt = config.parent / TFSERVING_CONFIG_FILE
            why = (f"{', '.join(scann)} hold ScaNN ops that stock tensorflow_model_server cannot load "
                   "(and one failed model stops it)" if scann else
                   f"{config} has relative base paths, which tensorflow_model_server does not resolve against "
                   "the config file's folder")
            print(f"tfrec serve: {why}; serving {alt} instead.", file=sys.stderr)
            if not alt.is_file():
                print(f"tfrec serve: error: {alt} not found; re-export or use --engine builtin", file=sys.stderr)
                return 2
            config = alt
    if args.rest_port <= 0 or args.grpc_port <= 0:
        print("tfrec serve: error: tensorflow_model_server needs explicit --rest-port and --grpc-port", file=sys.stderr)
        return 2
    base = Path(args.model_base_path) if args.model_base_path else None
    name = args.model_name
    if config is None and base is not None:
        from tfrec.serving.config import configs_from_base_path

        cfgs = configs_from_base_path(base, name)
        if len(cfgs) != 1:
            print("tfrec serve: error: with --engine tfserving, --model-base-path must name one model "
                  "(add --model-name) or use --model-config", file=sys.stderr)
            return 2
        base, name = cfgs[0].base_path, cfgs[0].name
    cmd = tfserving_command(binary, args.rest_port, args.grpc_port, model_config=config, model_base_path=base,
                            model_name=name, poll_seconds=args.poll_seconds,
                            batch_options=BatchOptions(max_batch_size=args.max_batch_size))
    print("tfrec serve: exec " + " ".join(cmd), flush=True)
    os.execv(binary, cmd)
    return 0  # not reached


def run(args) -> int:
    from tfrec.serving.config import ModelConfigError

    try:
        configs, config_file = _configs(args)
    except ModelConfigError as e:
        print(f"tfrec serve: error: {e}", file=sys.stderr)
        return 2
    if args.engine in ("auto", "tfserving"):
        from tfrec.serving.server import find_tensorflow_model_server

        binary = find_tensorflow_model_server()
        if binary:
            return _exec_tfserving(binary, args)
        if args.engine == "tfserving":
            print("tfrec serve: error: --engine tfserving but tensorflow_model_server is not on PATH. Install it "
                  "(apt package tensorflow-model-server from storage.googleapis.com/tensorflow-serving-apt) or "
                  "run the Docker image tensorflow/serving; or use --engine builtin.", file=sys.stderr)
            return 2
    import tfrec  # noqa: F401  (tf_keras before TensorFlow)
    from tfrec.serving.batching import BatchOptions
    from tfrec.serving.limits import RequestLimits
    from tfrec.serving.server import ModelServer

    logging.getLogger("tfrec.serving").setLevel(logging.INFO)
    try:
        limits = RequestLimits(max_batch_size=args.max_batch_size, max_exclude_items=args.max_exclude_items,
                               max_body_bytes=args.max_body_bytes, header_timeout_s=args.header_timeout_s,
                               body_timeout_s=args.body_timeout_s, request_timeout_s=args.request_timeout_s,
                               max_connections=args.max_connections, workers=args.rest_workers)
        server = ModelServer(
            configs, rest_port=None if args.rest_port < 0 else args.rest_port,
            grpc_port=None if args.grpc_port < 0 else args.grpc_port, host=args.host, poll_seconds=args.poll_seconds,
            batch_options=BatchOptions(1 if args.no_batching else args.max_batch_size, args.batch_timeout_ms,
                                       args.batch_threads),
            config_file=config_file, grpc_workers=args.grpc_workers, warmup=not args.no_warmup, limits=limits,
            max_num_load_retries=args.max_num_load_retries,
            load_retry_interval_micros=args.load_retry_interval_micros, rest_engine=args.rest_engine)
    except ValueError as e:
        print(f"tfrec serve: error: {e}", file=sys.stderr)
        return 2
    try:
        server.start()
    except OSError as e:
        print(f"tfrec serve: error: cannot open the ports: {e}", file=sys.stderr)
        return 2
    for name in server.manager.model_names():
        versions = server.manager.versions(name)
        state = f"version {versions[-1]}" if versions else "no version loaded yet"
        print(f"tfrec serve: model {name}: {state}", flush=True)
    rest = f"REST {server.rest_url}" if server.rest else "REST off"
    grpc_ = f"gRPC {server.grpc_target}" if server.grpc else "gRPC off"
    print(f"tfrec serve: ready (engine builtin, REST on {args.rest_engine}) {rest} {grpc_}", flush=True)
    return server.serve_until_signal(drain_seconds=args.drain_seconds)
