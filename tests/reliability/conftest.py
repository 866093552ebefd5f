"""Fixtures of the reliability suite: the bad-input corpus (made once per session), one moto server for
the session (barpath.local.LocalCloud), and a freshly provisioned stack per test."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .corpus import Corpus


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return Corpus(Path(tmp_path_factory.mktemp("corpus")))


@pytest.fixture(scope="session")
def cloud() -> Iterator[object]:
    from barpath.local import LocalCloud

    with LocalCloud() as c:
        yield c


@pytest.fixture(autouse=True)
def _own_environment() -> Iterator[None]:
    """A Flow points os.environ at its stack (and some tests add limits): none of it outlives the test."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """The process's temp folder for this test, so a test can prove nothing was left behind in it."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    saved_env, saved_tempdir = dict(os.environ), tempfile.tempdir
    os.environ["TMPDIR"] = str(scratch)
    tempfile.tempdir = str(scratch)
    try:
        yield scratch
    finally:
        tempfile.tempdir = saved_tempdir
        os.environ.clear()
        os.environ.update(saved_env)


@pytest.fixture
def flow(cloud: object, scratch: Path) -> Iterator[object]:
    from .harness import Flow

    yield Flow(cloud)  # type: ignore[arg-type]
    from barpath.aws import clients, idempotency

    clients.reset()
    idempotency.reset()
