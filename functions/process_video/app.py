"""ProcessVideoFunction: S3 upload events in, results in the results bucket, one SNS message per upload.

Thin by design: parse the trigger, hand each record to barpath.aws.service, record metrics. The same
image runs the Batch job (`python -m barpath.aws.batch`).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from barpath.aws import idempotency, service, telemetry
from barpath.aws.failures import UnprocessedRecordsError
from barpath.aws.keys import UploadRef
from barpath.aws.settings import Settings

# The template sets these; the defaults keep a local run (no template) reporting under the same names.
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "barpath"))
tracer = Tracer()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "barpath"))


def _process_once(identity: dict[str, str], ref: UploadRef, settings: Settings,
                  context: LambdaContext) -> dict[str, Any]:
    def remaining_s() -> float:
        return context.get_remaining_time_in_millis() / 1000.0

    return service.handle_upload(ref, settings, request_id=context.aws_request_id, remaining_s=remaining_s)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@event_source(data_class=S3Event)
def handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    if not event.raw_event.get("Records"):
        # S3 sends an s3:TestEvent when the notification is configured: nothing to process.
        logger.info("no records in event", extra={"event_keys": sorted(event.raw_event)})
        return {"results": []}
    idempotency.CONFIG.register_lambda_context(context)
    settings = Settings.from_env()
    results: list[dict[str, Any]] = []
    failed: list[UploadRef] = []
    for record in event.records:
        obj = record.s3.get_object
        ref = UploadRef.from_s3_record(record.s3.bucket.name, obj.key, obj.version_id, obj.etag,
                                       obj.get("size"))
        logger.append_keys(bucket=ref.bucket, key=ref.key, version_id=ref.version_id)
        try:
            result = idempotency.once(_process_once, settings.idempotency_table, ref.identity(),
                                      ref=ref, settings=settings, context=context)
        except idempotency.AlreadyInProgress:
            # Another invocation holds this upload; it will publish. Raising would only queue retries.
            logger.warning("duplicate delivery while the first is still processing")
            metrics.add_metric(name="DuplicatesInProgress", unit=MetricUnit.Count, value=1)
            results.append({"input": ref.contract(), "duplicate": True})
            continue
        except Exception:
            # Not the input's fault (an outage, a bug): try the other records, then fail the invocation
            # so Lambda retries; records already done are skipped on retry by idempotency.
            logger.exception("upload could not be processed")
            failed.append(ref)
            continue
        msg = result.get("notification")
        if msg and msg.get("request_id") not in (None, context.aws_request_id):
            logger.info("duplicate delivery: returning the stored outcome")
            metrics.add_metric(name="DuplicatesSkipped", unit=MetricUnit.Count, value=1)
            result = {**result, "duplicate": True}
        else:
            telemetry.record(metrics, result)
        status = msg["status"] if msg else None
        logger.info("upload handled", extra={"status": status, "reason": result["route_reason"]})
        results.append(result)
    if failed:
        raise UnprocessedRecordsError(failed, f"{len(failed)} of {len(failed) + len(results)} records failed")
    return {"results": results}
