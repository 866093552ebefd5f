"""The Detector protocol every bar-end finder implements (weight-free plate finder, Detectron2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FrameBGR = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Candidate:
    """One possible bar end (the near plate's centre) in one upright frame, in pixels."""

    x: float
    y: float
    radius: float  # plate radius in px (half the box's larger side where only a box is known)
    score: float  # 0..1, higher is surer
    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    label: str = "plate"  # "plate" | "bar_end"


@runtime_checkable
class Detector(Protocol):
    name: str

    def detect(self, frame: FrameBGR) -> list[Candidate]:
        """Candidates in this frame, best first. May return an empty list; never raises on a normal frame."""
        ...
