"""NotifyFailureFunction: failed async invocations and failed Batch jobs become `failed` notifications.

Zip function on the barpath layer: no OpenCV, no torch. Each failure is published once (idempotency
keyed on the failed request or job and the upload), so SQS or EventBridge redelivery adds nothing.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from barpath.aws import failures, idempotency, notify, telemetry

# The template sets these; the defaults keep a local run (no template) reporting under the same names.
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "barpath"))
tracer = Tracer()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "barpath"))


def _publish_once(identity: dict[str, str], failure: failures.Failure) -> dict[str, Any]:
    msg = failure.notification()
    return {"notification": msg, "message_id": notify.publish(os.environ["TOPIC_ARN"], msg)}


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.CONFIG.register_lambda_context(context)
    table = os.environ["IDEMPOTENCY_TABLE"]
    published = []
    for failure in failures.from_event(event):
        result = idempotency.once(_publish_once, table, failure.identity(), failure=failure)
        telemetry.failure(metrics.namespace, failure.code)
        published.append(result["notification"])
        logger.info("failure notified", extra={"key": failure.ref.key, "code": failure.code})
    # An SQS batch that raised would be redelivered whole; idempotency makes that harmless.
    return {"published": published}
