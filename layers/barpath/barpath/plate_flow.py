"""Lucas-Kanade helpers shared by seeding and tracking: one grey working copy of each frame, corners on a
plate's face, and forward-backward checked flow of those corners."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from barpath.detect.base import FrameBGR

Grey = npt.NDArray[np.uint8]
Pts = npt.NDArray[np.float32]

LK_LONG_SIDE = 640
_LK = dict(winSize=(21, 21), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))


def lk_scale(image: FrameBGR, reach: float = 1.0) -> float:
    """Full-resolution px per working px. `reach` > 1: a working copy that much larger, for a plate
    filmed that much farther off (a 34 px plate had too few face corners at 640 px to be carried)."""
    h, w = image.shape[:2]
    return max(1.0, float(max(h, w)) / (LK_LONG_SIDE * reach))


def grey_small(image: FrameBGR, scale: float) -> Grey:
    """Convert first, then downscale one channel instead of three (half the cost at 1080p)."""
    g = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), np.uint8)
    if scale == 1.0:
        return g
    h, w = g.shape
    return np.asarray(
        cv2.resize(g, (round(w / scale), round(h / scale)), interpolation=cv2.INTER_AREA), np.uint8
    )


def disc_corners(small: Grey, cx: float, cy: float, r: float, n: int = 60) -> Pts:
    """Corners on the plate face (inside the rim, so the background does not pull the flow); working px."""
    h, w = small.shape
    m = int(r) + 2
    x0, y0 = max(0, int(cx) - m), max(0, int(cy) - m)
    x1, y1 = min(w, int(cx) + m + 1), min(h, int(cy) + m + 1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return np.zeros((0, 1, 2), np.float32)
    roi = small[y0:y1, x0:x1]
    mask = np.zeros_like(roi)
    cv2.circle(mask, (round(cx - x0), round(cy - y0)), max(2, int(r * 0.85)), 255, -1)
    pts = cv2.goodFeaturesToTrack(roi, n, 0.01, max(2.0, r / 10), mask=mask, blockSize=5)
    if pts is None:
        return np.zeros((0, 1, 2), np.float32)
    return np.asarray(pts, np.float32) + np.array([x0, y0], np.float32)


def lk_fb(
    prev: Grey, cur: Grey, pts: Pts, max_fb: float = 1.0, params: dict[str, Any] | None = None
) -> tuple[Pts, npt.NDArray[np.bool_]]:
    """Corners carried from `prev` to `cur`, and which of them passed the forward-backward check."""
    if len(pts) == 0:
        return pts, np.zeros((0,), bool)
    lk = _LK if params is None else params
    p1, st1, _ = cv2.calcOpticalFlowPyrLK(prev, cur, pts, None, **lk)  # type: ignore[call-overload]
    p0b, st2, _ = cv2.calcOpticalFlowPyrLK(cur, prev, p1, None, **lk)  # type: ignore[call-overload]
    fb = np.linalg.norm((pts - p0b).reshape(-1, 2), axis=1)
    good = (st1.ravel() == 1) & (st2.ravel() == 1) & (fb < max_fb)
    return np.asarray(p1, np.float32), good


def median_motion(
    pts: Pts, moved: Pts, good: npt.NDArray[np.bool_], radius: float
) -> tuple[float, float, float, Pts] | None:
    """Median displacement of the good corners, the share that agrees with it, and the agreeing corners
    at their new places. Corners moving unlike the median (a body in front) do not count as support."""
    if good.sum() < 5:
        return None
    d = (moved - pts).reshape(-1, 2)[good]
    med = np.median(d, axis=0)
    agree = np.linalg.norm(d - med, axis=1) < max(1.5, 0.05 * radius)
    kept = moved[good][agree].reshape(-1, 1, 2)
    return float(med[0]), float(med[1]), float(agree.sum()) / len(d), np.asarray(kept, np.float32)
