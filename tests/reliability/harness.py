"""Drive the real functions the way AWS does, against the moto server of barpath.local.

What this adds to barpath.local is Lambda's *asynchronous* contract, which is what the reliability
guarantees are about: an S3 event is retried `MaximumRetryAttempts` times when the handler raises, and
after the last failure a destination record goes to the on-failure SQS queue, which the notifier
drains (a message stays in the queue until the notifier returns without raising, as an SQS event
source mapping does). Nothing of ours is stubbed: faults are injected at the AWS boundary (moto
resources removed, or a botocore client whose calls fail).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from barpath.local import (
    ACCOUNT,
    HANDLER_FILE,
    NOTIFIER_FILE,
    REGION,
    LambdaContext,
    LocalCloud,
    Stack,
    apply_env,
    load_function,
    s3_event,
)

REPO = Path(__file__).resolve().parents[2]


def template_retry_attempts() -> int:
    """ProcessVideoFunction's EventInvokeConfig.MaximumRetryAttempts, read from template.yaml."""
    text = (REPO / "template.yaml").read_text()
    block = text[text.index("  ProcessVideoFunction:") :]
    return int(re.search(r"MaximumRetryAttempts:\s*(\d+)", block).group(1))  # type: ignore[union-attr]


@dataclass
class Delivery:
    """What happened to one asynchronous invocation (one S3 event)."""

    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    returned: dict[str, Any] | None = None
    sent_to_on_failure: bool = False


class Flow:
    """One freshly provisioned stack on the shared moto server, with the real handler and notifier."""

    def __init__(self, cloud: LocalCloud, **env_overrides: str) -> None:
        self.cloud = cloud
        cloud.stack_name = f"rel-{uuid.uuid4().hex[:10]}"
        self.stack: Stack = cloud.provision()
        self.env = self.stack.env(**env_overrides)
        apply_env(self.env)
        self.handler = load_function(HANDLER_FILE, "reliability_process_video").handler
        self.notifier = load_function(NOTIFIER_FILE, "reliability_notify_failure").handler
        self.retries = template_retry_attempts()
        self.s3 = cloud.client("s3")

    # -- uploads ----------------------------------------------------------------------------------
    def upload(self, path: Path, key: str) -> dict[str, Any]:
        return self.cloud.upload(path, key)

    def upload_then_delete(self, path: Path, key: str) -> dict[str, Any]:
        """The user deletes the upload (every version of it) before the event is processed."""
        event = self.upload(path, key)
        version = event["Records"][0]["s3"]["object"].get("versionId")
        self.s3.delete_object(Bucket=self.stack.uploads_bucket, Key=key,
                              **({"VersionId": version} if version else {}))
        return event

    # -- Lambda's async invocation ----------------------------------------------------------------
    def deliver(self, event: dict[str, Any], timeout_s: float = 900.0) -> Delivery:
        """One asynchronous invocation: the first try plus Lambda's retries, then the on-failure queue."""
        d = Delivery()
        for _ in range(1 + self.retries):
            d.attempts += 1
            try:
                d.returned = self.handler(event, LambdaContext(timeout_s=timeout_s))
                return d
            except Exception as exc:  # what Lambda sees as a function error
                d.errors.append(f"{type(exc).__name__}: {exc}")
                last = exc
        self._send_destination_record(event, last)
        d.sent_to_on_failure = True
        return d

    def _send_destination_record(self, event: dict[str, Any], exc: Exception) -> None:
        record = {
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "requestContext": {"requestId": str(uuid.uuid4()), "condition": "RetriesExhausted",
                               "approximateInvokeCount": 1 + self.retries,
                               "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:process:$LATEST"},
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": str(exc), "errorType": type(exc).__name__, "stackTrace": []},
        }
        self.cloud.client("sqs").send_message(QueueUrl=self.stack.failed_queue_url,
                                              MessageBody=json.dumps(record))

    def drain_failures(self) -> tuple[int, int]:
        """Run the notifier on the on-failure queue like an event source mapping: (handled, left)."""
        sqs = self.cloud.client("sqs")
        handled = left = 0
        got = sqs.receive_message(QueueUrl=self.stack.failed_queue_url, MaxNumberOfMessages=10,
                                  VisibilityTimeout=0).get("Messages", [])
        for m in got:
            try:
                self.notifier({"Records": [{"body": m["Body"], "messageId": m["MessageId"]}]},
                              LambdaContext(function_name="NotifyFailureFunction", timeout_s=60))
            except Exception:
                left += 1  # stays in the queue: SQS redelivers it later
                continue
            sqs.delete_message(QueueUrl=self.stack.failed_queue_url, ReceiptHandle=m["ReceiptHandle"])
            handled += 1
        return handled, left

    # -- what the app and the buckets see ---------------------------------------------------------
    def notifications(self, wait_s: float = 0.5) -> list[dict[str, Any]]:
        return self.cloud.notifications(wait_s=wait_s)

    def keys(self, bucket: str) -> list[str]:
        out: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            out.extend(o["Key"] for o in page.get("Contents", []))
        return out

    def results(self) -> list[str]:
        return self.keys(self.stack.results_bucket)

    def all_buckets(self) -> list[str]:
        return [b["Name"] for b in self.s3.list_buckets()["Buckets"]]


def event_for(flow: Flow, key: str, body: bytes) -> dict[str, Any]:
    """An event for an object put directly (not through a file), e.g. to a key outside uploads/."""
    put = flow.s3.put_object(Bucket=flow.stack.uploads_bucket, Key=key, Body=body)
    return s3_event(flow.stack.uploads_bucket, key, size=len(body), etag=put["ETag"].strip('"'),
                    version_id=put.get("VersionId"))


class InjectedFault:
    """Make one AWS operation fail at the botocore boundary of the clients barpath.aws uses.

    The call never reaches the server; our code sees exactly what an outage looks like (a ClientError
    with a 5xx status). `times=None` fails every call until `stop()`.
    """

    def __init__(self, service: str, operation: str, times: int | None = None) -> None:
        from barpath.aws.clients import client

        self.client = client(service)
        self.event = f"before-call.{service}.{operation}"
        self.operation = operation
        self.left = times
        self.fired = 0
        self.client.meta.events.register(self.event, self._hook, unique_id=f"fault-{id(self)}")

    def _hook(self, **_: Any) -> None:
        from botocore.exceptions import ClientError

        if self.left is not None:
            if self.left <= 0:
                return
            self.left -= 1
        self.fired += 1
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "injected outage"},
                           "ResponseMetadata": {"HTTPStatusCode": 503}}, self.operation)

    def stop(self) -> None:
        self.client.meta.events.unregister(self.event, unique_id=f"fault-{id(self)}")
