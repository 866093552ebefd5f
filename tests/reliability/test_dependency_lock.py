"""The Lambda/Batch image installs exactly what was reviewed: every runtime dependency pinned with hashes.

Regenerate after changing dependencies in pyproject.toml (pip-tools, in any Python 3.11 environment):

    pip install pip-tools
    pip-compile --generate-hashes --allow-unsafe --strip-extras --extra aws \
        --no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml \
        functions/process_video/requirements.txt
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements.lock"

pytestmark = pytest.mark.unit

# name==version [; markers] --hash=sha256:... (one or more)
_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)(?:\s*;[^-]*)?((?:\s+--hash=sha256:[0-9a-f]{64})+)\s*$")


def _lock_entries() -> dict[str, tuple[Version, list[str]]]:
    text = LOCK.read_text()
    # Join backslash continuations so each requirement and its hashes form one logical line.
    logical = re.sub(r"\\\n\s*", " ", text)
    entries: dict[str, tuple[Version, list[str]]] = {}
    for line in logical.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        assert not line.startswith(("-e", "--index-url", "--extra-index-url", "--find-links", "-f ")), line
        m = _PIN.match(line)
        assert m, f"not an exact pin with hashes: {line[:120]}"
        hashes = re.findall(r"sha256:([0-9a-f]{64})", m.group(3))
        entries[canonicalize_name(m.group(1))] = (Version(m.group(2)), hashes)
    return entries


def _runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    reqs += [Requirement(r) for r in project["optional-dependencies"]["aws"]]
    return reqs


def test_every_lock_line_is_an_exact_pin_with_hashes() -> None:
    entries = _lock_entries()
    assert len(entries) >= 10
    for name, (_, hashes) in entries.items():
        assert hashes, name


def test_lock_covers_every_runtime_dependency_at_an_allowed_version() -> None:
    entries = _lock_entries()
    for req in _runtime_requirements():
        name = canonicalize_name(req.name)
        assert name in entries, f"{req.name} is a runtime dependency but not in requirements.lock"
        version, _ = entries[name]
        assert req.specifier.contains(version, prereleases=True), f"{name}=={version} violates {req}"
        for extra in req.extras:  # e.g. powertools[tracer] needs aws-xray-sdk
            if (name, extra) == ("aws-lambda-powertools", "tracer"):
                assert "aws-xray-sdk" in entries


def test_lock_covers_the_function_requirement_files() -> None:
    files = sorted((REPO / "functions").glob("*/requirements*.txt")) + sorted(
        (REPO / "functions").glob("*/requirements*.in")
    )
    entries = _lock_entries()
    for f in files:
        for line in f.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith(("-", ".", "/")):
                continue
            name = canonicalize_name(Requirement(line).name)
            if name != "barpath":
                assert name in entries, f"{f.relative_to(REPO)} asks for {name}, which the lock lacks"


def test_lock_excludes_training_and_dev_tools() -> None:
    # The image must not carry the heavy or test-only stacks (torch, moto, pytest).
    entries = _lock_entries()
    for name in ("torch", "torchvision", "moto", "pytest", "detectron2"):
        assert name not in entries
