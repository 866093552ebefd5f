"""A model configured as an S3 URI is fetched once per container into /tmp and used from there.

The detectors take a local path: vision code never talks to S3.
"""

from __future__ import annotations

import functools
import tarfile
import tempfile
from pathlib import Path

from botocore.exceptions import ClientError

from barpath.aws.clients import client
from barpath.errors import ModelLoadError


def local_model(uri: str | None) -> str | None:
    if not uri or not uri.startswith("s3://"):
        return uri
    return _fetch(uri)


@functools.cache
def _fetch(uri: str) -> str:
    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket or not key:
        raise ModelLoadError(f"model URI {uri!r} is not s3://bucket/key")
    root = Path(tempfile.mkdtemp(prefix="barpath-model-"))
    s3 = client("s3")
    try:
        if key.endswith("/"):  # a folder: model_final.pth + config.yaml, as training writes them
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
            for obj in (o for page in pages for o in page.get("Contents", [])):
                rel = obj["Key"][len(key):]
                if rel and ".." not in Path(rel).parts:
                    (root / rel).parent.mkdir(parents=True, exist_ok=True)
                    s3.download_file(bucket, obj["Key"], str(root / rel))
            return str(root)
        dest = root / Path(key).name
        s3.download_file(bucket, key, str(dest))
    except ClientError as exc:
        raise ModelLoadError(f"cannot fetch model {uri}: {exc}") from exc
    if dest.name.endswith(".tar.gz"):  # SageMaker's model.tar.gz
        with tarfile.open(dest) as tar:
            tar.extractall(root / "model", filter="data")
        return str(root / "model")
    return str(dest)
