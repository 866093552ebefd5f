"""Detectors: anything that finds bar-end candidates in one frame (see `base.Detector`)."""

from barpath.detect.base import Candidate, Detector

__all__ = ["Candidate", "Detector"]
