"""Deployment settings, read from the environment the template (or the local stack) sets.

Read on each use rather than at import so a warm container, a Batch job and a test all see the
environment they run in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from barpath.errors import InvalidRequestError


@dataclass(frozen=True)
class Settings:
    results_bucket: str
    topic_arn: str
    idempotency_table: str
    uploads_bucket: str | None = None  # when set, events for other buckets are refused
    job_queue: str | None = None
    job_definition: str | None = None
    model_uri: str | None = None
    detector: str = "auto"
    plate_diameter_mm: float = 450.0
    # Routing: size first (no download), then probed duration, then the remaining-time guard.
    inline_max_bytes: int = 500 * 1024**2
    inline_max_seconds: float = 120.0
    # Wall seconds one second of video costs inline (1080p plate finder + render on 6 vCPU), plus slack
    # for download, upload and publishing. Conservative: a wrong guess costs a Batch job, not a timeout.
    inline_seconds_per_video_second: float = 4.0
    inline_safety_seconds: float = 60.0
    max_video_bytes: int = 2 * 1024**3

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = dict(os.environ if env is None else env)

        def need(name: str) -> str:
            value = e.get(name, "").strip()
            if not value:
                # A deployment fault, not the upload's: surfaces as an error so the invocation fails
                # loudly (and reaches the on-failure destination) instead of publishing nonsense.
                raise RuntimeError(f"environment variable {name} is not set")
            return value

        def opt(name: str) -> str | None:
            return e.get(name, "").strip() or None

        def num(name: str, default: float) -> float:
            raw = opt(name)
            try:
                return default if raw is None else float(raw)
            except ValueError as exc:
                raise RuntimeError(f"environment variable {name}={raw!r} is not a number") from exc

        return cls(
            results_bucket=need("RESULTS_BUCKET"),
            topic_arn=need("TOPIC_ARN"),
            idempotency_table=need("IDEMPOTENCY_TABLE"),
            uploads_bucket=opt("UPLOADS_BUCKET"),
            job_queue=opt("JOB_QUEUE"),
            job_definition=opt("JOB_DEFINITION"),
            model_uri=opt("MODEL_URI"),
            detector=opt("DETECTOR") or "auto",
            plate_diameter_mm=num("PLATE_DIAMETER_MM", 450.0),
            inline_max_bytes=int(num("INLINE_MAX_BYTES", 500 * 1024**2)),
            inline_max_seconds=num("INLINE_MAX_SECONDS", 120.0),
            inline_seconds_per_video_second=num("INLINE_SECONDS_PER_VIDEO_SECOND", 4.0),
            inline_safety_seconds=num("INLINE_SAFETY_SECONDS", 60.0),
            max_video_bytes=int(num("MAX_VIDEO_BYTES", 2 * 1024**3)),
        )

    @property
    def batch_configured(self) -> bool:
        return bool(self.job_queue and self.job_definition)

    def require_batch(self) -> tuple[str, str]:
        if not (self.job_queue and self.job_definition):
            raise InvalidRequestError("this video needs the GPU Batch route, which is not configured")
        return self.job_queue, self.job_definition
