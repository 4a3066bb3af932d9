"""Downloads public datasets into the data folder, verified and written atomically.

The data folder (``$TFREC_DATA``, default ``~/.cache/tfrec/data``, see :func:`data_root`) holds one
folder per dataset, named as the dataset (``ml-100k/u.data``, ``ml-latest-small/ratings.csv``). This
is the same layout as the project's ``../shared/data`` folder, so ``TFREC_DATA`` means one thing for
``tfrec data download``, ``tfrec quickstart``, ``data.dataset`` in train configs, the tests and the
benchmarks: *the folder that holds the dataset folders*. When it is not set, downloads go to the
user's cache and configs look there, then in ``../shared/data`` beside a source checkout
(:func:`data_roots`); the tests and benchmarks read ``../shared/data``.

What is verified (see ``DATASETS``):

* ``ml-100k`` and ``ml-latest-small``: the SHA-256 of every extracted file the loaders read, taken from
  files whose hashes match the publishers' releases. A byte-identical copy re-zipped by a mirror
  passes. Line endings are normalised (CRLF -> LF) before hashing, because GroupLens' own
  ``ml-latest-small.zip`` stores CRLF CSVs while most copies store LF; nothing else is normalised.
* ``ml-1m``, ``ml-25m``, ``ml-32m``: no per-file hash of these releases is published, so the *zip* is
  checked against the MD5 that GroupLens publishes beside it (``<name>.zip.md5``; for ml-1m the
  value used by torchtext and other loaders). A mirror must serve the publisher's zip byte for
  byte; the extracted files are only checked to be present.

Every download goes to a temporary folder beside the target and is renamed into place only once
verified: an interrupted or corrupt download leaves nothing behind.

Example:
    >>> spec = DATASETS["ml-100k"]
    >>> spec.archive, sorted(spec.files)[:2]
    ('ml-100k.zip', ['u.data', 'u.genre'])
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from typing import Callable, Dict, List, Mapping, Optional

DATA_ENV = "TFREC_DATA"
URL_ENV = "TFREC_DATA_URL"
GROUPLENS = "https://files.grouplens.org/datasets/movielens"
MANIFEST = ".tfrec-download.json"
_CHUNK = 1 << 20
CHECKOUT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


class DownloadError(RuntimeError):
    """A dataset could not be downloaded or did not verify; the message says what to do."""


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset comes from and how its files are checked.

    Attributes:
      name: dataset name and folder name in the data folder, e.g. ``"ml-100k"``.
      archive: file name of the zip under the base URL, e.g. ``"ml-100k.zip"``.
      base_url: the publisher's base URL (``TFREC_DATA_URL`` replaces it).
      files: extracted file -> SHA-256 of its bytes with CRLF normalised to LF, or None where only its
        presence is checked.
      archive_md5: MD5 of the publisher's zip, or None where the files' hashes are checked instead.
      size_mb: approximate size of the zip, for the messages.
      checksum_source: where the checksums come from.
    """

    name: str
    archive: str
    base_url: str
    files: Mapping[str, Optional[str]]
    archive_md5: Optional[str] = None
    size_mb: float = 0.0
    checksum_source: str = ""

    @property
    def verified_files(self) -> List[str]:
        """Files with a SHA-256 to check."""
        return sorted(f for f, h in self.files.items() if h)


_ML100K = {
    "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
    "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
    "u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
    "u.genre": "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb",
    "u.occupation": "cd5fbec9afe345d993a62fc7817df1a4a9079c4feb267b3118763b8fd942137d",
    "u.info": "5b0a40b2e47a729ee6203063f6dcf8790c2e63f5a18663e6ee318a72c5f3c27b",
    "u1.base": "ce253ec86c448b44fb3ba9a30d12dcfc2e9210cbde71efada3730c22e9ac212a",
    "u1.test": "18c6014a4b2c7324f250a63f8904a7b16b2b19f911129e346141507b0cbac950",
    "u2.base": "6c06f0b5df4b256da1a994f3ac66edc8da4d3f09bc9282df6b14d893366d703e",
    "u2.test": "4de658d1e04ed9104629509a2e2528fce833ac8e048280183f1df167632038c3",
    "u3.base": "afdc155c291c6edc41c0407e39d7462eb98d341e064f0b0a12175b80b3c4af5d",
    "u3.test": "0f548b51c78327de4c156461d3e430b7e5579fe2b5681586a59416e48fd35f6d",
    "u4.base": "219f0f4d40dfe9c5141d425f53fa91ee23ed275f14e280bbf1b50117afb064ca",
    "u4.test": "7c02ad0a1e7ab1083c8b9d4b627203a051dd7b5eab46d99fa44de33470de8db9",
    "u5.base": "a9574e59ce961eec2121627760b6e9b0974ce1637b3fe69ac32cb14a4bfab485",
    "u5.test": "351cc52e0d15b6c721466276fc24671d40936899e3d01fadeaf312915b8c5634",
    "ua.base": "67b5bcdb380c29f85d56a012ecd88612ae020f30a6730d117a334ee8203b91f2",
    "ua.test": "d0497e202417720f57a184ec8c66be2d1afa4ff41bb53787c57b28d6bf79bc42",
    "ub.base": "237254d253b6ad7de84f919d041055428646254f34ed8f562703c899430cd881",
    "ub.test": "d54a72d05730d5892062734b2bec73e976f9b713d18c828a18b968d6cce442da",
}

