"""Delimited-text reading shared by the loaders: a pandas fast path plus an exact bad-line locator.

The fast path parses the whole file with pandas' C parser and checks the result (field counts,
column types, no missing values where none are allowed). Only when that check fails does
:func:`read_table` scan the file line by line, in Python, to find the first bad line and raise a
:class:`~tfrec.data.errors.DataFormatError` that names it. Good files never pay for the scan.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from tfrec.data.errors import DataFormatError

KINDS = ("int", "float", "float?", "str")
_KIND_TEXT = {
    "int": "an integer",
    "float": "a number",
    "float?": "a number or an empty field",
    "str": "text",
}
_SEP_NAMES = {"\t": "tab", ",": "comma", "|": "pipe", "::": "'::'", ";": "semicolon", " ": "space"}
_ALT_SEP = "\x1f"  # stands in for a multi-character separator such as MovieLens 1M's '::'
_CHUNK = 1 << 25  # bytes per block in the field-count check


@dataclasses.dataclass(frozen=True)
class Field:
    """One column to read.

    Args:
      name: name of the column in the returned frame.
      kind: "int" (integer, required), "float" (number, required), "float?" (number; an empty field
        is NaN), or "str" (any text, kept verbatim; an empty field is "").
      source: the column's name in the file header; defaults to ``name``. Ignored without a header.
    """

    name: str
    kind: str
    source: Optional[str] = None

    @property
    def column(self) -> str:
        return self.source or self.name


def sep_name(sep: str) -> str:
    return _SEP_NAMES.get(sep, repr(sep))


def _lines(raw: bytes) -> Iterator[Tuple[int, bytes]]:
    for number, line in enumerate(raw.split(b"\n"), start=1):
        yield number, line.rstrip(b"\r")


def _is_blank(line: bytes) -> bool:
    return not line.strip()


def _split(line: str, sep: str, quoted: bool) -> List[str]:
    if quoted:
        return next(csv.reader([line], delimiter=sep), [])
    return line.split(sep)


def _field_counts_ok(raw: bytes, sep: bytes, expected: int) -> Optional[int]:
    """Returns the 1-based number of the first non-blank line without ``expected`` fields, or None.

    Vectorized over blocks of the file (no Python loop per line); exact for unquoted files.
    """
    buf = np.frombuffer(raw, np.uint8)
    sep_byte, newline, cr = sep[0], ord("\n"), ord("\r")
    start, line_offset = 0, 0
    while start < len(buf):
        stop = min(start + _CHUNK, len(buf))
        if stop < len(buf):
            cut = raw.rfind(b"\n", start, stop)
            stop = cut + 1 if cut >= start else len(buf)
        block = buf[start:stop]
        nl = np.flatnonzero(block == newline)
        ends = nl if (len(nl) and nl[-1] == len(block) - 1) else np.append(nl, len(block))
        starts = np.concatenate([[0], nl + 1])[: len(ends)]
        seps = np.flatnonzero(block == sep_byte)
        counts = np.searchsorted(seps, ends) - np.searchsorted(seps, starts) + 1
        lengths = ends - starts
        last = np.where(lengths > 0, block[np.maximum(ends - 1, 0)], 0)
        blank = (lengths == 0) | ((lengths == 1) & (last == cr))
        bad = np.flatnonzero(~blank & (counts != expected))
        if len(bad):
            return line_offset + int(bad[0]) + 1
        line_offset += len(ends)
        start = stop
    return None


def _value_problem(value: str, kind: str) -> Optional[str]:
    if kind == "str":
        return None
    if kind == "float?" and value == "":
        return None
    try:
        number = int(value) if kind == "int" else float(value)
    except ValueError:
        return f"{value!r} is not {_KIND_TEXT[kind]}"
    if kind == "float" and math.isnan(number):
        return f"{value!r} is missing (NaN)"
    return None


def _describe(fields: Sequence[Field], names: Sequence[str], sep: str) -> str:
    return f"{len(names)} {sep_name(sep)}-separated fields ({', '.join(names)})"


def _scan(
    path: Path,
    raw: bytes,
    fields: Sequence[Field],
    names: Sequence[str],
    *,
    sep: str,
    psep: str,
    header_line: Optional[int],
    encoding: str,
    quoted: bool,
    hint: str,
) -> None:
    """Raises DataFormatError for the first bad line of ``raw``; returns if none is found."""
    index = {n: i for i, n in enumerate(names)}
    expected_fields = _describe(fields, names, sep)
    for number, bline in _lines(raw):
        if _is_blank(bline) or number == header_line:
            continue
        try:
            line = bline.decode(encoding)
        except UnicodeDecodeError as e:
            shown = bline.decode(encoding, errors="replace").replace(psep, sep)
            raise DataFormatError(
                path,
                f"bytes {bline[e.start:e.end]!r} are not valid {encoding}.",
                line=number,
                content=shown,
                hint=f"Re-save the file as {encoding}, or pass the file's encoding: encoding='latin-1' "
                "(or cp1252, ...) in Python, --encoding latin-1 on the command line.",
            ) from None
        shown = line.replace(psep, sep)
        parts = _split(line, psep, quoted)
        if len(parts) != len(names):
            raise DataFormatError(
                path,
                f"expected {expected_fields}, found {len(parts)}.",
                line=number,
                content=shown,
                hint=hint or "Fix or remove that line (a truncated or malformed file?).",
            )
        for field in fields:
            problem = _value_problem(parts[index[field.column]], field.kind)
            if problem is not None:
                raise DataFormatError(
                    path,
                    f"field {field.column!r}: {problem}; expected {_KIND_TEXT[field.kind]}.",
                    line=number,
                    content=shown,
                    hint=hint or "Fix or remove that line.",
                )


def _column_ok(col: pd.Series, kind: str) -> bool:
    if kind == "int":
        return pd.api.types.is_integer_dtype(col)
    if kind in ("float", "float?"):
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        return numeric and (kind == "float?" or not col.isna().any())
    return not col.isna().any()  # str: NaN only comes from a row with too few fields


def read_table(
    path,
    fields: Sequence[Field],
    *,
    sep: str,
    header: bool,
    encoding: str = "utf-8",
    quoted: bool = False,
    hint: str = "",
) -> pd.DataFrame:
    """Reads a delimited text file into a frame with one column per field, in ``fields`` order.

    Args:
      path: file to read.
      fields: the columns to return. Without a header the file must have exactly these columns in
        this order; with a header it must have at least these (by ``Field.column``), in any order.
      sep: field separator; may be several characters (MovieLens 1M's "::").
      header: whether the first non-blank line is a header.
      encoding: text encoding ("utf-8", "latin-1").
      quoted: whether fields may be double-quoted (CSV); otherwise quotes are ordinary characters.
      hint: appended to a bad-line error message (how to fix it).

    Returns:
      DataFrame: int columns int64, float columns float64, str columns pandas' string dtype.

    Raises:
      FileNotFoundError: ``path`` does not exist.
      DataFormatError: the file is empty, has no data line, lacks a header column, or has a bad line
        (wrong number of fields, a value of the wrong type, undecodable bytes).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file.")
    raw = path.read_bytes()
    if _is_blank(raw):
        raise DataFormatError(path, "the file is empty.", hint="Check that the download or copy is complete.")
    psep = sep
    if len(sep) > 1:
        raw = raw.replace(sep.encode(encoding), _ALT_SEP.encode())
        psep = _ALT_SEP

    header_line = None
    if header:
        for number, bline in _lines(raw):
            if not _is_blank(bline):
                header_line = number
                break
        head = raw.split(b"\n", header_line)[header_line - 1].rstrip(b"\r").decode(encoding, errors="replace")
        head = head.lstrip("\ufeff")  # a UTF-8 byte-order mark (Excel exports)
        names = [n.strip() for n in _split(head, psep, quoted)]
        missing = [f.column for f in fields if f.column not in names]
        if missing:
            raise DataFormatError(
                path,
                f"the header lacks column(s) {missing}; expected a {sep_name(sep)}-separated header "
                f"with {[f.column for f in fields]}.",
                line=header_line,
                content=head.replace(psep, sep),
                hint="Check the separator and the column names.",
            )
    else:
        names = [f.column for f in fields]

    scan_kwargs = dict(sep=sep, psep=psep, header_line=header_line, encoding=encoding, quoted=quoted, hint=hint)
    if not (quoted and b'"' in raw):
        bad_line = _field_counts_ok(raw, psep.encode(), len(names))
        if bad_line is not None:
            _scan(path, raw, fields, names, **scan_kwargs)
            raise DataFormatError(path, f"expected {_describe(fields, names, sep)}.", line=bad_line, hint=hint)

    kinds = {f.column: f.kind for f in fields}
    try:
        frame = pd.read_csv(
            io.BytesIO(raw),
            sep=psep,
            header=0 if header else None,
            names=None if header else names,
            dtype={n: str for n in names if kinds.get(n, "str") == "str"},
            na_values={n: [""] for n in names if kinds.get(n) in ("int", "float", "float?")},
            keep_default_na=False,
            encoding=encoding,
            quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE,
            engine="c",
            low_memory=False,
        )
        failure = None
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError) as e:
        frame, failure = None, e
    if frame is not None and len(frame) == 0 and list(frame.columns) == list(names):
        raise DataFormatError(path, "the file has a header but no data lines.", line=header_line)
    ok = (
        frame is not None
        and isinstance(frame.index, pd.RangeIndex)
        and list(frame.columns) == list(names)
        and all(_column_ok(frame[f.column], f.kind) for f in fields)
    )
    if not ok:
        _scan(path, raw, fields, names, **scan_kwargs)
        raise DataFormatError(
            path,
            f"could not be parsed as {_describe(fields, names, sep)}"
            + (f" ({type(failure).__name__}: {failure})." if failure else "."),
            hint=hint,
        )
    out = pd.DataFrame({f.name: frame[f.column] for f in fields})
    return out


