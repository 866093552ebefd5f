"""Is the ring being tracked the plate's outer rim, or a ring inside it?

A plate cut by the frame's bottom edge at the floor shows its hub (or a painted ring) whole before its
rim: seeding may pick the hub, and adopts the rim only where it saw it clearly on the same frames
(plate_seed.Seeder.adopt_outer_ring). The rim shows as the bar rises, often just after seeding chose.
Re-encoded at 720p, the cut-off deadlift's rim was first found a few frames after seeding, and the
hub (half the plate's radius) set the scale: every velocity read twice what it was.

So for a while after seeding the tracker looks, on its rim-fitted frames, for a larger ring around the
same centre; seen clearly and alike twice, it is the plate's rim."""

from __future__ import annotations

import math

import numpy as np

from barpath.detect.base import FrameBGR
from barpath.detect.plate import CHANNELS, ROUND_RIM_MIN, refine_full, rim_support
from barpath.plate_seed import CLEAR_SCORE, OUTER_RING_CENTRE_TOL, OUTER_RING_RATIO

WATCH_S = 2.0  # after seeding: by then a plate pulled off the floor is well inside the picture
EVERY_S = 0.2
GROW_MIN, GROW_MAX = OUTER_RING_RATIO  # the rim's radius over the tracked ring's
# Grey levels per px along the rim. With no edge in its band a fit lands on a smooth circle of nothing
# and still scores 0.4 (every ray "agrees"); a rim re-encoded at 720p measured 14-15.
MIN_CONTRAST = 6.0
AGREE = 0.1  # two sightings agree on the rim's radius this closely (relative)
SIGHTINGS = 2


class OuterRimWatch:
    def __init__(self, t0: float) -> None:
        self.until = t0 + WATCH_S
        self.t_last = -math.inf
        self.seen: list[float] = []  # outer radii found, px
        self.done = False

    def due(self, t: float) -> bool:
        if not self.done and t > self.until:
            self.done = True
        return not self.done and t - self.t_last >= EVERY_S - 1e-6

    def check(self, image: FrameBGR, t: float, x: float, y: float, r: float) -> tuple[float, str] | None:
        """The outer rim's radius and the channel it shows best in, once it has been seen clearly and
        alike SIGHTINGS times around (x, y), the centre of the tracked ring of radius r; else None."""
        self.t_last = t
        mid = 0.5 * (GROW_MIN + GROW_MAX) * r
        band = (GROW_MAX - GROW_MIN) / (GROW_MIN + GROW_MAX)
        best: tuple[float, float, str] | None = None  # quality, radius, channel
        for chan in CHANNELS:
            f = refine_full(image, x, y, mid, chan, band=band)
            if f is None or f.quality < CLEAR_SCORE or f.contrast < MIN_CONTRAST:
                continue
            if not GROW_MIN <= f.radius / r <= GROW_MAX:
                continue
            if math.hypot(f.x - x, f.y - y) > OUTER_RING_CENTRE_TOL * r:
                continue
            # A rim is an edge nearly all the way round. Clutter can line up on a circle well enough
            # for the fit: on a 320x180 squat the lifter's head, shirt and the rack's posts made a
            # ring 1.4x the plate's (quality 0.47, contrast 15, but strong on 35 % of it; the cut-off
            # deadlift's rim, 70-75 %), and the plate read every velocity 0.7x.
            if rim_support(image, f.x, f.y, f.radius) < ROUND_RIM_MIN:
                continue
            if best is None or f.quality > best[0]:
                best = (f.quality, f.radius, chan)
        if best is None:
            return None
        radius = best[1]
        self.seen.append(radius)
        alike = [s for s in self.seen if abs(s / radius - 1.0) <= AGREE]
        if len(alike) < SIGHTINGS:
            return None
        self.done = True
        return float(np.median(alike)), best[2]
