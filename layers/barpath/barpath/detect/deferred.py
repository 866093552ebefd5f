"""A detector built the first time it is asked for a detection.

`auto` with a trained model asks the model only on frames where the plate finder finds no plate, and on
the real footage that was no frame at all. Building the model up front cost 4 s and 0.9 GB (torch,
detectron2, a ResNet-50-FPN on a CPU) on every container that never used it; built on first use, only
the videos that need it pay. The factory checks the model before deferring (manifest, config, torch
installed), so a bad model still fails at start rather than on the one video that asks it.

A model that fails to build (a checkpoint present but corrupt passes that check) is not built again: the
files do not change under a running process or a warm container, so every later try would spend the same
seconds loading torch to fail the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from barpath.detect.base import Candidate, Detector, FrameBGR


class Deferred:
    """Detector protocol: `build()`'s detector, built on the first `detect`."""

    def __init__(self, name: str, build: Callable[[], Detector]) -> None:
        self.name = name
        self._build = build
        self._detector: Detector | None = None
        self._failed: BaseException | None = None

    @property
    def built(self) -> Detector | None:
        """The detector, once something asked for a detection; None before."""
        return self._detector

    def detect(self, frame: FrameBGR) -> list[Candidate]:
        if self._detector is None:
            if self._failed is not None:
                # Without the first try's traceback: raising one object again would add to it each time.
                raise self._failed.with_traceback(None)
            try:
                self._detector = self._build()
            except Exception as exc:
                self._failed = exc
                raise
        return self._detector.detect(frame)
