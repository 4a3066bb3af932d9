"""Keeps native libraries' info and warning log lines off the console.

TensorFlow's own C++ logging obeys ``TF_CPP_MIN_LOG_LEVEL``, but other native code in the process
(ScaNN's index builder, gRPC) logs through absl straight to file descriptor 2, e.g.::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1796521273.438758   27541 single_machine_factory_impl.h:178] Single-machine AH training ...

:class:`NativeLogFilter` puts a pipe behind descriptor 2, read by a small child process that forwards
everything except such info/warning lines (``I``/``W`` + ``MMDD hh:mm:ss.uuuuuu thread file:line]``)
to the real stderr. Errors (``E``/``F`` lines), Python's output and partial lines (a progress bar's
redraw) pass through at once. Being a separate process, the filter still forwards what a crashing
process wrote last (a fatal error, a traceback from ``faulthandler``).

Example:
    >>> NOISE.match(b"I0000 00:00:1796521273.438758   27541 scann.h:178] Single-machine AH") is not None
    True
    >>> NOISE.match(b"E0000 00:00:1796521273.438758   27541 x.cc:1] failed") is None
    True
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Optional

_NOISE_PATTERN = (rb"^(?:[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]]+:\d+\] |"
                  rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR)")
NOISE = re.compile(_NOISE_PATTERN)

# The child process: stdin is the pipe, stdout the real stderr. Self-contained (no tfrec import), so it
# works wherever the parent's Python runs.
_CHILD = f"""
import os, re
noise = re.compile({_NOISE_PATTERN!r})
could_be_noise = re.compile(rb"^(?:[IW]\\d{{0,4}}(?: [^\\n]*)?|W(?:A(?:R(?:N(?:I(?:N(?:G(?::[^\\n]*)?)?)?)?)?)?)?)$")
pending = b""
while True:
    chunk = os.read(0, 65536)
    if not chunk:
        break
    pending += chunk
    *lines, pending = pending.split(b"\\n")
    out = b"".join(line + b"\\n" for line in lines if not noise.match(line))
    if pending and not could_be_noise.match(pending):
        out, pending = out + pending, b""  # a partial line that is no log line: now (progress bars)
    while out:
        out = out[os.write(1, out):]
if pending and not noise.match(pending):
    os.write(1, pending)
"""


class NativeLogFilter:
    """Filters native info/warning log lines out of file descriptor 2 while active (a context manager).

    Does nothing where descriptor 2 cannot be duplicated or the filter process cannot start.
    """

    def __init__(self):
        self._saved: Optional[int] = None
        self._proc: Optional[subprocess.Popen] = None

    def __enter__(self) -> "NativeLogFilter":
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):
            return self
        try:
            proc = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=saved,
                                    stderr=subprocess.DEVNULL)
        except OSError:
            os.close(saved)
            return self
        os.dup2(proc.stdin.fileno(), 2)
        proc.stdin.close()  # descriptor 2 is now the pipe's only write end in this process
        self._saved, self._proc = saved, proc
        return self

    def __exit__(self, *exc) -> None:
        if self._saved is None:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self._saved, 2)  # closes the pipe's last write end here: the filter reads EOF and ends
        os.close(self._saved)
        self._saved = None
        try:
            self._proc.wait(timeout=5)  # a child process of ours may still hold the pipe: do not hang
        except subprocess.TimeoutExpired:
            pass
