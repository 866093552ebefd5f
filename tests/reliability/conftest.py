"""Fixtures of the reliability suite: the bad-input corpus, made once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from .corpus import Corpus


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return Corpus(Path(tmp_path_factory.mktemp("corpus")))
