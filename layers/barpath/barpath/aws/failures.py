"""Failures nobody could report themselves, turned into `failed` notifications.

Two sources reach the notifier: Lambda on-failure destination records (retries exhausted: a crash,
a timeout, an outage) and EventBridge "Batch Job State Change" events for FAILED jobs. Input faults
never get here: the handler and the job publish those themselves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from barpath.aws import notify
from barpath.aws.keys import UploadRef


class UnprocessedRecordsError(Exception):
    """Raised by the handler after it has tried every record; the message lists the failed uploads as
    JSON so the notifier reports those and not the records that did succeed in the same event."""

    def __init__(self, refs: list[UploadRef], cause: str) -> None:
        self.refs = refs
        super().__init__(json.dumps({"failed": [r.contract() for r in refs], "cause": cause[:2000]},
                                    ensure_ascii=False))


@dataclass(frozen=True)
class Failure:
    ref: UploadRef
    route: notify.Route
    code: str
    message: str
    source_id: str  # the failed request or job: with the upload, what makes a failure unique

    def notification(self) -> dict[str, Any]:
        job_id = self.source_id if self.route == "batch" else None
        return notify.message("failed", self.ref.contract(), self.route, error=(self.code, self.message),
                              request_id=self.source_id, job_id=job_id)

    def identity(self) -> dict[str, str]:
        return {"source": self.source_id, **self.ref.identity()}


def from_event(event: dict[str, Any]) -> list[Failure]:
    """Every failure in a notifier event: SQS batch of destination records, one record, or EventBridge."""
    if event.get("source") == "aws.batch":
        return from_batch_event(event)
    if "requestContext" in event and "requestPayload" in event:
        return from_destination_record(event)
    if isinstance(event.get("Records"), list):
        out: list[Failure] = []
        for rec in event["Records"]:
            out.extend(from_event(json.loads(rec["body"])))
        return out
    raise ValueError(f"not a failure event: keys {sorted(event)[:10]}")


def from_destination_record(record: dict[str, Any]) -> list[Failure]:
    ctx = record.get("requestContext", {})
    response = record.get("responsePayload") or {}
    error_type = str(response.get("errorType", "")) if isinstance(response, dict) else ""
    error_message = str(response.get("errorMessage", "")) if isinstance(response, dict) else str(response)
    function_error = str(record.get("responseContext", {}).get("functionError", ""))
    timed_out = "Task timed out" in error_message or error_type == "Sandbox.Timedout"
    code = notify.TIMEOUT if timed_out else notify.INTERNAL_ERROR
    refs = _refs_from_error(error_type, error_message)
    if refs is None:
        refs = _refs_from_s3_event(record.get("requestPayload") or {})
    text = error_message or function_error or str(ctx.get("condition", "failed"))
    request_id = str(ctx.get("requestId", ""))
    message = f"processing failed after retries: {text}"
    return [Failure(ref, "lambda", code, message, request_id) for ref in refs]


def from_batch_event(event: dict[str, Any]) -> list[Failure]:
    detail = event.get("detail", {})
    params = detail.get("parameters", {})
    if not params.get("bucket") or not params.get("key"):
        return []
    env = {e.get("name"): e.get("value") for e in detail.get("container", {}).get("environment", []) or []}
    ref = UploadRef(params["bucket"], params["key"], env.get("BARPATH_VERSION_ID") or None,
                    env.get("BARPATH_ETAG") or None)
    reason = str(detail.get("statusReason", "") or "")
    code = notify.TIMEOUT if "timeout" in reason.lower() else notify.BATCH_JOB_FAILED
    attempts = len(detail.get("attempts", []) or [])
    message = f"batch job {detail.get('jobName', '')} failed after {attempts} attempt(s): {reason}"
    return [Failure(ref, "batch", code, message, str(detail.get("jobId", "")))]


def _refs_from_error(error_type: str, error_message: str) -> list[UploadRef] | None:
    if error_type != UnprocessedRecordsError.__name__:
        return None
    try:
        failed = json.loads(error_message)["failed"]
        return [UploadRef(f["bucket"], f["key"], f.get("version_id"), f.get("etag")) for f in failed]
    except (ValueError, KeyError, TypeError):
        return None


def _refs_from_s3_event(payload: dict[str, Any]) -> list[UploadRef]:
    refs = []
    for rec in payload.get("Records", []) or []:
        s3 = rec.get("s3", {})
        obj = s3.get("object", {})
        if s3.get("bucket", {}).get("name") and obj.get("key"):
            refs.append(UploadRef.from_s3_record(s3["bucket"]["name"], obj["key"], obj.get("versionId"),
                                                 obj.get("eTag"), obj.get("size")))
    return refs
