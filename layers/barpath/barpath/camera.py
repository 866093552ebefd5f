"""Camera motion from the background, so that a hand-held clip's numbers are the bar's, not the phone's.

A training partner's phone drifts and turns while the set goes on: on the hand-held squat in the footage
the lifter's shoe moves 27 px in the picture, about 4 cm, while it stands still on the floor. The bar's
image position is its position in the room plus that motion, so velocities and range of motion would
carry it.

`MotionTap` follows corners on a small grey copy while the tracker decodes (no second decode), from a
key frame through the frames after it, and keeps only their positions. Once the bar's track is known,
`solve` fits each frame's view to its key frame's from the corners away from the bar and the lifter,
and chains the key frames, so every position can be put back into the first frame's view. Whether the
camera moved is judged on similarities (shift, roll, zoom); where it did, the maps are homographies,
the exact model of a turning camera with any lens. A camera whose motion stays below what the estimate
resolves is taken as still, and its clip is measured exactly as before.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from barpath.plate_flow import Grey, lk_fb
from barpath.track import TrackPoint

Pts = npt.NDArray[np.float32]  # (n, 2), or (n, 1, 2) as OpenCV's flow takes them
Mat = npt.NDArray[np.float64]
F64 = npt.NDArray[np.float64]

FEATURE_SIDE = 480  # px, the longer side of the grey copy corners are followed on
# Spread over the picture (spread_corners), 160 follow the room as well as 300 of the strongest did (the
# footage's still things stayed as still or stiller) at half the flow's cost.
MAX_CORNERS = 160
REPLENISH_BELOW = 80  # corners still followed; fewer, and a fresh set is found
REKEY_FRAMES = 90  # a fresh set at least this often: a corner's small errors add up as it is followed
MIN_CORNER_GAP = 8  # px on the grey copy
GRID = (8, 6)  # columns, rows: no cell holds more than CELL_SHARE of the corners (spread_corners)
CELL_SHARE = 1 / 40
# Corners this strong against the strongest count: low, so a plain wall's faint texture still has some
# when a sharp pattern (a shirt, a poster) sets the scale.
CORNER_QUALITY = 0.001
# The room moves a few grey px a frame at most: a smaller window and pyramid than the plate's flow needs.
_LK: dict[str, Any] = {
    "winSize": (15, 15),
    "maxLevel": 2,
    "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03),
}
FB_MAX = 0.5  # px on the grey copy: a corner that does not come back to itself is dropped
FIT_MIN_CORNERS = 20  # background corners a frame's fit needs, and that many of them must agree
FIT_MIN_SHARE = 0.3
RANSAC_PX = 0.75  # px on the grey copy: a corner farther than this from the fit disagrees
# The bar, the plate and the lifter move on their own: corners within this many plate radii of the bar,
# and below head height within that band, never vote.
BAR_CLEAR_R = 2.0
HEAD_ABOVE_BAR_R = 2.5
# Below this (px on the grey copy, at the bar, the largest over the clip) the estimate cannot tell a
# moving camera from its own noise (still cameras read up to 0.45: 1.4 px on a 1080p tripod clip), and
# the camera is taken as still.
STILL_PX = 1.0
RADII_BEFORE_FITS = 10  # plate radii measured before any frame is fitted
MAX_FAILED_SHARE = 0.1  # more frames without a fit than this, and the motion is not trusted at all


@dataclass
class Corners:
    """One frame's corners: where they were in the key frame (when they were found) and where they are
    now, in full-resolution pixels."""

    key: int
    at_key: Pts
    now: Pts


@dataclass
class MotionTap:
    """Corners followed from a key frame through the frames after it. Fitting each frame to its key
    frame rather than to the frame before keeps the fits' own errors from adding up frame after frame;
    only the few key-to-key steps chain.

    A frame's corners are kept only until the bar's place in its key frame is known (`bar`); then they are
    fitted and dropped, so a long clip keeps a few hundred bytes a frame, not its corners."""

    full_size: tuple[int, int]  # (width, height) of the picture the frames show
    # Where that picture's top-left corner lies in the pixels positions are reported in (a picture
    # inside black bars: video.VideoInfo.window).
    origin: tuple[float, float] = (0.0, 0.0)
    fits: list[_Fit | None] = field(default_factory=list)  # per frame, once fitted
    keys: list[int] = field(default_factory=list)  # per frame, its key frame
    _pending: dict[int, Corners] = field(default_factory=dict)  # frames not fitted yet
    _bars: dict[int, tuple[float, float] | None] = field(default_factory=dict)  # key frame -> bar there
    _unseen: list[int] = field(default_factory=list)  # key frames whose bar was lost: the next seen one
    _last_bar: tuple[float, float] | None = None
    _radii: deque[float] = field(default_factory=lambda: deque(maxlen=300))
    _told = 0  # frames whose bar `bar` has been told
    _key_frames: set[int] = field(default_factory=set)
    _prev: Grey | None = None
    _key = 0
    _at_key: Pts = field(default_factory=lambda: np.zeros((0, 1, 2), np.float32))
    _pts: Pts = field(default_factory=lambda: np.zeros((0, 1, 2), np.float32))
    _scale: tuple[float, float] = (1.0, 1.0)
    _rough: list[Mat] = field(default_factory=list)  # frame 0 -> frame k, from all corners

    def add(self, image: npt.NDArray[np.uint8]) -> None:
        """Take the next frame: BGR or grey, any size with the video's aspect (the tracker's grey working
        copy costs least)."""
        h, w = image.shape[:2]
        f = min(1.0, FEATURE_SIDE / max(w, h))
        size = (max(1, round(w * f)), max(1, round(h * f)))
        # Grey first, then area averaging: half the cost of shrinking three channels, and bilinear
        # shrinking, cheaper still, aliases the corners (the hand-held squat's shoe then moved 2.5x as much).
        grey: Grey = np.asarray(
            cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image, np.uint8
        )
        if f < 1.0:
            grey = np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), np.uint8)
        self._scale = (self.full_size[0] / size[0], self.full_size[1] / size[1])
        k = len(self.keys)
        if self._prev is not None and len(self._pts):
            moved, good = lk_fb(self._prev, grey, self._pts, FB_MAX, _LK)
            self._at_key, self._pts = self._at_key[good], moved[good]
        self.keys.append(self._key)
        self.fits.append(None)
        if k > 0:
            self._pending[k] = Corners(self._key, self._full(self._at_key), self._full(self._pts))
        if len(self._pts) < REPLENISH_BELOW or k - self._key >= REKEY_FRAMES:
            self._pts = spread_corners(grey)
            self._at_key, self._key = self._pts.copy(), k
            self._key_frames.add(k)
        self._prev = grey
        self._fit_ready()

    def bar(self, i: int, x: float | None, y: float | None, radius: float | None) -> None:
        """The tracked bar at frame i (full-resolution px; None where lost), frames in order: where the
        bar and the lifter are, corners move on their own and do not vote."""
        if x is not None and y is not None:
            self._last_bar = (x, y)
            for j in self._unseen:  # lost there: the nearest place seen after
                self._bars[j] = self._last_bar
            self._unseen.clear()
        if radius is not None and radius > 0:
            self._radii.append(radius)
        if i in self._key_frames:
            self._bars[i] = self._last_bar
            if self._last_bar is None:
                self._unseen.append(i)
        self._told = i + 1
        self._fit_ready()

    def finish(self) -> None:
        """Fit what is left (key frames whose bar was never seen: every corner votes)."""
        for j in self._unseen:
            self._bars[j] = None
        self._unseen.clear()
        for k, c in list(self._pending.items()):
            self.fits[k] = self._fit(c, self._bars.get(c.key))
        self._pending.clear()

    def _fit_ready(self) -> None:
        if len(self._radii) < RADII_BEFORE_FITS:
            return  # the lifter's band is sized by the plate: wait until its radius is known
        for k, c in list(self._pending.items()):
            if c.key in self._bars and c.key not in self._unseen:
                self.fits[k] = self._fit(c, self._bars[c.key])
                del self._pending[k]

    def _fit(self, c: Corners, bar: tuple[float, float] | None) -> _Fit | None:
        radius = float(np.median(self._radii)) if self._radii else 0.0
        return _fit(c, bar, radius, RANSAC_PX * self.grey_px)

    def _full(self, pts: Pts) -> Pts:
        # Pixel centres sit on integer coordinates: scale about the image edge.
        sx, sy = self._scale
        out = (
            (pts.reshape(-1, 2) + 0.5) * np.array([sx, sy], np.float32)
            - 0.5
            + np.array(self.origin, np.float32)
        )
        return np.asarray(out, dtype=np.float32)

    def rough_to_first(self, i: int) -> Mat:
        """Frame i's view -> the first frame's, fitted to all corners: before the bar is found, the most
        corners that move together are taken as the room. For choosing the working plate only; the
        numbers use `solve`, which leaves the bar and the lifter out."""
        if i >= len(self.keys):
            return np.eye(3)
        tol = RANSAC_PX * self.grey_px
        if not self._rough:
            self._rough.append(np.eye(3))
        while len(self._rough) <= i:
            k = len(self._rough)
            c = self._pending.get(k)
            fit = self.fits[k] if c is None else _fit(c, None, 0.0, tol)
            step = None if fit is None else fit.similarity
            self._rough.append(self._rough[-1] if step is None else step @ self._rough[self.keys[k]])
        return np.asarray(np.linalg.inv(self._rough[i]), np.float64)

    @property
    def grey_px(self) -> float:
        """Full-resolution pixels per pixel of the grey copy."""
        return max(self._scale)


def spread_corners(grey: Grey) -> Pts:
    """The strongest corners, at most CELL_SHARE of MAX_CORNERS in any cell of a GRID grid, strongest
    first. Without the cap a checked shirt walking past near the camera held most of the 300 corners,
    outvoted the room, and its walk was taken for the camera's."""
    found = cv2.goodFeaturesToTrack(grey, 4 * MAX_CORNERS, CORNER_QUALITY, MIN_CORNER_GAP, blockSize=5)
    if found is None:
        return np.zeros((0, 1, 2), np.float32)
    pts = found.reshape(-1, 2)
    h, w = grey.shape[:2]
    cols, rows = GRID
    cell = np.minimum((pts[:, 1] * rows / h).astype(int), rows - 1) * cols + np.minimum(
        (pts[:, 0] * cols / w).astype(int), cols - 1
    )
    cap = max(1, math.ceil(CELL_SHARE * MAX_CORNERS))
    taken = np.zeros(cols * rows, int)
    keep = []
    for k, c in enumerate(cell):  # strongest first, as goodFeaturesToTrack returns them
        if taken[c] < cap:
            taken[c] += 1
            keep.append(k)
            if len(keep) == MAX_CORNERS:
                break
    return np.asarray(pts[keep].reshape(-1, 1, 2), np.float32)


