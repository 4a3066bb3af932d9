"""``tfrec bench CONFIG``: run a benchmark config and write its results file.

A benchmark config (``configs/bench/<name>.yaml``, schema ``tfrec.config.bench``) lists runs: a
``tfrec evaluate`` config (run by the code of ``tfrec evaluate``: one row per algorithm), a ``tfrec
train`` config (run by the Trainer of ``tfrec train``: one row, its final test metrics) or a
``compare`` config (tfrec algorithms beside their Surprise counterparts on one split:
:mod:`tfrec.cli.bench_compare`). With
``bench.seeds`` every run is repeated with each training seed and a row reports the mean and the
sample standard deviation (ddof=1). The results file (``benchmarks/results/<name>.json``, written
atomically) has the format that ``benchmarks/make_report.py`` reads::

    {"benchmark", "dataset", "protocol", "command", "machine", "date",
     "rows": [{"algorithm", "metrics", "std"?, "train_seconds", "examples_per_second", "source"}],
     "anchors": [...], "seeds"?, "failures"?, "rows_kept_from"?}

``command`` is ``tfrec bench <config as given>`` with the ``--set`` / ``--only`` flags of the run.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

__all__ = ["machine_description", "register", "run"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "bench",
        help="run a benchmark config (tfrec evaluate / tfrec train runs) and write its results file",
        description=(
            "Run every run of a benchmark config (configs/bench/<name>.yaml): an `evaluate` run is a tfrec "
            "evaluate config (one row per algorithm), a `train` run a tfrec train config (one row: its test "
            "metrics). With bench.seeds each run is repeated per training seed (rows: mean and std). Writes "
            "benchmarks/results/<name>.json (or bench.results). "
            "Example: tfrec bench configs/bench/ranking_ml100k.yaml --only ranking_mlp_id"
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("config", help="the benchmark config (YAML with sections bench and runs)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key of the benchmark config (dotted path, value read as YAML), e.g. "
                        "--set 'bench.seeds=[1, 2]'; repeatable")
    p.add_argument("--only", help="comma-separated row names to run; their rows replace those of the same "
                                  "name in the existing results file, whose other rows are kept")
    p.add_argument("--dry-run", action="store_true",
                   help="check every run's config and print the rows it would make, without training")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=run)


def machine_description() -> str:
    """A one-line description of the machine the numbers were measured on (cores, GPUs, Python)."""
    try:
        import tensorflow as tf

        gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    except Exception:  # noqa: BLE001 - describing the machine must not fail a benchmark
        gpus = []
    cpu = platform.processor() or platform.machine()
    return (f"{os.cpu_count()} CPU cores ({cpu}), {'GPUs: ' + ', '.join(gpus) if gpus else 'no GPU'}, "
            f"Python {platform.python_version()}")


@dataclasses.dataclass
class PreparedRun:
    """One run of a benchmark config, its config read and checked.

    Attributes:
      index: position in ``runs``.
      kind: "evaluate" or "train".
      raw: the run's config mapping with the run's ``set`` applied.
      locator: where its values came from (for errors).
      rows: the row names it makes (suffix applied), in order.
      source: the ``source`` field of its rows, e.g. "evaluate configs/ncf_ml100k.yaml".
      suffix: the run's suffix.
      label: a train run's row name.
      scale: a scale run's settings (``tfrec.config.bench.ScaleRunConfig``), else None.
    """

    index: int
    kind: str
    raw: Dict[str, Any]
    locator: Any
    rows: List[str]
    source: str
    suffix: str
    label: Optional[str] = None
    scale: Any = None


def _run_mapping(bench, doc_lines, run_cfg, i: int):
    """(raw mapping with ``set`` applied, Locator, description) of run ``i``'s config (a file or inline)."""
    from tfrec.config import ConfigError, Locator, read_yaml, set_dotted

    key = f"runs[{i}].{run_cfg.kind}" + (".train" if run_cfg.kind in ("scale", "ctr_scale") else "")
    value = run_cfg.config
    if isinstance(value, str):
        if not Path(value).is_file():
            bench.locator.fail(key, f"config key {key!r}: the {run_cfg.kind} config file {value!r} does not exist "
                                    f"(paths are relative to the working directory {os.getcwd()}).")
        doc = read_yaml(value)
        raw, lines, source, described = doc.data if isinstance(doc.data, dict) else {}, doc.lines, value, value
    else:
        prefix = f"{key}."
        raw = json.loads(json.dumps(value))
        lines = {k[len(prefix):]: v for k, v in doc_lines.items() if k.startswith(prefix)}
        source, described = f"{bench.source} ({key})", f"inline {key}"
    origins = {}
    for dotted, new in run_cfg.set.items():
        origin = f"{bench.source}: runs[{i}].set.{dotted}"
        try:
            set_dotted(raw, dotted, new, origin=origin)
        except ConfigError as e:
            bench.locator.fail(f"runs[{i}].set", f"config key 'runs[{i}].set': bad override {dotted!r}: {e.message}")
        origins[dotted] = origin
    return raw, Locator(source, lines, origins), described