_ML_LATEST_SMALL = {  # the September 2018 release, the one GroupLens serves
    "ratings.csv": "80da8b3393dae325bbba5a31f291a6ba55d8d4f4396de3c456f2c1635b1b70e8",
    "movies.csv": "c47b783f23eb304413307e1bb05335e427737da20ec8d3c0e96335567dd5f3dc",
    "tags.csv": "68eec00a0820c2faa8863a6df7032f13d5899a4462bce9a97213905297ff3d34",
    "links.csv": "028a4a1d17751ca9276e0e0718cfc22356350f224a996e1ec348c23274b9209d",
}

_LATEST_FILES = {f: None for f in ("ratings.csv", "movies.csv", "tags.csv", "links.csv")}

DATASETS: Dict[str, DatasetSpec] = {
    "ml-100k": DatasetSpec(
        "ml-100k", "ml-100k.zip", GROUPLENS, _ML100K, size_mb=5,
        checksum_source="SHA-256 of each file of GroupLens' ml-100k release (1998)"),
    "ml-latest-small": DatasetSpec(
        "ml-latest-small", "ml-latest-small.zip", GROUPLENS, _ML_LATEST_SMALL, size_mb=1,
        checksum_source="SHA-256 of each CSV of GroupLens' ml-latest-small release of 2018-09-26 "
                        "(line endings normalised)"),
    "ml-1m": DatasetSpec(
        "ml-1m", "ml-1m.zip", GROUPLENS, {f: None for f in ("ratings.dat", "movies.dat", "users.dat")},
        archive_md5="c4d9eecfca2ab87c1945afe126590906", size_mb=6,
        checksum_source="MD5 of GroupLens' ml-1m.zip (as pinned by torchtext and other loaders)"),
    "ml-25m": DatasetSpec(
        "ml-25m", "ml-25m.zip", GROUPLENS, _LATEST_FILES, archive_md5="6b51fb2759a8657d3bfcbfc42b592ada",
        size_mb=250, checksum_source="MD5 GroupLens publishes at " + GROUPLENS + "/ml-25m.zip.md5"),
    "ml-32m": DatasetSpec(
        "ml-32m", "ml-32m.zip", GROUPLENS, _LATEST_FILES, archive_md5="d472be332d4daa821edc399621853b57",
        size_mb=228, checksum_source="MD5 GroupLens publishes at " + GROUPLENS + "/ml-32m.zip.md5"),
}


# ----------------------------------------------------------------------------------------------
# Locations


def data_root() -> Path:
    """The folder that holds the dataset folders: ``$TFREC_DATA``, else ``$XDG_CACHE_HOME/tfrec/data``,
    else ``~/.cache/tfrec/data``."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "tfrec" / "data"


def data_roots() -> List[Path]:
    """The folders searched for a dataset named in a config, in order: ``$TFREC_DATA`` alone when it is
    set; otherwise the download cache (:func:`data_root`), then ``../shared/data`` beside a source
    checkout of the project (the folder the tests and benchmarks read)."""
    if os.environ.get(DATA_ENV):
        return [data_root()]
    return [data_root(), CHECKOUT_DATA]


def dataset_url(name: str) -> str:
    """URL of a dataset's zip: ``$TFREC_DATA_URL/<archive>`` when the variable is set (``http(s)://`` or
    ``file://``), else the publisher's."""
    spec = get_spec(name)
    base = os.environ.get(URL_ENV) or spec.base_url
    return base.rstrip("/") + "/" + spec.archive