@dataclass
class CameraPath:
    """Where each frame's view lies against the first frame's: to_first[k] maps frame k's pixels into
    frame 0's (3x3). `moving` is False for a still (or unmeasurable) camera, whose maps are all identity."""

    to_first: list[Mat]
    moving: bool
    max_shift_px: float  # the largest the camera moved the bar's image, px
    failed_frames: int  # frames whose view could not be fitted (taken as the frame before's)
    reason: str = ""

    def steadied(self, points: Sequence[TrackPoint]) -> list[TrackPoint]:
        """Copies of `points` with their positions in the first frame's view."""
        if not self.moving:
            return list(points)
        out = []
        for p, m in zip(points, self.to_first, strict=True):
            if p.x is None or p.y is None:
                out.append(p)
                continue
            x, y = _apply(m, p.x, p.y)
            out.append(replace(p, x=x, y=y))
        return out

    def summary(self) -> dict[str, Any]:
        """For path.json's summary: "compensated", "still", or "unmeasured" (too little background to
        tell; the positions are then used as the picture has them)."""
        state = "compensated" if self.moving else ("unmeasured" if self.reason else "still")
        return {
            "camera_motion": state,
            "camera_max_shift_px": round(self.max_shift_px, 2),
            "camera_frames_unfitted": self.failed_frames,
            **({"camera_note": self.reason} if self.reason else {}),
        }