def _train_config(raw, locator, seed: Optional[int] = None):
    """The checked train ``Config`` of a train run (``training.seed`` set to ``seed`` if given)."""
    from tfrec.config import validate
    from tfrec.training.config import Config

    raw = json.loads(json.dumps(raw))
    if seed is not None:
        raw.setdefault("training", {})["seed"] = int(seed)
    return validate(Config, raw, locator)


def prepare(bench, doc_lines, only: Optional[Sequence[str]] = None) -> List[PreparedRun]:
    """Reads and checks every run's config (before anything is trained); keeps only the ``only`` rows.

    Raises:
      ConfigError: a missing config file, a bad override, an invalid run config (names the file,
        line and key), or an ``only`` name that is no row of the benchmark (lists the rows).
    """
    from tfrec.cli.bench_tune import row_names as tune_rows
    from tfrec.cli.bench_compare import checked_compare, compare_row_names, split_description
    from tfrec.cli.evaluate import checked_config, row_names

    prepared, every = [], []
    for i, run_cfg in enumerate(bench.runs):
        raw, locator, described = _run_mapping(bench, doc_lines, run_cfg, i)
        if run_cfg.kind == "evaluate":
            cfg = checked_config(raw, locator)
            names = [n + run_cfg.suffix for n in row_names(cfg)]
            label = None
        elif run_cfg.kind == "tune":
            cfg = _train_config(raw, locator)
            if not cfg.search_space:
                locator.fail("search_space", "a tune run needs a 'search_space' section (the keys to search).")
            label = run_cfg.label or cfg.model.name
            names = [n + run_cfg.suffix for n in tune_rows(label)]
        elif run_cfg.kind == "ctr_scale":
            from tfrec.cli.bench_ctr_scale import merged_config

            for name, model in run_cfg.ctr_scale.models.items():
                cfg = _train_config(merged_config(raw, model), locator)
                if cfg.data.format != "shards":
                    bench.locator.fail(f"runs[{i}].ctr_scale.train", f"config key 'runs[{i}].ctr_scale.train': "
                                       f"model {name!r} must read shards; set data.format: shards.")
            label = None
            # the model rows (scale_ctr.json: logreg, dcn, deepfm), each with the run's suffix
            names = [n + run_cfg.suffix for n in run_cfg.ctr_scale.models]
        elif run_cfg.kind == "compare":
            cfg = checked_compare(raw, locator)
            names = [n + run_cfg.suffix for n in compare_row_names(cfg)]
            label, described = None, f"{described}, split {split_description(cfg)}"
        else:
            cfg = _train_config(raw, locator)
            label = (run_cfg.scale and run_cfg.scale.label) or run_cfg.label or cfg.model.name
            names = [label + run_cfg.suffix]
            if run_cfg.scale is not None:
                if cfg.data.format != "shards":
                    bench.locator.fail(f"runs[{i}].scale.train", f"config key 'runs[{i}].scale.train': a scale run "
                                       f"trains on synthetic shard folders; set data.format: shards (got "
                                       f"{cfg.data.format!r}).")
                names = [f"{label}_{n}{run_cfg.suffix}" for n in run_cfg.scale.rows]
        every += names
        if only is not None:
            if run_cfg.scale is not None:
                keep = [n in only for n in names]
                run_cfg = run_cfg.model_copy(update={"scale": run_cfg.scale.model_copy(
                    update={"rows": [r for r, k in zip(run_cfg.scale.rows, keep) if k]})})
                names = [n for n, k in zip(names, keep) if k]
            elif run_cfg.kind == "ctr_scale":
                names = [n for n in names if n in only]
            elif run_cfg.kind in ("evaluate", "compare"):
                raw["algorithms"] = [spec for spec, n in zip(raw["algorithms"], names) if n in only]
                names = [n for n in names if n in only]
            elif not set(names) & set(only):  # a train or tune run makes all its rows or none
                names = []
        if names:
            prepared.append(PreparedRun(i, run_cfg.kind, raw, locator, names, f"{run_cfg.kind} {described}",
                                        run_cfg.suffix, label, run_cfg.scale or run_cfg.ctr_scale))
    missing = [n for n in (only or []) if n not in every]
    if missing:
        bench.locator.fail("runs", f"--only names rows that the benchmark does not make: {', '.join(missing)}. "
                                   f"Its rows: {', '.join(every)}.")
    return prepared


