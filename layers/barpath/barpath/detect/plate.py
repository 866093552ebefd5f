"""The weight-free plate finder: circle candidates by radial voting on a small copy of the frame, in
brightness and in colour (a dark green plate on a dark floor has little brightness contrast but plenty
of colour contrast), scored by how much of a whole, sharp rim each has, then refined to sub-pixel on the
full-resolution frame.

One frame cannot say which plate is the working one (racks and floors hold round plates too): the
tracker decides that from motion over the first seconds (barpath.plate_seed)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from barpath.detect.base import Candidate, FrameBGR
from barpath.detect.circle_fit import Gray, RimFit, fit_rim, rim_points
from barpath.detect.radial_vote import radial_vote

DETECT_LONG_SIDE = 320  # plates are big: 320 px keeps even a far plate above ~8 px radius
CHANNELS = ("gray", "chroma")
MIN_R_FRAC, MAX_R_FRAC = 0.06, 0.45  # plate radius as a fraction of the frame's short side


def channel(bgr: FrameBGR, name: str) -> Gray:
    """A single-channel image in which a plate rim shows as an edge: brightness or colourfulness."""
    if name == "gray":
        return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), np.uint8)
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2Lab)
    a = lab[..., 1].astype(np.float32) - 128.0
    b = lab[..., 2].astype(np.float32) - 128.0
    # Not cv2.magnitude: its vector path is an ulp off on about a quarter of the values (7.0000005 for
    # (0, 7)), and which values take it depends on where the arrays sit in memory. Some then truncate
    # to another integer here, and the same clip gave one of two tracks from run to run.
    chroma = np.clip(2.0 * np.hypot(a, b), 0, 255)
    return np.asarray(chroma, np.uint8)


def around(frame: FrameBGR, x: float, y: float, margin: float) -> tuple[FrameBGR, int, int] | None:
    """The frame within `margin` px of (x, y), cut at the frame's edges, and where its top-left corner
    lies; None where less than 8 px of it is left either way (a plate run off the picture)."""
    h, w = frame.shape[:2]
    x0, y0 = max(0, int(x - margin)), max(0, int(y - margin))
    x1, y1 = min(w, int(x + margin) + 1), min(h, int(y + margin) + 1)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    return frame[y0:y1, x0:x1], x0, y0


def smoothed(patch: FrameBGR, chan: str, r: float) -> Gray:
    """One channel of a plate's neighbourhood, blurred in proportion to the plate so a big plate's
    texture and compression blocks do not out-edge its rim."""
    grey = channel(patch, chan) if patch.ndim == 3 else patch
    return np.asarray(cv2.GaussianBlur(grey, (0, 0), max(0.8, r / 120)), np.uint8)


def refine_full(
    frame: FrameBGR,
    x: float,
    y: float,
    r: float,
    chan: str = "gray",
    band: float = 0.2,
    known_radius: float | None = None,
    expect_radius: float | None = None,
) -> RimFit | None:
    """Refine a plate estimate on the full-resolution frame, looking only at a ROI around it
    (`known_radius`, `expect_radius`: see fit_rim)."""
    near = around(frame, x, y, r * (1 + band) + 8)
    if near is None:
        return None
    patch, x0, y0 = near
    roi = smoothed(patch, chan, r)
    f = fit_rim(roi, x - x0, y - y0, r, band=band, known_radius=known_radius, expect_radius=expect_radius)
    if f is None:
        return None
    return replace(f, x=f.x + x0, y=f.y + y0)


ROUND_RIM_MIN = 0.45  # share of rays that must find a strong edge on the circle for a never-moving plate


def rim_support(frame: FrameBGR, x: float, y: float, r: float) -> float:
    """Share of the rays from (x, y) that meet a strong edge on the circle of radius r, in the channel
    where most do. A plate's rim is an edge nearly all the way round. The rim fit's quality counts any
    ray whose strongest edge lands on the circle, and on a flat patch that is noise: a circle inscribed
    in a colour bar (two straight sides and a floor touching it, the rest flat) scores like half a plate.
    Here an edge counts only where it is strong compared with the circle's best edges."""
    near = around(frame, x, y, 1.2 * r + 8)
    if near is None:
        return 0.0
    patch, x0, y0 = near
    best = 0.0
    for chan in CHANNELS:
        roi = smoothed(patch, chan, r)
        pts, _, strength = rim_points(roi, x - x0, y - y0, 0.85 * r, 1.15 * r)
        if len(pts) == 0:
            continue
        d = np.hypot(pts[:, 0] - (x - x0), pts[:, 1] - (y - y0))
        strong = strength >= max(4.0, 0.3 * float(np.percentile(strength, 80)))
        on = np.abs(d - r) <= max(1.5, 0.05 * r)
        best = max(best, float(np.count_nonzero(strong & on)) / len(pts))
    return best


