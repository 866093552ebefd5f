"""Merged: a model's candidates completed by the plate finder's, on a rendered frame with two plates."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from barpath.detect.base import Candidate, Detector, FrameBGR
from barpath.detect.merged import Merged
from barpath.detect.plate import PlateFinder

pytestmark = pytest.mark.unit

WORKING, RACKED = (420.0, 400.0, 120.0), (1000.0, 250.0, 80.0)


def two_plates() -> FrameBGR:
    rng = np.random.default_rng(3)
    img = cv2.GaussianBlur(rng.normal(150, 12, (720, 1280, 3)).clip(0, 255).astype(np.uint8), (0, 0), 2)
    for x, y, r in (WORKING, RACKED):
        cv2.circle(img, (round(x), round(y)), round(r), (40, 40, 45), -1, cv2.LINE_AA)
    return img


class KnownBoxes:
    """What a trained model answers: fixed boxes (this one knows only the working plate)."""

    name = "model"

    def __init__(self, cands: list[Candidate]) -> None:
        self.cands = cands

    def detect(self, frame: FrameBGR) -> list[Candidate]:
        return list(self.cands)


def test_the_plate_finder_adds_the_plates_the_model_missed_and_centres_the_ones_it_found() -> None:
    x, y, r = WORKING
    box = (x - r, y - r - 40, x + r, y + r - 40)  # clipped and shifted, as at a frame's edge
    model = KnownBoxes([Candidate(x + 5, y - 40, r - 8, 0.97, box)])
    merged = Merged(model, PlateFinder())
    assert isinstance(merged, Detector) and merged.name == "model+plate"
    got = merged.detect(two_plates())
    first = got[0]  # the model's plate, at the rim's centre and size, with the model's score and box
    assert np.hypot(first.x - x, first.y - y) < 1.5 and abs(first.radius - r) < 2
    assert (first.score, first.box, first.label) == (0.97, box, "plate")
    assert not [c for c in got[1:] if np.hypot(c.x - x, c.y - y) < 0.5 * r]  # that plate once only
    rx, ry, rr = RACKED
    assert any(np.hypot(c.x - rx, c.y - ry) < 1.5 and abs(c.radius - rr) < 2 for c in got[1:])


def test_a_lone_sleeve_tip_inside_a_rim_becomes_that_plate() -> None:
    x, y, r = RACKED
    tip = Candidate(x + 6, y + 4, 0.9 * r, 0.8, (x - 4, y - 4, x + 16, y + 12), "bar_end")
    got = Merged(KnownBoxes([tip]), PlateFinder()).detect(two_plates())[0]
    assert got.label == "plate" and np.hypot(got.x - x, got.y - y) < 1.5 and abs(got.radius - r) < 2


def test_a_hub_is_not_taken_for_the_model_s_plate() -> None:
    x, y, r = WORKING
    hub_only = np.full((720, 1280, 3), 150, np.uint8)
    cv2.circle(hub_only, (round(x), round(y)), round(0.6 * r), (40, 40, 45), -1, cv2.LINE_AA)
    model = KnownBoxes([Candidate(x, y, r, 0.9, (x - r, y - r, x + r, y + r))])
    got = Merged(model, PlateFinder()).detect(hub_only)
    assert got[0] == model.cands[0]  # a rim 40 % smaller is not this plate's: the model's box stands
    assert len(got) == 1  # and that smaller ring is not offered as another plate either


def test_a_model_that_finds_nothing_leaves_the_plate_finder_s_answer() -> None:
    frame = two_plates()
    assert Merged(KnownBoxes([]), PlateFinder()).detect(frame) == PlateFinder().detect(frame)
