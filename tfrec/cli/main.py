"""Entry point of the ``tfrec`` command.

Each sub-command lives in ``tfrec/cli/<command>.py`` and defines ``register(subparsers)``, which
adds its parser and sets ``func``; TensorFlow is imported only when a command runs, so
``tfrec --help`` is instant.

This module holds the package's one logging setup (:func:`configure_logging`): before any command
imports TensorFlow it turns TensorFlow's C++/absl logging off (``TF_CPP_MIN_LOG_LEVEL=3``: no
``cuInit``, ``oneDNN``, ``cpu_feature_guard`` or ``rendezvous`` lines) and sets the Python loggers,
unless ``--verbose`` (accepted before or after the command) asks for everything. Native libraries
that log through absl on their own (ScaNN's index builder) are filtered at the file-descriptor level
by :class:`tfrec.cli.native_logs.NativeLogFilter`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import List, Optional

import tfrec

COMMANDS = ("quickstart", "data", "evaluate", "bench", "train", "tune", "export", "serve", "recommend", "report")
# commands whose native libraries' absl lines are filtered (not `serve`: it may exec TensorFlow Serving,
# whose stderr must stay the real one)
NATIVE_FILTERED = ("quickstart", "evaluate", "bench", "train", "tune", "export")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_NOISY_LOGGERS = ("tensorflow", "absl", "h5py", "matplotlib", "PIL")


def configure_logging(verbose: bool = False) -> None:
    """The package's one logging setup; call it before TensorFlow is imported.

    Quiet (default): TensorFlow's C++ and absl logs off (``TF_CPP_MIN_LOG_LEVEL=3`` unless the
    variable is already set), gRPC core logs at errors only, Python loggers of TensorFlow/absl at
    ERROR, ``tfrec`` messages at INFO. Verbose: all of TensorFlow's logging back on
    (``TF_CPP_MIN_LOG_LEVEL=0``) and ``tfrec`` at DEBUG.

    Args:
      verbose: log everything, TensorFlow's C++ lines included.
    """
    if verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        os.environ.pop("GRPC_VERBOSITY", None)
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    root = logging.getLogger()
    if not any(getattr(h, "_tfrec", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT, datefmt="%H:%M:%S"))
        handler._tfrec = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.ERROR)
    if "absl.logging" in sys.modules or "tensorflow" in sys.modules:
        try:
            from absl import logging as absl_logging

            absl_logging.set_verbosity(absl_logging.DEBUG if verbose else absl_logging.ERROR)
        except ImportError:  # absl comes with TensorFlow; nothing to quiet without it
            pass


def _add_verbose(parser: argparse.ArgumentParser) -> None:
    """Adds ``-v/--verbose`` to ``parser`` and its sub-parsers (default: the top-level value)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                if not any(o in sub._option_string_actions for o in ("-v", "--verbose")):
                    sub.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                                     help="log everything, TensorFlow's C++ messages included")
                _add_verbose(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tfrec",
        description="tfrec: deep-learning recommenders on TensorFlow. Train, evaluate, tune, export and serve.",
        epilog="Run `tfrec COMMAND --help` for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"tfrec {tfrec.__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log everything, TensorFlow's C++ messages included (default: quiet)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"tfrec.cli.{name}")
        except ModuleNotFoundError as e:  # a command whose module is not installed
            if e.name != f"tfrec.cli.{name}":
                raise
            continue
        module.register(sub)
    _add_verbose(parser)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if args.verbose or args.command not in NATIVE_FILTERED:
        return _run(args)
    from tfrec.cli.native_logs import NativeLogFilter

    with NativeLogFilter():  # native libraries' absl info/warning lines (ScaNN, gRPC) off the console
        return _run(args)


def _run(args) -> int:
    """Runs the command; user errors become one line on stderr (a traceback with --verbose)."""
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. `tfrec train --list-models | head`): stop quietly, as Unix tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (ValueError, KeyError, FileNotFoundError) as e:
        # user errors: one clear line, no traceback (use -v for the traceback)
        if args.verbose:
            raise
        from tfrec.data.errors import escape_control

        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        # a message may quote data or paths: control bytes are printed escaped, never raw
        print(f"tfrec {args.command}: error: {escape_control(str(msg), keep=chr(10))}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
