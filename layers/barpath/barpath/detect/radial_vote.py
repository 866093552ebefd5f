"""Circle centre candidates by radial voting (a fast radial-symmetry transform): every strong edge
pixel votes, at each trial radius, for the points that distance away along its gradient, both ways.
Unlike OpenCV's Hough gradient it keeps one accumulator per radius, so a plate's rim wins over the many
small arcs of a brick wall or a rack, and a rim that is partly hidden or cut by the frame still votes."""

from __future__ import annotations

import cv2
import numpy as np

from barpath.detect.circle_fit import Gray

RADIUS_STEP = 1.12  # geometric spacing of trial radii


def radial_vote(
    gray: Gray, r_min: float, r_max: float, top_k: int = 12, min_support: float = 0.15
) -> list[tuple[float, float, float, float]]:
    """(x, y, r, support) of the strongest circle centres, best first; support ~ fraction of the rim
    that voted."""
    h, w = gray.shape
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.hypot(gx, gy)  # exact, unlike cv2.magnitude: see plate.channel
    thr = max(40.0, float(np.percentile(mag, 75)))
    ys, xs = np.nonzero(mag > thr)
    if xs.size == 0:
        return []
    m = mag[ys, xs]
    ux, uy = gx[ys, xs] / m, gy[ys, xs] / m
    best = np.zeros((h, w), np.float32)
    best_r = np.zeros((h, w), np.float32)
    r = max(2.0, r_min)
    while r <= r_max:
        acc = np.zeros(h * w, np.float64)
        for sgn in (1.0, -1.0):
            cx = np.rint(xs + sgn * r * ux).astype(np.int64)
            cy = np.rint(ys + sgn * r * uy).astype(np.int64)
            ok = (cx >= 0) & (cx < w) & (cy >= 0) & (cy < h)
            acc += np.bincount(cy[ok] * w + cx[ok], minlength=h * w)
        sigma = max(1.0, 0.12 * r)
        # Blurred votes, normalised so a complete rim scores about 1 whatever its radius.
        a = np.asarray(cv2.GaussianBlur(acc.reshape(h, w).astype(np.float32), (0, 0), sigma), np.float32)
        a *= np.float32(sigma * sigma / r)
        better = a > best
        best[better] = a[better]
        best_r[better] = r
        r *= RADIUS_STEP
    peaks = (best == cv2.dilate(best, np.ones((5, 5), np.uint8))) & (best > min_support)
    py, px = np.nonzero(peaks)
    order = np.argsort(-best[py, px])[:top_k]
    return [
        (float(px[i]), float(py[i]), float(best_r[py[i], px[i]]), float(best[py[i], px[i]])) for i in order
    ]
