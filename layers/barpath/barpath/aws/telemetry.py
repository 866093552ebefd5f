"""CloudWatch metrics (EMF through Powertools) for one upload outcome: the same for Lambda and Batch."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric


def record(metrics: Metrics, result: dict[str, Any]) -> None:
    msg = result.get("notification")
    if not msg:
        return
    status = msg["status"]
    metrics.add_metric(name=f"Uploads{status.capitalize()}", unit=MetricUnit.Count, value=1)
    if status == "succeeded":
        summary = msg.get("summary", {})
        metrics.add_metric(name="ProcessingSeconds", unit=MetricUnit.Seconds, value=result["processing_s"])
        metrics.add_metric(name="Frames", unit=MetricUnit.Count, value=float(summary.get("frame_count") or 0))
        metrics.add_metric(name="Reps", unit=MetricUnit.Count, value=float(summary.get("rep_count") or 0))
    elif status == "failed":
        failure(metrics.namespace, msg["error"]["code"])


def failure(namespace: str | None, code: str) -> None:
    # Its own EMF blob: a `code` dimension on the shared Metrics object would tag every other metric too.
    with single_metric(name="Failures", unit=MetricUnit.Count, value=1, namespace=namespace) as metric:
        metric.add_dimension(name="code", value=code)
