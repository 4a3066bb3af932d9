"""``tfrec data convert``: a MovieLens folder, a Criteo CSV or a session click log -> sharded Parquet/TFRecord.

Two streaming passes over the input, ``chunk_rows`` lines at a time (memory grows with the chunk and
the vocabularies, never with the file):

1. **vocabulary pass**: the distinct raw ids of every id column (users and items; sessions' items;
   CTR categorical columns with at least ``min_count`` occurrences) and the row count;
2. **write pass**: ids mapped to int32 indices through those vocabularies, rows written to
   ``shards`` files of near-equal size (a session is never split across two shards).

The folder gets the shards, ``vocab/<column>.txt`` (line i = the raw id of index i; CTR columns:
line 0 is the out-of-vocabulary / missing bucket, shown as an empty line) and, last,
``manifest.json`` (:mod:`tfrec.data.manifest`). Conversion writes into a hidden temporary folder
beside ``out`` and renames it into place at the end: a failed conversion leaves nothing that looks
usable. A non-numeric rating, label or time names its file and line (:class:`DataFormatError`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np
import pandas as pd

from tfrec.data.errors import DataFormatError
from tfrec.data.manifest import Manifest, Shard, shard_name, write_manifest

__all__ = ["convert", "detect_kind"]

_RATINGS_FILES = (("u.data", "\t", None), ("ratings.dat", "::", None), ("ratings.csv", ",", 0))
_RATING_COLUMNS = ("user", "item", "rating", "timestamp")
_CRITEO = ["label"] + [f"I{i}" for i in range(1, 14)] + [f"C{i}" for i in range(1, 27)]


def detect_kind(path) -> str:
    """"ratings" (a MovieLens folder), "ctr" (a CSV whose header starts with ``label``) or "sessions"."""
    path = Path(path)
    if path.is_dir():
        if any((path / name).is_file() for name, _, _ in _RATINGS_FILES):
            return "ratings"
        raise DataFormatError(path, "a folder to convert must be a MovieLens folder (u.data, ratings.dat or "
                                    "ratings.csv); pass a Criteo CSV or a session log as a file")
    with open(path, encoding="utf-8", errors="replace") as f:
        header = f.readline().strip()
    if header.lower().startswith("label"):
        return "ctr"
    if "session" in header.lower():
        return "sessions"
    raise DataFormatError(path, "cannot tell the kind from the first line (expected a Criteo header starting "
                                f"'label' or a session header with 'SessionId'); found {header[:80]!r}. Pass --kind")


def _reader(path: Path, kind: str, chunk_rows: int) -> Tuple[Path, Callable[[], Iterator[Tuple[int, pd.DataFrame]]]]:
    """(the file read, a function that yields (first line number, chunk frame)) for ``kind``."""
    if kind == "ratings":
        for name, sep, header in _RATINGS_FILES:
            if (path / name).is_file():
                file, opts = path / name, {"sep": sep, "header": header, "engine": "python" if len(sep) > 1 else "c"}
                break
        else:
            raise DataFormatError(path, "no u.data, ratings.dat or ratings.csv in this folder")
        first = 2 if opts["header"] == 0 else 1
        names = list(_RATING_COLUMNS)
    elif kind == "ctr":
        file, opts, first, names = path, {"sep": ",", "header": 0}, 2, None
    else:
        file, opts, first, names = path, {"sep": "\t", "header": 0}, 2, None

    def chunks():
        line = first
        kwargs = dict(opts, chunksize=chunk_rows, dtype=str, keep_default_na=False, encoding="latin-1"
                      if file.name in ("u.data", "ratings.dat") else "utf-8")
        if names is not None:
            kwargs.update(names=names, usecols=range(4))
        for frame in pd.read_csv(file, **kwargs):
            yield line, frame
            line += len(frame)

    return file, chunks


def _numbers(values: pd.Series, file: Path, line0: int, column: str, allow_empty: bool = False) -> np.ndarray:
    text = values.str.strip()
    out = pd.to_numeric(text.where(text != "", None) if allow_empty else text, errors="coerce").to_numpy(np.float64)
    bad = np.isnan(out) & ((text != "").to_numpy() if allow_empty else True)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(file, f"column {column!r}: expected a number, found {values.iloc[i]!r}",
                              line=line0 + i)
    return out


def _columns(kind: str, frame: pd.DataFrame, file: Path) -> Tuple[List[str], List[str]]:
    """(id columns mapped through a vocabulary, numeric columns) of ``kind``; checks the header."""
    if kind == "ratings":
        return ["user", "item"], ["rating", "timestamp"]
    if kind == "ctr":
        missing = [c for c in _CRITEO if c not in frame.columns]
        if missing:
            raise DataFormatError(file, f"a CTR file needs the Criteo header label,I1..I13,C1..C26; missing "
                                        f"{', '.join(missing[:5])}", line=1)
        return [f"C{i}" for i in range(1, 27)], ["label"] + [f"I{i}" for i in range(1, 14)]
    need = {"SessionId", "ItemId", "Time"}
    if not need <= set(frame.columns):
        raise DataFormatError(file, f"a session log needs the columns SessionId, ItemId, Time; found "
                                    f"{', '.join(frame.columns)}", line=1)
    return ["ItemId"], ["SessionId", "Time"]


def convert(source, out, *, to: str = "parquet", kind: Optional[str] = None, shards: int = 8,
            chunk_rows: int = 1_000_000, min_count: int = 1, log: Optional[Callable[[str], None]] = None) -> Manifest:
    """Converts ``source`` into a shard folder ``out`` (see the module docstring).

    Args:
      source: a MovieLens folder (ratings), a Criteo CSV (ctr) or a session TSV (sessions).
      out: the output folder; must not exist yet.
      to: "parquet" or "tfrecord".
      kind: "ratings", "ctr" or "sessions"; None detects it (:func:`detect_kind`).
      shards: number of shard files (fewer when there are fewer rows or sessions).
      chunk_rows: lines read per step.
      min_count: CTR categorical values seen fewer times share the out-of-vocabulary index 0.
      log: function of one progress line, or None.

    Returns:
      The written manifest.

    Raises:
      DataFormatError: unreadable input (names the file and line).
      ValueError: an existing ``out``, unknown ``to`` or ``kind``, shards < 1.
    """
    source, out = Path(source), Path(out)
    if to not in ("parquet", "tfrecord"):
        raise ValueError(f"--to must be 'parquet' or 'tfrecord', got {to!r}")
    if shards < 1 or chunk_rows < 1:
        raise ValueError(f"shards and chunk_rows must be >= 1, got {shards} and {chunk_rows}")
    if out.exists():
        raise ValueError(f"output folder {out} exists; conversion writes a new folder (remove it or pick another)")
    kind = kind or detect_kind(source)
    if kind not in ("ratings", "ctr", "sessions"):
        raise ValueError(f"--kind must be ratings, ctr or sessions, got {kind!r}")
    log = log or (lambda msg: None)
    file, chunks = _reader(source, kind, chunk_rows)
    # pass 1: vocabularies and the row count (and session boundaries)
    counts: Dict[str, pd.Series] = {}
    rows, sessions_seen = 0, []
    id_cols: List[str] = []
    for line0, frame in chunks():
        id_cols, num_cols = _columns(kind, frame, file)
        for c in num_cols:
            _numbers(frame[c], file, line0, c, allow_empty=kind == "ctr" and c != "label")
        for c in id_cols:
            vc = frame[c].str.strip().value_counts()
            counts[c] = vc if c not in counts else counts[c].add(vc, fill_value=0)
        if kind == "sessions":
            sessions_seen.append(frame["SessionId"].to_numpy())
        rows += len(frame)
        log(f"{file}: scanned {rows:,} rows")
    if rows == 0:
        raise DataFormatError(file, "has no data rows")
    vocab: Dict[str, np.ndarray] = {}
    for c in id_cols:
        vc = counts[c]
        if kind == "ctr":
            vc = vc[(vc >= min_count) & (vc.index != "")].sort_values(ascending=False, kind="stable")
            vocab[c] = np.concatenate([[""], vc.index.to_numpy(dtype=object)])  # index 0: OOV / missing
        else:
            vocab[c] = _sorted_ids(vc.index.to_numpy(dtype=object))
    bounds = _shard_bounds(rows, shards, np.concatenate(sessions_seen) if kind == "sessions" else None)
    tmp = out.with_name(f".{out.name}.converting")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "vocab").mkdir(parents=True)
    try:
        written = _write(kind, to, tmp, chunks, file, id_cols, vocab, bounds, log)
        names = {"user": "user", "item": "item", "ItemId": "item"}
        vocab_files = {}
        for c, values in vocab.items():
            name = names.get(c, c)
            (tmp / "vocab" / f"{name}.txt").write_text("".join(f"{v}\n" for v in values))
            vocab_files[name] = f"vocab/{name}.txt"
        schema, shard_list = written
        manifest = Manifest(tmp, kind, to, schema, shard_list, vocab_files,
                            {names.get(c, c): len(v) for c, v in vocab.items()},
                            {"converted_from": str(source), "file": str(file), "min_count": min_count})
        write_manifest(manifest)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    manifest.folder = out
    return manifest


def _sorted_ids(ids: np.ndarray) -> np.ndarray:
    """Raw ids in numeric order where all are integers (MovieLens, YOOCHOOSE), else in text order."""
    try:
        return ids[np.argsort(ids.astype(np.int64), kind="stable")]
    except (TypeError, ValueError, OverflowError):
        return np.sort(ids)


def _index(vocab: np.ndarray, values: pd.Series) -> np.ndarray:
    """int32 positions of ``values`` (stripped text) in ``vocab`` (-1 where absent)."""
    return pd.Index(vocab).get_indexer(values.str.strip().to_numpy(dtype=object)).astype(np.int32)


def _shard_bounds(rows: int, shards: int, sessions: Optional[np.ndarray]) -> np.ndarray:
    """Row indices where shards start (first 0), at near-equal sizes; sessions: only where the session changes."""
    cuts = np.linspace(0, rows, min(shards, rows) + 1).astype(np.int64)[1:-1]
    if sessions is not None:
        starts = np.flatnonzero(np.r_[True, sessions[1:] != sessions[:-1]])
        cuts = np.unique(starts[np.minimum(np.searchsorted(starts, cuts), len(starts) - 1)])
        cuts = cuts[cuts > 0]
    return np.r_[0, cuts, rows]


def _mapped(kind: str, frame: pd.DataFrame, file: Path, line0: int, id_cols, vocab) -> pd.DataFrame:
    out = {}
    if kind == "ratings":
        for c in id_cols:
            out[c] = _index(vocab[c], frame[c])
        out["rating"] = _numbers(frame["rating"], file, line0, "rating").astype(np.float32)
        out["timestamp"] = _numbers(frame["timestamp"], file, line0, "timestamp").astype(np.int64)
    elif kind == "ctr":
        out["label"] = _numbers(frame["label"], file, line0, "label").astype(np.int8)
        for i in range(1, 14):
            out[f"I{i}"] = _numbers(frame[f"I{i}"], file, line0, f"I{i}", allow_empty=True).astype(np.float32)
        for c in id_cols:
            out[c] = _index(vocab[c][1:], frame[c]) + 1  # -1 (rare or missing) -> 0
    else:
        out["session"] = _numbers(frame["SessionId"], file, line0, "SessionId").astype(np.int64)
        out["item"] = _index(vocab["ItemId"], frame["ItemId"])
        out["time"] = _numbers(frame["Time"], file, line0, "Time")
    return pd.DataFrame(out)


def _write(kind, to, folder: Path, chunks, file, id_cols, vocab, bounds, log):
    """Pass 2: writes the shards; returns (schema, [Shard])."""
    from tfrec.data.shard_writer import ShardWriter

    count = len(bounds) - 1
    shards: List[Shard] = []
    writer, index, row, schema = None, 0, 0, {}
    for line0, frame in chunks():
        mapped = _mapped(kind, frame, file, line0, id_cols, vocab)
        schema = {c: str(mapped[c].dtype) for c in mapped.columns}
        start = 0
        while start < len(mapped):
            if writer is None:
                writer = ShardWriter(folder / shard_name(index, count, to), to)
            take = min(len(mapped) - start, int(bounds[index + 1] - row))
            writer.write(mapped.iloc[start:start + take])
            start, row = start + take, row + take
            if row == bounds[index + 1]:
                shards.append(writer.close())
                log(f"wrote {shards[-1].path} ({shards[-1].rows:,} rows)")
                writer, index = None, index + 1
    if writer is not None:
        shards.append(writer.close())
    return schema, shards
