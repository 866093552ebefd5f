"""Sub-pixel plate rim fit: cast rays from a rough centre, find the rim edge on each, fit a circle
robustly (then an ellipse where the rim is seen well enough). A box tracker's centre drifts; the centre
of the fitted rim is the plate's centre."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Gray = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]

N_RAYS = 96


@dataclass(frozen=True)
class RimFit:
    x: float
    y: float
    radius: float
    inlier_frac: float  # of the rays whose rim lies inside the image
    coverage: float  # fraction of the full circle covered by inlier rays
    contrast: float  # median edge strength of inliers, grey levels per px
    rms: float  # RMS residual of inliers, px
    radius_fixed: bool = False  # centre fitted at a given radius: the radius is not a measurement
    free_radius: float = 0.0  # the unconstrained fit's radius where radius_fixed

    @property
    def quality(self) -> float:
        """0..1: how much this looks like a whole, sharp plate rim."""
        c = min(1.0, self.contrast / 12.0)
        return float(np.clip(self.inlier_frac * min(1.0, self.coverage / 0.6) * (0.4 + 0.6 * c), 0.0, 1.0))


def _ray_profiles(
    gray: Gray, cx: float, cy: float, r_lo: float, r_hi: float, n_rays: int, step: float
) -> tuple[F64, F64, F64]:
    """Radial edge strength along each ray from (cx, cy) that lies wholly inside the image: (rays, radii)
    strengths, the radii between samples, and the rays' angles."""
    h, w = gray.shape[:2]
    theta = np.linspace(0.0, 2 * np.pi, n_rays, endpoint=False)
    radii = np.arange(r_lo, r_hi + step, step)
    if radii.size < 5:
        radii = np.linspace(r_lo, r_hi, 5)
    cos, sin = np.cos(theta)[:, None], np.sin(theta)[:, None]
    mx = (cx + cos * radii[None, :]).astype(np.float32)
    my = (cy + sin * radii[None, :]).astype(np.float32)
    inside = (mx.min(1) >= 1) & (my.min(1) >= 1) & (mx.max(1) <= w - 2) & (my.max(1) <= h - 2)
    if not inside.any():
        return np.zeros((0, radii.size - 1)), radii, np.zeros((0,))
    prof = cv2.remap(gray, mx[inside], my[inside], cv2.INTER_LINEAR).astype(np.float64)
    # Smooth along the ray so single-pixel texture does not win over the rim.
    prof = np.asarray(cv2.GaussianBlur(prof, (5, 1), 1.0), np.float64)
    d = np.abs(np.diff(prof, axis=1)) / (radii[1] - radii[0])
    return d, radii, theta[inside]


def _edges_at(d: F64, radii: F64, k: npt.NDArray[np.intp]) -> tuple[F64, F64]:
    """Sub-pixel radius and strength of the edge at index k of each ray's profile."""
    k = np.clip(k, 1, d.shape[1] - 2)
    rows = np.arange(d.shape[0])
    a, b, c = d[rows, k - 1], d[rows, k], d[rows, k + 1]
    den = a - 2 * b + c
    off = np.where(np.abs(den) > 1e-9, 0.5 * (a - c) / np.where(den == 0, 1, den), 0.0)
    off = np.clip(off, -0.5, 0.5)
    # diff index k sits between samples k and k+1.
    return radii[0] + (k + 0.5 + off) * (radii[1] - radii[0]), b


# An edge this strong compared with its ray's strongest is a rim candidate too (see rim_point_pairs).
OUTER_EDGE_FRAC = 0.5
LIP_MAX = 1.1  # a plate's outline is at most this much wider than the circle of its lip


def rim_point_pairs(
    gray: Gray,
    cx: float,
    cy: float,
    r_lo: float,
    r_hi: float,
    n_rays: int = N_RAYS,
    step: float = 1.0,
) -> tuple[F64, F64, F64]:
    """Two rim candidates per ray between r_lo and r_hi: its strongest edge and its outermost strong
    one (at least OUTER_EDGE_FRAC of the strongest). Returns points (k,2,2), angles (k,), strengths
    (k,2) for the rays whose whole profile lies inside the image.

    A plate's rim is often a lip a few percent of its radius wide, whose inner edge is as strong as its
    outline; motion blur merges the two along the motion, and the strongest edge then falls on either,
    ray by ray. A circle through such a mixture sat 3 px off a rendered plate's centre for a few frames
    of every fast pull, enough to read the pull's start 8-9 ms late. The outermost strong edges trace
    the outline (see _strongest_or_outline)."""
    d, radii, th = _ray_profiles(gray, cx, cy, r_lo, r_hi, n_rays, step)
    if d.shape[0] == 0:
        return np.zeros((0, 2, 2), np.float64), np.zeros((0,)), np.zeros((0, 2))
    strongest = np.argmax(d, axis=1)
    peak = np.zeros(d.shape, dtype=bool)
    peak[:, 1:-1] = (d[:, 1:-1] >= d[:, :-2]) & (d[:, 1:-1] >= d[:, 2:])
    strong = peak & (d >= OUTER_EDGE_FRAC * d.max(axis=1, keepdims=True))
    strong[np.arange(d.shape[0]), strongest] = True
    outermost = d.shape[1] - 1 - np.argmax(strong[:, ::-1], axis=1)
    r1, s1 = _edges_at(d, radii, strongest)
    r2, s2 = _edges_at(d, radii, outermost)
    rr = np.stack([r1, r2], axis=1)
    pts = np.stack([cx + np.cos(th)[:, None] * rr, cy + np.sin(th)[:, None] * rr], axis=2)
    return pts, th, np.stack([s1, s2], axis=1)