def get_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of ``name``.

    Raises:
      ValueError: unknown name (lists the known ones).
    """
    if name not in DATASETS:
        import difflib

        close = difflib.get_close_matches(name, list(DATASETS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown dataset {name!r}.{hint} Known datasets: {', '.join(DATASETS)}.")
    return DATASETS[name]


# ----------------------------------------------------------------------------------------------
# Hashes


def text_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes with every CRLF replaced by LF (streamed; no other change)."""
    h = hashlib.sha256()
    carry = b""
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            chunk = carry + chunk
            carry = b"\r" if chunk.endswith(b"\r") else b""
            if carry:
                chunk = chunk[:-1]
            h.update(chunk.replace(b"\r\n", b"\n"))
    h.update(carry)
    return h.hexdigest()


def _file_md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def check_folder(folder: Path, spec: DatasetSpec) -> List[str]:
    """Problems of a dataset folder: missing files and files whose SHA-256 differs ([] = verified).

    Args:
      folder: the dataset folder, e.g. ``~/.cache/tfrec/data/ml-100k``.
      spec: its :class:`DatasetSpec`.
    """
    problems = []
    for name, expected in sorted(spec.files.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif expected and text_sha256(path) != expected:
            problems.append(f"{name} has SHA-256 {text_sha256(path)}, expected {expected}")
    return problems


# ----------------------------------------------------------------------------------------------
# Download


def _offline_advice(spec: DatasetSpec, url: str, target: Path, reason: str) -> str:
    return (
        f"Could not download {spec.name} from {url}: {reason}.\n"
        f"To fix, do one of:\n"
        f"  1. connect this machine to the internet and run again: tfrec data download {spec.name}\n"
        f"  2. on a machine with internet, download {GROUPLENS}/{spec.archive} (about {spec.size_mb:g} MB) "
        f"and unzip it so that {target / sorted(spec.files)[0]} exists (set {DATA_ENV} to use another folder "
        f"than {target.parent})\n"
        f"  3. point {URL_ENV} at a mirror that serves {spec.archive}, e.g. {URL_ENV}=http://mirror.example/movielens\n"
        f"  4. pass a folder you already have, e.g. tfrec quickstart --data /path/to/{spec.name}"
    )


def _fetch(url: str, dest: Path, spec: DatasetSpec, target: Path, timeout: float,
           progress: Optional[Callable[..., object]]) -> None:
    try:
        response = urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - http(s) URLs only
    except urllib.error.HTTPError as e:
        raise DownloadError(_offline_advice(spec, url, target, f"HTTP {e.code} {e.reason}")) from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(_offline_advice(spec, url, target, f"{type(e).__name__}: {reason}")) from None
    total = response.headers.get("Content-Length")
    bar = progress(total=int(total) if total and total.isdigit() else None, desc=f"downloading {spec.archive}",
                   unit="bytes") if progress else None
    try:
        with response, open(dest, "wb") as out:
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except OSError as e:
                    raise DownloadError(_offline_advice(spec, url, target, f"connection lost: {e}")) from None
                if not chunk:
                    break
                out.write(chunk)
                if bar:
                    bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
    finally:
        if bar:
            bar.close()


def _extract(archive: Path, spec: DatasetSpec, dest: Path, url: str) -> None:
    """Extracts the spec's files (from ``<name>/`` or the zip's top level) into ``dest``."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise DownloadError(f"{url} did not return a zip file ({archive.stat().st_size} bytes received); "
                            f"check the URL{' and ' + URL_ENV if os.environ.get(URL_ENV) else ''}.") from None
    with zf:
        members = {}
        for info in zf.infolist():
            parts = PurePosixPath(info.filename).parts
            if info.is_dir() or not parts or ".." in parts or info.filename.startswith("/"):
                continue
            if len(parts) == 2 and parts[0] == spec.name or len(parts) == 1:
                members.setdefault(parts[-1], info)
        missing = [f for f in spec.files if f not in members]
        if missing:
            raise DownloadError(f"{url} does not hold {spec.name}: {missing} not found in the zip (expected them "
                                f"under {spec.name}/).")
        dest.mkdir(parents=True)
        for name, info in members.items():
            if name in spec.files or name.lower().startswith("readme"):
                with zf.open(info) as src, open(dest / name, "wb") as out:
                    shutil.copyfileobj(src, out, _CHUNK)


def download_dataset(name: str, root: Optional[Path] = None, *, force: bool = False, timeout: float = 60.0,
                     progress: Optional[Callable[..., object]] = None, log: Callable[[str], None] = print) -> Path:
    """Makes ``<root>/<name>`` hold the verified dataset, downloading it if needed, and returns that folder.

    A folder already there is kept when it verifies (no network access then). Otherwise the zip is
    fetched from :func:`dataset_url` into a temporary folder inside ``root``, checked (see the module
    docstring), extracted, and renamed into place; on any failure the temporary folder is removed and
    an existing folder is left as it was.

    Args:
      name: one of ``DATASETS`` ("ml-100k", "ml-latest-small", "ml-1m", "ml-25m", "ml-32m").
      root: the data folder; default :func:`data_root`.
      force: download again even when a verified copy is there.
      timeout: seconds to wait for the server.
      progress: factory of a progress reporter (``tfrec.progress.Progress``-like, called with
        ``total=, desc=, unit=``); None: no progress.
      log: where to print what is done.

    Returns:
      the dataset folder.

    Raises:
      ValueError: unknown ``name``.
      DownloadError: no connection (the message lists what to do), a checksum mismatch, or an
        existing folder that does not verify (without ``force``).
    """
    spec = get_spec(name)
    root = Path(root) if root is not None else data_root()
    target = root / spec.name
    url = dataset_url(name)
    if target.is_dir() and not force:
        problems = check_folder(target, spec)
        if not problems:
            return target
        if any(target.iterdir()):
            raise DownloadError(
                f"{target} exists but does not verify: {'; '.join(problems[:3])}"
                f"{' ...' if len(problems) > 3 else ''}. Run `tfrec data download {name} --force` to replace "
                f"it with a fresh copy, or remove the folder.")
    tmp = root / f".{spec.name}.download-{os.getpid()}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
    except OSError as e:
        raise DownloadError(f"cannot write into the data folder {root} ({e.strerror or e}); set {DATA_ENV} to a "
                            "writable folder.") from None
    try:
        log(f"downloading {spec.name} from {url} into {target}")
        archive = tmp / spec.archive
        _fetch(url, archive, spec, target, timeout, progress)
        md5 = _file_md5(archive)
        if spec.archive_md5 and md5 != spec.archive_md5:
            raise DownloadError(
                f"checksum mismatch: {url} has MD5 {md5}, expected {spec.archive_md5} ({spec.checksum_source}). "
                f"The download is corrupt or not the publisher's file; nothing was written. Run the command "
                f"again, or check the mirror ({URL_ENV}).")
        extracted = tmp / spec.name
        _extract(archive, spec, extracted, url)
        problems = check_folder(extracted, spec)
        if problems:
            raise DownloadError(
                f"checksum mismatch in {spec.name} from {url}: {'; '.join(problems[:3])}"
                f"{' ...' if len(problems) > 3 else ''} ({spec.checksum_source}). The download is corrupt or not "
                f"the publisher's data; nothing was written. Run the command again, or check the mirror ({URL_ENV}).")
        manifest = {
            "dataset": spec.name, "url": url, "archive_md5": md5,
            "downloaded": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "verified": ({"files_sha256": spec.verified_files} if spec.verified_files
                         else {"archive_md5": spec.archive_md5}),
            "checksum_source": spec.checksum_source,
        }
        (extracted / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        old = None
        if target.exists():
            if not force and target.is_dir() and any(target.iterdir()) and not check_folder(target, spec):
                log(f"{target} was completed by another process meanwhile; keeping it")
                return target
            old = root / f".{spec.name}.old-{os.getpid()}"
            os.replace(target, old)
        os.replace(extracted, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    what = (f"{len(spec.verified_files)} files' SHA-256" if spec.verified_files else "the zip's MD5")
    log(f"{spec.name}: {len(spec.files)} data files in {target} ({what} verified)")
    return target


def find_dataset(name: str, root: Optional[Path] = None) -> Optional[Path]:
    """``<root>/<name>`` when it holds the dataset's files (not re-hashed), else None."""
    spec = get_spec(name)
    folder = (Path(root) if root is not None else data_root()) / spec.name
    return folder if all((folder / f).is_file() for f in spec.files) else None
