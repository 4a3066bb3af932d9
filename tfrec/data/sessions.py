"""Session click logs: GRU4Rec's TSV format and any click-log CSV with a column mapping.

Example:
  >>> from tfrec.data import load_sessions
  >>> clicks = load_sessions("rsc15-yoochoose-100k/yoochoose-clicks-100k_train_full.txt")  # doctest: +SKIP
  >>> list(clicks.columns)                                                                 # doctest: +SKIP
  ['SessionId', 'ItemId', 'Time']
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, Optional, Sequence, Union

import numpy as np
import pandas as pd

from tfrec.data._io import Field, data_line, first_line, read_table, sniff_sep
from tfrec.data.errors import DataFormatError

SESSION_COL = "SessionId"
ITEM_COL = "ItemId"
TIME_COL = "Time"
_ROLES = ("session", "item", "time")
_DAY = 86400.0

logger = logging.getLogger("tfrec.data")

Column = Union[str, int]


def load_sessions(
    path: Union[str, Path],
    *,
    session_col: Column = SESSION_COL,
    item_col: Column = ITEM_COL,
    time_col: Column = TIME_COL,
    sep: Optional[str] = None,
    columns: Optional[Dict[str, Column]] = None,
    header: bool = True,
    encoding: str = "utf-8",
    order_by: Optional[Sequence[Column]] = None,
) -> pd.DataFrame:
    """Reads a click log into a ``SessionId, ItemId, Time`` frame, one row per click.

    GRU4Rec's format (a TSV with header ``SessionId ItemId Time``, Unix seconds) reads with the
    defaults. For another click log, name its columns, e.g.
    ``load_sessions("clicks.csv", columns={"session": "sid", "item": "product", "time": "ts"})``; for
    a file without a header (the raw YOOCHOOSE ``yoochoose-clicks.dat``:
    ``session,ISO time,item,category``) pass ``header=False`` and 0-based column positions:
    ``columns={"session": 0, "time": 1, "item": 2}``.

    Args:
      path: the file.
      session_col, item_col, time_col: the file's session, item and time columns (header names, or
        0-based positions with ``header=False``).
      sep: field separator; None detects the first of tab, comma, semicolon, pipe in the first line.
      columns: optional mapping with keys "session", "item", "time" that overrides the ``*_col``
        arguments.
      header: whether the first non-blank line is a header.
      encoding: text encoding of the file.
      order_by: the in-session order: the time role first, then tie-breaking columns, e.g.
        ``["time", "seq"]`` (role names "session"/"item"/"time", or the file's column names /
        positions; numbers compare as numbers). Clicks with the same time are ordered by the
        tie-breakers instead of their file order. None: time, then file order; a time column that
        holds only dates with several clicks of a session on one day then logs a warning (their
        order is ambiguous).

    Returns:
      DataFrame with columns ``SessionId`` (str), ``ItemId`` (str) and ``Time`` (float64 Unix
      seconds; ISO-8601 date-times are converted, naive ones read as UTC), in file order, or with
      ``order_by`` tie-breakers sorted by (time, tie-breakers) (stable). Ids are always strings,
      whatever the file holds, so "214536502" from one file equals "214536502" from another; other
      columns of the file are dropped.

    Raises:
      ValueError: bad ``columns`` (unknown key, a role given twice, positions without header=False).
      DataFormatError: empty file, missing header column, a line with the wrong number of fields,
        an empty id, or a time that is neither a number nor a date-time (names file and line).
    """
    path = Path(path)
    chosen = {"session": session_col, "item": item_col, "time": time_col}
    if columns is not None:
        unknown = sorted(set(columns) - set(_ROLES))
        if unknown:
            raise ValueError(
                f"load_sessions(columns=...) got unknown key(s) {unknown}; valid keys: {list(_ROLES)}. "
                f"Received: columns={columns!r}."
            )
        chosen.update(columns)
    if len(set(chosen.values())) != len(chosen):
        raise ValueError(f"load_sessions: each role needs its own column; received {chosen!r}.")
    positional = [k for k, v in chosen.items() if isinstance(v, (int, np.integer))]
    if header and positional:
        raise ValueError(
            f"load_sessions: {positional} given as column positions {chosen!r} but header=True; pass "
            f"header names, or header=False for a file without a header."
        )
    if not header and len(positional) != len(chosen):
        raise ValueError(
            f"load_sessions(header=False) needs 0-based column positions for session, item and time; "
            f"received {chosen!r}."
        )
    sep = sep or sniff_sep(path, encoding=encoding)
    quoted = sep == ","
    out_names = {"session": SESSION_COL, "item": ITEM_COL, "time": TIME_COL}
    ties = [c for c in (order_by or []) if c != "time" and c != chosen["time"]]
    ties = [chosen[c] if c in _ROLES else c for c in ties]
    tie_names = [f"_order_{i}" for i in range(len(ties))]
    if header:
        fields = [Field(out_names[role], "str", str(chosen[role])) for role in _ROLES]
        fields += [Field(n, "str", str(c)) for n, c in zip(tie_names, ties)]
    else:
        number, line = first_line(path, encoding)
        n_fields = len(line.split(sep))
        too_far = {r: p for r, p in chosen.items() if not 0 <= p < n_fields}
        if too_far:
            raise DataFormatError(
                path,
                f"column position(s) {too_far} are out of range: the first line has {n_fields} fields.",
                line=number,
                content=line,
                hint=f"Pass positions 0..{n_fields - 1}, or check sep={sep!r}.",
            )
        fields = [Field(f"column_{i}", "str") for i in range(n_fields)]
    frame = read_table(path, fields, sep=sep, header=header, encoding=encoding, quoted=quoted)
    if not header:
        picked = {out_names[role]: frame[f"column_{chosen[role]}"] for role in _ROLES}
        picked.update({n: frame[f"column_{int(c)}"] for n, c in zip(tie_names, ties)})
        frame = pd.DataFrame(picked)

    def fail(row: int, problem: str, hint: str):
        number, text = data_line(path, row, header=header, sep=sep, encoding=encoding)
        raise DataFormatError(path, problem, line=number, content=text, hint=hint)

    for role, col in (("session", SESSION_COL), ("item", ITEM_COL), ("time", TIME_COL)):
        empty = (frame[col].str.strip() == "").to_numpy()
        if empty.any():
            fail(int(np.flatnonzero(empty)[0]), f"empty {role} field ({chosen[role]!r}).", "Fill or remove that line.")
    frame["Time"] = _parse_time(frame["Time"], fail)
    if tie_names:
        keys = [_sortable(frame[n]) for n in reversed(tie_names)]
        order = np.lexsort((np.arange(len(frame)), *keys, frame["Time"].to_numpy()))
        frame = frame.iloc[order].drop(columns=tie_names).reset_index(drop=True)
    else:
        _warn_if_dates_only(frame, path, chosen["time"])
    return frame


def _sortable(values: pd.Series) -> np.ndarray:
    """A tie-breaking column as numbers when every value is one, else as text."""
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all():
        return numbers.to_numpy(np.float64)
    return values.to_numpy(str)


def _warn_if_dates_only(frame: pd.DataFrame, path: Path, time_col: Column) -> None:
    """Logs a warning when every time is a whole day and some session has several clicks on one day."""
    t = frame["Time"].to_numpy(np.float64)
    if len(t) == 0 or np.any(np.mod(t, _DAY) != 0):
        return
    tied = frame.duplicated(["SessionId", "Time"]).to_numpy()
    if tied.any():
        sessions = frame.loc[tied, "SessionId"].nunique()
        logger.warning(
            "%s: the time column %r holds only dates, and %d session(s) have several clicks on the same date; "
            "their order within the session is the file order, which may not be the click order. Name a "
            "tie-breaking column: order_by=['time', '<column>'] (data.order_by: [time, <column>] in a config).",
            path, time_col, sessions,
        )


def _parse_time(values: pd.Series, fail) -> np.ndarray:
    """Numbers (Unix seconds) or ISO-8601 date-times -> float64 Unix seconds."""
    numbers = pd.to_numeric(values, errors="coerce")
    if pd.notna(numbers.iloc[0]):
        bad = numbers.isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            fail(row, f"time {values.iloc[row]!r} is not a number; the first line's time is Unix seconds.",
                 "Fix that line, or convert the whole column to one format.")  # fmt: skip
        return numbers.to_numpy(np.float64)
    stamps = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
    bad = stamps.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        fail(row, f"time {values.iloc[row]!r} is neither Unix seconds nor an ISO-8601 date-time.",
             "Fix that line, e.g. 1396860669.277 or 2014-04-07T10:51:09.277Z.")  # fmt: skip
    return ((stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(np.float64)