def still(n: int, reason: str = "") -> CameraPath:
    return CameraPath([np.eye(3)] * n, False, 0.0, 0, reason)


def solve(tap: MotionTap, points: Sequence[TrackPoint]) -> CameraPath:
    """The camera's motion through the clip, from the corners away from the bar at each frame."""
    n = len(points)
    if n == 0 or len(tap.keys) != n:
        return still(n, "no corner motion for this clip" if n else "")
    for p in points[tap._told :]:  # a caller that did not tell the tap the bar as it went
        tap.bar(p.i, p.x, p.y, p.radius)
    tap.finish()
    fits = tap.fits
    failed = sum(f is None or f.similarity is None for f in fits[1:])
    if failed > MAX_FAILED_SHARE * (n - 1):
        return still(
            n, f"camera motion unmeasured: {failed} of {n - 1} frames had too few background corners"
        )
    # Whether the camera moved at all is judged on similarities: with fewer degrees of freedom they
    # stay closer to still where it is (a homography bent towards the lifter's corners read 1.5 grey px
    # on a still rendered deadlift, a similarity 0.45).
    shift = _largest_shift(points, _chain(tap.keys, fits, homography=False))
    if shift < STILL_PX * tap.grey_px:
        return CameraPath([np.eye(3)] * n, False, shift, failed)
    # Where it moved, homographies: a turning phone with a wide lens moves the picture's edges unlike
    # its middle, which a similarity cannot follow (the hand-held squat's shoe: 2.4 px left against 10).
    to_first = _chain(tap.keys, fits, homography=True)
    return CameraPath(to_first, True, _largest_shift(points, to_first), failed)


