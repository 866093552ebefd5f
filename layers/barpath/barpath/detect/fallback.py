"""The weight-free plate finder first; a trained model only on frames where it finds no plate.

Measured on the eight real clips, with two models trained from scratch on the shared set:
- Alone, a ResNet-50-FPN model (plate AP50 95.6 on its validation split) found no plate on three clips
  (grey metal plates in low sun, a portrait squat's small blue plate, a plate cut by the frame's edge),
  and a ResNet-18-FPN one (AP50 83) on four. The plate finder finds the working plate on all eight.
- Asked together, every frame, the weaker model's boxes still misled seeding: a box off the plate by a
  fifth of its size, or a moving false plate, lost clean-a for a third of its frames, and the cut-off
  clip for its first eighteen.
So `auto` with a model keeps the plate finder's answer wherever it has one, and asks the model only where
it has none (a blurred frame, a plate it cannot see the rim of). That also spends the model's CPU time
(0.4 s a frame on two cores) only there. `--detector detectron2` asks the model alone.
"""

from __future__ import annotations

from barpath.detect.base import Candidate, Detector, FrameBGR


class Fallback:
    """Detector protocol: `first`'s candidates, or `then`'s on a frame where `first` has none."""

    def __init__(self, first: Detector, then: Detector) -> None:
        self.first, self.then = first, then
        self.name = f"{first.name}, then {then.name}"

    def detect(self, frame: FrameBGR) -> list[Candidate]:
        return self.first.detect(frame) or self.then.detect(frame)
