"""``tfrec evaluate``: the bake-off. Several algorithms, one protocol, one table."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

CONFIG_KEYS = ("data", "protocol", "k", "algorithms", "churn", "exclude_seen", "relevance_threshold", "output")
DATA_KEYS = ("dataset", "path", "layout")
PROTOCOL_KEYS = ("name", "params")
OUTPUT_KEYS = ("run_dir",)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="compare algorithms on one dataset and protocol (the bake-off table)",
        description=(
            "Fit every algorithm of a config on the training split of a protocol and score it on the "
            "held-out split. Prints one table and writes results.json and results.csv into the run folder. "
            "Example: tfrec evaluate --config configs/bakeoff_ml100k.yaml --data ../shared/data/ml-100k"
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--config", required=True, help="YAML file with data, protocol, k and algorithms sections")
    p.add_argument("--data", help="MovieLens folder (ml-100k, ml-1m or the CSV layout); overrides data.path")
    p.add_argument("--algorithms", help="comma-separated algorithm names to run instead of the config's "
                   "(e.g. mf,popularity); parameters come from the config where it names them")
    p.add_argument("--protocol", help="protocol name overriding the config's (msr_stratified, random, "
                   "temporal, leave_one_out, ncf, canonical, kfold)")
    p.add_argument("-k", type=int, help="list length of top-k metrics (overrides the config's k)")
    p.add_argument("--run-dir", help="folder for results.json / results.csv (default runs/evaluate-<time>)")
    p.add_argument("--encoding", help="text encoding of the data files, e.g. latin-1 or cp1252 "
                   "(default: the layout's, latin-1 for ml-100k/ml-1m, utf-8 for CSV)")
    p.add_argument("--duplicates", default="error", choices=("error", "keep-last", "mean"),
                   help="a (user, movie) pair rated on several lines: refuse the file, keep the last line, "
                        "or their mean rating")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--list", action="store_true", help="list the registered algorithms and protocols and exit")
    p.set_defaults(func=run)


def _resolve(args) -> dict:
    from tfrec.config import ConfigError, check_keys, load_yaml

    cfg = load_yaml(args.config)
    check_keys(cfg, CONFIG_KEYS, args.config)
    data = dict(cfg.get("data") or {})
    check_keys(data, DATA_KEYS, f"{args.config}: data")
    proto = cfg.get("protocol") or {"name": "msr_stratified"}
    if isinstance(proto, str):
        proto = {"name": proto}
    check_keys(proto, PROTOCOL_KEYS, f"{args.config}: protocol")
    output = dict(cfg.get("output") or {})
    check_keys(output, OUTPUT_KEYS, f"{args.config}: output")
    algos = list(cfg.get("algorithms") or [])
    specs = []
    for i, a in enumerate(algos):
        spec = {"name": a} if isinstance(a, str) else dict(a)
        check_keys(spec, ("name", "params"), f"{args.config}: algorithms[{i}]")
        if "name" not in spec:
            raise ConfigError(f"{args.config}: algorithms[{i}] has no 'name'.")
        specs.append(spec)
    if args.algorithms:
        by_name = {s["name"]: s for s in specs}
        specs = [by_name.get(n.strip(), {"name": n.strip()}) for n in args.algorithms.split(",") if n.strip()]
    if not specs:
        raise ConfigError(f"{args.config}: no algorithms to evaluate; add an 'algorithms' list or pass --algorithms.")
    if args.data:
        data["path"] = args.data
    if args.protocol:
        proto = {"name": args.protocol, "params": proto.get("params", {}) if args.protocol == proto.get("name") else {}}
    k = args.k if args.k is not None else cfg.get("k", 10)
    if not isinstance(k, int) or k <= 0:
        raise ConfigError(f"{args.config}: k must be a positive integer. Received: k={k!r}")
    return {"data": data, "protocol": proto, "k": k, "algorithms": specs, "churn": bool(cfg.get("churn", False)),
            "exclude_seen": bool(cfg.get("exclude_seen", True)),
            "relevance_threshold": cfg.get("relevance_threshold"), "output": output}


def run(args) -> int:
    if args.list:
        from tfrec.evaluation import PROTOCOLS, available_algorithms

        print("algorithms:", ", ".join(available_algorithms()))
        print("protocols: ", ", ".join(PROTOCOLS))
        return 0
    from tfrec.evaluation.registry import create

    cfg = _resolve(args)
    for spec in cfg["algorithms"]:  # fail on a bad name before loading anything
        create(spec["name"], **dict(spec.get("params") or {}))
    data = cfg["data"]
    if data.get("dataset", "movielens") != "movielens":
        raise ValueError(f"data.dataset {data['dataset']!r} is not supported by `tfrec evaluate`; valid: movielens.")
    if not data.get("path"):
        raise ValueError("No data folder: pass --data PATH (a MovieLens folder such as ../shared/data/ml-100k) "
                         "or set data.path in the config.")
    from tfrec.data import load_movielens
    from tfrec.evaluation import Evaluator, Protocol

    protocol = Protocol(cfg["protocol"]["name"], dict(cfg["protocol"].get("params") or {}))
    t0 = time.perf_counter()
    ml = load_movielens(data["path"], layout=data.get("layout", "auto"), encoding=args.encoding,
                        duplicates=args.duplicates)
    print(f"loaded {len(ml.ratings):,} ratings from {data['path']} ({ml.layout}) in {time.perf_counter() - t0:.1f}s")
    ev = Evaluator(ml.ratings, protocol, k=cfg["k"], data_path=data["path"], churn=cfg["churn"],
                   exclude_seen=cfg["exclude_seen"], relevance_threshold=cfg["relevance_threshold"],
                   progress=not args.no_progress)
    print(f"protocol {protocol.describe()}: {len(ev.folds)} fold(s), "
          f"{len(ev.folds[0].train.frame):,} train / {len(ev.folds[0].test):,} test interactions")
    table = ev.run(cfg["algorithms"])
    import pandas as pd

    with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 200):
        print(table.T.to_string())
    run_dir = Path(args.run_dir or cfg["output"].get("run_dir")
                   or f"runs/evaluate-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}")
    run_dir.mkdir(parents=True, exist_ok=True)
    payload = {"config": str(args.config), "data": data, "protocol": protocol.describe(), "k": cfg["k"],
               "results": ev.results}
    (run_dir / "results.json").write_text(json.dumps(payload, indent=2) + "\n")
    table.to_csv(run_dir / "results.csv")
    print(f"wrote {run_dir / 'results.json'} and {run_dir / 'results.csv'}")
    return 0