# A model's plate box is re-centred on a rim only this close to the box: its size and centre.
BOX_RIM_RADIUS_TOL = 0.2
BOX_RIM_OFFSET_TOL = 0.35  # plate radii
BOX_RIM_MIN_QUALITY = 0.40


def centre_on_rim(frame: FrameBGR, cand: Candidate) -> Candidate:
    """A trained model's plate box, re-centred on the plate's rim where one fits it.

    A box centre is a few pixels from the plate's centre at best, and a sleeve-tip box puts it on the
    sleeve end, which perspective moves off the plate's centre (ARCHITECTURE: x, y are the plate's
    centre). On real footage the boxes' centres sat 15-30 px from the rim's centre, and the tracker
    followed that point until its next rim fit. Plates the rim fit cannot confirm (cut by the frame's
    edge, blurred) keep the model's centre."""
    if cand.label != "plate":
        return cand
    x0, y0, x1, y1 = cand.box
    bx, by, r = (x0 + x1) / 2, (y0 + y1) / 2, cand.radius
    best: RimFit | None = None
    for chan in CHANNELS:
        f = refine_full(frame, bx, by, r, chan)
        if f is None or f.quality < BOX_RIM_MIN_QUALITY or abs(f.radius / r - 1) > BOX_RIM_RADIUS_TOL:
            continue
        if np.hypot(f.x - bx, f.y - by) > BOX_RIM_OFFSET_TOL * r:
            continue
        if best is None or f.quality > best.quality:
            best = f
    return cand if best is None else replace(cand, x=best.x, y=best.y, radius=best.radius)


@dataclass(frozen=True)
class PlateCandidate:
    fit: RimFit  # full-resolution coordinates
    channel: str

    @property
    def quality(self) -> float:
        return self.fit.quality