def _run_train(prepared: PreparedRun, seed: Optional[int]) -> Dict[str, Any]:
    """One train run through the Trainer of ``tfrec train``: its row (final test metrics, timing)."""
    from tfrec.training.family_algorithm import IN_MEMORY_OUTPUT
    from tfrec.training.trainer import Trainer

    raw = json.loads(json.dumps(prepared.raw))
    raw.setdefault("output", {}).update(IN_MEMORY_OUTPUT)
    config = _train_config(raw, prepared.locator, seed)
    with tempfile.TemporaryDirectory(prefix="tfrec-bench-") as run_dir:
        result = Trainer(config, run_dir=run_dir).fit()
    if not result.final:
        raise ValueError(f"train run {prepared.source}: the run has no test metrics (evaluation.enabled is false?).")
    return {"algorithm": prepared.rows[0], "metrics": dict(result.final),
            "train_seconds": result.metrics["timing"].get("fit_seconds"),
            "examples_per_second": result.metrics.get("train_examples_per_second")}


def run_scale(prepared: PreparedRun, scale, seed: Optional[int]):
    """One scale run (``tfrec.cli.bench_scale``): (rows, failures), one row per data size."""
    from tfrec.cli.bench_scale import run_scale as run

    return run(prepared, scale, seed)


def _run_evaluate(prepared: PreparedRun, seed: Optional[int], progress: bool):
    """One evaluate run through the code of ``tfrec evaluate``: (rows, failures)."""
    from tfrec.cli.evaluate import checked_config, evaluate_config

    ev = evaluate_config(checked_config(prepared.raw, prepared.locator), progress=progress, seed=seed)
    rows = [{**r, "algorithm": r["algorithm"] + prepared.suffix} for r in ev.results]
    failures = [{**f, "algorithm": f["algorithm"] + prepared.suffix} for f in ev.failures]
    return rows, failures


def _run_compare(prepared: PreparedRun, seed: Optional[int], progress: bool):
    """One compare run (tfrec algorithms beside their Surprise counterparts): (rows, failures)."""
    from tfrec.cli.bench_compare import checked_compare, run_compare

    return run_compare(checked_compare(prepared.raw, prepared.locator), prepared.suffix, seed, progress)


def _rounded(value: Optional[float], digits: int) -> Optional[float]:
    return None if value is None else round(float(value), digits)


def combine(name: str, runs: List[Dict[str, Any]], source: str) -> Dict[str, Any]:
    """One results row from the runs of ``name`` (one per seed): mean metrics, ``std`` (ddof=1) with several.

    Args:
      name: the row name.
      runs: [n_seeds] dicts with "metrics", "train_seconds" and "examples_per_second".
      source: the row's ``source`` field.
    """
    names = [k for k in runs[0]["metrics"] if all(r["metrics"].get(k) is not None for r in runs)]
    row: Dict[str, Any] = {"algorithm": name,
                           "metrics": {k: _rounded(np.mean([r["metrics"][k] for r in runs]), 6) for k in names}}
    if len(runs) > 1:
        row["std"] = {k: _rounded(np.std([r["metrics"][k] for r in runs], ddof=1), 6) for k in names}
    for key, digits in (("train_seconds", 3), ("examples_per_second", 1)):
        values = [r.get(key) for r in runs if r.get(key) is not None]
        row[key] = _rounded(np.mean(values), digits) if values else None
    row["source"] = source
    if "reference" in runs[0]:  # a compare run's reference algorithm
        row["reference"] = runs[0]["reference"]
    return row


def _run_tune(prepared: PreparedRun, extras: Dict[str, Any]) -> List[Dict[str, Any]]:
    """A tune run (``tfrec.cli.bench_tune``): its rows; its facts go into ``extras``."""
    from tfrec.cli.bench_tune import run_tune

    rows, extra = run_tune(_train_config(prepared.raw, prepared.locator), prepared.label)
    extras.update(extra)
    return [{**r, "algorithm": r["algorithm"] + prepared.suffix, "source": prepared.source} for r in rows]


