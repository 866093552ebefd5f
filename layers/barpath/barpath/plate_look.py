"""What a plate looks like, to tell it from something that slides over it.

Flow follows texture, not plates: a passer-by walking between the camera and the lifter drags the
corners on a plate's face, then the box tracker, off across the picture with their shirt, while no rim
is seen. `Look` keeps the face's mean colour ring by ring, hub to rim (FACE_RINGS rings, about
FACE_SAMPLES samples a radius), learnt where the plate was found, and says whether a place still shows
it. The change is the rings' RMS difference over their own spread (at least FACE_MIN_SPREAD levels, for a
plain plate). Where flow or the box carried a plate through blur, a drop, or the frame's edge on the
footage it changed by 1.04 at most, with an arm across a rendered plate by 0.84, and under three rendered
passers-by's shirts by 1.35-1.9.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from barpath.detect.base import FrameBGR

FACE_RINGS = 8
FACE_SAMPLES = 24
FACE_EMA = 0.3  # each new look's weight: lighting changes as a plate moves, slowly
FACE_MIN_SPREAD = 20.0
FACE_MAX_CHANGE = 1.2

Profile = npt.NDArray[np.float64]


def radial_profile(image: FrameBGR, x: float, y: float, r: float) -> Profile | None:
    """Mean colour (BGR) in FACE_RINGS rings out to the rim: (FACE_RINGS, 3). None where a ring is out
    of the picture."""
    h, w = image.shape[:2]
    x0, y0 = max(0, int(x - r)), max(0, int(y - r))
    x1, y1 = min(w, int(x + r) + 1), min(h, int(y + r) + 1)
    if x1 - x0 < 4 or y1 - y0 < 4 or r <= 0:
        return None
    step = max(1, int(r / FACE_SAMPLES))  # a mean needs no more than about FACE_SAMPLES px a radius
    yy, xx = np.mgrid[y0:y1:step, x0:x1:step]
    ring = (np.hypot(xx - x, yy - y) * (FACE_RINGS / r)).astype(np.intp)
    inside = ring < FACE_RINGS
    counts = np.bincount(ring[inside], minlength=FACE_RINGS)
    if counts.min() < 3:
        return None
    px = image[y0:y1:step, x0:x1:step][inside].astype(np.float64)
    sums = np.stack([np.bincount(ring[inside], px[:, k], FACE_RINGS) for k in range(3)], axis=1)
    return np.asarray(sums / counts[:, None], np.float64)


class Look:
    """A plate's face, learnt where it was found."""

    def __init__(self) -> None:
        self.face: Profile | None = None
        self.t = -np.inf  # when it was last learnt

    def learn(self, image: FrameBGR, x: float, y: float, r: float, t: float) -> None:
        prof = radial_profile(image, x, y, r)
        if prof is None:
            return
        self.face = prof if self.face is None else FACE_EMA * prof + (1 - FACE_EMA) * self.face
        self.t = t

    def shows(self, image: FrameBGR, x: float, y: float, r: float) -> bool:
        """Whether (x, y) still looks like the plate; True where nothing is learnt yet or too little of it
        is in the picture to compare."""
        if self.face is None:
            return True
        now = radial_profile(image, x, y, r)
        if now is None:
            return True
        spread = max(FACE_MIN_SPREAD, float(np.std(self.face, axis=0).mean()))
        return float(np.sqrt(np.mean((now - self.face) ** 2))) <= FACE_MAX_CHANGE * spread
