"""Shared fixtures: the real datasets of ../shared/data, skipped with a message where absent."""

import os
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
