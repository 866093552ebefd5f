"""The far look (barpath.far_plate): when it runs, what it sees, and when its plate replaces the first's."""

from __future__ import annotations

import numpy as np
import pytest
from test_plate import disc_frame

from barpath import far_plate
from barpath.detect.base import Candidate, FrameBGR
from barpath.detect.fallback import Fallback
from barpath.detect.plate import PlateFinder
from barpath.track import TrackPoint, hardly_seen

pytestmark = pytest.mark.unit


class Model:
    """A trained model's answers: none here; only its kind matters."""

    name = "model"

    def detect(self, frame: FrameBGR) -> list[Candidate]:
        return []


def test_the_far_look_finds_a_plate_under_the_floor_of_the_first() -> None:
    """A 34 px plate in a 1280x720 frame, under the first look's floor (6 % of 720 = 43 px)."""
    frame = disc_frame(640.3, 400.6, 34.0)
    near, far = PlateFinder(), PlateFinder(reach=far_plate.REACH)
    assert near.smallest_radius(1280, 720) > 40 > far.smallest_radius(1280, 720)
    assert not any(abs(c.radius - 34.0) < 3.0 for c in near.detect(frame))
    best = far.detect(frame)[0]
    assert np.hypot(best.x - 640.3, best.y - 400.6) < 0.5
    assert best.radius == pytest.approx(34.0, rel=0.03)


def test_only_the_plate_finder_looks_farther_and_only_on_frames_large_enough() -> None:
    model = Model()
    far = far_plate.farther(PlateFinder(), 720)
    assert isinstance(far, PlateFinder) and far.reach == far_plate.REACH
    both = far_plate.farther(Fallback(PlateFinder(), model), 720)
    assert isinstance(both, Fallback) and both.then is model
    assert isinstance(both.first, PlateFinder) and both.first.reach == far_plate.REACH
    assert far_plate.farther(model, 720) is None  # its training sets what it sees
    assert far_plate.farther(far, 720) is None  # already looking far
    assert far_plate.farther(PlateFinder(), 360) is None  # a farther plate is too few pixels there


def track(ys: list[float], x: float, r: float | None, seen: float = 1.0) -> list[TrackPoint]:
    """A plate at `ys`, its rim fitted (`detected`) on the first `seen` of the frames, carried by flow
    (`tracked`) on the rest."""
    fitted = round(seen * len(ys))
    return [
        TrackPoint(i, i / 30, x, y, r, "detected" if i < fitted else "tracked", 0.9) for i, y in enumerate(ys)
    ]


LIFT = [400.0 + 200.0 * np.sin(np.pi * k / 29) for k in range(30)]  # a rep: 200 px down and up
STILL = [400.0 + 0.5 * (k % 2) for k in range(30)]


def test_a_look_farther_is_taken_where_the_first_plate_is_small_unmeasured_still_or_unseen() -> None:
    det = PlateFinder()  # floor 43.2 px on 1280x720
    assert far_plate.worth_a_look(det, None, 1280, 720)  # no plate found
    assert far_plate.worth_a_look(det, track(LIFT, 600, None), 1280, 720)  # none measured
    assert far_plate.worth_a_look(det, track(LIFT, 600, 40.0), 1280, 720)  # a plate under the floor
    # A circle just over the floor, hardly seen: fitted around a smaller plate. Seen: a plate.
    assert far_plate.worth_a_look(det, track(LIFT, 600, 51.0, seen=0.03), 1280, 720)
    assert not far_plate.worth_a_look(det, track(LIFT, 600, 45.0, seen=0.82), 1280, 720)
    assert far_plate.worth_a_look(det, track(STILL, 600, 60.0), 1280, 720)  # it lifted nothing
    assert far_plate.worth_a_look(det, track(LIFT, 600, 64.0, seen=0.1), 1280, 720)  # it hardly saw it
    assert not far_plate.worth_a_look(det, track(LIFT, 600, 60.0), 1280, 720)
    assert not far_plate.worth_a_look(det, track(LIFT, 600, 60.0, seen=0.5), 1280, 720)
    assert not far_plate.worth_a_look(Model(), None, 1280, 720)


def test_the_far_plate_replaces_the_first_only_if_the_first_could_not_see_it_where_it_went() -> None:
    det = PlateFinder()
    far = track([y + 5 for y in LIFT], 608, 34.0)  # inside the first's 44 px circle
    assert far_plate.takes_over(det, track(LIFT, 600, 44.0), far, 1280, 720)
    assert far_plate.takes_over(det, None, far, 1280, 720)
    assert far_plate.takes_over(det, track(LIFT, 600, None), far, 1280, 720)
    # The first took a still plate elsewhere, not seeing the lifted one.
    assert far_plate.takes_over(det, track(STILL, 200, 60.0), far, 1280, 720)
    assert not far_plate.takes_over(det, track(STILL, 200, 60.0), track(STILL, 900, 34.0), 1280, 720)
    # Another small round thing elsewhere: the first's lifted plate stays.
    assert not far_plate.takes_over(det, track(LIFT, 600, 44.0), track(LIFT, 200, 34.0), 1280, 720)
    # Just over the first's floor: the first look could see it, and measures it better.
    assert not far_plate.takes_over(det, track(LIFT, 600, 44.0), track(LIFT, 600, 45.0), 1280, 720)
    # A plate the first look could have seen and did not take: not a plate (a fractal zoom's bulb).
    assert not far_plate.takes_over(det, track(LIFT, 600, 44.0), track(LIFT, 600, 60.0), 1280, 720)
    assert not far_plate.takes_over(det, None, track(LIFT, 600, 45.0), 1280, 720)
    # The far look is for a lifted plate.
    assert not far_plate.takes_over(det, None, track(STILL, 600, 34.0), 1280, 720)
    assert not far_plate.takes_over(det, track(LIFT, 600, 44.0), track(LIFT, 600, None), 1280, 720)


def test_the_far_plate_replaces_a_first_plate_hardly_seen_wherever_it_was() -> None:
    """A 36 px squat plate's first look followed the lifter's knees (64 px) by flow, its rim fitted on
    3 % of the frames. The far plate is elsewhere, not inside that circle."""
    det = PlateFinder()
    knees = track([y + 150 for y in LIFT], 700, 64.0, seen=0.03)
    assert hardly_seen(knees) and not hardly_seen(track(LIFT, 600, 36.0, seen=0.5))
    assert far_plate.takes_over(det, knees, track(LIFT, 600, 36.0, seen=0.9), 1280, 720)
    # Only where the far look saw its own plate.
    assert not far_plate.takes_over(det, knees, track(LIFT, 600, 36.0, seen=0.1), 1280, 720)
    assert not far_plate.takes_over(det, None, track(LIFT, 600, 36.0, seen=0.06), 1280, 720)
    # A first plate seen on half its frames is a plate: another small thing elsewhere does not replace it.
    assert not far_plate.takes_over(det, track(LIFT, 700, 64.0, seen=0.5), track(LIFT, 200, 36.0), 1280, 720)


def test_a_far_plate_measured_under_the_far_looks_floor_is_not_taken() -> None:
    """The far look searches down to 27 px on 1280x720: a track that closed in on 17.9 px (a 26 px
    deadlift plate's) followed something smaller than the plate it found."""
    det = PlateFinder()
    far_floor = det.smallest_radius(1280, 720) / far_plate.REACH
    assert far_plate.takes_over(det, None, track(LIFT, 600, 0.95 * far_floor), 1280, 720)
    assert not far_plate.takes_over(det, None, track(LIFT, 600, 17.9), 1280, 720)
