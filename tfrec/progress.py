"""Progress reporting that works in terminals and in log files alike.

:class:`Progress` draws a one-line bar when its stream is a terminal and otherwise prints one plain
line every ``interval`` seconds (``TFREC_PROGRESS_SECONDS``, default 15), so that
``tfrec train ... > log.txt`` shows the step, the rate, the ETA and the running loss while it runs.
It imports nothing heavy: downloads, data conversion, training and evaluation all use it.

Example:
    >>> import io
    >>> out = io.StringIO()
    >>> p = Progress(total=4, desc="demo", unit="steps", stream=out, interval=0.0, tty=False)
    >>> for _ in range(4):
    ...     p.update(1, loss=0.5)
    >>> p.close()
    >>> "demo: 4/4 steps (100%)" in out.getvalue()
    True
"""

from __future__ import annotations

import math
import os
import sys
import time
from typing import IO, Callable, Dict, Optional

DEFAULT_INTERVAL = 15.0
INTERVAL_ENV = "TFREC_PROGRESS_SECONDS"
_BAR_WIDTH = 24
_TTY_REFRESH = 0.1


def default_interval() -> float:
    """Seconds between two progress lines in a log file: ``$TFREC_PROGRESS_SECONDS`` or 15.

    Raises:
      ValueError: the variable is set but is not a number >= 0.
    """
    raw = os.environ.get(INTERVAL_ENV)
    if raw is None or raw == "":
        return DEFAULT_INTERVAL
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or math.isinf(value):
        raise ValueError(f"{INTERVAL_ENV} must be a number of seconds >= 0. Received: {INTERVAL_ENV}={raw!r}.")
    return value


def format_duration(seconds: float) -> str:
    """``3725.2`` -> ``"1:02:05"``; ``65`` -> ``"1:05"``."""
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_count(value: float) -> str:
    """``1234567`` -> ``"1.23M"``; ``950`` -> ``"950"``."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}" if value != int(value) else str(int(value))


class Progress:
    """A progress reporter: a bar on a terminal, a line every ``interval`` seconds elsewhere.

    Args:
      total: number of units expected, or None when unknown (no percentage or ETA then).
      desc: what is running, printed first on every line, e.g. ``"epoch 2/10"``.
      unit: name of the counted unit, e.g. ``"steps"``, ``"bytes"``.
      items_per_unit: examples per unit (the batch size for steps); adds an examples/s rate. None: no
        such rate.
      stream: where to write; default ``sys.stdout``.
      interval: seconds between lines when not on a terminal; default :func:`default_interval`.
      tty: force the terminal (True) or the log-file (False) style; default ``stream.isatty()``.
    """

    def __init__(self, total: Optional[int] = None, *, desc: str = "", unit: str = "steps",
                 items_per_unit: Optional[float] = None, stream: Optional[IO[str]] = None,
                 interval: Optional[float] = None, tty: Optional[bool] = None):
        if total is not None and total < 0:
            raise ValueError(f"total must be >= 0 or None. Received: total={total}.")
        self.total = total
        self.desc = desc
        self.unit = unit
        self.items_per_unit = items_per_unit
        self.stream = stream if stream is not None else sys.stdout
        self.interval = default_interval() if interval is None else float(interval)
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty and isatty())
        self.tty = tty
        self.n = 0
        self.postfix: Dict[str, float] = {}
        # called only when a line is written (e.g. reads a running loss off the accelerator)
        self.lazy_postfix: Optional[Callable[[], Dict[str, float]]] = None
        self.start = time.monotonic()
        self._last_write = self.start
        self._drawn = False
        self.lines_written = 0

    # -- state ---------------------------------------------------------------------------------
    def update(self, n: int = 1, **postfix: float) -> None:
        """Counts ``n`` more units; ``postfix`` values (e.g. ``loss=0.53``) are shown after the rate."""
        self.n += n
        self.postfix.update({k: v for k, v in postfix.items() if v is not None})
        now = time.monotonic()
        due = _TTY_REFRESH if self.tty else self.interval
        if now - self._last_write >= due:
            self._write(now)

    def close(self, final_line: bool = False) -> None:
        """Ends the report: clears a terminal bar; with ``final_line`` also prints the final state."""
        if self.tty and self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._drawn = False
        if final_line:
            self._write(time.monotonic(), newline=True)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- text ----------------------------------------------------------------------------------
    def rate(self, now: Optional[float] = None) -> float:
        """Units per second since the start."""
        elapsed = (now or time.monotonic()) - self.start
        return self.n / elapsed if elapsed > 0 else 0.0

    def text(self, now: Optional[float] = None) -> str:
        """The progress line without the bar, e.g.
        ``"epoch 1/3: 120/400 steps (30%), 51.2 steps/s, 52.4k examples/s, ETA 0:05, loss 0.5312"``."""
        now = now or time.monotonic()
        rate = self.rate(now)
        parts = []
        if self.total:
            parts.append(f"{format_count(self.n)}/{format_count(self.total)} {self.unit} "
                         f"({100.0 * self.n / self.total:.0f}%)")
        else:
            parts.append(f"{format_count(self.n)} {self.unit}")
        parts.append(f"{format_count(rate)} {self.unit}/s")
        if self.items_per_unit:
            parts.append(f"{format_count(rate * self.items_per_unit)} examples/s")
        if self.total and rate > 0:
            parts.append(f"ETA {format_duration(max(self.total - self.n, 0) / rate)}")
        else:
            parts.append(f"elapsed {format_duration(now - self.start)}")
        parts += [f"{k} {v:.4f}" for k, v in self.postfix.items()]
        head = f"{self.desc}: " if self.desc else ""
        return head + ", ".join(parts)

    def _write(self, now: float, newline: bool = False) -> None:
        self._last_write = now
        if self.lazy_postfix is not None:
            self.postfix.update({k: v for k, v in self.lazy_postfix().items() if v is not None})
        line = self.text(now)
        if self.tty and not newline:
            if self.total:
                done = int(_BAR_WIDTH * min(self.n / self.total, 1.0))
                line = f"[{'=' * done}{'.' * (_BAR_WIDTH - done)}] " + line
            self.stream.write("\r\033[K" + line)
            self._drawn = True
        else:
            self.stream.write(line + "\n")
            self.lines_written += 1
        self.stream.flush()
