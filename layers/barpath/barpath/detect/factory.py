"""Choose a detector from the CLI/environment: the weight-free plate finder unless a model is configured.

`auto` with a model asks the plate finder first and the model where it finds nothing (detect/fallback.py:
on real footage the plate finder was the surer of the two); `detectron2` asks the model alone."""

from __future__ import annotations

from barpath.detect.base import Detector
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
        from barpath.detect.detectron2 import Detectron2Detector

        model_detector = Detectron2Detector.load(model)
        if kind == "detectron2":
            return model_detector
        return Fallback(PlateFinder(), model_detector)
    return PlateFinder()
