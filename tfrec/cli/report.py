"""``tfrec report``: PNG charts of a run folder or a results file."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help="draw PNG charts of a training run, a bake-off or the ScaNN benchmark",
        description=(
            "Charts with matplotlib (no display needed): the training and validation curves of a `tfrec train` "
            "run folder (epochs.jsonl), the metrics per algorithm of a `tfrec evaluate` run folder or results file "
            "(results.json, benchmarks/results/*.json), and ScaNN recall vs latency "
            "(benchmarks/results/scann_1m.json). Example: tfrec report runs/mf_ml100k"
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("source", nargs="+", metavar="RUN_DIR|RESULTS.json",
                   help="run folders and/or results files")
    p.add_argument("--out", help="folder of the PNGs (default: <run folder>/charts, or charts/ beside a results file)")
    p.set_defaults(func=run)


def run(args) -> int:
    from tfrec.charts import charts_for

    for source in map(Path, args.source):
        out = Path(args.out) if args.out else (source if source.is_dir() else source.parent) / "charts"
        for path in charts_for(source, out):
            print(path)
    return 0
