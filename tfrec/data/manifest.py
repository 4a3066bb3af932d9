"""Sharded datasets on disk: Parquet or TFRecord shards listed in a ``manifest.json``.

``tfrec data synth`` and ``tfrec data convert`` write a folder of shards and, last, its manifest;
the streaming readers check every shard against it before using any row. A manifest names the
dataset kind, the column schema, every shard with its row count and size, and any vocabulary
files, so a shard that is missing, truncated, of another schema or of another row count is
reported by name instead of being read partly.

Example manifest::

    {"format": "tfrec-shards/1", "kind": "ratings", "file_format": "parquet", "rows": 1000000,
     "schema": {"user": "int32", "item": "int32", "rating": "float32", "timestamp": "int64"},
     "shards": [{"path": "part-00000.parquet", "rows": 125000, "bytes": 1843211}, ...],
     "vocab": {"user": "vocab/user.txt"}, "cardinality": {"user": 162541, "item": 59047},
     "source": {...}}

Importing this module does not import TensorFlow or pyarrow.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from tfrec.data.errors import DataFormatError

__all__ = ["FORMAT", "MANIFEST", "Manifest", "Shard", "read_manifest", "write_manifest"]

FORMAT = "tfrec-shards/1"
MANIFEST = "manifest.json"
_KINDS = ("ratings", "ctr", "sessions")
_FILE_FORMATS = ("parquet", "tfrecord", "csv")


@dataclass(frozen=True)
class Shard:
    """One shard file of a manifest: its path relative to the folder, row count and size in bytes."""

    path: str
    rows: int
    bytes: int


@dataclass
class Manifest:
    """The parsed ``manifest.json`` of a shard folder.

    Attributes:
      folder: the folder holding the manifest and the shards.
      kind: "ratings" (user, item, rating, timestamp), "ctr" (label + features) or "sessions".
      file_format: "parquet", "tfrecord" or "csv".
      schema: column name -> dtype name ("int32", "int64", "float32", "string").
      shards: the shard files in order.
      vocab: column -> vocabulary file (relative path; line i = id i) for columns stored as ids.
      cardinality: column -> number of distinct ids (ids are 0..cardinality-1).
      source: free-form facts about where the data came from (generator settings, input files).
    """

    folder: Path
    kind: str
    file_format: str
    schema: Dict[str, str]
    shards: List[Shard]
    vocab: Dict[str, str] = field(default_factory=dict)
    cardinality: Dict[str, int] = field(default_factory=dict)
    source: Dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Total rows over all shards."""
        return sum(s.rows for s in self.shards)

    def paths(self) -> List[Path]:
        """Absolute paths of the shards, in order."""
        return [self.folder / s.path for s in self.shards]

    def to_json(self) -> Dict[str, Any]:
        return {"format": FORMAT, "kind": self.kind, "file_format": self.file_format, "rows": self.rows,
                "schema": dict(self.schema), "shards": [s.__dict__ for s in self.shards],
                "vocab": dict(self.vocab), "cardinality": dict(self.cardinality), "source": dict(self.source)}


def write_manifest(manifest: Manifest) -> Path:
    """Writes ``manifest.json`` into ``manifest.folder`` atomically (after every shard is in place)."""
    path = Path(manifest.folder) / MANIFEST
    tmp = path.with_name(f".{MANIFEST}.tmp")
    tmp.write_text(json.dumps(manifest.to_json(), indent=2) + "\n")
    os.replace(tmp, path)
    return path


def _require(cond: bool, path: Path, problem: str) -> None:
    if not cond:
        raise DataFormatError(path, problem)


def read_manifest(folder, check_files: bool = True) -> Manifest:
    """Reads and checks the manifest of a shard folder.

    Args:
      folder: the folder (or the ``manifest.json`` path itself).
      check_files: also check that every shard file exists and has the listed size in bytes (a
        truncated or replaced shard fails here, before any row is read).

    Raises:
      DataFormatError: no manifest, invalid JSON, missing keys, an unknown kind or format, a shard
        that is absent or whose size differs from the manifest (names the shard and both sizes).
    """
    folder = Path(folder)
    path = folder if folder.name == MANIFEST else folder / MANIFEST
    folder = path.parent
    _require(path.is_file(), path, f"no {MANIFEST} here: a shard folder is written by `tfrec data convert` or "
                                   "`tfrec data synth`, which write the manifest last")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise DataFormatError(path, f"not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from e
    _require(isinstance(doc, dict) and doc.get("format") == FORMAT, path,
             f"'format' must be {FORMAT!r}, found {doc.get('format') if isinstance(doc, dict) else doc!r}")
    for key in ("kind", "file_format", "schema", "shards"):
        _require(key in doc, path, f"missing key {key!r}")
    _require(doc["kind"] in _KINDS, path, f"'kind' must be one of {', '.join(_KINDS)}, found {doc['kind']!r}")
    _require(doc["file_format"] in _FILE_FORMATS, path,
             f"'file_format' must be one of {', '.join(_FILE_FORMATS)}, found {doc['file_format']!r}")
    shards = []
    for i, s in enumerate(doc["shards"]):
        _require(isinstance(s, dict) and {"path", "rows", "bytes"} <= set(s), path,
                 f"shards[{i}] needs 'path', 'rows' and 'bytes', found {s!r}")
        shards.append(Shard(str(s["path"]), int(s["rows"]), int(s["bytes"])))
    _require(bool(shards), path, "lists no shards")
    if "rows" in doc:
        total = sum(s.rows for s in shards)
        _require(int(doc["rows"]) == total, path,
                 f"'rows' is {doc['rows']} but the shards' row counts add up to {total}")
    manifest = Manifest(folder, doc["kind"], doc["file_format"], dict(doc["schema"]), shards,
                        dict(doc.get("vocab") or {}), {k: int(v) for k, v in (doc.get("cardinality") or {}).items()},
                        dict(doc.get("source") or {}))
    if check_files:
        for shard in shards:
            p = folder / shard.path
            _require(p.is_file(), p, f"shard listed in {path} is missing")
            size = p.stat().st_size
            _require(size == shard.bytes, p, f"shard is {size} bytes but {path} lists {shard.bytes}: the file was "
                                             "truncated or replaced after the manifest was written")
        for column, rel in manifest.vocab.items():
            _require((folder / rel).is_file(), folder / rel, f"vocabulary file of column {column!r} is missing")
    return manifest


def shard_name(index: int, count: int, suffix: str) -> str:
    """``part-00003-of-00008.<suffix>``."""
    return f"part-{index:05d}-of-{count:05d}.{suffix}"


def manifest_or_none(folder) -> Optional[Manifest]:
    """The checked manifest of ``folder``, or None where the folder has no ``manifest.json``."""
    folder = Path(folder)
    return read_manifest(folder) if (folder / MANIFEST).is_file() else None
