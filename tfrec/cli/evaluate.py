"""``tfrec evaluate``: the bake-off. Several algorithms, one protocol, one table."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="compare algorithms on one dataset and protocol (the bake-off table)",
        description=(
            "Fit every algorithm of a config on the training split of a protocol and score it on the "
            "held-out split. Prints one table and writes results.json and results.csv into the run folder. "
            "An algorithm that fails does not stop the others: their results are written, results.json lists "
            "the failures (algorithm, error) and the command exits with status 1. "
            "Example: tfrec evaluate --config configs/bakeoff_ml100k.yaml --data ../shared/data/ml-100k"
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--config", required=True, help="YAML file with data, protocol, k and algorithms sections")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key (dotted path; the value is read as YAML), e.g. --set k=20 "
                        "--set protocol.params.seed=7 --set 'algorithms=[popularity, mf]' (a list is replaced "
                        "whole); repeatable")
    p.add_argument("--data", help="MovieLens folder (ml-100k, ml-1m or the CSV layout); overrides data.path")
    p.add_argument("--algorithms", help="comma-separated algorithm names to run instead of the config's "
                   "(e.g. mf,popularity); parameters come from the config where it names them")
    p.add_argument("--protocol", help="protocol name overriding the config's (msr_stratified, random, "
                   "temporal, leave_one_out, ncf, canonical, kfold); the config's protocol params that it takes "
                   "are kept (e.g. ratio, seed), the others dropped with a note")
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


def resolve(args):
    """The validated ``EvaluateConfig`` of ``args.config`` with ``--set`` and the other flags applied.

    ``--set`` overrides come first, then ``--data`` (data.path), ``-k``, ``--protocol`` (the config's
    protocol params that the named protocol accepts are kept; the others are dropped with a note on
    stderr) and ``--algorithms`` (the config's entries of those
    names, or the bare names). Every algorithm name and parameter set is checked against the registry
    and the protocol is built, before any data is read.

    Raises:
      ConfigError: an invalid config, override, algorithm or protocol (names the file, line and key).
    """
    from tfrec.config import ConfigError, EvaluateConfig, Locator, apply_overrides, read_yaml, set_dotted, validate
    from tfrec.evaluation import Protocol

    doc = read_yaml(args.config)
    raw, origins = apply_overrides(doc.data, getattr(args, "overrides", None) or [])
    for key, value, flag in (("data.path", args.data, "--data"), ("k", args.k, "-k")):
        if value is not None:
            set_dotted(raw, key, value)
            origins[key] = f"{flag} {value}"
    if args.protocol:
        raw["protocol"] = _override_protocol(raw.get("protocol"), args.protocol)
        origins["protocol"] = f"--protocol {args.protocol}"
    if args.algorithms:
        specs = [{"name": a} if isinstance(a, str) else a for a in raw.get("algorithms") or []]
        by_name = {s.get("name") or s.get("family"): s for s in specs if isinstance(s, dict)}
        raw["algorithms"] = [by_name.get(n.strip(), {"name": n.strip()})
                             for n in args.algorithms.split(",") if n.strip()]
        origins["algorithms"] = f"--algorithms {args.algorithms}"
    cfg = validate(EvaluateConfig, raw, Locator(str(args.config), doc.lines, origins))
    for i, spec in enumerate(cfg.algorithms):  # fail on a bad name or parameter before loading anything
        try:
            build_algorithm(spec)
        except ConfigError as e:  # a family's params / training / data: the message names the dotted key
            cfg.locator.fail(f"algorithms[{i}]", f"config key 'algorithms[{i}]' (family {spec.family!r}): {e.message}")
        except ValueError as e:
            cfg.locator.fail(f"algorithms[{i}]", f"config key 'algorithms[{i}]': {e}")
    try:
        Protocol(cfg.protocol.name, dict(cfg.protocol.params))
    except ValueError as e:
        cfg.locator.fail("protocol", f"config key 'protocol': {e}")
    return cfg


def build_algorithm(spec):
    """The evaluation ``Algorithm`` of one ``algorithms`` entry (an ``AlgorithmConfig``).

    A ``family`` entry becomes a ``tfrec.training.family_algorithm.FamilyAlgorithm`` (trained by the
    Trainer of ``tfrec train``); any other entry the algorithm registry's ``create(name, **params)``.

    Raises:
      ValueError: an unknown algorithm or family (names the valid ones) or invalid parameters
        (a ``ConfigError`` naming the dotted key for a family's settings).
    """
    if spec.family is not None:
        from tfrec.training.family_algorithm import FamilyAlgorithm

        return FamilyAlgorithm(spec.family, spec.params, training=spec.training, data=spec.data, name=spec.name)
    from tfrec.recommenders.registry import create

    return create(spec.name, **dict(spec.params))


def _override_protocol(old, name: str) -> dict:
    """``protocol`` of a raw config with its name replaced by ``name``, keeping the params ``name`` accepts.

    Args:
      old: the raw ``protocol`` value (a name, a ``{name, params}`` mapping or None).
      name: the protocol of ``--protocol``.

    Returns:
      ``{"name": name, "params": {...}}``: the config's params that are parameters of ``name`` (an
      unknown name keeps them all, for the protocol check to report).
    """
    from tfrec.evaluation import Protocol

    old = {"name": old} if isinstance(old, str) else (old if isinstance(old, dict) else {})
    params = dict(old.get("params") or {})
    try:
        accepted = set(Protocol(name).params)
    except ValueError:
        return {"name": name, "params": params}
    dropped = {k: v for k, v in params.items() if k not in accepted}
    if dropped:
        print(f"tfrec evaluate: --protocol {name}: dropped protocol.params "
              f"{', '.join(f'{k}={v!r}' for k, v in dropped.items())} of {old.get('name')!r} ({name!r} takes "
              f"{', '.join(sorted(accepted))})", file=sys.stderr)
    return {"name": name, "params": {k: v for k, v in params.items() if k in accepted}}


def run(args) -> int:
    if args.list:
        from tfrec.evaluation import PROTOCOLS, available_algorithms

        from tfrec.training.families.registry import available as available_families

        print("algorithms:", ", ".join(available_algorithms()))
        print("families:  ", ", ".join(available_families()), "(entries with 'family:', trained as by tfrec train)")
        print("protocols: ", ", ".join(PROTOCOLS))
        return 0
    cfg = resolve(args)
    data = cfg.data.model_dump()
    if not data.get("path"):
        raise ValueError("No data folder: pass --data PATH (a MovieLens folder such as ../shared/data/ml-100k) "
                         "or set data.path in the config.")
    from tfrec.data import load_movielens
    from tfrec.evaluation import Evaluator, Protocol

    protocol = Protocol(cfg.protocol.name, dict(cfg.protocol.params))
    t0 = time.perf_counter()
    ml = load_movielens(data["path"], layout=data.get("layout", "auto"), encoding=args.encoding,
                        duplicates=args.duplicates)
    print(f"loaded {len(ml.ratings):,} ratings from {data['path']} ({ml.layout}) in {time.perf_counter() - t0:.1f}s")
    ev = Evaluator(ml.ratings, protocol, k=cfg.k, data_path=data["path"], churn=cfg.churn,
                   exclude_seen=cfg.exclude_seen, relevance_threshold=cfg.relevance_threshold,
                   progress=not args.no_progress, factorized_ks=cfg.factorized_top_k)
    print(f"protocol {protocol.describe()}: {len(ev.folds)} fold(s), "
          f"{len(ev.folds[0].train.frame):,} train / {len(ev.folds[0].test):,} test interactions")
    table = ev.run([build_algorithm(spec) for spec in cfg.algorithms], on_error="record")
    import pandas as pd

    if len(table):
        with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 200):
            print(table.T.to_string())
    run_dir = Path(args.run_dir or cfg.output.run_dir
                   or f"runs/evaluate-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}")
    run_dir.mkdir(parents=True, exist_ok=True)
    payload = {"config": str(args.config), "overrides": list(args.overrides), "data": data,
               "protocol": protocol.describe(), "k": cfg.k,
               "results": ev.results, "failures": ev.failures}
    (run_dir / "results.json").write_text(json.dumps(payload, indent=2) + "\n")
    table.to_csv(run_dir / "results.csv")
    print(f"wrote {run_dir / 'results.json'} and {run_dir / 'results.csv'}")
    if ev.failures:
        for f in ev.failures:
            print(f"tfrec evaluate: error: algorithm {f['algorithm']} failed: {f['error']}", file=sys.stderr)
        print(f"tfrec evaluate: {len(ev.failures)} of {len(cfg.algorithms)} algorithm(s) failed; the results of the "
              "others are written (results.json lists the failures)", file=sys.stderr)
        return 1
    return 0