def rim_points(
    gray: Gray, cx: float, cy: float, r_lo: float, r_hi: float, n_rays: int = N_RAYS
) -> tuple[F64, F64, F64]:
    """The strongest radial edge per ray (rim_point_pairs' first candidate): points (k,2), angles (k,),
    strength (k,)."""
    pts, th, strength = rim_point_pairs(gray, cx, cy, r_lo, r_hi, n_rays)
    return pts[:, 0], th, strength[:, 0]


def _circle_lsq(p: F64) -> tuple[float, float, float]:
    """Algebraic (Kasa) circle fit."""
    x, y = p[:, 0], p[:, 1]
    a = np.stack([x, y, np.ones_like(x)], axis=1)
    bb = x * x + y * y
    sol, *_ = np.linalg.lstsq(a, bb, rcond=None)
    cx, cy = sol[0] / 2, sol[1] / 2
    r2 = sol[2] + cx * cx + cy * cy
    return float(cx), float(cy), float(np.sqrt(max(r2, 1e-9)))


def fit_circle_robust(pts: F64, tol: float, rng: np.random.Generator | None = None) -> tuple[F64, bool]:
    """RANSAC over point triples, then least squares on the inliers. Returns (cx,cy,r) and ok."""
    n = len(pts)
    if n < 6:
        return np.zeros(3), False
    rng = rng or np.random.default_rng(0)
    iters = 64
    idx = rng.integers(0, n, size=(iters, 3))
    p1, p2, p3 = pts[idx[:, 0]], pts[idx[:, 1]], pts[idx[:, 2]]
    # Circumcentre of each triple, vectorised.
    ax, ay, bx, by, qx, qy = p1[:, 0], p1[:, 1], p2[:, 0], p2[:, 1], p3[:, 0], p3[:, 1]
    d = 2 * (ax * (by - qy) + bx * (qy - ay) + qx * (ay - by))
    good = np.abs(d) > 1e-6
    d = np.where(good, d, 1.0)
    a2, b2, c2 = ax * ax + ay * ay, bx * bx + by * by, qx * qx + qy * qy
    ux = (a2 * (by - qy) + b2 * (qy - ay) + c2 * (ay - by)) / d
    uy = (a2 * (qx - bx) + b2 * (ax - qx) + c2 * (bx - ax)) / d
    ur = np.hypot(ax - ux, ay - uy)
    res = np.abs(np.hypot(pts[None, :, 0] - ux[:, None], pts[None, :, 1] - uy[:, None]) - ur[:, None])
    counts = np.where(good, (res < tol).sum(1), -1)
    best = int(np.argmax(counts))
    inl = res[best] < tol
    if inl.sum() < 6:
        return np.zeros(3), False
    cx, cy, r = _circle_lsq(pts[inl])
    for _ in range(2):
        inl = np.abs(np.hypot(pts[:, 0] - cx, pts[:, 1] - cy) - r) < tol
        if inl.sum() < 6:
            return np.zeros(3), False
        cx, cy, r = _circle_lsq(pts[inl])
    return np.array([cx, cy, r]), True


def _strongest_or_outline(pairs: F64, tol: float, expect_radius: float | None) -> tuple[int, F64 | None]:
    """Which of each ray's two edges (rim_point_pairs) to fit, and the circle through them. The
    strongest edges, unless the plate's size is known and the circle through the outer edges is nearer
    that size while it fits as many rays: a followed plate's lip, merged with its rim by motion blur,
    then no longer pulls the centre toward it. Unknown in size (detection), the strongest edges stand:
    every plate in view, the rack's too, would otherwise score anew."""
    sol, ok = fit_circle_robust(pairs[:, 0], tol)
    if expect_radius is None or np.array_equal(pairs[:, 0], pairs[:, 1]):
        return 0, sol if ok else None
    out, ok_out = fit_circle_robust(pairs[:, 1], tol)
    if not ok_out:
        return 0, sol if ok else None
    if not ok:
        return 1, out
    n_strong, n_out = (_on_circle(pairs[:, k], c, tol) for k, c in ((0, sol), (1, out)))
    # An outline around the strongest edges' circle, as a rim is around its lip: not another circle.
    around = (
        sol[2] <= out[2] <= LIP_MAX * sol[2] and np.hypot(*(out[:2] - sol[:2])) <= out[2] - sol[2] + 2 * tol
    )
    if around and n_out >= n_strong and abs(out[2] - expect_radius) < abs(sol[2] - expect_radius):
        return 1, out
    return 0, sol


