"""A moto server over HTTP for the cloud tests: started on a free port, stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from barpath.aws import models
from barpath.local import LocalCloud, Stack, apply_env


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalCloud]:
    """A fresh endpoint and stack per test: no state leaks between tests (idempotency records!)."""
    with LocalCloud() as c:
        stack: Stack = c.provision()
        for k, v in stack.env().items():
            monkeypatch.setenv(k, v)
        apply_env({})  # drop clients cached against an earlier endpoint
        yield c
    apply_env({})
    models.forget()  # copies of models fetched from this endpoint: gone with it, not left in /tmp


@pytest.fixture(scope="session")
def lift_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rendered two-rep lift, small enough for a 2-core machine."""
    from barpath.synth import SynthSpec, render_clip

    path = tmp_path_factory.mktemp("clips") / "lift.mp4"
    render_clip(SynthSpec(n_reps=2, width=640, height=360, rack=False, seed=3), path)
    return path
