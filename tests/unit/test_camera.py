"""camera: the room's motion in the picture, taken out of the bar's path, on frames whose camera motion is
known exactly (a textured room warped by a chosen map, a plate and a lifter drawn over it)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from barpath import camera
from barpath.detect.base import Candidate
from barpath.plate_seed import MOVING_SPAN_RADII, Tracklet
from barpath.track import TrackPoint

pytestmark = pytest.mark.unit

W, H, N, R = 480, 360, 60, 24.0


def room(flat: bool = False) -> np.ndarray:
    """A wall with texture and straight edges (a gym's), or a flat one with nothing to follow."""
    if flat:
        return np.full((H, W, 3), 128, np.uint8)
    rng = np.random.default_rng(0)
    noise = cv2.resize(rng.normal(0, 1, (H // 8, W // 8)).astype(np.float32), (W, H)) * 40 + 128
    img = np.repeat(np.clip(noise, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    for k in range(12):
        x, y = int(rng.uniform(0, W - 40)), int(rng.uniform(0, H - 40))
        cv2.rectangle(img, (x, y), (x + 30, y + 20), (40 + 15 * k, 200 - 10 * k, 90), -1)
    return img


def view_at(k: int, moving: bool) -> np.ndarray:
    """Frame 0's view -> frame k's: a drift with a slow roll and a little keystone (a turning phone)."""
    if not moving:
        return np.eye(3)
    s = k / N
    roll = math.radians(1.2) * s
    m = cv2.getRotationMatrix2D((W / 2, H / 2), math.degrees(roll), 1.0 + 0.02 * s)
    m = np.vstack([m, [0.0, 0.0, 1.0]])
    m[:2, 2] += (18 * math.sin(2.5 * s), -14 * s)
    m[2, :2] = (2e-5 * s, -1e-5 * s)
    return m


def bar_in_room(k: int) -> tuple[float, float]:
    """A squat: straight down and up again, in the room's (frame 0's) pixels."""
    return 240.0, 120.0 + 100.0 * math.sin(math.pi * k / (N - 1))


def clip(moving: bool, flat: bool = False) -> tuple[camera.MotionTap, list[TrackPoint]]:
    base = room(flat)
    tap = camera.MotionTap((W, H))
    points = []
    for k in range(N):
        m = view_at(k, moving)
        frame = cv2.warpPerspective(base, m, (W, H), borderMode=cv2.BORDER_REFLECT_101)
        v = m @ np.array([*bar_in_room(k), 1.0])
        x, y = v[0] / v[2], v[1] / v[2]
        # The plate and the lifter under it move on their own, with texture of their own.
        cv2.rectangle(frame, (int(x - 20), int(y)), (int(x + 20), H), (60 + k, 50, 40), -1)
        cv2.circle(frame, (int(round(x)), int(round(y))), int(R), (30, 30, 30), -1)
        cv2.circle(frame, (int(round(x)), int(round(y))), 6, (200, 200, 200), -1)
        tap.add(frame)
        points.append(TrackPoint(k, k / 30, float(x), float(y), R, "detected", 0.9))
    return tap, points


def test_moving_camera_is_taken_out_of_the_bar_path() -> None:
    tap, points = clip(moving=True)
    path = camera.solve(tap, points)
    assert path.moving and path.failed_frames == 0
    assert path.summary()["camera_motion"] == "compensated"
    steady = path.steadied(points)
    err = [math.dist((p.x, p.y), bar_in_room(p.i)) for p in steady if p.x is not None and p.y is not None]
    raw = [math.dist((p.x, p.y), bar_in_room(p.i)) for p in points if p.x is not None and p.y is not None]
    assert max(raw) > 20  # the camera moved the bar's image that far
    assert max(err) < 1.0, f"steadied bar off its room path by {max(err):.2f} px"
    # The picture positions themselves are left alone (path.json reports where the plate is in the frame).
    assert [(p.x, p.y) for p in points] == [(q.x, q.y) for q in clip(moving=True)[1]]


def test_still_camera_leaves_the_path_exactly_as_measured() -> None:
    tap, points = clip(moving=False)
    path = camera.solve(tap, points)
    assert not path.moving and path.max_shift_px < 1.0
    assert path.summary()["camera_motion"] == "still"
    assert path.steadied(points) == points


def test_no_background_to_follow_says_so_instead_of_guessing() -> None:
    tap, points = clip(moving=True, flat=True)
    path = camera.solve(tap, points)
    assert not path.moving
    assert path.summary()["camera_motion"] == "unmeasured"
    assert "too few background corners" in path.summary()["camera_note"]
    assert path.steadied(points) == points


def test_rough_view_for_seeding_follows_the_room() -> None:
    """Before the bar is known no corner is left out: the room, most of the picture, still wins."""
    tap, _ = clip(moving=True)
    for k in (0, 20, 59):
        back = tap.rough_to_first(k)
        corner = view_at(k, True) @ np.array([60.0, 300.0, 1.0])
        x, y, w = back @ corner
        # Within 2 px (1 px when the 300 strongest corners were taken, most on the coloured boxes; spread
        # over the picture, fainter ones count too). Seeding calls a plate moving at 0.8 radii, 19 px.
        assert math.dist((x / w, y / w), (60.0, 300.0)) < 2.0, k
    assert np.array_equal(tap.rough_to_first(N + 5), np.eye(3))  # a frame it never saw: no motion


def test_a_plate_moved_only_by_the_camera_is_not_moving() -> None:
    """A floor plate shifted 30 px by a turning phone must not look like the working plate."""
    shift = {i: (1.5 * i, 0.5 * i) for i in range(0, 21)}
    hits = {i: Candidate(100 + dx, 200 + dy, 30.0, 0.9, (0, 0, 0, 0)) for i, (dx, dy) in shift.items()}
    times = {i: i / 30 for i in hits}

    def room_view(i: int) -> np.ndarray:
        m = np.eye(3)
        m[:2, 2] = (-shift[i][0], -shift[i][1])
        return m

    fooled = Tracklet(dict(hits), dict(times))
    assert fooled.span() >= MOVING_SPAN_RADII
    steady = Tracklet(dict(hits), dict(times), room=room_view)
    assert steady.span() < 0.05


def checked(h: int, w: int) -> np.ndarray:
    """A checked shirt: sharp corners every 11 px, far stronger than the room's."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.where(((xx // 11) + (yy // 11)) % 2 == 1, 240, 20).astype(np.uint8)


def test_corners_are_spread_over_the_picture_not_taken_by_one_sharp_patch() -> None:
    grey = cv2.cvtColor(room(), cv2.COLOR_BGR2GRAY)
    grey[60:300, 60:170] = checked(240, 110)
    pts = camera.spread_corners(grey).reshape(-1, 2)
    on_shirt = (pts[:, 0] >= 55) & (pts[:, 0] < 175) & (pts[:, 1] >= 55) & (pts[:, 1] < 305)
    # The shirt covers 15 % of the picture; left to the strongest corners it held 84 % of them.
    assert len(pts) >= 150 and on_shirt.mean() < 0.35
    cells = np.minimum((pts[:, 1] * camera.GRID[1] / H).astype(int), camera.GRID[1] - 1) * camera.GRID[
        0
    ] + np.minimum((pts[:, 0] * camera.GRID[0] / W).astype(int), camera.GRID[0] - 1)
    assert np.bincount(cells).max() <= math.ceil(camera.CELL_SHARE * camera.MAX_CORNERS)


def test_a_passer_by_crossing_a_still_camera_is_not_taken_for_its_motion() -> None:
    base = room()
    tap = camera.MotionTap((W, H))
    points = []
    for k in range(N):
        frame = base.copy()
        left = 20 + 4 * k  # walking right, 4 px a frame, through the whole clip; a sixth of the width
        frame[40:H, left : left + 80] = checked(H - 40, 80)[..., None]
        x, y = bar_in_room(k)
        cv2.circle(frame, (int(round(x)), int(round(y))), int(R), (30, 30, 30), -1)
        tap.add(frame)
        points.append(TrackPoint(k, k / 30, x, y, R, "detected", 0.9))
    path = camera.solve(tap, points)
    assert not path.moving and path.summary()["camera_motion"] == "still", path.max_shift_px
