"""Which upload a message is about, and where its results go (the S3 contract in ARCHITECTURE.md)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import unquote_plus

from barpath.aws.names import RESULTS_PREFIX, UPLOADS_PREFIX
from barpath.errors import InvalidRequestError

MAX_KEY_BYTES = 1024
OUTPUT_NAMES = {"path_json": "path.json", "overlay": "overlay.mp4", "plot": "velocity.png"}
_JOB_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class UploadRef:
    bucket: str
    key: str  # decoded: what S3 stores, spaces and unicode included
    version_id: str | None = None
    etag: str | None = None
    size: int | None = None

    @classmethod
    def from_s3_record(cls, bucket: str, raw_key: str, version_id: str | None, etag: str | None,
                       size: int | None) -> UploadRef:
        # S3 event keys are URL-encoded with '+' for space; a literal '+' arrives as %2B.
        return cls(bucket, unquote_plus(raw_key), version_id or None, (etag or "").strip('"') or None, size)

    def identity(self) -> dict[str, str]:
        """What makes two deliveries the same upload: a re-upload of the same key is a new version/eTag."""
        return {"bucket": self.bucket, "key": self.key, "version": self.version_id or self.etag or ""}

    def contract(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "key": self.key, "version_id": self.version_id, "etag": self.etag}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_folder_marker(key: str) -> bool:
    """The console's 'create folder' makes a zero-byte `uploads/x/` object: not an upload."""
    return key.endswith("/")


def relative_key(key: str) -> str:
    if not key.startswith(UPLOADS_PREFIX) or len(key) <= len(UPLOADS_PREFIX):
        raise InvalidRequestError(f"{key!r} is not under {UPLOADS_PREFIX}: only uploads there are processed")
    # S3 keeps "a/../b" literally, but a browser, CDN or path join resolves it: results/../x would land
    # outside results/ (or on another upload's results) for whoever reads them.
    if {".", ".."} & set(key.split("/")):
        raise InvalidRequestError(f"{key!r} has '.' or '..' path segments")
    return key[len(UPLOADS_PREFIX):]


def result_keys(key: str) -> dict[str, str]:
    """results/<key without uploads/>/{path.json, overlay.mp4, velocity.png}."""
    base = RESULTS_PREFIX + relative_key(key)
    keys = {field: f"{base}/{name}" for field, name in OUTPUT_NAMES.items()}
    # S3 refuses keys over 1024 bytes: say so now, not as a write error that Lambda would retry.
    if max(len(k.encode()) for k in keys.values()) > MAX_KEY_BYTES:
        raise InvalidRequestError(f"the upload's name ({len(key.encode())} bytes) is too long for results")
    return keys


def result_uris(results_bucket: str, key: str) -> dict[str, str]:
    return {field: f"s3://{results_bucket}/{k}" for field, k in result_keys(key).items()}


def job_name(key: str, prefix: str = "barpath-") -> str:
    """Batch job names allow [A-Za-z0-9_-] and at most 128 characters; the key is in the parameters."""
    stem = _JOB_NAME_UNSAFE.sub("-", relative_key(key) if key.startswith(UPLOADS_PREFIX) else key).strip("-")
    return (prefix + (stem or "upload"))[:128]
