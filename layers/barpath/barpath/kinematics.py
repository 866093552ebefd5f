"""Scale, smoothing, velocities and reps. INTERFACE PINNED (filled in by the kinematics work)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from barpath.schema import Calibration, Rep
from barpath.track import TrackPoint

FloatArray = npt.NDArray[np.float64]


@dataclass
class Analysis:
    calibration: Calibration
    reps: list[Rep]
    summary: dict[str, Any]
    t: FloatArray  # per frame, seconds
    x_px: FloatArray  # smoothed, NaN where unknown
    y_px: FloatArray
    vy_mps: FloatArray  # vertical velocity, up positive, NaN where unknown
    speed_mps: FloatArray
    phase: list[str] = field(default_factory=list)  # per frame: "concentric" | "eccentric" | "rest"
    rep_of_frame: list[int] = field(default_factory=list)  # per frame: rep index (1-based) or 0


def analyse(points: Sequence[TrackPoint], plate_diameter_m: float = 0.45) -> Analysis:
    raise NotImplementedError
