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


# inline_seconds_per_video_second is the cost of a second of video at this rate: the work is per frame,
# so a phone's 240 fps clip (written in real time) costs 8 times as much per second.
COST_FPS = 30.0


def estimated_inline_seconds(duration_s: float, settings: Settings, fps: float = COST_FPS) -> float:
    frames_per_cost_second = max(1.0, fps / COST_FPS)
    cost = duration_s * frames_per_cost_second * settings.inline_seconds_per_video_second
    return cost + settings.inline_safety_seconds


def by_duration(
    duration_s: float, remaining_s: float | None, settings: Settings, fps: float = COST_FPS
) -> Decision:
    if duration_s > settings.inline_max_seconds:
        return Decision("batch", f"duration {duration_s:.1f} s > {settings.inline_max_seconds:.1f} s")
    if remaining_s is not None:
        need = estimated_inline_seconds(duration_s, settings, fps)
        if need > remaining_s:
            return Decision("batch", f"needs ~{need:.0f} s, {remaining_s:.0f} s left in this invocation")
    return Decision("lambda", "fits inline")
