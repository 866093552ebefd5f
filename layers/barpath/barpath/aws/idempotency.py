"""Run a function at most once per key, recorded in the DynamoDB idempotency table (Powertools).

S3 may deliver an event twice and Lambda retries async invocations, so each upload outcome is
computed and published once; a duplicate gets the stored result back. The persistence layer (and its
boto3 client) is built on first use, not at import.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)

# A completed record blocks duplicates for a day: longer than S3 redelivery and the async retry window.
# The handler registers its Lambda context, so an in-progress record of an invocation that timed out
# expires with that invocation and a retry can take over.
CONFIG = IdempotencyConfig(expires_after_seconds=24 * 3600)

AlreadyInProgress = IdempotencyAlreadyInProgressError


@functools.cache
def _store(table: str) -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=table)


@functools.cache
def _wrapped(func: Callable[..., dict[str, Any]], table: str) -> Callable[..., dict[str, Any]]:
    return idempotent_function(  # type: ignore[no-any-return]
        func, data_keyword_argument="identity", persistence_store=_store(table), config=CONFIG
    )


def once(func: Callable[..., dict[str, Any]], table: str, identity: dict[str, str],
         **kwargs: Any) -> dict[str, Any]:
    """`func(identity=identity, **kwargs)` unless a record for `identity` exists; then its stored result.

    Raises AlreadyInProgress while another invocation holds the same identity.
    """
    return _wrapped(func, table)(identity=identity, **kwargs)


def reset() -> None:
    _wrapped.cache_clear()
    _store.cache_clear()
