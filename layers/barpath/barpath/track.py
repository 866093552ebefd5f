"""Track the bar end through the whole clip.

Seeding: detect plates in every frame of the first seconds and keep the one that moves with the lift
(barpath.plate_seed). Tracking: forward-backward checked Lucas-Kanade on plate texture at a working scale
carries the plate from frame to frame; a sub-pixel rim fit on the full-resolution ROI then measures its
centre (the fit, not the flow, is the position wherever the rim is seen). Where neither works the position
coasts at constant velocity for at most COAST_S, then the frame is `lost` and full-frame re-detection
looks for the plate again. Every input frame yields exactly one TrackPoint, in order."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from barpath.detect.base import Candidate, Detector, FrameBGR
from barpath.detect.circle_fit import RimFit
from barpath.detect.plate import CHANNELS, refine_full
from barpath.errors import NoPlateFoundError
from barpath.plate_seed import MAX_RADII_PER_S, MOTION_SETTLE_S, Seeder, Tracklet
from barpath.schema import State
from barpath.video import Frame, VideoInfo


@dataclass
class TrackPoint:
    i: int
    t: float
    x: float | None  # bar-end (plate) centre, upright px; None when lost
    y: float | None
    radius: float | None  # plate radius in px where measured this frame (for calibration)
    state: State
    confidence: float  # 0..1


SEED_MAX_S = 6.0  # give up waiting for motion and take the clearest steady plate after this long
COAST_S = 0.5  # constant-velocity prediction at most this long, then `lost`
LK_LONG_SIDE = 640
FIT_MIN_QUALITY = 0.40
RADIUS_REPORT_QUALITY = 0.6  # radius goes to calibration only from fits at least this clean
REDETECT_EVERY_S = 0.2  # while lost or coasting
RECHECK_EVERY_S = 1.0  # full-frame check while tracking on flow alone


def track(
    frames: Iterable[Frame],
    detector: Detector,
    info: VideoInfo,
    progress: Callable[[int], None] | None = None,
) -> Iterator[TrackPoint]:
    """One TrackPoint per input frame, in order (may yield with a bounded delay).

    Raises NoPlateFoundError when the working plate is never found."""
    done = 0

    def emit(p: TrackPoint) -> TrackPoint:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done)
        return p

    it = iter(frames)
    seeder = Seeder()
    pending: list[tuple[int, float]] = []
    chosen: Tracklet | None = None
    start: Frame | None = None
    first_motion: float | None = None
    for fr in it:
        pending.append((fr.i, fr.t))
        seeder.add(fr.i, fr.t, detector.detect(fr.image))
        mover = seeder.moving()
        if mover is not None and first_motion is None:
            first_motion = fr.t
        settled = first_motion is not None and fr.t - first_motion >= MOTION_SETTLE_S
        settled = settled or (mover is not None and seeder.is_clearest(mover))
        if mover is not None and settled and mover.last_i == fr.i:
            chosen, start = mover, fr
            break
        if fr.t - pending[0][1] >= SEED_MAX_S:
            steady = seeder.best_static()
            if steady is not None and steady.last_i == fr.i:
                chosen, start = steady, fr
                break
    else:
        chosen = seeder.moving() or seeder.best_static()
    if chosen is None:
        name = info.path.name if info.path else "video"
        raise NoPlateFoundError(
            f"{name}: no barbell plate found; film the lift from the side with the near plate in view"
        )
    chosen = seeder.extend_back(chosen)
    for p in _from_tracklet(chosen, pending):
        yield emit(p)
    if start is None:
        return
    tracker = PlateTracker(start.image, start.t, chosen.last, detector)
    for fr in it:
        yield emit(tracker.step(fr))


def _from_tracklet(tr: Tracklet, frames: list[tuple[int, float]]) -> Iterator[TrackPoint]:
    """Seeding-window frames: detections where the plate was found, linear interpolation (honestly
    `predicted`, low confidence) across short gaps, `lost` elsewhere."""
    hit_is = sorted(tr.hits)
    for i, t in frames:
        c = tr.hits.get(i)
        if c is not None:
            radius = None if i in tr.other_ring else c.radius
            yield TrackPoint(i, t, c.x, c.y, radius, "detected", round(float(c.score), 3))
            continue
        before = [k for k in hit_is if k < i]
        after = [k for k in hit_is if k > i]
        if before and after:
            a, b = before[-1], after[0]
            ta, tb = tr.times[a], tr.times[b]
            if tb - ta <= 2 * COAST_S:
                w = (t - ta) / max(tb - ta, 1e-9)
                ca, cb = tr.hits[a], tr.hits[b]
                x = ca.x + w * (cb.x - ca.x)
                y = ca.y + w * (cb.y - ca.y)
                yield TrackPoint(i, t, x, y, None, "predicted", 0.3)
                continue
        yield TrackPoint(i, t, None, None, None, "lost", 0.0)


Pts = npt.NDArray[np.float32]


class PlateTracker:
    """Frame-to-frame tracking of one plate after seeding."""

    def __init__(self, image: FrameBGR, t: float, seed: Candidate, detector: Detector) -> None:
        self.detector = detector
        h, w = image.shape[:2]
        self.scale = max(1.0, max(h, w) / LK_LONG_SIDE)  # full-res px per LK px
        self.x, self.y = seed.x, seed.y
        self.vx = self.vy = 0.0
        self.t = t
        self.t_measured = t
        self.t_checked = t
        self.radii: deque[float] = deque([seed.radius], maxlen=45)
        self.channel = self._pick_channel(image, seed)
        self.lost = False
        self.redetected = False
        self.prev_small = self._small(image)
        self.pts: Pts = self._features(self.prev_small)

    @property
    def radius(self) -> float:
        return float(np.median(self.radii))

    def _pick_channel(self, image: FrameBGR, seed: Candidate) -> str:
        best, best_q = CHANNELS[0], -1.0
        for chan in CHANNELS:
            f = refine_full(image, seed.x, seed.y, seed.radius, chan)
            if f is not None and f.quality > best_q:
                best, best_q = chan, f.quality
        return best

    def _small(self, image: FrameBGR) -> npt.NDArray[np.uint8]:
        g = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), np.uint8)
        if self.scale == 1.0:
            return g
        h, w = g.shape
        small = cv2.resize(g, (round(w / self.scale), round(h / self.scale)), interpolation=cv2.INTER_AREA)
        return np.asarray(small, np.uint8)

    def _features(self, small: npt.NDArray[np.uint8]) -> Pts:
        """Corners on the plate face (inside the rim, so the background does not pull the flow)."""
        mask = np.zeros_like(small)
        cx, cy, r = self.x / self.scale, self.y / self.scale, self.radius / self.scale
        cv2.circle(mask, (round(cx), round(cy)), max(2, int(r * 0.85)), 255, -1)
        pts = cv2.goodFeaturesToTrack(small, 60, 0.01, max(2.0, r / 10), mask=mask, blockSize=5)
        if pts is None:
            return np.zeros((0, 1, 2), np.float32)
        return pts.astype(np.float32)

    def _flow(self, small: npt.NDArray[np.uint8]) -> tuple[float, float, float] | None:
        """Median forward-backward-checked displacement of the plate's corners (LK px), with the share
        of corners that passed."""
        if len(self.pts) < 5:
            return None
        lk = dict(
            winSize=(21, 21), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03)
        )
        p1, st1, _ = cv2.calcOpticalFlowPyrLK(self.prev_small, small, self.pts, None, **lk)  # type: ignore[call-overload]
        p0b, st2, _ = cv2.calcOpticalFlowPyrLK(small, self.prev_small, p1, None, **lk)  # type: ignore[call-overload]
        fb = np.linalg.norm((self.pts - p0b).reshape(-1, 2), axis=1)
        good = (st1.ravel() == 1) & (st2.ravel() == 1) & (fb < 1.0)
        if good.sum() < 5:
            return None
        d = (p1 - self.pts).reshape(-1, 2)[good]
        med = np.median(d, axis=0)
        # Corners moving unlike the median (a body in front) do not count as support.
        agree = np.linalg.norm(d - med, axis=1) < max(1.5, 0.05 * self.radius / self.scale)
        self.pts = p1[good][agree].reshape(-1, 1, 2)
        return float(med[0]), float(med[1]), float(agree.sum()) / len(good)

    def _accept(self, f: RimFit | None, near: tuple[float, float], tol: float) -> bool:
        if f is None or f.quality < FIT_MIN_QUALITY:
            return False
        if abs(f.radius / self.radius - 1.0) > 0.15:
            return False
        return float(np.hypot(f.x - near[0], f.y - near[1])) <= tol * self.radius

    def _possible(self, x: float, y: float, dt: float) -> bool:
        """Reject physically impossible jumps from the last known position."""
        step = float(np.hypot(x - self.x, y - self.y))
        return step <= self.radius * (0.3 + MAX_RADII_PER_S * max(dt, 1e-3))

    def step(self, fr: Frame) -> TrackPoint:
        dt = max(fr.t - self.t, 1e-6)
        small = self._small(fr.image)
        pred = (self.x + self.vx * dt, self.y + self.vy * dt)
        flow = None if self.lost else self._flow(small)
        state: State
        seed = pred
        if flow is not None:
            seed = (self.x + flow[0] * self.scale, self.y + flow[1] * self.scale)
        fit: RimFit | None = None
        if not self.lost:
            f = refine_full(fr.image, seed[0], seed[1], self.radius, self.channel)
            if self._accept(f, seed, 0.3 if flow is not None else 0.6):
                assert f is not None
                if self._possible(f.x, f.y, fr.t - self.t_measured):
                    fit = f
        redetect_due = fr.t - self.t_checked >= (RECHECK_EVERY_S if flow is not None else REDETECT_EVERY_S)
        if fit is None and (self.lost or redetect_due):
            fit = self._redetect(fr, seed)
        if fit is not None:
            x, y = fit.x, fit.y
            state, conf = "detected", fit.quality
            radius = fit.radius if fit.quality >= RADIUS_REPORT_QUALITY else None
            self.radii.append(fit.radius)
        elif flow is not None and self._possible(seed[0], seed[1], dt):
            x, y = seed
            state, conf, radius = "tracked", 0.4 + 0.3 * flow[2], None
        elif not self.lost and fr.t - self.t_measured <= COAST_S:
            x, y = pred
            frac = (fr.t - self.t_measured) / COAST_S
            state, conf, radius = "predicted", 0.3 * (1.0 - frac) + 0.05, None
        else:
            self.lost = True
            self.t = fr.t
            self.prev_small = small
            return TrackPoint(fr.i, fr.t, None, None, None, "lost", 0.0)
        if self.redetected:
            self.vx = self.vy = 0.0
            self.t_measured = fr.t
        elif state != "predicted":
            mdt = max(fr.t - self.t, 1e-6)
            a = 0.6
            self.vx = a * (x - self.x) / mdt + (1 - a) * self.vx
            self.vy = a * (y - self.y) / mdt + (1 - a) * self.vy
            self.t_measured = fr.t
        self.x, self.y, self.t = x, y, fr.t
        self.lost = False
        self.prev_small = small
        if state == "detected" and (self.redetected or len(self.pts) < 15 or fr.i % 10 == 0):
            self.pts = self._features(small)
        self.redetected = False
        return TrackPoint(fr.i, fr.t, x, y, radius, state, float(np.clip(conf, 0.0, 1.0)))

    def _redetect(self, fr: Frame, near: tuple[float, float]) -> RimFit | None:
        """Full-frame detection; take the plate of the right size nearest the expected place."""
        self.t_checked = fr.t
        cands = [c for c in self.detector.detect(fr.image) if 0.75 < c.radius / self.radius < 1.33]
        if not cands:
            return None
        gap = fr.t - self.t_measured
        reach = self.radius * (0.5 + MAX_RADII_PER_S * min(gap, 1.0))
        best = min(cands, key=lambda c: np.hypot(c.x - near[0], c.y - near[1]))
        if np.hypot(best.x - near[0], best.y - near[1]) > reach and gap < 2.0:
            return None
        f = refine_full(fr.image, best.x, best.y, best.radius, self.channel)
        if f is None or f.quality < FIT_MIN_QUALITY or abs(f.radius / self.radius - 1) > 0.2:
            return None
        self.lost = False
        self.redetected = True
        return f
