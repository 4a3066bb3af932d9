"""Entry point of the ``tfrec`` command.

Each sub-command lives in ``tfrec/cli/<command>.py`` and defines ``register(subparsers)``, which
adds its parser and sets ``func``; TensorFlow is imported only when a command runs, so
``tfrec --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import List, Optional

import tfrec

COMMANDS = ("quickstart", "evaluate", "train", "tune", "export", "serve", "recommend")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tfrec",
        description="tfrec: deep-learning recommenders on TensorFlow. Train, evaluate, tune, export and serve.",
        epilog="Run `tfrec COMMAND --help` for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"tfrec {tfrec.__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"tfrec.cli.{name}")
        except ModuleNotFoundError as e:  # a command whose module is not installed
            if e.name != f"tfrec.cli.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, KeyError, FileNotFoundError) as e:
        # user errors: one clear line, no traceback (use -v for the traceback)
        if args.verbose:
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"tfrec {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
