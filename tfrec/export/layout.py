"""TensorFlow Serving's folder layout: ``<base>/<model name>/<integer version>/``, written atomically.

TF Serving (and ``tfrec serve``) polls ``<base>/<name>/`` and loads any folder whose name is an
integer. A version folder must therefore appear complete: :func:`atomic_version_dir` writes into a
non-numeric temporary folder beside it (``.tmp-<version>-<pid>-<random>``) and renames it into place
with one ``os.rename``. A writer killed mid-way leaves only the temporary folder, which every loader
skips; :func:`clean_stale_temp_dirs` removes such leftovers of dead processes.

This module imports no TensorFlow.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Union

PathLike = Union[str, os.PathLike]

TEMP_PREFIX = ".tmp-"
CONFIG_FILE = "models.config"
TFSERVING_CONFIG_FILE = "models.tfserving.config"
SCANN_SUFFIX = "_scann"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_model_name(name: str) -> str:
    """Returns ``name`` if it can be a model folder and a URL path segment; raises ValueError otherwise."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            "Received an invalid model name, expected letters, digits, '_', '.' or '-' (starting with a "
            f"letter or digit) so that it works as a folder and in /v1/models/<name>. Received: name={name!r}")
    return name


def list_versions(model_dir: PathLike) -> List[int]:
    """Sorted integer versions under ``model_dir`` that hold a ``saved_model.pb`` (or ``.pbtxt``).

    Non-numeric folders (temporary folders of an export in progress, ``latest``, ...) are ignored,
    as TF Serving ignores them.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    out = []
    for entry in model_dir.iterdir():
        if entry.name.isdigit() and entry.is_dir() and (
                (entry / "saved_model.pb").is_file() or (entry / "saved_model.pbtxt").is_file()):
            out.append(int(entry.name))
    return sorted(out)


def next_version(*model_dirs: PathLike) -> int:
    """One more than the largest version (numeric folder, complete or not) in any of ``model_dirs``.

    Several folders are given when models are exported together (``movies`` and ``movies_scann``)
    so that they share one version number.
    """
    latest = 0
    for d in model_dirs:
        d = Path(d)
        if d.is_dir():
            latest = max([latest] + [int(e.name) for e in d.iterdir() if e.name.isdigit()])
    return latest + 1


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temp_dirs(model_dir: PathLike) -> List[Path]:
    """Deletes temporary export folders in ``model_dir`` whose writing process is gone; returns them."""
    model_dir = Path(model_dir)
    removed = []
    if not model_dir.is_dir():
        return removed
    for entry in model_dir.iterdir():
        if not entry.name.startswith(TEMP_PREFIX):
            continue
        parts = entry.name[len(TEMP_PREFIX):].split("-")
        pid = int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None
        if pid is not None and pid != os.getpid() and _pid_alive(pid):
            continue
        if pid == os.getpid():
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


@contextlib.contextmanager
def atomic_version_dir(base_path: PathLike, name: str, version: Optional[int] = None,
                       overwrite: bool = False) -> Iterator[Path]:
    """Yields a temporary folder to write one model version into; renames it to ``<base>/<name>/<version>``.

    Args:
      base_path: the model base path (holds one folder per model).
      name: model name; the folder ``<base>/<name>``.
      version: integer version; default one more than the largest existing one.
      overwrite: replace an existing version folder (its old contents are renamed away first, then
        deleted). Default False: an existing version raises FileExistsError.

    Yields:
      The temporary folder (a ``Path``); on a clean exit of the block it becomes
      :func:`version_path` ``(base_path, name, version)``; on an exception it is deleted.

    Raises:
      FileExistsError: ``version`` exists and ``overwrite`` is False.
      ValueError: ``version`` is not a positive integer or ``name`` is not a valid model name.

    Example:
      >>> import tempfile
      >>> base = tempfile.mkdtemp()
      >>> with atomic_version_dir(base, "demo", 1) as tmp:
      ...     _ = (tmp / "saved_model.pb").write_bytes(b"")
      >>> list_versions(Path(base) / "demo")
      [1]
    """
    check_model_name(name)
    model_dir = Path(base_path) / name
    model_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_temp_dirs(model_dir)
    if version is None:
        version = next_version(model_dir)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"Received an invalid version, expected a positive integer. Received: version={version!r}")
    final = model_dir / str(version)
    if final.exists() and not overwrite:
        raise FileExistsError(
            f"{final} already exists; choose another --version, omit it to use the next free one "
            f"({next_version(model_dir)}), or pass overwrite=True.")
    tmp = model_dir / f"{TEMP_PREFIX}{version}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        _fsync_tree(tmp)
        if final.exists():
            old = model_dir / f"{TEMP_PREFIX}old-{version}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            os.rename(final, old)
            os.rename(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, final)
        _fsync_dir(model_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def version_path(base_path: PathLike, name: str, version: int) -> Path:
    """``<base>/<name>/<version>``."""
    return Path(base_path) / name / str(int(version))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """Flushes every file of ``root`` so that a crash after the rename cannot expose empty files."""
    for dirpath, _, files in os.walk(root):
        for f in files:
            try:
                fd = os.open(os.path.join(dirpath, f), os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fsync(fd)
            except OSError:
                pass
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))


def model_names(base_path: PathLike) -> List[str]:
    """Sorted names of the models in ``base_path`` (folders holding at least one complete version)."""
    base = Path(base_path)
    if not base.is_dir():
        return []
    return sorted(e.name for e in base.iterdir()
                  if e.is_dir() and not e.name.startswith(".") and list_versions(e))


def models_config_text(entries: Sequence[tuple]) -> str:
    """A ``model_config_list`` text proto for ``(name, base_path)`` pairs (the ``--model_config_file`` format)."""
    lines = ["model_config_list {"]
    for name, path in entries:
        lines += ["  config {", f"    name: \"{name}\"", f"    base_path: \"{path}\"",
                  "    model_platform: \"tensorflow\"", "  }"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_models_config(base_path: PathLike, config_root: Optional[str] = None) -> List[Path]:
    """Writes ``models.config`` (every model) and ``models.tfserving.config`` (no ScaNN models) in ``base_path``.

    ``models.config`` is for ``tfrec serve`` (which registers the ScaNN ops). Its ``base_path`` fields
    are relative (``"movies"``), resolved against the config file's folder, so a copied or moved model
    folder serves its own models. ``models.tfserving.config`` leaves out the ``*_scann`` models, which
    stock ``tensorflow_model_server`` cannot load (and a model that fails to load at start-up stops it),
    and holds absolute paths, since TF Serving does not resolve them against the config file.

    Args:
      base_path: the model base path.
      config_root: path written in both files' ``base_path:`` fields instead, e.g. ``/models`` for the
        ``tensorflow/serving`` Docker image with ``base_path`` mounted there.

    Returns:
      The two files written.
    """
    base = Path(base_path).resolve()
    root = config_root.rstrip("/") if config_root else str(base)
    names = model_names(base)
    written = []
    for fname, chosen in ((CONFIG_FILE, names), (TFSERVING_CONFIG_FILE, [n for n in names if not is_scann_model(base / n)])):
        relative = fname == CONFIG_FILE and not config_root
        text = models_config_text([(n, n if relative else f"{root}/{n}") for n in chosen])
        path = base / fname
        tmp = base / f"{TEMP_PREFIX}{fname}-{os.getpid()}"
        tmp.write_text(text)
        os.replace(tmp, path)
        written.append(path)
    return written


def is_scann_model(model_dir: PathLike) -> bool:
    """True when the latest version of ``model_dir`` needs the ScaNN ops (marker file or ``_scann`` name)."""
    model_dir = Path(model_dir)
    versions = list_versions(model_dir)
    if versions and (model_dir / str(versions[-1]) / "assets.extra" / "scann_settings.json").is_file():
        return True
    return model_dir.name.endswith(SCANN_SUFFIX)
