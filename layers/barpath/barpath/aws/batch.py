"""Batch entry point: `python -m barpath.aws.batch --bucket B --key K`, or BARPATH_BUCKET/BARPATH_KEY.

Runs the same code path as the Lambda (barpath.aws.service), without the time guard. An input fault
publishes `failed` and exits 0 (retrying cannot help). Anything else exits non-zero without
publishing: Batch retries Spot reclaims, and the EventBridge rule on FAILED jobs publishes `failed`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from aws_lambda_powertools import Logger, Metrics

from barpath.aws import telemetry
from barpath.aws.keys import UploadRef
from barpath.aws.service import run_job
from barpath.aws.settings import Settings

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "barpath"))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "barpath"))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    p = argparse.ArgumentParser(prog="python -m barpath.aws.batch", description=__doc__)
    p.add_argument("--bucket", default=env.get("BARPATH_BUCKET"))
    p.add_argument("--key", default=env.get("BARPATH_KEY"))
    p.add_argument("--version-id", default=env.get("BARPATH_VERSION_ID"))
    p.add_argument("--etag", default=env.get("BARPATH_ETAG"))
    p.add_argument("--job-id", default=env.get("AWS_BATCH_JOB_ID"))
    args = p.parse_args(argv)
    if not args.bucket or not args.key:
        p.error("--bucket and --key (or BARPATH_BUCKET and BARPATH_KEY) are required")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    ref = UploadRef(args.bucket, args.key, args.version_id or None, args.etag or None)
    logger.append_keys(bucket=ref.bucket, key=ref.key, job_id=args.job_id)
    result = run_job(ref, Settings.from_env(), job_id=args.job_id)
    telemetry.record(metrics, result)
    metrics.flush_metrics()
    logger.info("batch job done", extra={"status": result["notification"]["status"]})
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
