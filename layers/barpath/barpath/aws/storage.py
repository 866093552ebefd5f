"""S3 in and out: check and fetch the upload, publish the outputs so a reader never sees half a result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from barpath.aws.clients import client
from barpath.aws.keys import OUTPUT_NAMES, UploadRef, result_keys
from barpath.errors import InputNotFoundError

_CONTENT_TYPES = {"path_json": "application/json", "overlay": "video/mp4", "plot": "image/png"}
_MISSING = {"404", "NoSuchKey", "NoSuchVersion", "NoSuchBucket", "NotFound", "412", "PreconditionFailed"}


def _version_args(ref: UploadRef) -> dict[str, str]:
    # Pin the exact version the event announced: a re-upload under the same key is its own event.
    return {"VersionId": ref.version_id} if ref.version_id else {}


def _missing(exc: ClientError) -> bool:
    err = exc.response.get("Error", {})
    status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return str(err.get("Code", "")) in _MISSING or status in ("404", "412")


def head(ref: UploadRef) -> dict[str, Any]:
    try:
        s3 = client("s3")
        response: dict[str, Any] = s3.head_object(Bucket=ref.bucket, Key=ref.key, **_version_args(ref))
    except ClientError as exc:
        if _missing(exc):
            raise InputNotFoundError(f"s3://{ref.bucket}/{ref.key} no longer exists") from exc
        raise
    return response


def download(ref: UploadRef, dest: Path) -> Path:
    try:
        client("s3").download_file(ref.bucket, ref.key, str(dest), ExtraArgs=_version_args(ref) or None)
    except ClientError as exc:
        if _missing(exc):
            raise InputNotFoundError(f"s3://{ref.bucket}/{ref.key} no longer exists") from exc
        raise
    return dest


def upload_outputs(results_bucket: str, key: str, files: dict[str, Path | None]) -> dict[str, str]:
    """Upload the outputs; path.json goes last, so its presence means the whole result is there.

    Returns the S3 URIs of what was written, by contract field (path_json, overlay, plot).
    """
    keys = result_keys(key)
    s3 = client("s3")
    written: dict[str, str] = {}
    for field in sorted(OUTPUT_NAMES, key=lambda f: f == "path_json"):
        path = files.get(field)
        if path is None:
            continue
        s3.upload_file(str(path), results_bucket, keys[field],
                       ExtraArgs={"ContentType": _CONTENT_TYPES[field]})
        written[field] = f"s3://{results_bucket}/{keys[field]}"
    return written
