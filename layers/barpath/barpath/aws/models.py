"""A model configured as an S3 URI is fetched into /tmp and used from there while it is unchanged.

The detectors take a local path: vision code never talks to S3. A warm container asks S3 once per job
whether the model changed (one HEAD or LIST): a model replaced at the same URI, a fixed one after a
broken upload say, is used from the next job on, and the copy it replaces is deleted. A fetch that
fails leaves nothing behind in /tmp.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from barpath.aws.clients import client
from barpath.errors import ModelLoadError


@dataclass(frozen=True)
class _Copy:
    version: str  # what S3 says of the objects: their keys, ETags and sizes
    root: Path  # the temp folder holding the copy (removed when superseded)
    path: str  # what the detector loads: the folder, the file, or the unpacked archive


_COPIES: dict[str, _Copy] = {}


def local_model(uri: str | None) -> str | None:
    if not uri or not uri.startswith("s3://"):
        return uri
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key:
        raise ModelLoadError(f"model URI {uri!r} is not s3://bucket/key")
    s3 = client("s3")
    held = _COPIES.get(uri)
    try:
        objects = _objects(s3, bucket, key)
    except ClientError as exc:
        if held is not None and not _gone(exc):  # S3 unsure for a moment: the copy was right a job ago
            return held.path
        _drop(uri)  # deleted or no longer ours: fail as a fresh container would
        raise ModelLoadError(f"cannot fetch model {uri}: {exc}") from exc
    version = _version(objects)
    if held is not None and held.version == version:
        return held.path
    copy = _fetch(s3, uri, bucket, key, objects, version)
    _COPIES[uri] = copy
    if held is not None:
        shutil.rmtree(held.root, ignore_errors=True)
    return copy.path


_GONE = {"404", "NoSuchKey", "NotFound", "NoSuchBucket", "403", "AccessDenied", "Forbidden"}


def _gone(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in _GONE


def _drop(uri: str) -> None:
    copy = _COPIES.pop(uri, None)
    if copy is not None:
        shutil.rmtree(copy.root, ignore_errors=True)


def forget() -> None:
    """Delete every fetched copy (tests; a container's /tmp goes with it anyway)."""
    for copy in _COPIES.values():
        shutil.rmtree(copy.root, ignore_errors=True)
    _COPIES.clear()


def _objects(s3: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    """The model's objects: every one under a folder key (model_final.pth + config.yaml, as training
    writes them), else the one object."""
    if key.endswith("/"):
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
        return [o for page in pages for o in page.get("Contents", []) if o["Key"] != key]
    head = s3.head_object(Bucket=bucket, Key=key)
    return [{"Key": key, "ETag": head.get("ETag", ""), "Size": head.get("ContentLength", 0)}]


def _version(objects: list[dict[str, Any]]) -> str:
    listed = sorted(f"{o['Key']}\t{o.get('ETag', '')}\t{o.get('Size', '')}" for o in objects)
    return hashlib.sha256("\n".join(listed).encode()).hexdigest()


def _fetch(s3: Any, uri: str, bucket: str, key: str, objects: list[dict[str, Any]], version: str) -> _Copy:
    root = Path(tempfile.mkdtemp(prefix="barpath-model-"))
    try:
        return _Copy(version, root, _download(s3, uri, bucket, key, objects, root))
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def _download(s3: Any, uri: str, bucket: str, key: str, objects: list[dict[str, Any]], root: Path) -> str:
    try:
        if key.endswith("/"):
            for obj in objects:
                rel = obj["Key"][len(key) :]
                if rel and ".." not in Path(rel).parts:
                    (root / rel).parent.mkdir(parents=True, exist_ok=True)
                    s3.download_file(bucket, obj["Key"], str(root / rel))
            return str(root)
        dest = root / Path(key).name
        s3.download_file(bucket, key, str(dest))
    except ClientError as exc:
        raise ModelLoadError(f"cannot fetch model {uri}: {exc}") from exc
    if dest.name.endswith(".tar.gz"):  # SageMaker's model.tar.gz
        # Here, not at the top: the notifier imports the AWS adapters and must not need OpenCV.
        from barpath.detect.detectron2 import unpack

        unpack(dest, root / "model", uri)
        dest.unlink()  # unpacked: the archive is only /tmp space now
        return str(root / "model")
    return str(dest)
