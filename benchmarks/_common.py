"""Shared helpers of the benchmark scripts: data location and the results-file format.

Every benchmark writes ``benchmarks/results/<name>.json`` with this shape::

    {"benchmark", "dataset", "protocol", "command", "machine", "date",
     "rows": [{"algorithm", "metrics": {...}, "train_seconds", "examples_per_second", ...}],
     "anchors": [{"algorithm", "metrics": {...}, "source"}], ...}

``anchors`` are published reference figures (with their source) shown beside our rows in
BENCHMARKS.md; they are never our own results. ``python benchmarks/make_report.py`` regenerates
BENCHMARKS.md from these files.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
DATA_ROOT = Path(os.environ.get("TFREC_DATA", REPO.parent / "shared" / "data"))


def data_dir(name: str) -> Path:
    """Path of ``../shared/data/<name>``; exits with a message (status 0) where it is absent."""
    path = DATA_ROOT / name
    if not path.is_dir():
        print(f"SKIP: dataset folder {path} not found (set TFREC_DATA to the folder holding {name}/).")
        sys.exit(0)
    return path


def read_config(path) -> Dict[str, Any]:
    """A ``configs/*.yaml`` file, validated with the schema of the command that reads it, as a plain dict.

    ``tfrec train`` configs are checked with the model-family checks and come back as written (the
    benchmark applies its own defaults); ``tfrec evaluate`` and session-benchmark configs come back
    with every key (algorithms as ``{"name", "params"}`` mappings).

    Raises:
      ConfigError: the file is invalid (names the key, file and line).
    """
    from tfrec.config import RunConfig, load, load_yaml, schema_of

    raw = load_yaml(path)
    schema = schema_of(raw)
    if schema is RunConfig:
        from tfrec.training.config import load_config

        load_config(path)
        return raw
    return load(path, schema).model_dump()


def machine() -> str:
    """A one-line description of the machine the numbers were measured on (that of ``tfrec bench``)."""
    from tfrec.cli.bench import machine_description

    return machine_description()


def row(algorithm: str, metrics: Dict[str, float], train_seconds: Optional[float] = None,
        examples_per_second: Optional[float] = None, **extra: Any) -> Dict[str, Any]:
    """One result row; metric values are rounded to 6 digits."""
    out = {
        "algorithm": algorithm,
        "metrics": {k: (round(float(v), 6) if v is not None else None) for k, v in metrics.items()},
        "train_seconds": None if train_seconds is None else round(float(train_seconds), 3),
        "examples_per_second": None if examples_per_second is None else round(float(examples_per_second), 1),
    }
    out.update(extra)
    return out


def write_results(name: str, dataset: str, protocol: str, rows: List[Dict[str, Any]],
                  anchors: Optional[List[Dict[str, Any]]] = None, **extra: Any) -> Path:
    """Writes ``benchmarks/results/<name>.json`` atomically and returns its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "dataset": dataset,
        "protocol": protocol,
        "command": "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:]),
        "machine": machine(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "rows": rows,
        "anchors": anchors or [],
    }
    payload.update(extra)
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, path)
    print(f"wrote {path.relative_to(REPO)}")
    return path
