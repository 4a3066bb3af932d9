"""``tfrec data``: download public datasets into the data folder and list what is there."""

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
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


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
