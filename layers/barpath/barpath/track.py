"""Track the bar end through the whole clip. INTERFACE PINNED (filled in by the tracking work)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from barpath.detect.base import Detector
from barpath.schema import State
from barpath.video import Frame, VideoInfo


@dataclass
class TrackPoint:
    i: int
    t: float
    x: float | None  # bar-end (plate) centre, upright px; None when lost
    y: float | None
    radius: float | None  # plate radius in px where measured this frame (for calibration)
    state: State
    confidence: float  # 0..1


def track(
    frames: Iterable[Frame],
    detector: Detector,
    info: VideoInfo,
    progress: Callable[[int], None] | None = None,
) -> Iterator[TrackPoint]:
    """One TrackPoint per input frame, in order (may yield with a bounded delay).

    Raises NoPlateFoundError when the working plate is never found."""
    raise NotImplementedError
