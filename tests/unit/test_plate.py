"""Plate finder on drawn frames whose true circle is known exactly."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from barpath.detect.base import Candidate, Detector
from barpath.detect.circle_fit import RimFit, fit_rim
from barpath.detect.plate import (
    ROUND_RIM_MIN,
    PlateCandidate,
    PlateFinder,
    _suppress,
    centre_on_rim,
    channel,
    refine_full,
    rim_support,
)

pytestmark = pytest.mark.unit


def disc_frame(cx: float, cy: float, r: float, w: int = 1280, h: int = 720, hub: bool = True) -> np.ndarray:
    """Anti-aliased plate drawn with 1/16 px precision on a textured background."""
    rng = np.random.default_rng(1)
    img = (rng.normal(150, 12, (h, w, 3))).clip(0, 255).astype(np.uint8)
    img = cv2.GaussianBlur(img, (0, 0), 2)
    sh = 4
    f = 1 << sh
    cv2.circle(img, (round(cx * f), round(cy * f)), round(r * f), (40, 40, 45), -1, cv2.LINE_AA, sh)
    if hub:
        cv2.circle(
            img, (round(cx * f), round(cy * f)), round(0.2 * r * f), (200, 200, 200), -1, cv2.LINE_AA, sh
        )
    return img


def test_plate_finder_is_a_detector() -> None:
    assert isinstance(PlateFinder(), Detector)


@pytest.mark.parametrize("cx,cy,r", [(400.3, 300.7, 110.0), (900.6, 420.2, 70.5)])
def test_finds_plate_sub_pixel_with_outer_radius(cx: float, cy: float, r: float) -> None:
    cands = PlateFinder().detect(disc_frame(cx, cy, r))
    assert cands, "plate not found"
    best = cands[0]
    assert np.hypot(best.x - cx, best.y - cy) < 0.5
    # The hub is concentric: the outer rim must win, since the radius calibrates the scale.
    assert abs(best.radius - r) < 1.0
    assert 0.5 < best.score <= 1.0


def test_plate_cut_by_bottom_edge_still_found() -> None:
    cands = PlateFinder().detect(disc_frame(640.0, 690.0, 120.0))
    assert cands and np.hypot(cands[0].x - 640.0, cands[0].y - 690.0) < 1.5


@pytest.mark.parametrize("value", [0, 128])
def test_flat_frame_has_no_candidates(value: int) -> None:
    assert PlateFinder().detect(np.full((720, 1280, 3), value, np.uint8)) == []


def test_rim_fit_ignores_occluded_sector() -> None:
    img = disc_frame(500.0, 360.0, 100.0, hub=False)
    cv2.rectangle(img, (500, 200), (700, 330), (230, 180, 150), -1)  # an arm over a quarter of the rim
    gray = cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), (0, 0), 1.0)
    fit = fit_rim(gray, 508.0, 352.0, 95.0)
    assert fit is not None
    assert np.hypot(fit.x - 500.0, fit.y - 360.0) < 0.5 and abs(fit.radius - 100.0) < 0.7


def test_round_rim_tells_a_plate_from_a_circle_between_colour_bars() -> None:
    plate = disc_frame(400.3, 300.7, 60.0, w=640, h=480)
    assert rim_support(plate, 400.3, 300.7, 60.0) > 0.9
    # A bar 48 px wide over a floor: a circle of radius 24 touches both sides and the floor, and the
    # rest of its rim lies on flat colour, where only noise gives the rays an "edge".
    rng = np.random.default_rng(2)
    bars = np.zeros((240, 320, 3), np.uint8)
    bars[:160] = (0, 190, 190)
    bars[:160, :46] = (190, 190, 190)
    bars[:160, 94:] = (190, 190, 0)
    bars = np.clip(bars + rng.normal(0, 2, bars.shape), 0, 255).astype(np.uint8)
    assert rim_support(bars, 70.0, 136.0, 24.0) < ROUND_RIM_MIN


def _box_candidate(x: float, y: float, r: float, label: str = "plate") -> Candidate:
    return Candidate(x, y, r, 0.9, (x - r, y - r, x + r, y + r), label)


def test_a_model_s_box_is_re_centred_on_the_plate_s_rim() -> None:
    """A trained model's box is a few to 30 px off the plate on real footage (and a sleeve-tip box puts
    the centre on the sleeve end): the rim inside it gives the centre and the radius."""
    cx, cy, r = 400.3, 300.7, 110.0
    frame = disc_frame(cx, cy, r)
    off = _box_candidate(cx + 14.0, cy - 9.0, 0.93 * r)
    tip = replace(off, x=cx + 30.0, y=cy + 20.0)  # centred on a sleeve tip, the box as before
    for cand in (off, tip):
        got = centre_on_rim(frame, cand)
        assert np.hypot(got.x - cx, got.y - cy) < 0.5 and abs(got.radius - r) < 1.0
        assert (got.score, got.box, got.label) == (cand.score, cand.box, cand.label)


def test_a_box_with_no_rim_in_it_keeps_the_model_s_centre() -> None:
    flat = np.full((720, 1280, 3), 128, np.uint8)
    cand = _box_candidate(600.0, 300.0, 90.0)
    assert centre_on_rim(flat, cand) == cand
    # a rim of another size is another plate (or the hub): the box is not moved onto it
    assert centre_on_rim(disc_frame(600.0, 300.0, 60.0, hub=False), cand) == cand
    lone_tip = _box_candidate(400.0, 300.0, 110.0, label="bar_end")
    assert centre_on_rim(disc_frame(400.0, 300.0, 110.0), lone_tip) == lone_tip


def lipped_plate(cx: float, cy: float, r: float, blur_px: float, w: int = 640, h: int = 480) -> np.ndarray:
    """A plate with a raised lip (its outer 6 %, lighter), blurred by `blur_px` of vertical motion over
    the exposure, on a textured background."""
    rng = np.random.default_rng(1)
    bg = cv2.GaussianBlur(rng.normal(150, 12, (h, w, 3)).clip(0, 255).astype(np.float32), (0, 0), 2)
    acc = np.zeros((h, w, 3), np.float32)
    f, n = 16, 15
    for k in range(n):
        y = cy + blur_px * ((k + 0.5) / n - 0.5)
        img = bg.copy()
        cv2.circle(img, (round(cx * f), round(y * f)), round(r * f), (95, 95, 100), -1, cv2.LINE_AA, 4)
        cv2.circle(img, (round(cx * f), round(y * f)), round(0.94 * r * f), (40, 40, 45), -1, cv2.LINE_AA, 4)
        acc += img
    return np.asarray((acc / n).round(), np.uint8)


@pytest.mark.parametrize("blur_px", [0.0, 4.0, 7.0])
@pytest.mark.parametrize("off", [-2.0, 2.0])
def test_a_followed_plate_s_lip_does_not_pull_its_centre(blur_px: float, off: float) -> None:
    """The lip's inner edge is as strong as the plate's outline; ray by ray the strongest edge falls on
    either, and the circle through them lands off the centre. A plate of known size is fitted on its
    outline."""
    cx, cy, r = 320.3, 240.6, 70.0
    img = lipped_plate(cx, cy, r, blur_px)
    fit = refine_full(img, cx + off, cy + off, r, "gray", known_radius=r, expect_radius=r)
    assert fit is not None and np.hypot(fit.x - cx, fit.y - cy) < 0.25
    assert abs(fit.radius - r) < 1.2
    if blur_px < 5:
        # Fitted on the strongest edges, the same plate is taken by its lip: 5 % small.
        strongest = refine_full(img, cx + off, cy + off, r, "gray", known_radius=r)
        assert strongest is not None and strongest.radius < 0.96 * r


def _ring(x: float, y: float, r: float, quality: float, chan: str = "gray") -> PlateCandidate:
    """A fit whose quality is `quality` (full coverage and contrast; the inlier share carries it)."""
    return PlateCandidate(RimFit(x, y, r, quality, 1.0, 20.0, 0.5), chan)


@pytest.mark.parametrize("ratio", [1.15, 1.18, 1.5, 3.0])
def test_a_clear_rim_around_a_ring_that_fits_better_is_the_plate(ratio: float) -> None:
    """The outdoor deadlift's metal plate, shrunk for detection: a flange fitted at 0.76-0.78 and the rim
    around it at 0.55-0.65, 1.15-1.18x larger, its centre a few px off (perspective). The rim sets the
    scale; kept whenever it fits clearly, the flange no longer wins half the frames."""
    flange = _ring(1099.0, 733.0, 77.3, 0.78)
    rim = _ring(1111.0, 738.0, 77.3 * ratio, 0.56, "chroma")
    kept = _suppress([flange, rim], 8)
    assert [k.fit.radius for k in kept] == [rim.fit.radius]


def test_a_faint_outer_ring_or_a_rim_s_other_edge_leaves_the_better_fit() -> None:
    flange = _ring(1099.0, 733.0, 77.3, 0.78)
    faint = _ring(1101.0, 735.0, 90.0, 0.40)  # under the clear-rim bar: clutter lined up, not a rim
    assert [k.fit.radius for k in _suppress([flange, faint], 8)] == [77.3]
    outline = _ring(1099.0, 733.0, 77.3 * 1.06, 0.6)  # a lip's inner edge and the plate's outline
    assert [k.fit.radius for k in _suppress([flange, outline], 8)] == [77.3]
    # A plate beside it is another plate, whatever its size.
    beside = _ring(1099.0 + 150.0, 733.0, 90.0, 0.6)
    assert sorted(k.fit.radius for k in _suppress([flange, beside], 8)) == [77.3, 90.0]


def test_the_chroma_channel_is_exact_wherever_its_arrays_land() -> None:
    # Every a, b pair the Lab conversion gives: the channel is 2 |(a, b)| truncated, on every call.
    # Arrays of odd sizes left on the heap between calls put each call's own arrays at other addresses,
    # as from run to run of the pipeline: cv2.magnitude was an ulp off on some values, which ones
    # depending on those addresses.
    rng = np.random.default_rng(3)
    patch = rng.integers(0, 256, (155, 155, 3), dtype=np.uint8)
    lab = cv2.cvtColor(patch, cv2.COLOR_BGR2Lab).astype(np.float64) - 128.0
    exact = np.minimum(np.floor(2.0 * np.hypot(lab[..., 1], lab[..., 2])), 255).astype(np.uint8)
    kept = []
    for _ in range(40):
        kept.append(np.empty(int(rng.integers(1, 3000)), np.uint8))
        assert np.array_equal(channel(patch, "chroma"), exact)
