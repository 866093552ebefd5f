"""plate_aspect: how far a turned camera squeezes the plate, measured on one frame and over a few."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from barpath import plate_aspect

pytestmark = pytest.mark.unit


def ellipse_frame(cx: float, cy: float, across: float, down: float, seed: int = 1) -> np.ndarray:
    """An upright plate ellipse (semi-axes across, down), hub and all, on a textured wall."""
    rng = np.random.default_rng(seed)
    img = rng.normal(150, 12, (720, 1280, 3)).clip(0, 255).astype(np.uint8)
    img = cv2.GaussianBlur(img, (0, 0), 2)
    f = 16
    centre = (round(cx * f), round(cy * f))
    cv2.ellipse(
        img, centre, (round(across * f), round(down * f)), 0, 0, 360, (40, 40, 45), -1, cv2.LINE_AA, 4
    )
    hub = (round(0.2 * across * f), round(0.2 * down * f))
    cv2.ellipse(img, centre, hub, 0, 0, 360, (200, 200, 200), -1, cv2.LINE_AA, 4)
    return img


@pytest.mark.parametrize("aspect", [1.0, 0.87, 0.71, 0.55, 1.3])
def test_measures_the_plate_s_width_over_its_height(aspect: float) -> None:
    down = 80.0
    img = ellipse_frame(600.3, 360.7, aspect * down, down)
    # The tracker's radius for a squeezed plate lies between its axes: start from the narrow one.
    got = plate_aspect.measure(img, 603.0, 358.0, min(aspect, 1.0) * down)
    assert got is not None
    assert abs(got / aspect - 1) < 0.01, got


def test_no_rim_no_measurement() -> None:
    wall = ellipse_frame(600, 360, 80, 80)
    wall[:] = cv2.GaussianBlur(wall, (0, 0), 1)[0:1, 0:1]  # one flat colour
    assert plate_aspect.measure(wall, 600, 360, 80) is None


def test_a_plate_cut_by_the_frame_s_edge_is_measured_on_what_is_in_view() -> None:
    img = ellipse_frame(600, 700, 0.71 * 80, 80)  # the bottom 60 px of the plate below the frame
    got = plate_aspect.measure(img, 600, 700, 60)
    assert got is not None and abs(got / 0.71 - 1) < 0.03, got


def test_watch_waits_for_enough_frames_and_takes_their_median() -> None:
    img = ellipse_frame(600, 360, 0.71 * 80, 80)
    watch = plate_aspect.Watch()
    for k in range(plate_aspect.WATCH_FRAMES):
        assert watch.verdict() is None
        assert watch.wants(0.2 * k)
        watch.offer(img, 0.2 * k, 600, 360, 60)
        assert not watch.wants(0.2 * k + 0.05)  # one measurement per WATCH_EVERY_S
    verdict = watch.verdict()
    assert verdict is not None and abs(verdict / 0.71 - 1) < 0.01
    assert not watch.wants(10.0)


def test_a_nearly_round_plate_is_left_as_it_is_unless_a_guess_is_being_corrected() -> None:
    img = ellipse_frame(600, 360, 0.96 * 80, 80)  # 4 %: perspective alone does as much on the footage
    loose, tight = plate_aspect.Watch(), plate_aspect.Watch(plate_aspect.GUESS_TOL)
    for k in range(plate_aspect.WATCH_FRAMES):
        loose.offer(img, 0.2 * k, 600, 360, 78)
        tight.offer(img, 0.2 * k, 600, 360, 78)
    assert loose.verdict() == 1.0
    tight_verdict = tight.verdict()
    assert tight_verdict is not None and abs(tight_verdict / 0.96 - 1) < 0.01


def test_measurements_that_scatter_leave_the_plate_round() -> None:
    """What a 640x360 copy of the outdoor deadlift measured on a round plate (a ring inside it, a few
    pixels across): the median, 1.19, had the frames stretched and the rep read a third fast."""
    watch = plate_aspect.Watch()
    for k, aspect in enumerate([1.01, 1.22, 1.01, 1.62, 1.19]):
        watch.offer(ellipse_frame(600, 360, aspect * 80, 80, seed=k), 0.2 * k, 600, 360, 80)
    assert len(watch.values) == plate_aspect.WATCH_FRAMES
    assert abs(float(np.median(watch.values)) / 1.19 - 1) < 0.02  # the median alone says turned
    assert watch.verdict() == 1.0


def test_a_turned_plate_measured_with_a_few_misses_is_still_stretched() -> None:
    watch = plate_aspect.Watch()
    for k, aspect in enumerate([0.69, 1.0, 0.73, 0.95, 0.71]):
        watch.offer(ellipse_frame(600, 360, aspect * 80, 80, seed=k), 0.2 * k, 600, 360, 70)
    verdict = watch.verdict()
    assert verdict is not None and abs(verdict / 0.73 - 1) < 0.02, verdict


def test_a_short_clip_decides_on_fewer_frames_and_on_too_few_leaves_the_plate_round() -> None:
    img = ellipse_frame(600, 360, 0.71 * 80, 80)
    watch = plate_aspect.Watch()
    for k in range(plate_aspect.WATCH_MIN_FRAMES - 1):
        watch.offer(img, 0.2 * k, 600, 360, 60)
    assert watch.final() == 1.0
    watch.offer(img, 1.0, 600, 360, 60)
    assert abs(watch.final() / 0.71 - 1) < 0.01


def test_a_rim_that_never_fits_is_tried_a_few_times_then_left_round() -> None:
    wall = ellipse_frame(600, 360, 80, 80)
    wall[:] = wall[0, 0]
    watch = plate_aspect.Watch()
    t = 0.0
    while watch.wants(t):
        watch.offer(wall, t, 600, 360, 80)
        t += plate_aspect.WATCH_EVERY_S
    assert watch.tries == plate_aspect.WATCH_TRIES and not watch.values
    assert watch.verdict() == 1.0


def test_a_guess_is_confirmed_only_by_enough_measurements_near_round() -> None:
    near, far = ellipse_frame(600, 360, 0.9 * 80, 80), ellipse_frame(600, 360, 0.7 * 80, 80)
    watch = plate_aspect.Watch(plate_aspect.GUESS_TOL)
    assert not watch.confirms(plate_aspect.GUESS_REACH)  # nothing measured: nothing confirmed
    for k in range(plate_aspect.WATCH_MIN_FRAMES):
        watch.offer(near, 0.2 * k, 600, 360, 76)
    assert watch.confirms(plate_aspect.GUESS_REACH)
    other = plate_aspect.Watch(plate_aspect.GUESS_TOL)
    for k in range(plate_aspect.WATCH_MIN_FRAMES):
        other.offer(far, 0.2 * k, 600, 360, 66)
    assert not other.confirms(plate_aspect.GUESS_REACH)  # log(0.7) is past the reach
