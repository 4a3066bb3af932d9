"""Keeps native libraries' info and warning log lines off the console.

TensorFlow's own C++ logging obeys ``TF_CPP_MIN_LOG_LEVEL``, but other native code in the process
(ScaNN's index builder, gRPC) logs through absl straight to file descriptor 2, e.g.::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1796521273.438758   27541 single_machine_factory_impl.h:178] Single-machine AH training ...

:class:`NativeLogFilter` puts a pipe behind descriptor 2 and forwards everything except such
info/warning lines (``I``/``W`` + ``MMDD hh:mm:ss.uuuuuu thread file:line]``) to the real stderr.
Errors (``E``/``F`` lines) and everything Python writes pass through unchanged.

Example:
    >>> NOISE.match(b"I0000 00:00:1796521273.438758   27541 scann.h:178] Single-machine AH") is not None
    True
    >>> NOISE.match(b"E0000 00:00:1796521273.438758   27541 x.cc:1] failed") is None
    True
"""

from __future__ import annotations

import os
import re
import sys
import threading
from typing import Optional

NOISE = re.compile(rb"^(?:[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]]+:\d+\] |"
                   rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR)")


class NativeLogFilter:
    """Filters native info/warning log lines out of file descriptor 2 while active (a context manager).

    Does nothing where descriptor 2 cannot be duplicated (no stderr).
    """

    def __init__(self):
        self._saved: Optional[int] = None
        self._thread: Optional[threading.Thread] = None
        self.dropped = 0

    def __enter__(self) -> "NativeLogFilter":
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):
            return self
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 2)
        os.close(write_fd)
        self._saved = saved
        # the pump writes through its own copy of the real stderr and closes it when done, so a pump
        # still draining after __exit__ (a child process holding the pipe) never writes to a reused fd
        self._thread = threading.Thread(target=self._pump, args=(read_fd, os.dup(saved)), name="native-log-filter",
                                        daemon=True)
        self._thread.start()
        return self

    def _pump(self, read_fd: int, out_fd: int) -> None:
        try:
            with os.fdopen(read_fd, "rb", buffering=0) as pipe:
                pending = b""
                while True:
                    chunk = pipe.read(65536)
                    if not chunk:
                        break
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    self._forward(lines, out_fd, newline=True)
                if pending:
                    self._forward([pending], out_fd, newline=False)
        except OSError:  # the real stderr went away: nothing left to write to
            pass
        finally:
            os.close(out_fd)

    def _forward(self, lines, out_fd: int, newline: bool) -> None:
        kept = []
        for line in lines:
            if NOISE.match(line):
                self.dropped += 1
            else:
                kept.append(line + (b"\n" if newline else b""))
        if kept:
            data = b"".join(kept)
            while data:
                data = data[os.write(out_fd, data):]

    def __exit__(self, *exc) -> None:
        if self._saved is None:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self._saved, 2)  # closes the pipe's last write end: the pump reads EOF and ends
        self._thread.join(timeout=5)
        os.close(self._saved)
        self._saved = None
