"""A plate filmed from afar: a second look at the clip, in 1.6x the detail.

The plate finder looks for plates of at least 6 % of the frame's short side. Below that it cannot see
the plate, and just below it, it does worse than nothing: it fits the smallest circle it may, one around
the plate and the lifter's shoulders (a 34 px plate in a rendered 1280x720 squat was read as 43.8 px,
every rep 16-25 % slow). Looking for smaller plates in every clip was tried: small things then compete
with the plate, and five tests failed (the cut-off deadlift held its plate on 94 % of its frames, a
re-encoded distractor deadlift on 87 %, the snatch's stand-up strayed, the distractor deadlift with a
long setup left its held frames without a position, and a passer-by made a tripod clean read as moving).
So the far look runs only where the first found no plate, one under the floor of its search, one that
never moved, or one it hardly saw (its rim fitted on few frames: it followed the lifter's knees); and a
plate it finds replaces the first one's only where the first could not have seen it: smaller than its
floor (takes_over).

The far look searches down to 3.75 % on a detection copy 1.6x larger, and carries the plate by flow on
a working copy 1.6x larger (at 640 px a 34 px plate had too few face corners, and seeding guessed the
start of the pull: the first rep read 0.57 m/s for 0.70). A plate is then as many pixels across in
those copies as the nearest-filmed plate is in the usual ones."""

from __future__ import annotations

import numpy as np

from barpath import kinematics, track
from barpath.detect.base import Detector
from barpath.detect.fallback import Fallback
from barpath.detect.plate import PlateFinder
from barpath.track import TrackPoint

# At 1.5 (down to 4 %) three of four rendered lifts with a 29 px plate took something else or nothing:
# their rims read 1-2 % small, at that floor. At 1.6 all four were tracked.
REACH = 1.6
# The far look's floor, 3.75 % of the short side, is then 26 px or more: the rendered lifts were tracked
# at 29 px, and three of four were not found at 27 px. A smaller picture has too few pixels for a
# farther plate.
MIN_SHORT_SIDE_PX = 700
STILL_RADII = 1.0  # a plate whose height varied less than this lifted nothing
SAME_PATH_RADII = 1.0  # the far plate inside the first's circle, mostly (median distance, its radii)
# A far plate measured under this share of the far look's own floor is not the plate it found: the
# track had closed in on something smaller (a 26 px deadlift plate read 17.9 px, every rep 20-30 % fast).
SHRUNK = 0.9


def _finder(det: Detector) -> PlateFinder | None:
    if isinstance(det, PlateFinder):
        return det
    if isinstance(det, Fallback) and isinstance(det.first, PlateFinder):
        return det.first
    return None


def sees_plates(det: Detector) -> bool:
    """Whether `det` finds plates with the plate finder (alone or before a model)."""
    return _finder(det) is not None


def farther(det: Detector, short_side_px: int) -> Detector | None:
    """`det` with its plate finder looking farther off, for frames whose short side is `short_side_px`;
    None where that is not worth a look: a trained model alone (its training sets what it sees), a
    finder already looking far, or frames too small."""
    finder = _finder(det)
    if finder is None or finder.reach != 1.0 or short_side_px < MIN_SHORT_SIDE_PX:
        return None
    far = PlateFinder(finder.max_candidates, finder.min_quality, finder.refine_top, REACH)
    return Fallback(far, det.then) if isinstance(det, Fallback) else far


def plate_radius(points: list[TrackPoint]) -> float | None:
    """The plate's radius over the track (px) as the scale will take it; None where it takes none (a
    first look at a 38 px deadlift plate measured a larger circle on two frames, and gave no velocities)."""
    cal, _ = kinematics.calibrate(points, 1.0)
    return cal.plate_radius_px


def still(points: list[TrackPoint], radius: float) -> bool:
    """Whether the plate's height stayed within a radius (2nd to 98th percentile): no lift moved it. A
    first look's wrong pick may travel sideways (a squat's walk-out carried it 109 px) but not up."""
    ys = [p.y for p in points if p.x is not None and p.y is not None]
    if len(ys) < 2:
        return True
    lo, hi = np.percentile(ys, [2, 98])
    return float(hi - lo) < STILL_RADII * radius


def worth_a_look(det: Detector, points: list[TrackPoint] | None, width: int, height: int) -> bool:
    """Whether the first look's track leaves room for a plate farther off: it found no plate, measured
    none, one under the floor of its search, only one that never moved (a rendered squat's 34 px plate
    moved; the first look, not seeing it, took a floor plate of 60 px), or one it hardly saw.

    Just over its floor the first look fits circles around smaller plates (1.02-1.48x the floor around
    29-40 px plates), but those it hardly saw: their rims were fitted on 1-9 % of the frames. Real
    plates there (45 and 52 px, 1.03-1.2x) were fitted on 82-92 %, and a far look at them, once run
    for every plate under 1.3x the floor, was a second tracking pass thrown away."""
    finder = _finder(det)
    if finder is None:
        return False
    r = None if points is None else plate_radius(points)
    if r is None or points is None:
        return True
    return r < finder.smallest_radius(width, height) or still(points, r) or track.hardly_seen(points)


def takes_over(
    det: Detector, first: list[TrackPoint] | None, far: list[TrackPoint], width: int, height: int
) -> bool:
    """Whether the far look's track replaces the first look's. Its plate must have been lifted, and be
    one the first look could not see: smaller than its floor. A plate the first could have seen and did
    not take is not one (in a fractal zoom with no plate the far look followed a bulb of 7.8 % of the
    short side), and one it did take is measured better by it (a 45 px clean read up to 0.031 m/s high
    by the far look, 0.018 by the first). Where the first has a lifted plate, that must be the larger
    circle it fitted around the far one (the far plate lies inside it), or one it hardly saw. The far
    look must have seen its own plate (at 26-27 px far looks that fitted a rim on 4-7 % of the frames
    read reps 0.1-0.4 m/s off), at about the size it looks for."""
    r_first, r_far = (None if first is None else plate_radius(first)), plate_radius(far)
    finder = _finder(det)
    if r_far is None or finder is None or still(far, r_far) or track.hardly_seen(far):
        return False
    floor = finder.smallest_radius(width, height)
    if not SHRUNK * floor / REACH <= r_far < floor:
        return False
    if first is None or r_first is None or still(first, r_first) or track.hardly_seen(first):
        return True
    d = [
        float(np.hypot(a.x - b.x, a.y - b.y))
        for a, b in zip(first, far, strict=False)
        if a.x is not None and a.y is not None and b.x is not None and b.y is not None
    ]
    return bool(d) and float(np.median(d)) <= SAME_PATH_RADII * r_first
