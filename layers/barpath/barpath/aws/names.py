"""Resource names the SAM template gives, in one place so the local stack (moto) builds the same ones.

template.yaml spells these with `!Sub`; tests/unit/test_template.py checks that both agree.
"""

from __future__ import annotations

UPLOADS_PREFIX = "uploads/"
RESULTS_PREFIX = "results/"


def uploads_bucket(stack: str, account: str) -> str:
    return f"{stack}-uploads-{account}"


def results_bucket(stack: str, account: str) -> str:
    return f"{stack}-results-{account}"


def topic(stack: str) -> str:
    return f"{stack}-notifications"


def idempotency_table(stack: str) -> str:
    return f"{stack}-idempotency"


def job_queue(stack: str) -> str:
    return f"{stack}-gpu"


def job_definition(stack: str) -> str:
    return f"{stack}-process-video"


def failed_invocations_queue(stack: str) -> str:
    return f"{stack}-failed-invocations"
