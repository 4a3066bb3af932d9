"""Shared fixtures: the real datasets of ../shared/data, skipped with a message where absent."""

import contextlib
import functools
import http.server
import os
import socket
import threading
import types
import zipfile
from pathlib import Path

import pytest

import tfrec  # noqa: F401  (selects tf_keras before any test imports TensorFlow)

REPO = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("TFREC_DATA", REPO.parent / "shared" / "data"))


def _dataset(name: str) -> Path:
    path = DATA_ROOT / name
    if not path.is_dir():
        pytest.skip(f"dataset folder {path} not found; set TFREC_DATA to the folder that holds {name}/")
    return path


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not DATA_ROOT.is_dir():
        pytest.skip(f"data folder {DATA_ROOT} not found; set TFREC_DATA")
    return DATA_ROOT


@pytest.fixture(scope="session")
def ml100k_path() -> Path:
    return _dataset("ml-100k")


@pytest.fixture(scope="session")
def ml_latest_small_path() -> Path:
    return _dataset("ml-latest-small")


@pytest.fixture(scope="session")
def rsc15_path() -> Path:
    return _dataset("rsc15-yoochoose-100k")


@pytest.fixture(scope="session")
def criteo_path() -> Path:
    return _dataset("criteo-10k")


# -- a local mirror of the publishers' zips (tfrec data download / quickstart tests) ------------


def _download_specs():
    from tfrec.data.download import DATASETS

    return DATASETS


def build_zip(src: Path, dest_dir: Path, name: str, corrupt: str = "", crlf: bool = False) -> Path:
    """``<dest_dir>/<name>.zip`` holding ``<name>/<file>`` for every file of the spec, as GroupLens
    lays it out; ``corrupt`` names a file whose first byte is changed, ``crlf`` stores CRLF lines."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"{name}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in _download_specs()[name].files:
            data = (src / f).read_bytes()
            if crlf:
                data = data.replace(b"\n", b"\r\n")
            if f == corrupt:
                data = bytes([data[0] ^ 1]) + data[1:]
            zf.writestr(f"{name}/{f}", data)
    return path


@contextlib.contextmanager
def serve(folder: Path):
    """An HTTP server on 127.0.0.1 serving ``folder``; yields its base URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def mirror():
    """Helpers to play a dataset publisher on 127.0.0.1: ``build_zip(src, dest_dir, name, corrupt=, crlf=)``,
    ``serve(folder)`` (a context manager yielding the base URL) and ``closed_port_url()`` (offline)."""
    return types.SimpleNamespace(build_zip=build_zip, serve=serve, closed_port_url=closed_port_url)