def execute(prepared: List[PreparedRun], seeds: Optional[List[int]], progress: bool = True,
            extras: Optional[Dict[str, Any]] = None):
    """Runs every prepared run (once per seed; a tune run once); returns (rows, failures) in run order.

    Args:
      extras: filled with the results-file keys that runs add (a tune run's verdict), if given.
    """
    rows, failures = [], []
    extras = {} if extras is None else extras
    for p in prepared:
        if p.kind == "ctr_scale":
            from tfrec.cli.bench_ctr_scale import run_ctr_scale

            found, failed, extra = run_ctr_scale(p, p.scale, seeds[0] if seeds else None, suffix=p.suffix)
            rows += [combine(r["algorithm"], [r], p.source) for r in found]
            failures += failed
            extras.setdefault("by_run", {}).update(extra.pop("by_run", {}))
            extras.update(extra)
            if not extras["by_run"]:
                del extras["by_run"]
            continue
        if p.kind == "tune":
            try:
                rows += _run_tune(p, extras)
            except Exception as e:  # noqa: BLE001 -- a failed run is recorded; the others go on
                failures.append({"algorithm": p.rows[0], "error": f"{type(e).__name__}: {e}"})
            continue
        per_name: Dict[str, List[Dict[str, Any]]] = {n: [] for n in p.rows}
        for seed in seeds or [None]:
            if seed is not None:
                print(f"tfrec bench: run {p.index} ({p.source}), training seed {seed}", flush=True)
            if p.kind == "scale":
                found, failed = run_scale(p, p.scale, seed)
            elif p.kind == "train":
                try:
                    found, failed = [_run_train(p, seed)], []
                except Exception as e:  # noqa: BLE001 -- a failed run is recorded; the others go on
                    found, failed = [], [{"algorithm": p.rows[0], "error": f"{type(e).__name__}: {e}"}]
            elif p.kind == "compare":
                found, failed = _run_compare(p, seed, progress)
            else:
                found, failed = _run_evaluate(p, seed, progress)
            for r in found:
                per_name.setdefault(r["algorithm"], []).append(r)
            failures += [{**f, "seed": seed} if seed is not None else f for f in failed]
        expected = len(seeds or [None])
        rows += [combine(n, runs, p.source) for n, runs in per_name.items() if runs and len(runs) == expected]
    return rows, failures


def results_path(bench) -> Path:
    """``bench.results`` or ``benchmarks/results/<name>.json`` (relative to the working directory)."""
    return Path(bench.bench.results or Path("benchmarks") / "results" / f"{bench.bench.name}.json")


def _command(args) -> str:
    config = args.config if not os.path.isabs(args.config) else os.path.relpath(args.config)
    parts = [config]
    for item in args.overrides:
        parts += ["--set", item]
    if args.only:
        parts += ["--only", args.only]
    return "tfrec bench " + shlex.join(parts)


def write_results(path: Path, payload: Dict[str, Any]) -> None:
    """Writes ``payload`` as JSON to ``path`` atomically (a temporary file beside it, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, path)


def _merge(path: Path, rows: List[Dict[str, Any]], order: Sequence[str] = ()) -> tuple:
    """(rows, rows_kept_from) of ``--only``: the new rows replace the existing file's rows of the same name.

    Rows are put in the benchmark's row ``order`` (names not in it keep their place at the end).
    """
    if not path.is_file():
        return rows, None
    old = json.loads(path.read_text())
    new = {r["algorithm"]: r for r in rows}
    merged = [new.pop(r["algorithm"], r) for r in old.get("rows", [])]
    kept = [r["algorithm"] for r in old.get("rows", []) if r["algorithm"] not in {x["algorithm"] for x in rows}]
    position = {name: i for i, name in enumerate(order)}
    merged = sorted(merged + list(new.values()), key=lambda r: position.get(r["algorithm"], len(position)))
    return merged, {"command": old.get("command"), "date": old.get("date"), "rows": kept}


def run(args) -> int:
    from tfrec.config import BenchConfig, Locator, apply_overrides, read_yaml, validate

    doc = read_yaml(args.config)
    raw, origins = apply_overrides(doc.data if isinstance(doc.data, dict) else {}, args.overrides)
    bench = validate(BenchConfig, raw, Locator(str(args.config), doc.lines, origins))
    only = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    prepared = prepare(bench, doc.lines, only)
    path = results_path(bench)
    if args.dry_run:
        for p in prepared:
            print(f"run {p.index}: {p.source} -> rows: {', '.join(p.rows)}")
        print(f"seeds: {bench.bench.seeds or 'the configs own'}; results: {path} (dry run: nothing trained or written)")
        return 0
    extras: Dict[str, Any] = {}
    rows, failures = execute(prepared, bench.bench.seeds, progress=not args.no_progress, extras=extras)
    kept_from = None
    if only is not None:
        rows, kept_from = _merge(path, rows, [n for p in prepare(bench, doc.lines) for n in p.rows])
    payload: Dict[str, Any] = {
        "benchmark": bench.bench.name,
        "dataset": bench.bench.dataset,
        "protocol": bench.bench.protocol,
        "command": _command(args),
        "machine": machine_description(),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "rows": rows,
        "anchors": [a.model_dump() for a in bench.bench.anchors],
    }
    payload.update(extras)
    if bench.bench.seeds:
        payload["seeds"] = list(bench.bench.seeds)
    if kept_from is not None:
        payload["rows_kept_from"] = kept_from
    if failures:
        payload["failures"] = failures
    write_results(path, payload)
    print(f"wrote {path} ({len(rows)} rows)")
    if failures:
        for f in failures:
            print(f"tfrec bench: error: {f['algorithm']} failed: {f['error']}", file=sys.stderr)
        return 1
    return 0
