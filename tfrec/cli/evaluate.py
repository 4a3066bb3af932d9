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
    stderr) and ``--algorithms`` (the config's entries of those labels or names, or the bare names).
    Then :func:`checked_config`.

    Raises:
      ConfigError: an invalid config, override, algorithm or protocol (names the file, line and key).
    """
    from tfrec.config import Locator, apply_overrides, read_yaml, set_dotted

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
        by_name = {}
        for spec in specs:
            for key in (spec.get("label"), spec.get("name")) if isinstance(spec, dict) else ():
                by_name.setdefault(key, spec)
        raw["algorithms"] = [by_name.get(n.strip(), {"name": n.strip()})
                             for n in args.algorithms.split(",") if n.strip()]
        origins["algorithms"] = f"--algorithms {args.algorithms}"
    return checked_config(raw, Locator(str(args.config), doc.lines, origins))


def checked_config(raw, locator):
    """Validates a raw ``tfrec evaluate`` mapping and checks every algorithm and the protocol.

    Every algorithm name, label, parameter set and training section is checked against the registry
    (by building it, :func:`build_algorithm`) and the protocol is built, before any data is read.

    Args:
      raw: the config mapping (overrides applied).
      locator: a ``tfrec.config.Locator`` (file, lines, overrides) for the error messages.

    Raises:
      ConfigError: an invalid config, algorithm or protocol (names the file, line and key).
    """
    from tfrec.config import ConfigError, EvaluateConfig, validate
    from tfrec.evaluation import Protocol

    cfg = validate(EvaluateConfig, raw, locator)
    for i, spec in enumerate(cfg.algorithms):  # fail on a bad name or parameter before loading anything
        try:
            build_algorithm(spec)
        except ConfigError as e:  # params / training / data: the message names the dotted key
            cfg.locator.fail(f"algorithms[{i}]", f"config key 'algorithms[{i}]' ({spec.name!r}): {e.message}")
        except ValueError as e:
            cfg.locator.fail(f"algorithms[{i}]", f"config key 'algorithms[{i}]': {e}")
    try:
        Protocol(cfg.protocol.name, dict(cfg.protocol.params))
    except ValueError as e:
        cfg.locator.fail("protocol", f"config key 'protocol': {e}")
    return cfg


def build_algorithm(spec):
    """The evaluation ``Algorithm`` of one ``algorithms`` entry (an ``AlgorithmConfig``).

    ``tfrec.training.build_algorithm``: a Keras model becomes a ``FamilyAlgorithm`` (trained by the
    Trainer of ``tfrec train``), a closed-form algorithm is built by its registry entry.

    Raises:
      ValueError: an unknown or renamed name (names the valid or new ones) or invalid settings (a
        ``ConfigError`` naming the dotted key).
    """
    from tfrec.training.family_algorithm import build_algorithm as build

    return build(spec.name, spec.params, training=spec.training, data=spec.data, label=spec.label)


def row_names(cfg):
    """The result-row names of a config's algorithms, in order (``label`` or ``name``)."""
    return [spec.label or spec.name for spec in cfg.algorithms]


def evaluate_config(cfg, *, encoding=None, duplicates: str = "error", progress: bool = True, seed=None):
    """Runs a checked ``tfrec evaluate`` config: loads the data, splits it, fits and scores every algorithm.

    The code path of ``tfrec evaluate`` (and of the evaluate runs of ``tfrec bench``).

    Args:
      cfg: an ``EvaluateConfig`` from :func:`checked_config` (or :func:`resolve`).
      encoding: text encoding of the data files; None = the layout's.
      duplicates: "error", "keep-last" or "mean" for a (user, item) pair rated several times.
      progress: show progress bars.
      seed: the training seed of every algorithm that has one (``training.seed`` of a Keras model,
        ``seed`` of a closed-form one); None = the config's. The split does not change.

    Returns:
      The ``Evaluator`` after ``run(..., on_error="record")``: ``results`` (one dict per algorithm
      that finished) and ``failures``.

    Raises:
      ValueError: no data folder (``data.path`` unset).
    """
    data = cfg.data.model_dump()
    if not data.get("path"):
        raise ValueError("No data folder: pass --data PATH (a MovieLens folder such as ../shared/data/ml-100k) "
                         "or set data.path in the config.")
    from tfrec.data import load_movielens
    from tfrec.evaluation import Evaluator, Protocol

    protocol = Protocol(cfg.protocol.name, dict(cfg.protocol.params))
    t0 = time.perf_counter()
    ml = load_movielens(data["path"], layout=data.get("layout", "auto"), encoding=encoding, duplicates=duplicates)
    print(f"loaded {len(ml.ratings):,} ratings from {data['path']} ({ml.layout}) in {time.perf_counter() - t0:.1f}s")
    ratings = ml.ratings
    if cfg.data.filter is not None:
        from tfrec.data.filters import filter_outliers

        ratings, report = filter_outliers(ratings, **cfg.data.filter.model_dump())
        print(f"data.filter: removed {len(report['removed_users'])} user(s), {len(report['removed_items'])} item(s), "
              f"{report['removed_rows']:,} rating(s)")
    ev = Evaluator(ratings, protocol, k=cfg.k, data_path=data["path"], churn=cfg.churn, items=ml.movies,
                   exclude_seen=cfg.exclude_seen, relevance_threshold=cfg.relevance_threshold, progress=progress,
                   factorized_ks=cfg.factorized_top_k)
    print(f"protocol {protocol.describe()}: {len(ev.folds)} fold(s), "
          f"{len(ev.folds[0].train.frame):,} train / {len(ev.folds[0].test):,} test interactions")
    algorithms = [build_algorithm(spec) for spec in cfg.algorithms]
    if seed is not None:
        for algo in algorithms:
            if hasattr(algo, "seed"):
                algo.seed = int(seed)
    ev.run(algorithms, on_error="record")
    return ev


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
        from tfrec.evaluation import PROTOCOLS
        from tfrec.training.families.registry import available, get_task

        names = available()
        print("algorithms:", ", ".join(n for n in names if get_task(n).kind != "session"))
        print("            (Keras models train with the Trainer of tfrec train; closed-form ones: "
              f"{', '.join(n for n in names if get_task(n).closed_form and get_task(n).kind != 'session')})")
        print("protocols: ", ", ".join(PROTOCOLS))
        return 0
    cfg = resolve(args)
    ev = evaluate_config(cfg, encoding=args.encoding, duplicates=args.duplicates, progress=not args.no_progress)
    table = ev.table()
    import pandas as pd

    if len(table):
        with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 200):
            print(table.T.to_string())
    run_dir = Path(args.run_dir or cfg.output.run_dir
                   or f"runs/evaluate-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}")
    run_dir.mkdir(parents=True, exist_ok=True)
    payload = {"config": str(args.config), "overrides": list(args.overrides), "data": cfg.data.model_dump(),
               "protocol": ev.protocol.describe(), "k": cfg.k,
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
