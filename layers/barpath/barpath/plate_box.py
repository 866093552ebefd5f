"""An opencv-contrib box tracker that carries the plate across frames where its corners give no flow
(motion blur in a fast pull, the lifter's body in front at the catch, a plain plate face).

MOSSE, chosen by measurement on the working-scale grey copy (plate_flow.grey_small), 2 cores: a box of
72-100 px costs 0.1-0.3 ms an update and 0.8-1.5 ms to start (a 166 px box: 0.8 and 4 ms). Started on a
rim fit in the real clips (bench/box_trackers.py), its centre was 0.04 / 0.05 plate radii from the later
rim fits after 1 / 8 frames. CSRT: 0.04 / 0.08, but 12-23 ms an update. KCF: 0.11 / 0.23 and 1-14 ms.
MedianFlow: cheap, 0.05 / 0.26. On the snatch clip's fast drop KCF and MedianFlow sat on the background
and called it success; MOSSE reports the loss (its peak-to-sidelobe test), so those frames stay honestly
`predicted`. MOSSE's box keeps its size, so it cannot shrink onto part of the plate the way CSRT's does,
but it can slide off: its centre is only a seed for the rim refit, or a `tracked` position with a low
confidence, never a measurement.

It starts only when the flow fails, on the previous frame at the previous position (a rim fit or flow
position), so it costs nothing while the flow works and learns the plate as it looked just before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2

from barpath.plate_flow import Grey

BOX_HALF = 1.2  # box half-side in plate radii: the rim and a margin of background locate a plain disc

# Which contrib tracker; a name, so measurements can swap it (bench) without touching the tracker.
TRACKERS: dict[str, Callable[[], Any]] = {
    "mosse": lambda: cv2.legacy.TrackerMOSSE_create(),  # type: ignore[attr-defined]
    "medianflow": lambda: cv2.legacy.TrackerMedianFlow_create(),  # type: ignore[attr-defined]
    "csrt": lambda: cv2.TrackerCSRT.create(),
    "kcf": lambda: _kcf_grey(),
}
TRACKER = "mosse"


def _kcf_grey() -> Any:
    # OpenCV 5's KCF throws on its second update with grey-only features unless the grey channel is
    # both the PCA and the non-PCA feature.
    p = cv2.TrackerKCF_Params()  # type: ignore[attr-defined]
    p.desc_pca = p.desc_npca = cv2.TrackerKCF_GRAY
    p.compressed_size = 1
    return cv2.TrackerKCF.create(p)


class BoxCarrier:
    """One box tracker at a time, on working-scale grey frames; positions in working px."""

    def __init__(self, kind: str | None = None) -> None:
        self.kind = kind or TRACKER
        self._tracker: Any = None

    @property
    def active(self) -> bool:
        return self._tracker is not None

    def start(self, small: Grey, x: float, y: float, r: float) -> bool:
        h, w = small.shape
        half = BOX_HALF * r
        x0, y0 = max(0, round(x - half)), max(0, round(y - half))
        x1, y1 = min(w, round(x + half)), min(h, round(y + half))
        # A plate mostly out of the frame gives a box that is mostly not plate: nothing to learn.
        if (x1 - x0) < half or (y1 - y0) < half:
            self.stop()
            return False
        tracker = TRACKERS[self.kind]()
        try:
            tracker.init(small, (x0, y0, x1 - x0, y1 - y0))
        except cv2.error:
            self.stop()
            return False
        self._tracker = tracker
        return True

    def update(self, small: Grey) -> tuple[float, float] | None:
        """The box's centre in this frame, or None (and stopped) when the tracker says it lost it."""
        if self._tracker is None:
            return None
        try:
            ok, box = self._tracker.update(small)
        except cv2.error:  # some trackers throw instead of failing when the box leaves the frame
            ok = False
        if not ok:
            self.stop()
            return None
        bx, by, bw, bh = (float(v) for v in box)
        return bx + bw / 2, by + bh / 2

    def stop(self) -> None:
        self._tracker = None