def data_line(path, raw_row: int, *, header: bool, sep: str, encoding: str = "utf-8") -> Tuple[int, str]:
    """The 1-based line number and text of the ``raw_row``-th (0-based) data line of ``path``."""
    raw = Path(path).read_bytes()
    seen = -1 if header else 0
    for number, bline in _lines(raw):
        if _is_blank(bline):
            continue
        if seen == raw_row:
            return number, bline.decode(encoding, errors="replace")
        seen += 1
    raise IndexError(f"{path} has no data line {raw_row}")


def first_line(path, encoding: str = "utf-8") -> Tuple[int, str]:
    """The 1-based number and text of the first non-blank line (DataFormatError if the file is empty)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file.")
    with open(path, "rb") as f:
        for number, bline in enumerate(f, start=1):
            bline = bline.rstrip(b"\r\n")
            if not _is_blank(bline):
                return number, bline.decode(encoding, errors="replace")
    raise DataFormatError(path, "the file is empty.", hint="Check that the download or copy is complete.")


def sniff_sep(path, candidates: Sequence[str] = ("\t", ",", ";", "|"), encoding: str = "utf-8") -> str:
    """The first of ``candidates`` found in the file's first non-blank line."""
    number, line = first_line(path, encoding)
    for sep in candidates:
        if sep in line:
            return sep
    raise DataFormatError(
        path,
        f"could not detect the field separator: none of {[sep_name(s) for s in candidates]} is in the first line.",
        line=number,
        content=line,
        hint="Pass sep=... explicitly.",
    )
