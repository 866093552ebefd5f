"""Choose a detector from the CLI/environment: the weight-free plate finder unless a model is configured.

`auto` with a model asks the plate finder first and the model where it finds nothing (detect/fallback.py:
on real footage the plate finder was the surer of the two), and builds the model only then
(detect/deferred.py); `detectron2` asks the model alone."""

from __future__ import annotations

from barpath.detect.base import Detector
from barpath.detect.deferred import Deferred
from barpath.detect.fallback import Fallback
from barpath.detect.plate import PlateFinder
from barpath.errors import InvalidRequestError

DETECTOR_KINDS = ("auto", "plate", "detectron2")


def build_detector(kind: str = "auto", model: str | None = None) -> Detector:
    if kind not in DETECTOR_KINDS:
        raise InvalidRequestError(f"unknown detector {kind!r}: choose one of {', '.join(DETECTOR_KINDS)}")
    if kind == "detectron2" or (kind == "auto" and model):
        if not model:
            raise InvalidRequestError("--detector detectron2 needs --model PATH_OR_S3_URI")
        # Imported here: the default path must not need torch.
        from barpath.detect import detectron2

        if kind == "detectron2":
            return detectron2.Detectron2Detector.load(model)
        # Checked now, built when the plate finder first finds nothing (detect/deferred.py).
        detectron2.check(model)
        return Fallback(
            PlateFinder(), Deferred("detectron2", lambda: detectron2.Detectron2Detector.load(model))
        )
    return PlateFinder()
