"""boto3 clients, built on first use and then reused by warm invocations.

Nothing is created at import: boto3 reads AWS_ENDPOINT_URL (and region, credentials) when a client is
made, so a local endpoint started after import is honoured without any switch in this code.
"""

from __future__ import annotations

import functools
from typing import Any

from botocore.config import Config

# Adaptive retries absorb throttling from 50 concurrent uploads; standard timeouts otherwise.
_CONFIG = Config(retries={"max_attempts": 5, "mode": "adaptive"}, connect_timeout=5, read_timeout=60)


@functools.cache
def client(service: str) -> Any:
    import boto3

    return boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]


def reset() -> None:
    """Forget cached clients (after the endpoint or credentials change, e.g. a new local server)."""
    client.cache_clear()
