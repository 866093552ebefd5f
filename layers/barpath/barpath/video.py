"""Video in: probe a file and stream its frames upright, each with its true presentation time.

INTERFACE PINNED (filled in by the video work): signatures and dataclasses below are used by
track, render, pipeline and the AWS adapters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Limits:
    """Checked before any decoding, so a hostile file costs nothing."""

    max_bytes: int = 2 * 1024**3
    max_duration_s: float = 15 * 60
    max_pixels: int = 4096 * 2304  # per frame, upright; 4K UHD fits
    max_fps: float = 240.0


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int  # upright (rotation applied)
    height: int
    fps: float  # average rate; never used to compute time
    frame_count: int  # estimate from the container; the decoded count is authoritative
    duration_s: float
    rotation_deg: int  # 0, 90, 180, 270: what the metadata asks a player to apply
    codec: str
    has_audio: bool
    size_bytes: int


@dataclass
class Frame:
    i: int  # 0-based decode order after dropping undecodable frames
    t: float  # seconds since the first frame's presentation time
    image: npt.NDArray[np.uint8]  # BGR, upright, HxWx3


def probe(path: Path, limits: Limits | None = None) -> VideoInfo:
    """Raise NotAVideoError / UnreadableVideoError / EmptyVideoError / VideoTooLargeError on bad input."""
    raise NotImplementedError


def frames(info: VideoInfo) -> Iterator[Frame]:
    """Stream upright BGR frames with true timestamps; memory does not grow with clip length."""
    raise NotImplementedError
