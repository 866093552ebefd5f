"""path.json (`barpath/path@1`) as typed records, and a validator the tests and the web app rely on.

The contract lives in ARCHITECTURE.md: keys may be added, never change meaning. Units: pixels of the
upright frame (origin top-left), seconds from the first frame's presentation time, metres, m/s.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

SCHEMA = "barpath/path@1"
FRAME_STATES = ("detected", "tracked", "predicted", "lost")
State = Literal["detected", "tracked", "predicted", "lost"]


@dataclass
class VideoMeta:
    width: int
    height: int
    fps: float
    frame_count: int
    duration_s: float
    rotation_deg: int
    # The clip plays this many times slower than it was filmed (a phone's slow motion; 1.0: real time).
    # Times (`t`, `start_t`, `end_t`) are the video's, so they line up with its playback; durations and
    # velocities are the lift's, as it happened.
    slow_motion: float = 1.0
    capture_fps: float | None = None  # the camera's frame rate, where the file says (or slow_motion set)


@dataclass
class Calibration:
    method: Literal["plate", "none"]
    plate_diameter_m: float
    plate_radius_px: float | None
    meters_per_pixel: float | None
    # How sure the scale is: relative spread (MAD / median) of the per-frame radius estimates.
    radius_rel_spread: float | None = None
    radius_samples: int = 0
    # The plate's width over its height in the picture: 1 seen side-on, less for a camera turned away
    # (the lift is squeezed across as much). Positions stay the picture's; meters_per_pixel is the scale
    # up and down, meters_per_pixel / plate_aspect across.
    plate_aspect: float = 1.0


@dataclass
class FramePoint:
    i: int
    t: float
    x: float | None
    y: float | None
    state: State
    confidence: float
    # From the smoothed track, so a chart can be drawn without differentiating noisy positions again.
    # Velocities in m/s (vy up positive); null when lost or with no scale. `phase` and `rep` name the
    # counted rep's phase the frame lies in; null outside reps (rest, unrack, walk-out, re-rack).
    vx_mps: float | None = None
    vy_mps: float | None = None
    phase: Literal["concentric", "eccentric"] | None = None
    rep: int | None = None


@dataclass
class Phase:
    start_t: float
    end_t: float
    duration_s: float
    displacement_m: float
    mean_velocity_mps: float
    peak_velocity_mps: float
    # False where the track does not show the bar for a moment before the phase's start or after its end
    # (it starts on the clip's first frames, or ends on its last, or at a loss too long to bridge): the
    # move may have begun or ended unseen, and its slow ends be missing from the mean, which then reads
    # high.
    seen_whole: bool = True


@dataclass
class Rep:
    index: int
    concentric: Phase
    eccentric: Phase | None
    horizontal_deviation_m: float


@dataclass
class PathResult:
    video: VideoMeta
    calibration: Calibration
    frames: list[FramePoint]
    reps: list[Rep]
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"schema": SCHEMA}
        doc.update(asdict(self))
        finite: dict[str, Any] = _finite(doc)
        return finite

    def write(self, path: Path) -> None:
        """Write atomically so a reader never sees half a file."""
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1, allow_nan=False))
        tmp.replace(path)


def _finite(value: Any) -> Any:
    """JSON has no NaN/inf: an unknown number is null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


_PHASE_KEYS = {"start_t", "end_t", "duration_s", "displacement_m", "mean_velocity_mps", "peak_velocity_mps"}


def validate(doc: dict[str, Any]) -> None:
    """Raise ValueError where `doc` breaks the path@1 contract."""

    def need(cond: bool, what: str) -> None:
        if not cond:
            raise ValueError(f"path.json: {what}")

    need(doc.get("schema") == SCHEMA, f"schema must be {SCHEMA!r}")
    for key in ("video", "calibration", "frames", "reps", "summary"):
        need(key in doc, f"missing {key!r}")
    video = doc["video"]
    for key in ("width", "height", "fps", "frame_count", "duration_s", "rotation_deg"):
        need(key in video, f"video.{key} missing")
    cal = doc["calibration"]
    need(cal.get("method") in ("plate", "none"), "calibration.method must be plate|none")
    for key in ("plate_diameter_m", "plate_radius_px", "meters_per_pixel"):
        need(key in cal, f"calibration.{key} missing")
    frames = doc["frames"]
    need(len(frames) == video["frame_count"], "one frame entry per decoded frame")
    last_t = -math.inf
    for n, f in enumerate(frames):
        need(f["i"] == n, f"frames[{n}].i must be {n}")
        need(f["t"] is not None and f["t"] > last_t, f"frames[{n}].t must increase")
        last_t = f["t"]
        need(f["state"] in FRAME_STATES, f"frames[{n}].state invalid")
        lost = f["state"] == "lost"
        need((f["x"] is None) == lost and (f["y"] is None) == lost, f"frames[{n}]: x/y null iff lost")
        need(0.0 <= f["confidence"] <= 1.0, f"frames[{n}].confidence outside 0..1")
        if lost:
            need(f.get("vx_mps") is None and f.get("vy_mps") is None, f"frames[{n}]: velocity when lost")
        need(f.get("phase") in (None, "concentric", "eccentric"), f"frames[{n}].phase invalid")
        need((f.get("phase") is None) or f.get("rep") is not None, f"frames[{n}]: phase outside a rep")
        need(f.get("rep") is None or 1 <= f["rep"] <= len(doc["reps"]), f"frames[{n}].rep not a rep")
    for n, rep in enumerate(doc["reps"]):
        need(rep["index"] == n + 1, f"reps[{n}].index must be {n + 1}")
        need(set(rep["concentric"]) >= _PHASE_KEYS, f"reps[{n}].concentric keys")
        need(rep["eccentric"] is None or set(rep["eccentric"]) >= _PHASE_KEYS, f"reps[{n}].eccentric keys")
        need("horizontal_deviation_m" in rep, f"reps[{n}].horizontal_deviation_m missing")
    for key in ("rep_count", "tracked_fraction", "velocity_loss_pct"):
        need(key in doc["summary"], f"summary.{key} missing")
    need(doc["summary"]["rep_count"] == len(doc["reps"]), "summary.rep_count must equal len(reps)")
