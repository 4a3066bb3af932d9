"""``tfrec data``: download public datasets, list what is there, and write synthetic datasets at real shapes."""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "data",
        help="download public datasets (MovieLens) into the data folder, verified",
        description=(
            "Datasets live in the data folder, one folder per dataset: $TFREC_DATA if set, else "
            "~/.cache/tfrec/data. `download` fetches a dataset from its publisher (or from the mirror in "
            "$TFREC_DATA_URL, which replaces the publisher's base URL), checks its checksums, and renames it "
            "into place only when verified. Example: tfrec data download ml-100k"
        ),
    )
    sub = p.add_subparsers(dest="data_command", metavar="ACTION")
    d = sub.add_parser("download", help="download and verify a dataset",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       description="Example: tfrec data download ml-latest-small --root ~/data")
    d.add_argument("name", help="ml-100k, ml-latest-small, ml-1m, ml-25m or ml-32m")
    d.add_argument("--root", help="data folder (default: $TFREC_DATA or ~/.cache/tfrec/data)")
    d.add_argument("--force", action="store_true", help="download again even when a verified copy is there")
    d.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the server")
    d.set_defaults(func=run_download)
    ls = sub.add_parser("list", help="list the known datasets, where they are and what is checked")
    ls.add_argument("--root", help="data folder (default: $TFREC_DATA or ~/.cache/tfrec/data)")
    ls.set_defaults(func=run_list)
    cv = sub.add_parser("convert", help="turn a MovieLens folder, Criteo CSV or session log into sharded files",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                        description="Two streaming passes (vocabularies, then shards): ids become int32 indices "
                                    "(vocab/<column>.txt: line i = raw id of index i), rows are split into "
                                    "near-equal shards (a session never spans two), and manifest.json lists row "
                                    "counts, schema and vocabulary files. Written to a temporary folder and renamed "
                                    "into place when complete. Example: tfrec data convert ../shared/data/ml-100k "
                                    "--out data/ml-100k.parquet --to parquet --shards 4")
    cv.add_argument("source", help="a MovieLens folder, a Criteo CSV (header label,I1..,C1..) or a session TSV "
                                   "(SessionId, ItemId, Time)")
    cv.add_argument("--out", required=True, help="output folder (must not exist)")
    cv.add_argument("--to", default="parquet", choices=("parquet", "tfrecord"), help="shard file format")
    cv.add_argument("--kind", choices=("ratings", "ctr", "sessions"), help="what the source holds (default: detect)")
    cv.add_argument("--shards", type=int, default=8, help="number of shard files")
    cv.add_argument("--chunk-rows", type=int, default=1_000_000, help="lines read per step (bounds memory)")
    cv.add_argument("--min-count", type=int, default=1,
                    help="CTR: categorical values seen fewer times share the out-of-vocabulary index 0")
    cv.set_defaults(func=run_convert)
    sy = sub.add_parser("synth", help="write a synthetic dataset at a real one's shape, with planted structure",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                        description="Power-law activity and popularity at the real dataset's user/item counts, "
                                    "with planted user x item groups (ml-25m), planted pairwise feature crosses "
                                    "(criteo; --crosses 0 writes the null data without any) or planted item "
                                    "successors (rsc15), so model quality is checkable. Writes shards and, last, "
                                    "manifest.json. Example: tfrec data synth --like ml-25m --rows 1000000 "
                                    "--out data/synth-ml-1m")
    sy.add_argument("--like", required=True, choices=("ml-25m", "criteo", "rsc15"), help="the real dataset's shape")
    sy.add_argument("--rows", required=True, type=int, help="interactions (ratings, CTR rows or clicks) to write")
    sy.add_argument("--out", required=True, help="output folder (must be empty or absent)")
    sy.add_argument("--shards", type=int, default=8, help="number of shard files")
    sy.add_argument("--format", default="parquet", choices=("parquet", "csv"), help="shard file format")
    sy.add_argument("--seed", type=int, default=0, help="seed of every draw (same arguments, same files)")
    sy.add_argument("--clusters", type=int, default=16, help="planted user/item (or session) groups")
    sy.add_argument("--crosses", type=int, default=4, help="criteo: planted feature-pair crosses (0 = null data)")
    sy.add_argument("--cross-strength", type=float, default=1.0, help="criteo: std of a cross's effect (logit)")
    sy.add_argument("--max-cardinality", type=int, default=1_000_000,
                    help="criteo: cap of a categorical column's ids (the real set has columns of 10M values)")
    sy.set_defaults(func=run_synth)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_convert(args) -> int:
    import time

    from tfrec.data import DataFormatError
    from tfrec.data.convert import convert

    t0 = time.perf_counter()
    try:
        manifest = convert(args.source, args.out, to=args.to, kind=args.kind, shards=args.shards,
                           chunk_rows=args.chunk_rows, min_count=args.min_count,
                           log=lambda msg: print(msg, file=sys.stderr, flush=True))
    except (DataFormatError, ValueError, FileNotFoundError) as e:
        print(f"tfrec data convert: error: {e}", file=sys.stderr)
        return 2
    ids = ", ".join(f"{k} {v:,}" for k, v in list(manifest.cardinality.items())[:4])
    print(f"wrote {manifest.rows:,} {manifest.kind} rows in {len(manifest.shards)} {args.to} shards to {args.out} "
          f"in {time.perf_counter() - t0:.1f}s (ids: {ids}; manifest: {args.out}/manifest.json)")
    return 0


def run_synth(args) -> int:
    import time

    from tfrec.data.synth import SynthSpec, synthesize

    spec = SynthSpec(like=args.like, rows=args.rows, seed=args.seed, clusters=args.clusters, crosses=args.crosses,
                     cross_strength=args.cross_strength, max_cardinality=args.max_cardinality)
    t0 = time.perf_counter()
    try:
        manifest = synthesize(spec, args.out, shards=args.shards, file_format=args.format,
                              log=lambda msg: print(msg, file=sys.stderr, flush=True))
    except ValueError as e:
        print(f"tfrec data synth: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {manifest.rows:,} {manifest.kind} rows in {len(manifest.shards)} {args.format} shards to "
          f"{args.out} in {time.perf_counter() - t0:.1f}s (manifest: {args.out}/manifest.json)")
    return 0


def run_download(args) -> int:
    from tfrec.data.download import DownloadError, download_dataset
    from tfrec.progress import Progress

    def progress(**kwargs):
        return Progress(stream=sys.stderr, **kwargs)

    try:
        path = download_dataset(args.name, args.root, force=args.force, timeout=args.timeout, progress=progress,
                                log=lambda msg: print(msg, file=sys.stderr, flush=True))
    except DownloadError as e:
        print(f"tfrec data download: error: {e}", file=sys.stderr)
        return 1
    print(path)
    return 0


def run_list(args) -> int:
    from pathlib import Path

    from tfrec.data.download import DATASETS, data_root, dataset_url, find_dataset

    root = Path(args.root) if args.root else data_root()
    print(f"data folder: {root}")
    for name, spec in DATASETS.items():
        where = find_dataset(name, root)
        checked = (f"SHA-256 of {len(spec.verified_files)} files" if spec.verified_files
                   else "MD5 of the zip")
        size = f"~{spec.size_mb:g} MB"
        print(f"  {name:<16} {'present' if where else 'absent':<8} {size:<8} checks: {checked:<22} "
              f"from {dataset_url(name)}")
    return 0
