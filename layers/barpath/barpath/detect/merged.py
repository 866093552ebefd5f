"""A trained model's candidates, completed and re-centred by the weight-free plate finder's.

A model trained on a few hundred photos misses plates unlike them. On the real footage a model trained
on the shared set (plate AP50 95.6 on its validation split) found no plate on the grey metal plates in
low sun, nor on the small blue plate of a portrait squat, and only the rack's plates where the working
one is cut by the frame's edge: three of eight clips failed with "no plate found". The plate finder
finds all three. Which candidate is the working plate is decided by the tracker from motion, whichever
detector named it, so `auto` with a model asks both.

Where both find the same plate, the plate finder's centre and radius are kept: they are a rim fit, and a
box clipped by the frame's edge has neither the plate's centre nor its size.
"""

from __future__ import annotations

from dataclasses import replace

from barpath.detect.base import Candidate, Detector, FrameBGR

SAME_PLATE = 0.5  # centres closer than this many radii (the larger) are one plate
SAME_SIZE = 0.2  # ... and a rim this close in size is that plate's rim, not its hub's


class Merged:
    """Detector protocol: `model`'s candidates (at `rims`' rim where it has one), then `rims`' others."""

    def __init__(self, model: Detector, rims: Detector) -> None:
        self.model, self.rims = model, rims
        self.name = f"{model.name}+{rims.name}"

    def detect(self, frame: FrameBGR) -> list[Candidate]:
        found = self.model.detect(frame)
        rims = self.rims.detect(frame)
        merged = []
        for c in found:
            rim = next((r for r in rims if _same(r, c) and abs(r.radius / c.radius - 1) <= SAME_SIZE), None)
            # A lone sleeve tip with a plate's rim around it is that plate.
            merged.append(
                c if rim is None else replace(c, x=rim.x, y=rim.y, radius=rim.radius, label="plate")
            )
        return merged + [r for r in rims if not any(_same(r, c) for c in found)]


def _same(a: Candidate, b: Candidate) -> bool:
    reach = SAME_PLATE * max(a.radius, b.radius)
    return (a.x - b.x) ** 2 + (a.y - b.y) ** 2 <= reach**2