class PlateFinder:
    """Detector protocol implementation that needs no trained weights."""

    name = "plate"

    def __init__(
        self,
        max_candidates: int = 8,
        min_quality: float = 0.35,
        refine_top: int = 5,
        reach: float = 1.0,
    ) -> None:
        """`reach` > 1 looks for plates that much smaller (in the frame's short side) on a copy that much
        larger, so they are as many pixels across there as the nearest-filmed plates at 1 (far_plate)."""
        self.max_candidates = max_candidates
        self.min_quality = min_quality
        self.refine_top = refine_top
        self.reach = reach
        self.min_r_frac = MIN_R_FRAC / reach
        self.long_side = round(DETECT_LONG_SIDE * reach)

    def smallest_radius(self, width: int, height: int) -> float:
        """The smallest plate radius (px) it reports in a frame of this size."""
        return self.min_r_frac * min(width, height)

    def detect(self, frame: FrameBGR) -> list[Candidate]:
        return [_candidate(c) for c in self.find(frame)]

    def find(self, frame: FrameBGR) -> list[PlateCandidate]:
        """Plate candidates, best first, with the channel their rim shows best in."""
        if frame.ndim == 2:
            frame = np.asarray(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), np.uint8)
        h, w = frame.shape[:2]
        s = max(h, w) / self.long_side
        # max(1, ...): a sliver like 4097x3 would otherwise shrink to zero rows and make OpenCV throw.
        small = frame
        if s > 1:
            size = (max(1, round(w / s)), max(1, round(h / s)))
            small = np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), np.uint8)
        s = max(s, 1.0)
        short = min(small.shape[:2])
        found: list[PlateCandidate] = []
        for chan in CHANNELS:
            g = np.asarray(cv2.GaussianBlur(channel(small, chan), (0, 0), 1.0), np.uint8)
            for x, y, r, _ in radial_vote(g, short * self.min_r_frac, short * MAX_R_FRAC):
                f = fit_rim(g, x, y, r, passes=1)
                if f is not None and f.quality >= self.min_quality and f.radius >= short * self.min_r_frac:
                    full = RimFit(
                        f.x * s, f.y * s, f.radius * s, f.inlier_frac, f.coverage, f.contrast, f.rms
                    )
                    found.append(PlateCandidate(full, chan))
        kept = _suppress(found, self.max_candidates)
        out: list[PlateCandidate] = []
        for k, c in enumerate(kept):
            if k < self.refine_top and s > 1:
                f = refine_full(frame, c.fit.x, c.fit.y, c.fit.radius, c.channel)
                if f is not None and (f.quality >= 0.8 * c.quality or _same_rim(f, c.fit)):
                    c = PlateCandidate(f, c.channel)
            out.append(c)
        out.sort(key=lambda c: -c.quality)
        return out


def _same_rim(fine: RimFit, coarse: RimFit) -> bool:
    """Whether the full-resolution fit stayed on the rim the shrunk frame found. Its quality reads lower
    than the shrunk one's (texture and print break up more rays at full size), but its centre is the
    precise one: the shrunk frame's was 4 px off at 1080p on a 136 px plate."""
    r = coarse.radius
    near = np.hypot(fine.x - coarse.x, fine.y - coarse.y) <= 0.05 * r
    return bool(near and abs(fine.radius / r - 1) <= 0.05)


# Concentric fits this much apart in radius are two rings of one plate (a hub, a metal plate's flange),
# and the outer one, fitted clearly enough, is its rim. Closer, they are one rim's two edges (a lip and
# the outline: 1.06) and the better fit stands. At 1.3 a flange 1.15-1.27x inside the rim of the outdoor
# deadlift's plate won whenever it fitted better: seeding took it on the mirrored clip (its pull read
# 0.43 m/s for 0.45) and on a 640 px copy (0.65).
OUTER_RIM_RATIO = 1.1
OUTER_RIM_MIN_QUALITY = 0.45


def _suppress(found: list[PlateCandidate], limit: int) -> list[PlateCandidate]:
    """One candidate per plate. Concentric rings (hub, flange, rim) are one plate: keep the outer rim
    when it is good enough, since the radius calibrates the scale."""
    found = sorted(found, key=lambda c: -c.quality)
    kept: list[PlateCandidate] = []
    for c in found:
        clash = None
        for n, k in enumerate(kept):
            d = float(np.hypot(c.fit.x - k.fit.x, c.fit.y - k.fit.y))
            if d < 0.5 * max(c.fit.radius, k.fit.radius):
                clash = n
                break
        if clash is None:
            kept.append(c)
        else:
            k = kept[clash]
            if c.fit.radius > OUTER_RIM_RATIO * k.fit.radius and c.quality >= OUTER_RIM_MIN_QUALITY:
                kept[clash] = PlateCandidate(c.fit, c.channel)
    kept.sort(key=lambda c: -c.quality)
    return kept[:limit]


def _candidate(c: PlateCandidate) -> Candidate:
    f = c.fit
    r = f.radius
    return Candidate(
        x=f.x,
        y=f.y,
        radius=r,
        score=float(np.clip(c.quality, 0.0, 1.0)),
        box=(f.x - r, f.y - r, f.x + r, f.y + r),
        label="plate",
    )
