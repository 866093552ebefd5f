"""Shared fixtures. Internal footage and datasets are read from ../shared (never copied here); tests
that need them skip when that folder is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BARPATH_SHARED", REPO.parent / "shared"))
FOOTAGE = SHARED / "footage"
DATASETS = SHARED / "datasets"


@pytest.fixture(scope="session")
def footage_dir() -> Path:
    if not FOOTAGE.is_dir():
        pytest.skip(f"internal footage not present at {FOOTAGE}")
    return FOOTAGE


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    if not DATASETS.is_dir():
        pytest.skip(f"internal datasets not present at {DATASETS}")
    return DATASETS
