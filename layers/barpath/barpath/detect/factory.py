"""Choose a detector from the CLI/environment: the weight-free plate finder unless a model is configured."""

from __future__ import annotations

from barpath.detect.base import Detector
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

        return Detectron2Detector.load(model)
    from barpath.detect.plate import PlateFinder

    return PlateFinder()