def _on_circle(pts: F64, circle: F64, tol: float) -> int:
    return int((np.abs(np.hypot(pts[:, 0] - circle[0], pts[:, 1] - circle[1]) - circle[2]) < tol).sum())


def centre_at_radius(pts: F64, cx: float, cy: float, radius: float, tol: float) -> tuple[float, float] | None:
    """Centre of the circle of a known radius through the rim points, from (cx, cy): Gauss-Newton on the
    points near that circle, with a gate that narrows. A free fit can shrink onto an arm in front of the
    rim; at the plate's known radius the arm's edge is an outlier.

    The gate is centred on the median distance of the points near the circle from it: a whole rim a
    little smaller or larger than the known radius (the plate nearer or farther now) lies about one
    tolerance off it, and a gate around the circle itself kept one side of the rim or the other, frame
    by frame (the snatch's plate, lying still after the drop, jumped 4.5-7 px between frames)."""
    c = np.array([cx, cy], np.float64)
    for gate in (3.0 * tol, 2.0 * tol, tol, tol):
        for _ in range(3):
            d = pts - c
            dist = np.hypot(d[:, 0], d[:, 1])
            res = dist - radius
            near = (np.abs(res) < gate) & (dist > 1e-9)
            if near.sum() < 8:
                return None
            res = res - float(np.median(res[near]))
            inl = (np.abs(res) < gate) & (dist > 1e-9)
            if inl.sum() < 8:
                return None
            u = d[inl] / dist[inl, None]
            step, *_ = np.linalg.lstsq(u, res[inl], rcond=None)
            c = c + step
    return float(c[0]), float(c[1])


def fit_rim(
    gray: Gray,
    cx: float,
    cy: float,
    r: float,
    band: float = 0.25,
    n_rays: int = N_RAYS,
    passes: int = 2,
    known_radius: float | None = None,
    expect_radius: float | None = None,
) -> RimFit | None:
    """Refine a rough plate (cx, cy, r) on `gray`. None where no circle can be fitted. With
    `known_radius` (a tracked plate), a fit whose radius strays from it is redone at that radius. With
    `expect_radius` (a plate followed from frame to frame), the circle through the rays' outer edges
    may replace the one through their strongest (see _strongest_or_outline)."""
    fit: RimFit | None = None
    for p in range(passes):
        lo, hi = max(2.0, r * (1 - band)), r * (1 + band)
        pairs, _, strengths = rim_point_pairs(gray, cx, cy, lo, hi, n_rays)
        if len(pairs) < 8:
            return fit
        tol = max(1.0, 0.025 * r)
        which, sol = _strongest_or_outline(pairs, tol, expect_radius)
        if sol is None:
            return fit
        pts, strength = pairs[:, which], strengths[:, which]
        ncx, ncy, nr = (float(v) for v in sol)
        res = np.abs(np.hypot(pts[:, 0] - ncx, pts[:, 1] - ncy) - nr)
        inl = res < tol
        n_in = int(inl.sum())
        # Coverage: inlier rays over the whole circle, so a rim cut by the frame edge scores lower.
        cover = n_in / n_rays
        rms = float(np.sqrt(np.mean(res[inl] ** 2)))
        x, y, free_r = ncx, ncy, nr
        if n_in >= 0.6 * n_rays and p == passes - 1:
            # An off-axis plate images as an ellipse; its centre beats a circle's when the rim is well seen.
            e = cv2.fitEllipseAMS(pts[inl].astype(np.float32))
            (ex, ey), (ea, eb) = e[0], e[1]
            if min(ea, eb) > 0 and max(ea, eb) / min(ea, eb) < 1.35 and np.hypot(ex - x, ey - y) < 0.1 * nr:
                x, y = float(ex), float(ey)
        if known_radius is not None and p == passes - 1 and abs(nr / known_radius - 1.0) > 0.015:
            c = centre_at_radius(pts, ncx, ncy, known_radius, tol)
            if c is not None:
                res_k = np.abs(np.hypot(pts[:, 0] - c[0], pts[:, 1] - c[1]) - known_radius)
                inl_k = res_k < tol
                # Kept only where most of the rim agrees with it; else the free fit stands.
                if int(inl_k.sum()) >= max(8, n_in // 2):
                    free_r, x, y, res, inl, nr = nr, c[0], c[1], res_k, inl_k, known_radius
                    n_in = int(inl.sum())
                    cover, rms = n_in / n_rays, float(np.sqrt(np.mean(res[inl] ** 2)))
        fit = RimFit(
            x=x,
            y=y,
            radius=nr,
            inlier_frac=n_in / max(1, len(pts)),
            coverage=cover,
            contrast=float(np.median(strength[inl])),
            rms=rms,
            radius_fixed=nr == known_radius,
            free_radius=free_r,
        )
        if np.hypot(ncx - cx, ncy - cy) > 0.5 * r or not 0.6 * r < nr < 1.5 * r:
            return None
        cx, cy, r = ncx, ncy, nr
        band = min(band, 0.12)
    return fit
