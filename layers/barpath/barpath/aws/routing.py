"""Where a video is processed: in the Lambda, or on the GPU Batch queue. Pure decisions, no I/O.

Order matters for cost: size is known from the event (no download), duration needs a probe, and the
remaining-time guard needs both the duration and the invocation's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from barpath.aws.settings import Settings
from barpath.errors import VideoTooLargeError

Route = Literal["lambda", "batch"]


@dataclass(frozen=True)
class Decision:
    route: Route
    reason: str


def by_size(size_bytes: int, settings: Settings) -> Decision | None:
    """A decision from size alone, or None when the duration must be probed first."""
    if size_bytes > settings.max_video_bytes:
        raise VideoTooLargeError(f"{size_bytes} bytes is over the {settings.max_video_bytes}-byte limit")
    if size_bytes > settings.inline_max_bytes:
        return Decision("batch", f"size {size_bytes} B > {settings.inline_max_bytes} B")
    return None


def estimated_inline_seconds(duration_s: float, settings: Settings) -> float:
    return duration_s * settings.inline_seconds_per_video_second + settings.inline_safety_seconds


def by_duration(duration_s: float, remaining_s: float | None, settings: Settings) -> Decision:
    if duration_s > settings.inline_max_seconds:
        return Decision("batch", f"duration {duration_s:.1f} s > {settings.inline_max_seconds:.1f} s")
    if remaining_s is not None:
        need = estimated_inline_seconds(duration_s, settings)
        if need > remaining_s:
            return Decision("batch", f"needs ~{need:.0f} s, {remaining_s:.0f} s left in this invocation")
    return Decision("lambda", "fits inline")