def _chain(keys: list[int], fits: list[_Fit | None], homography: bool) -> list[Mat]:
    """Each frame's map to the first frame's view: its fit to its key frame, after the key frame's own."""
    to_frame = [np.eye(3)]  # frame 0 -> frame k
    for k in range(1, len(fits)):
        f = fits[k]
        step = None
        if f is not None:
            step = f.homography if homography and f.homography is not None else f.similarity
        if step is None:
            to_frame.append(to_frame[k - 1])  # no fit: the camera is taken to stay where it was
        else:
            to_frame.append(step @ to_frame[keys[k]])
    return [np.asarray(np.linalg.inv(m), np.float64) for m in to_frame]


def _largest_shift(points: Sequence[TrackPoint], to_first: list[Mat]) -> float:
    """The farthest the camera moved the bar's image from where the first frame's view has it, px."""
    shift = 0.0
    for p, m in zip(points, to_first, strict=True):
        if p.x is not None and p.y is not None:
            x, y = _apply(m, p.x, p.y)
            shift = max(shift, math.hypot(x - p.x, y - p.y))
    return shift


@dataclass
class _Fit:
    """A frame's view against its key frame's, both ways (None where that model found no agreement)."""

    similarity: Mat | None
    homography: Mat | None
    agree: tuple[int, int]  # corners each explains (similarity, homography)


def _fit(c: Corners, bar: tuple[float, float] | None, radius: float, tol: float) -> _Fit | None:
    """The maps that take the key frame's view to this frame's, from the corners that vote."""
    before, after = c.at_key, c.now
    if len(before) < FIT_MIN_CORNERS:
        return None
    keep = np.ones(len(before), bool)
    if bar is not None and radius > 0:
        dx = np.abs(before[:, 0] - bar[0])
        dy = before[:, 1] - bar[1]
        near = np.hypot(dx, dy) < BAR_CLEAR_R * radius
        body = (dx < BAR_CLEAR_R * radius) & (dy > -HEAD_ABOVE_BAR_R * radius)
        keep = ~(near | body)
    voters = int(keep.sum())
    if voters < FIT_MIN_CORNERS:
        return None
    sim, sim_in = cv2.estimateAffinePartial2D(
        before[keep], after[keep], method=cv2.RANSAC, ransacReprojThreshold=tol, maxIters=500
    )
    # MAGSAC weighs each corner by how well it fits rather than cutting at `tol`: on the footage's still
    # things (a shoe, a bottle, a bench) its median residual motion was 40 % below plain RANSAC's.
    hom, hom_in = cv2.findHomography(before[keep], after[keep], cv2.USAC_MAGSAC, tol, maxIters=500)
    n_sim = int(sim_in.sum()) if sim is not None and sim_in is not None else 0
    n_hom = int(hom_in.sum()) if hom is not None and hom_in is not None else 0

    def enough(agree: int) -> bool:
        return agree >= FIT_MIN_CORNERS and agree >= FIT_MIN_SHARE * voters

    # A homography that explains fewer corners than the similarity has bent towards a few of them (a
    # pan with the corners in one band of the picture): the similarity is the better map there.
    return _Fit(
        np.vstack([sim, [0.0, 0.0, 1.0]]) if sim is not None and enough(n_sim) else None,
        np.asarray(hom, np.float64) if hom is not None and enough(n_hom) and n_hom >= n_sim else None,
        (n_sim, n_hom),
    )


def project(m: Mat, x: F64, y: F64) -> tuple[F64, F64]:
    """Points (x, y) through the map(s) `m`: one 3x3 for many points, or one per point ((n, 3, 3))."""
    d = m[..., 2, 0] * x + m[..., 2, 1] * y + m[..., 2, 2]
    return (m[..., 0, 0] * x + m[..., 0, 1] * y + m[..., 0, 2]) / d, (
        m[..., 1, 0] * x + m[..., 1, 1] * y + m[..., 1, 2]
    ) / d


def _apply(m: Mat, x: float, y: float) -> tuple[float, float]:
    px, py = project(m, np.array([x]), np.array([y]))
    return float(px[0]), float(py[0])
