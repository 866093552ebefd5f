"""Hand a long video to the GPU Batch queue: a reference (bucket, key), never the payload."""

from __future__ import annotations

from barpath.aws.clients import client
from barpath.aws.keys import UploadRef, job_name


def submit(ref: UploadRef, queue: str, definition: str, *, request_id: str | None) -> str:
    """Submit one job; returns its id. The job definition's command reads Ref::bucket and Ref::key."""
    env = {"BARPATH_VERSION_ID": ref.version_id, "BARPATH_ETAG": ref.etag, "BARPATH_REQUEST_ID": request_id}
    response = client("batch").submit_job(
        jobName=job_name(ref.key),
        jobQueue=queue,
        jobDefinition=definition,
        parameters={"bucket": ref.bucket, "key": ref.key},
        containerOverrides={"environment": [{"name": k, "value": v} for k, v in env.items() if v]},
        tags={"barpath:bucket": ref.bucket[:256]},
    )
    return str(response["jobId"])
