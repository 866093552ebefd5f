"""The SNS notification (`barpath/notification@1`) the web app subscribes to, and its publisher.

Every message has the same keys whatever the status, so the app never checks for presence.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from barpath.aws.clients import client

SCHEMA = "barpath/notification@1"
Status = Literal["succeeded", "failed", "queued"]
Route = Literal["lambda", "batch"]

# Failure codes that are not a BarpathError of the core (the core's codes live in barpath.errors).
INTERNAL_ERROR = "internal_error"
TIMEOUT = "timeout"
BATCH_JOB_FAILED = "batch_job_failed"


def message(
    status: Status,
    input_: dict[str, Any],
    route: Route,
    *,
    outputs: dict[str, str] | None = None,
    summary: dict[str, Any] | None = None,
    error: tuple[str, str] | None = None,
    request_id: str | None = None,
    job_id: str | None = None,
) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "status": status,
        "input": {k: input_.get(k) for k in ("bucket", "key", "version_id", "etag")},
        "route": route,
        "outputs": outputs or {},
        "summary": summary or {},
        "error": None if error is None else {"code": error[0], "message": error[1][:1000]},
        "request_id": request_id,
        "job_id": job_id,
    }


def publish(topic_arn: str, msg: dict[str, Any]) -> str:
    """Publish one message; `status` and `route` are message attributes for subscription filters."""
    response = client("sns").publish(
        TopicArn=topic_arn,
        Message=json.dumps(msg, ensure_ascii=False, allow_nan=False),
        MessageAttributes={
            "status": {"DataType": "String", "StringValue": msg["status"]},
            "route": {"DataType": "String", "StringValue": msg["route"]},
            "schema": {"DataType": "String", "StringValue": SCHEMA},
        },
    )
    return str(response["MessageId"])
