"""Fallback: the plate finder first, a model only on frames where the plate finder finds no plate."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from barpath.detect.base import Candidate, Detector, FrameBGR
from barpath.detect.deferred import Deferred
from barpath.detect.fallback import Fallback
from barpath.detect.plate import PlateFinder
from barpath.errors import ModelLoadError

pytestmark = pytest.mark.unit


class KnownBoxes:
    """What a trained model answers: fixed boxes. Counts how often it is asked (0.4 s each on a CPU)."""

    name = "model"

    def __init__(self, cands: list[Candidate]) -> None:
        self.cands, self.asked = cands, 0

    def detect(self, frame: FrameBGR) -> list[Candidate]:
        self.asked += 1
        return list(self.cands)


BOX = Candidate(300.0, 200.0, 90.0, 0.9, (210.0, 110.0, 390.0, 290.0))


def plate_frame() -> FrameBGR:
    rng = np.random.default_rng(3)
    img = cv2.GaussianBlur(rng.normal(150, 12, (720, 1280, 3)).clip(0, 255).astype(np.uint8), (0, 0), 2)
    cv2.circle(img, (420, 400), 120, (40, 40, 45), -1, cv2.LINE_AA)
    return img


def test_where_the_plate_finder_sees_a_plate_the_model_is_not_asked() -> None:
    model = KnownBoxes([BOX])
    both = Fallback(PlateFinder(), model)
    assert isinstance(both, Detector) and both.name == "plate, then model"
    frame = plate_frame()
    got = both.detect(frame)
    assert got == PlateFinder().detect(frame) and np.hypot(got[0].x - 420, got[0].y - 400) < 1.0
    assert model.asked == 0


def test_where_the_plate_finder_sees_none_the_model_answers() -> None:
    model = KnownBoxes([BOX])
    blurred = np.full((720, 1280, 3), 128, np.uint8)  # nothing with a rim: a blurred or dark frame
    assert Fallback(PlateFinder(), model).detect(blurred) == [BOX] and model.asked == 1
    assert Fallback(PlateFinder(), KnownBoxes([])).detect(blurred) == []


def test_a_deferred_model_is_built_the_first_time_the_plate_finder_sees_none_and_kept() -> None:
    built: list[KnownBoxes] = []

    def build() -> KnownBoxes:  # stands in for loading torch and a model: seconds, most of a GB
        built.append(KnownBoxes([BOX]))
        return built[-1]

    lazy = Deferred("model", build)
    both = Fallback(PlateFinder(), lazy)
    assert isinstance(lazy, Detector) and both.name == "plate, then model"
    assert both.detect(plate_frame()) and built == [] and lazy.built is None
    blurred = np.full((720, 1280, 3), 128, np.uint8)
    assert both.detect(blurred) == [BOX] and both.detect(blurred) == [BOX]
    assert len(built) == 1 and lazy.built is built[0] and built[0].asked == 2


def test_a_deferred_model_that_cannot_load_fails_the_detection_that_needs_it_and_is_not_retried() -> None:
    tries: list[int] = []

    def build() -> Detector:
        tries.append(1)
        raise ModelLoadError("model m: cannot build the predictor (bad checkpoint)")

    lazy = Deferred("model", build)
    both = Fallback(PlateFinder(), lazy)
    assert both.detect(plate_frame())  # not needed, not built: no error
    blurred = np.full((720, 1280, 3), 128, np.uint8)
    for _ in range(3):  # later videos in a warm container: the same error, without loading again
        with pytest.raises(ModelLoadError, match="bad checkpoint"):
            both.detect(blurred)
    assert len(tries) == 1 and lazy.built is None
