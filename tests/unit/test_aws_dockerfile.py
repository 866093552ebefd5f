"""The process-video image without Docker: what it copies exists, its entry script dispatches right, and
the install steps it runs (same requirement files) work in a clean venv that then has both entry points."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "functions/process_video/Dockerfile"
ENTRYPOINT = REPO / "functions/process_video/entrypoint.sh"


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def _pip_steps() -> list[str]:
    """The unconditional `RUN pip install ...` steps, in order (detectron2's is behind a build arg)."""
    return [rest for op, rest in _instructions() if op == "RUN" and rest.startswith("pip install")]


def test_copied_sources_exist() -> None:
    for op, rest in _instructions():
        if op == "COPY":
            for src in shlex.split(rest)[:-1]:
                assert (REPO / src).exists(), src


def test_install_steps_use_the_requirement_files() -> None:
    steps = _pip_steps()
    # Hash-checked lock first (made from pyproject [aws] + the function's requirements), then barpath alone.
    assert steps == ["pip install --require-hashes -r requirements.lock", 'pip install --no-deps "./"']
    text = DOCKERFILE.read_text()
    assert "WITH_DETECTRON2" in text and "facebookresearch/detectron2" in text
    assert 'CMD ["app.handler"]' in text


def test_entrypoint_dispatches_lambda_and_batch(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_RUNTIME_API"}
    batch = subprocess.run(["sh", str(ENTRYPOINT), "echo", "batch-ran"], capture_output=True, text=True,
                           env=env, timeout=30)
    assert batch.returncode == 0 and batch.stdout.strip() == "batch-ran"
    lost = subprocess.run(["sh", str(ENTRYPOINT), "app.handler"], capture_output=True, text=True, env=env,
                          timeout=30)
    assert lost.returncode == 64 and "AWS_LAMBDA_RUNTIME_API" in lost.stderr
    # With a runtime API the script hands over to awslambdaric (here: a fake python on PATH).
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho "$@"\n')
    fake.chmod(0o755)
    lam = subprocess.run(["sh", str(ENTRYPOINT), "app.handler"], capture_output=True, text=True, timeout=30,
                         env={**env, "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
                              "PATH": f"{tmp_path}:{env['PATH']}"})
    assert lam.stdout.strip() == "-m awslambdaric app.handler"


@pytest.mark.slow
def test_install_steps_work_in_a_clean_venv(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    py = env_dir / "bin" / "python"
    for step in _pip_steps():
        args = shlex.split(step)[2:]
        r = subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args],
                           cwd=REPO, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, f"{step}\n{r.stderr[-3000:]}"
    # The image's two entry points: the Lambda handler and the Batch module.
    check = ("import sys; sys.path.insert(0, 'functions/process_video'); import awslambdaric, app; "
             "assert callable(app.handler); import barpath.aws.batch, barpath.pipeline, cv2")
    r = subprocess.run([str(py), "-c", check], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(REPO / "functions/process_video")})
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run([str(py), "-m", "barpath.aws.batch", "--help"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "--bucket" in r.stdout
    assert str(env_dir) in subprocess.run([str(py), "-c", "import barpath; print(barpath.__file__)"],
                                          cwd=tmp_path, capture_output=True, text=True).stdout
    assert sys.executable != str(py)
