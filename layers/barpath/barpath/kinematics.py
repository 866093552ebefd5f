"""Scale, smoothing, velocities and reps: the track's pixels and timestamps in, metres and m/s out.

Scale. The plate's radius, measured by the tracker in many frames, is reduced to one robust value
(median after rejecting outliers by MAD); its relative spread says how sure the scale is. With no
usable radius there is no scale: calibration.method is "none" and every metre / m/s value is NaN (null
in path.json) with `summary["velocity_unavailable_reason"]` saying why. A scale is never guessed.

Time. Only the frames' true timestamps are used (phone video has a variable frame rate). Positions are
resampled onto a uniform grid per stretch of track, smoothed with a Savitzky-Golay filter (cubic, 0.4 s: the
cubic keeps a clean's velocity peak; shorter windows turn 1 px of noise into 0.05 m/s) which also gives
the derivative, then read back at the frames' own times. `predicted` frames (the tracker's guesses while
it saw nothing) are not measurements and are bridged like gaps. Gaps up to MAX_GAP_S are bridged for the
derivative only; the per-frame arrays stay NaN wherever the track was lost. Isolated jumps the tracker
got wrong are rejected as outliers of the smooth fit before the final pass.

Reps. The bar's height is cut into legs that move at least max(MIN_ROM_M, REP_FRACTION x the largest
excursion) vertically, so unrack, walk-out, re-rack and the lifter's steps never count. A rep starts at
the level the bar rests at: at the top for squat and bench (eccentric then concentric), at the bottom
for deadlift and the Olympic lifts (concentric then eccentric). Which one is read from the motion: the
level the first big move leaves from rest, or where that move was first seen away from its level or
under way, the level the last one comes to rest at; `lift=` may force it. A rep lasts until the bar is
back near the level it started from, so the catch and recovery of a clean or snatch belong to its one
fast pull. Each phase's ends are where the bar's vertical velocity is zero: first read off the smoothed
velocity (its crossing at a turnaround, its slope extrapolated to zero at a stop), then refined by
fitting one smooth move (minimum jerk, or a half cosine where that fits clearly better) to the raw
heights of the whole phase, robustly (a few frames off do not drag it), which times a stop to a few ms
where the still, slow tails defeat any velocity threshold. The fit may not run past a point where the
bar reverses (a pull turning into the drop under the bar; on a clip's first and last frames, only where
the raw heights show it): such an edge is a turnaround, read at the velocity's zero crossing, whatever
shape the pull had. A drive the clip starts or stops inside (the bar never slowed to CUT_FRACTION of its
top speed between the clip's edge and that speed) is no rep: its numbers would be of a part of it.
`summary["reps_cut_off"]` counts those; a lowering cut the same way leaves its rep's eccentric phase
out.

Conventions. Per frame: `vy_mps` up positive. Per phase: `displacement_m` (range of motion),
`mean_velocity_mps` (displacement / duration) and `peak_velocity_mps` are magnitudes; the phase name
gives the direction. Velocity loss is best-vs-last mean concentric velocity
(`summary["velocity_loss_method"] == "best_vs_last"`); first-vs-last is given too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.optimize import least_squares
from scipy.signal import savgol_filter

from barpath.schema import Calibration, Phase, Rep
from barpath.track import TrackPoint

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

MAX_GAP_S = 0.3  # longer losses are not bridged: the bar can do anything in that time
SMOOTH_WINDOW_S = 0.4
SMOOTH_POLYORDER = 3
MIN_RADIUS_SAMPLES = 3
MAX_RADIUS_REL_SPREAD = 0.25  # beyond this the "plate" is not one plate: no scale rather than a wrong one
MIN_ROM_M = 0.15
MIN_ROM_PX = 20.0  # used only when there is no scale
REP_FRACTION = 0.4
LEVEL_FRACTION = 0.35  # "back at the start level" = within this fraction of the largest excursion
OLYMPIC_PEAK_MPS = 1.4  # deadlifts rarely pass it; clean and snatch pulls always do
LOW_FRACTION = 0.1
# A move the clip's edge cuts into is going at least this share of its top speed there. Not LOW_FRACTION:
# the smoothed velocity is noisiest at an edge, and a pull starting on a 640x360 copy's first frame read
# 10.5 % there and was dropped (0 reps). Footage trimmed halfway up the drive read 44-100 %. The price:
# a drive filmed from where it reached up to a fifth of its top speed (under 2 % of its travel missed)
# counts, and its mean velocity reads up to about 15 % fast (rendered pulls).
CUT_FRACTION = 0.2
HIGH_FRACTION = 0.6
# A phase is seen whole where the track shows the bar this long before its start and after its end. A
# pull filmed from a few % of its travel reads 5-16 % fast, and nothing in its numbers shows it.
SEEN_MARGIN_S = 0.1
TURNAROUND_GAP_S = 0.1
HEIGHT_WINDOW_S = 0.15
FIT_MARGIN_S = 0.4
ABRUPT_EVIDENCE = 0.8  # cost ratio the half cosine must beat
# Heights further than this off the fitted move count less and less (a Cauchy loss): a few frames whose
# rim fit took a plate's lip (3 px on a 70 px plate) read every rendered pull's start 8-9 ms late by
# plain least squares. Good fits scatter a few tenths of a pixel.
MOVE_FIT_SCALE_PX = 1.0
REVERSAL_FRACTION = 0.08  # smoothed-velocity noise at rest stays well below this share of the peak
# ... except on a stretch's first and last frames, where the filter extrapolates: a rendered pull filmed
# from its first frame dipped to 17 % there, with the bar still. There the raw heights must show the
# reverse move too: this many times their noise back from where the bar turned (and half a pixel).
EDGE_REVERSAL_NOISES = 3.0

TOP_START_LIFTS = ("squat", "bench", "press", "top")
BOTTOM_START_LIFTS = ("deadlift", "clean", "snatch", "olympic", "bottom")


@dataclass
class Analysis:
    calibration: Calibration
    reps: list[Rep]
    summary: dict[str, Any]
    t: FloatArray  # per frame, seconds
    x_px: FloatArray  # smoothed, NaN where unknown
    y_px: FloatArray
    vy_mps: FloatArray  # vertical velocity, up positive, NaN where unknown
    speed_mps: FloatArray
    phase: list[str] = field(default_factory=list)  # per frame: "concentric" | "eccentric" | "rest"
    rep_of_frame: list[int] = field(default_factory=list)  # per frame: rep index (1-based) or 0
    vx_mps: FloatArray | None = None  # horizontal velocity, image right positive
    lift_pattern: str | None = None  # "top_start" | "bottom_start" | "olympic"; None without reps


def analyse(
    points: Sequence[TrackPoint], plate_diameter_m: float = 0.45, lift: str | None = None
) -> Analysis:
    """Everything the render and path.json need from the track. `lift` (e.g. "squat", "deadlift",
    "clean") only forces where reps start; by default that is read from the motion."""
    n = len(points)
    t = np.array([p.t for p in points], dtype=np.float64)
    lost = np.array([p.state == "lost" or p.x is None or p.y is None for p in points], dtype=bool)
    # A predicted position is the tracker's guess while it saw nothing (coasting on a decaying speed):
    # measured as if seen, a clean's occluded catch read 6 px low and put its pull's end late (0.015-0.035
    # m/s slow). The smoother bridges those frames like any short gap.
    unseen = lost | np.array([p.state == "predicted" for p in points], dtype=bool)
    x_raw = np.array([np.nan if unseen[k] else p.x for k, p in enumerate(points)], dtype=np.float64)
    y_raw = np.array([np.nan if unseen[k] else p.y for k, p in enumerate(points)], dtype=np.float64)

    calibration, scale_reason = calibrate(points, plate_diameter_m)
    mpp = calibration.meters_per_pixel
    scale = mpp if mpp is not None else math.nan

    track = smooth_track(t, x_raw, y_raw)
    # Segmentation works on height, up positive, in px; metres only scale the results.
    height = -track.y
    vy_px = -track.vy
    segmentation = segment_reps(t, height, vy_px, track, mpp, lift)

    reps = [_rep_record(k + 1, r, track, scale) for k, r in enumerate(segmentation.reps)]
    seen = _stretches(t, np.isfinite(x_raw) & np.isfinite(y_raw))
    for rep in reps:
        for ph in (rep.concentric, rep.eccentric):
            if ph is not None:
                ph.seen_whole = _seen_whole(t, seen, ph.start_t, ph.end_t)
    phase, rep_of_frame = _frame_labels(t, segmentation.reps)

    out_x = np.where(lost, np.nan, track.x)
    out_y = np.where(lost, np.nan, track.y)
    vy_mps = np.where(lost, np.nan, vy_px * scale)
    vx_mps = np.where(lost, np.nan, track.vx * scale)
    speed = np.hypot(vx_mps, vy_mps)

    tracked = int(n - lost.sum())
    summary = _summary(reps, segmentation.pattern, tracked, n, calibration, scale_reason)
    summary["reps_cut_off"] = segmentation.cut_off
    summary["reps_seen_in_part"] = sum(1 for r in reps if not r.concentric.seen_whole)
    return Analysis(
        calibration=calibration,
        reps=reps,
        summary=summary,
        t=t,
        x_px=out_x,
        y_px=out_y,
        vy_mps=vy_mps,
        speed_mps=speed,
        phase=phase,
        rep_of_frame=rep_of_frame,
        vx_mps=vx_mps,
        lift_pattern=segmentation.pattern,
    )


# ---------------------------------------------------------------------------------------------- scale


def calibrate(points: Sequence[TrackPoint], plate_diameter_m: float) -> tuple[Calibration, str | None]:
    """Robust plate radius over the clip -> metres per pixel; or no scale and the reason why."""
    radii = np.array(
        [
            p.radius
            for p in points
            if p.state != "lost" and p.radius is not None and math.isfinite(p.radius) and p.radius > 0
        ],
        dtype=np.float64,
    )
    none = Calibration("none", plate_diameter_m, None, None, None, int(radii.size))
    if not (math.isfinite(plate_diameter_m) and plate_diameter_m > 0):
        return none, f"plate diameter {plate_diameter_m!r} m is not a positive size"
    if radii.size < MIN_RADIUS_SAMPLES:
        return none, f"plate radius measured in {radii.size} frame(s); need at least {MIN_RADIUS_SAMPLES}"
    med = float(np.median(radii))
    mad = _mad(radii, med)
    # A floor on the tolerance: identical measurements (MAD 0) must not reject a one-pixel wobble.
    keep = np.abs(radii - med) <= max(3.0 * mad, 0.02 * med)
    good = radii[keep]
    radius = float(np.median(good))
    spread = _mad(good, radius) / radius
    if spread > MAX_RADIUS_REL_SPREAD:
        cal = Calibration("none", plate_diameter_m, None, None, spread, int(good.size))
        return cal, f"plate radius too inconsistent across frames (relative spread {spread:.0%})"
    return (
        Calibration(
            method="plate",
            plate_diameter_m=plate_diameter_m,
            plate_radius_px=round(radius, 3),
            meters_per_pixel=plate_diameter_m / (2.0 * radius),
            radius_rel_spread=round(spread, 5),
            radius_samples=int(good.size),
        ),
        None,
    )


def _mad(values: FloatArray, centre: float) -> float:
    """Median absolute deviation scaled to a Gaussian sigma."""
    return 1.4826 * float(np.median(np.abs(values - centre))) if values.size else 0.0


# ------------------------------------------------------------------------------------------ smoothing


@dataclass
class SmoothTrack:
    """Per frame, gaps up to MAX_GAP_S bridged: position (px) and velocity (px/s), NaN elsewhere."""

    x: FloatArray
    y: FloatArray
    vx: FloatArray
    vy: FloatArray
    used: BoolArray  # frames whose raw position was trusted (not lost, not an outlier)
    t: FloatArray
    x_raw: FloatArray
    y_raw: FloatArray
    # Frames within half a smoothing window of their stretch's first or last frame: the filter reads
    # their velocity off a polynomial fitted to one side only, an extrapolation.
    edge: BoolArray
    noise_px: float  # how far raw heights scatter about the smoothed ones (robust sigma)


def smooth_track(t: FloatArray, x: FloatArray, y: FloatArray) -> SmoothTrack:
    n = t.size
    known = np.isfinite(x) & np.isfinite(y)
    xs, ys, vx, vy = (np.full(n, np.nan) for _ in range(4))
    used = known.copy()
    edge = np.zeros(n, dtype=bool)
    for lo, hi in _stretches(t, known):
        idx = np.arange(lo, hi + 1)
        half = 0.5 * SMOOTH_WINDOW_S
        edge[idx] = (t[idx] < t[lo] + half) | (t[idx] > t[hi] - half)
        ok = known[idx]
        # Two passes: the first fit exposes single-frame jumps (a wrong blob), the second ignores them.
        for _ in range(2):
            fit = _savgol_at(t[idx], x[idx], y[idx], ok)
            if fit is None:
                break
            fx, fy, _, _ = fit
            resid = np.hypot(x[idx] - fx, y[idx] - fy)
            r_ok = resid[ok]
            sigma = _mad(r_ok, 0.0) if r_ok.size else 0.0
            bad = ok & (resid > max(6.0 * sigma, 4.0))
            if not bad.any():
                break
            ok = ok & ~bad
        fit = _savgol_at(t[idx], x[idx], y[idx], ok)
        used[idx] = ok
        if fit is None:
            xs[idx], ys[idx] = np.where(ok, x[idx], np.nan), np.where(ok, y[idx], np.nan)
            continue
        xs[idx], ys[idx], vx[idx], vy[idx] = fit
    scatter = np.abs(y - ys)[used & np.isfinite(ys)]
    noise = _mad(scatter, 0.0) if scatter.size else 0.0
    return SmoothTrack(xs, ys, vx, vy, used, t, x, y, edge, noise)


def _stretches(t: FloatArray, known: BoolArray) -> list[tuple[int, int]]:
    """Runs of frames (first and last known frame) with no loss longer than MAX_GAP_S."""
    idx = np.flatnonzero(known)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(t[idx]) > MAX_GAP_S)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [idx.size - 1]))
    return [(int(idx[a]), int(idx[b])) for a, b in zip(starts, ends, strict=True)]


def _savgol_at(
    t: FloatArray,
    x: FloatArray,
    y: FloatArray,
    ok: BoolArray,
    window_s: float = SMOOTH_WINDOW_S,
    polyorder: int = SMOOTH_POLYORDER,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray] | None:
    """Savitzky-Golay position and derivative on a uniform grid over [t0, t1], read back at `t`."""
    tk = t[ok]
    if tk.size < polyorder + 2 or tk[-1] <= tk[0]:
        return None
    dt = float(np.median(np.diff(tk)))
    dt = min(dt, (tk[-1] - tk[0]) / (polyorder + 1))
    grid = np.arange(tk[0], tk[-1] + dt * 0.5, dt)
    win = int(round(window_s / dt)) | 1
    win = max(win, polyorder + 2 + (polyorder % 2 == 0))
    if win > grid.size:
        win = grid.size if grid.size % 2 else grid.size - 1
    order = min(polyorder, win - 2)
    if order < 1:
        return None
    out = []
    for v in (x[ok], y[ok]):
        g = np.interp(grid, tk, v)
        pos = savgol_filter(g, win, order, deriv=0, mode="interp")
        vel = savgol_filter(g, win, order, deriv=1, delta=dt, mode="interp")
        out.append(np.interp(t, grid, pos))
        out.append(np.interp(t, grid, vel))
    return out[0], out[2], out[1], out[3]


# --------------------------------------------------------------------------------------- segmentation


@dataclass
class PhaseSpan:
    direction: int  # +1 up, -1 down
    start_t: float
    end_t: float
    start_h: float  # height (px, up positive) at the boundaries, from the boundary fits
    end_h: float
    peak_px_s: float  # peak speed along `direction`, px/s


@dataclass
class RepSpan:
    concentric: PhaseSpan
    eccentric: PhaseSpan | None
    start_t: float
    end_t: float


@dataclass
class Segmentation:
    reps: list[RepSpan]
    pattern: str | None
    cut_off: int = 0  # reps whose concentric phase the clip did not show whole (not counted)


@dataclass
class _Leg:
    i0: int
    i1: int
    direction: int


def segment_reps(
    t: FloatArray,
    height: FloatArray,
    v_up: FloatArray,
    track: SmoothTrack,
    mpp: float | None,
    lift: str | None = None,
) -> Segmentation:
    min_leg_px = MIN_ROM_M / mpp if mpp is not None else MIN_ROM_PX
    valid = np.isfinite(height)
    if valid.sum() < 3:
        return Segmentation([], None)
    lo, hi = np.percentile(height[valid], [0.5, 99.5])
    excursion = float(hi - lo)
    threshold = max(REP_FRACTION * excursion, min_leg_px)
    legs = [g for g in _zigzag(height, threshold) if not _mostly_horizontal(g, track)]
    if not legs:
        return Segmentation([], None)
    tolerance = LEVEL_FRACTION * excursion
    cut = {id(leg): _cut_ends(leg, v_up, valid) for leg in legs}
    start: Literal["top", "bottom"]
    if lift is not None and lift.lower() in TOP_START_LIFTS:
        start = "top"
    elif lift is not None and lift.lower() in BOTTOM_START_LIFTS:
        start = "bottom"
    else:
        start = _start_level(legs, height, float(lo), float(hi), tolerance, cut)
    base = float(hi) if start == "top" else float(lo)
    leave = -1 if start == "top" else 1  # the direction in which a rep leaves its resting level

    groups: list[list[_Leg]] = []
    current: list[_Leg] | None = None
    away: set[int] = set()  # first legs that did not leave from the resting level
    drive_cut = 0
    for leg in legs:
        at_base_start = abs(height[leg.i0] - base) <= tolerance
        at_base_end = abs(height[leg.i1] - base) <= tolerance
        if current is None:
            # A clip that starts mid-move starts a rep there: a squat filmed from mid-descent still
            # shows its whole way up. So does the first move from wherever the bar rested first: a
            # clean from the hang or from blocks, dropped to the floor after (0 reps before).
            if leg.direction == leave and (at_base_start or cut[id(leg)][0] or leg is legs[0]):
                current = [leg]
                if not at_base_start:
                    away.add(id(leg))
            elif start == "top" and leg.direction == 1 and cut[id(leg)][0]:
                drive_cut = 1  # a squat filmed from mid-drive: that drive is cut off
            continue
        current.append(leg)
        if leg.direction == -leave and at_base_end:
            groups.append(current)
            current = None
    if current is not None:
        groups.append(current)

    spans = _phase_spans(t, v_up, track, [leg for g in groups for leg in g])
    reps: list[RepSpan] = []
    intermediate = False
    cut_off = drive_cut
    for g in groups:
        con_leg, ecc_leg = (g[-1], g[0]) if start == "top" else (g[0], g[-1])
        if start == "top" and con_leg.direction != 1:
            # Went down and never came back up: not a completed rep, and one the clip cut off where
            # it ended while the bar was still going down.
            cut_off += cut[id(con_leg)][1]
            continue
        if any(cut[id(con_leg)]):
            # Part of the drive happened off the clip: its mean velocity would be of another move (a
            # deadlift cut mid-pull read 0.81 m/s for 0.70), and the last rep sets the velocity loss.
            cut_off += 1
            continue
        con = spans[id(con_leg)]
        ecc_opt = spans[id(ecc_leg)] if ecc_leg.direction == -1 and ecc_leg is not con_leg else None
        if ecc_opt is not None and (any(cut[id(ecc_leg)]) or id(ecc_leg) in away):
            ecc_opt = None  # a lowering seen in part: its numbers would be the part's
        if start == "top":
            rep = RepSpan(con, ecc_opt, ecc_opt.start_t if ecc_opt else con.start_t, con.end_t)
        else:
            rep = RepSpan(con, ecc_opt, con.start_t, ecc_opt.end_t if ecc_opt else con.end_t)
            intermediate = intermediate or len(g) > 2
        if abs(rep.concentric.end_h - rep.concentric.start_h) < min_leg_px:
            continue
        reps.append(rep)
    if not reps:
        return Segmentation([], None, cut_off)
    pattern = "top_start" if start == "top" else "bottom_start"
    if start == "bottom":
        fastest = max(r.concentric.peak_px_s for r in reps)
        if intermediate or (mpp is not None and fastest * mpp >= OLYMPIC_PEAK_MPS):
            pattern = "olympic"
    return Segmentation(reps, pattern, cut_off)


def _start_level(
    legs: list[_Leg],
    height: FloatArray,
    lo: float,
    hi: float,
    tolerance: float,
    cut: dict[int, tuple[bool, bool]],
) -> Literal["top", "bottom"]:
    """Where reps start: the level the first big move leaves from rest (down from the top: squat,
    bench; up from the floor: deadlift, Olympic lifts). Where that move was first seen away from its
    level or under way (the clip began in it, or the plate was found only then), the level the last big
    move comes to rest at says it, since a set ends where it began (re-racked, or the bar back on the
    floor). A deadlift whose plate was first found halfway down from a lockout a passer-by hid read as a
    squat from that lowering: the pull after it had no descent before it and was not counted."""
    first, last = legs[0], legs[-1]
    if abs(height[first.i0] - (hi if first.direction < 0 else lo)) <= tolerance and not cut[id(first)][0]:
        return "top" if first.direction < 0 else "bottom"
    if abs(height[last.i1] - (lo if last.direction < 0 else hi)) <= tolerance and not cut[id(last)][1]:
        return "bottom" if last.direction < 0 else "top"
    return "top" if first.direction < 0 else "bottom"


def _cut_ends(leg: _Leg, v_up: FloatArray, seen: BoolArray) -> tuple[bool, bool]:
    """Whether the clip (or the track) starts / ends inside the leg's move: between the first (last) seen
    frame and the leg's fastest, the bar never slowed to CUT_FRACTION of that speed. Not the speed at the
    edge alone: a smoothed velocity is noisiest there."""
    idx = np.flatnonzero(seen)
    sv = leg.direction * v_up[leg.i0 : leg.i1 + 1]
    finite = np.isfinite(sv)
    if idx.size == 0 or not finite.any():
        return False, False
    k = int(np.nanargmax(sv))
    rest = finite & (sv <= CUT_FRACTION * sv[k])
    return (
        bool(leg.i0 == idx[0] and not rest[: k + 1].any()),
        bool(leg.i1 == idx[-1] and not rest[k:].any()),
    )


def _zigzag(h: FloatArray, threshold: float) -> list[_Leg]:
    """Legs between turning points that reverse by at least `threshold` (NaN samples skipped)."""
    idx = np.flatnonzero(np.isfinite(h))
    pivots: list[int] = []
    direction = 0
    hi_i = lo_i = int(idx[0])
    for i in idx:
        v = h[i]
        if direction >= 0 and v > h[hi_i]:
            hi_i = int(i)
        if direction <= 0 and v < h[lo_i]:
            lo_i = int(i)
        if direction >= 0 and h[hi_i] - v >= threshold:
            pivots.append(hi_i)
            direction, lo_i = -1, int(i)
        elif direction <= 0 and v - h[lo_i] >= threshold:
            pivots.append(lo_i)
            direction, hi_i = 1, int(i)
    if direction == 0:
        return []
    last = hi_i if direction > 0 else lo_i
    if abs(h[last] - h[pivots[-1]]) >= threshold:
        pivots.append(last)
    legs = []
    for a, b in zip(pivots, pivots[1:], strict=False):
        legs.append(_Leg(a, b, 1 if h[b] > h[a] else -1))
    return legs


def _mostly_horizontal(leg: _Leg, track: SmoothTrack) -> bool:
    dx = abs(track.x[leg.i1] - track.x[leg.i0])
    dy = abs(track.y[leg.i1] - track.y[leg.i0])
    return bool(dx > 1.5 * dy)


def _phase_spans(
    t: FloatArray, v_up: FloatArray, track: SmoothTrack, legs: list[_Leg]
) -> dict[int, PhaseSpan]:
    """Each leg's moving phase, from where the bar's vertical velocity is zero before its peak to the
    zero after. Two kinds of boundary: a turnaround (the bar reverses at once, as at the bottom of a
    touch-and-go squat), where the smoothed velocity crosses zero cleanly and that crossing is used;
    and a start from or stop into rest, where smoothing spreads the stop, so the boundary is fitted to
    the zero is extrapolated along the velocity's slope (`_extrapolated_zero`)."""
    info = []
    mirrored: dict[int, tuple[float, float] | None] = {}
    for leg in legs:
        seg = slice(leg.i0, leg.i1 + 1)
        sv = leg.direction * v_up[seg]
        if not np.isfinite(sv).any():
            info.append((leg, t[leg.i0], t[leg.i1], t[leg.i0], t[leg.i1], math.nan, t[leg.i0]))
            continue
        k = int(np.nanargmax(sv))
        crossings = (_crossing(t[seg], sv, k, -1), _crossing(t[seg], sv, k, 1))
        slopes = (_extrapolated_zero(t[seg], sv, k, -1), _extrapolated_zero(t[seg], sv, k, 1))
        info.append((leg, *crossings, *slopes, float(sv[k]), float(t[leg.i0 + k])))
        mirrored[id(leg)] = _mirrored(t[seg], sv, k)
    spans: dict[int, PhaseSpan] = {}
    for n, (leg, zs, ze, es, ee, peak, _t_peak) in enumerate(info):
        prev = info[n - 1] if n > 0 and info[n - 1][0].i1 == leg.i0 else None
        nxt = info[n + 1] if n + 1 < len(info) and info[n + 1][0].i0 == leg.i1 else None
        if prev is not None and es - prev[4] < TURNAROUND_GAP_S:
            ts = 0.5 * (zs + prev[2])
            hs = _boundary_height(track, ts, 0)
        else:
            ts, hs = es, _boundary_height(track, es, -1)
        if nxt is not None and nxt[3] - ee < TURNAROUND_GAP_S:
            te = 0.5 * (ze + nxt[1])
            he = _boundary_height(track, te, 0)
        else:
            te, he = ee, _boundary_height(track, ee, +1)
        if not te > ts:
            ts, te = zs, ze
            hs, he = _height_at(track, ts), _height_at(track, te)
        left = 0.5 * (ts + prev[4]) if prev is not None else ts - FIT_MARGIN_S
        right = 0.5 * (te + nxt[3]) if nxt is not None else te + FIT_MARGIN_S
        # A stop that turns into a small reverse move (a clean's drop under the bar into the catch) is
        # no rest: the fit must not see that reverse move, or it drags the phase's end early.
        unsure = (_unconfirmed(track, leg, zs, -1), _unconfirmed(track, leg, ze, +1))
        rev_left = _reversal_edge(t, leg.direction * v_up, zs, -1, peak, unsure[0])
        rev_right = _reversal_edge(t, leg.direction * v_up, ze, +1, peak, unsure[1])
        w0, w1 = max(left, rev_left, ts - FIT_MARGIN_S), min(right, rev_right, te + FIT_MARGIN_S)
        # Past a reversal edge there is no rest for a fitted stop to settle into (see _fit_move).
        hard = (w0 == rev_left, w1 == rev_right)
        fitted = _fit_move(track, ts, te, hs, he, w0, w1, hard=hard)
        guess = mirrored[id(leg)]
        if guess is not None:
            # A start or stop hidden by a gap the smoother does not bridge: its velocity walk lands on
            # the next frame seen, maybe a second on, and a fit started there can settle on a move
            # that long (a lone frame 0.8 s after a hidden lockout: 0.36 m/s for 0.70). A fit started
            # from the seen side mirrored about the peak runs too, on the same frames; the lower cost wins.
            g0, g1 = guess
            alt = _fit_move(track, g0, g1, _height_at(track, g0), _height_at(track, g1), w0, w1, hard=hard)
            if alt is not None and (fitted is None or alt[4] < fitted[4]):
                fitted = alt
        if fitted is not None:
            ts, te, hs, he, _ = fitted
        else:
            # Unfitted, an edge the bar reverses at is a turnaround, not a stop into rest: its zero
            # crossing and the top of a parabola there, not the median of the "rest" that moves away.
            if hard[0]:
                ts, hs = zs, _boundary_height(track, zs, 0)
            if hard[1]:
                te, he = ze, _boundary_height(track, ze, 0)
        spans[id(leg)] = PhaseSpan(leg.direction, ts, te, hs, he, peak)
    # Fits of two phases meeting at a turnaround may overlap by a few ms: they meet halfway.
    for a, b in zip(legs, legs[1:], strict=False):
        first, second = spans[id(a)], spans[id(b)]
        if a.i1 == b.i0 and first.end_t > second.start_t:
            first.end_t = second.start_t = 0.5 * (first.end_t + second.start_t)
    return spans


def _mirrored(t: FloatArray, sv: FloatArray, k: int) -> tuple[float, float] | None:
    """Where the phase around the peak at index k would start and stop if its side hidden by a gap
    (the speed unknown before it had fallen near zero) mirrored its seen side about the peak: both
    move shapes are symmetric. None where neither side, or both, is hidden."""
    known = np.isfinite(sv)
    a, b = k, k
    while a > 0 and known[a - 1]:
        a -= 1
    while b + 1 < sv.size and known[b + 1]:
        b += 1
    still = LOW_FRACTION * sv[k]
    hidden = (
        a > 0 and bool(np.all(sv[a:k] > still)),
        b + 1 < sv.size and bool(np.all(sv[k + 1 : b + 1] > still)),
    )
    if hidden[0] == hidden[1]:
        return None
    # The seen side's zero, read off its own stretch (the walk across the gap is what went wrong).
    t_peak = float(t[k])
    if hidden[1]:
        start = _extrapolated_zero(t[a : b + 1], sv[a : b + 1], k - a, -1)
        return start, 2 * t_peak - start
    stop = _extrapolated_zero(t[a : b + 1], sv[a : b + 1], k - a, 1)
    return 2 * t_peak - stop, stop


def _unconfirmed(track: SmoothTrack, leg: _Leg, t_zero: float, step: int) -> BoolArray:
    """The edge frames (SmoothTrack.edge), unless on the `step` side of the turn at `t_zero`, within the
    phase fit's reach (FIT_MARGIN_S), the raw heights of the three edge frames furthest out have clearly
    moved back the other way (EDGE_REVERSAL_NOISES): a clip ending in a clean's drop under the bar shows
    a real reversal, a clip starting or ending with a still bar only the filter's. The velocity shows a
    reversal frames before the heights do, so the whole side is judged by its outermost frames."""
    ahead = (track.t - t_zero) * step
    side = track.edge & track.used & (ahead > 0) & (ahead <= FIT_MARGIN_S)
    idx = np.flatnonzero(side)
    if idx.size == 0:
        return np.asarray(track.edge, dtype=bool)
    outer = idx[-3:] if step > 0 else idx[:3]
    back = step * leg.direction * (-float(np.median(track.y_raw[outer])) - _height_at(track, t_zero))
    if back < -max(EDGE_REVERSAL_NOISES * track.noise_px, 0.5):
        return np.zeros_like(track.edge)
    return np.asarray(track.edge, dtype=bool)


def _reversal_edge(
    t: FloatArray, sv: FloatArray, t_zero: float, step: int, peak: float, unconfirmed: BoolArray
) -> float:
    """From the zero crossing `t_zero` outward (`step`), the time at which the bar is clearly moving the
    other way (faster than REVERSAL_FRACTION of the leg's peak speed); infinitely far when it rests.

    Not on `unconfirmed` frames: where a clip starts as the pull does, the smoothed velocity of its first
    frames dipped below zero, that "reversal" kept the fitted move from starting before them, and the
    pull read 0.80-0.82 m/s for 0.69."""
    finite = np.isfinite(sv) & ~unconfirmed
    if not (finite.any() and math.isfinite(peak) and peak > 0):
        return step * math.inf
    limit = -REVERSAL_FRACTION * peak
    side = (t - t_zero) * step > 0
    hits = np.flatnonzero(side & finite & (sv < limit))
    if hits.size == 0:
        return step * math.inf
    j = hits[0] if step > 0 else hits[-1]
    return float(t[j])


def _min_jerk(tau: FloatArray) -> FloatArray:
    c = np.clip(tau, 0.0, 1.0)
    return c**3 * (10.0 - 15.0 * c + 6.0 * c**2)


def _half_cosine(tau: FloatArray) -> FloatArray:
    return (1.0 - np.cos(np.pi * np.clip(tau, 0.0, 1.0))) / 2.0


MOVE_SHAPES = (_min_jerk, _half_cosine)


def _fit_move(
    track: SmoothTrack,
    ts: float,
    te: float,
    hs: float,
    he: float,
    w0: float,
    w1: float,
    hard: tuple[bool, bool] = (False, False),
) -> tuple[float, float, float, float, float] | None:
    """Fit one smooth point-to-point move to the raw heights of a phase and its edges, so that its start
    and end use every sample of the phase: read off the velocity alone, a stop is blurred by the slow,
    nearly still tails. Two shapes bracket how a bar starts and stops: minimum jerk (the smoothest
    path, which human movement follows closely: zero acceleration at the ends) and a half cosine
    (abrupt: full acceleration at the ends). The one that fits better wins.

    `hard` marks window edges set by a reversal (a snatch's pull turning into the drop under the bar):
    the move may not start before a hard w0 or end after a hard w1. There a symmetric move does not
    describe the phase (a slow first pull, an explosive second), and a fit that carried its slow stop
    on past the data lengthened the phase by a third and overshot the height; the velocity-derived
    boundaries stand instead.

    Returns the move's start, stop, their heights, and the fit's cost (to weigh fits on the same
    frames started from other guesses)."""
    sel = track.used & (track.t >= w0) & (track.t <= w1)
    tt = track.t[sel]
    hh = -track.y_raw[sel]
    if tt.size < 8 or not (math.isfinite(hs) and math.isfinite(he)):
        return None
    dur = te - ts
    best: tuple[float, tuple[float, float, float, float, Callable[[FloatArray], FloatArray]]] | None = None
    for shape in MOVE_SHAPES:

        def resid(p: FloatArray, shape: Callable[[FloatArray], FloatArray] = shape) -> FloatArray:
            model: FloatArray = p[2] + p[3] * shape((tt - p[0]) / max(p[1], 1e-3))
            return model - hh

        try:
            fit = least_squares(
                resid,
                np.array([ts, dur, hs, he - hs]),
                x_scale=np.array([0.05, 0.05, 5.0, 5.0]),
                loss="cauchy",
                f_scale=MOVE_FIT_SCALE_PX,
            )
        except (ValueError, np.linalg.LinAlgError):
            continue
        t0, T, h0, D = (float(v) for v in fit.x)
        # A fit that wandered (the data did not look like one move) is not used.
        if not (fit.success and 0.5 * dur < T < 1.6 * dur and abs(t0 - ts) < 0.3 * dur + 0.1):
            continue
        if D * (he - hs) <= 0:
            continue
        if (hard[0] and t0 < w0) or (hard[1] and t0 + T > w1):
            continue
        # Minimum jerk unless the abrupt shape fits clearly better: on noisy tails the two look alike.
        cost = float(fit.cost) / (1.0 if shape is _min_jerk else ABRUPT_EVIDENCE)
        if best is None or cost < best[0]:
            best = (cost, (t0, T, h0, D, shape))
    if best is None:
        return None
    t0, T, h0, D, moved = best[1]
    # The move's times stay on the clip: where the video starts or ends inside it, the phase is what
    # was seen, its height there read off the fitted move.
    s, e = max(t0, float(track.t[0])), min(t0 + T, float(track.t[-1]))
    if e <= s:
        return None
    hs_fit, he_fit = h0 + D * moved(np.array([(s - t0) / T, (e - t0) / T]))
    return s, e, float(hs_fit), float(he_fit), best[0]


def _crossing(t: FloatArray, sv: FloatArray, k: int, step: int) -> float:
    """Walk from the peak (index k) in `step` direction to where the speed along the leg reaches zero."""
    j = k
    while 0 <= j + step < sv.size:
        nxt = j + step
        if np.isfinite(sv[nxt]) and sv[nxt] <= 0:
            a, b = sv[j], sv[nxt]
            frac = a / (a - b) if np.isfinite(a) and a != b else 0.0
            return float(t[j] + frac * (t[nxt] - t[j]))
        j = nxt
    return float(t[j])


def _extrapolated_zero(t: FloatArray, sv: FloatArray, k: int, step: int) -> float:
    """Where the speed would reach zero, extrapolating the clean part of its slope (between LOW_ and
    HIGH_FRACTION of the peak): the smoothed curve itself creeps to zero late where the bar stops. Not
    beyond where the speed falls through LOW_FRACTION, taken between frames and then half a frame on,
    which is on average where the first frame at or below it lies: snapped to that frame, a phase moved
    a whole frame when one sample's noise put it either side, and a snatch pull 1/30 s later in the
    video read 0.03 m/s apart (a frame of its 0.95 s)."""
    peak = float(sv[k])
    j = k
    ts: list[float] = []
    vs: list[float] = []
    bound: float | None = None
    while 0 <= j + step < sv.size:
        v = sv[j + step]
        if np.isfinite(v) and v <= LOW_FRACTION * peak:
            before = sv[j]
            if np.isfinite(before) and before > v:
                frac = (before - LOW_FRACTION * peak) / (before - v) + 0.5
                bound = float(np.clip(t[j] + frac * (t[j + step] - t[j]), t[0], t[-1]))
            break
        j += step
        if np.isfinite(v) and v <= HIGH_FRACTION * peak:
            ts.append(float(t[j]))
            vs.append(float(v))
    if bound is None:
        bound = float(t[min(max(j + step, 0), sv.size - 1)])
    if len(ts) >= 2 and max(ts) > min(ts):
        slope, icpt = np.polyfit(np.array(ts), np.array(vs), 1)
        if slope * step < 0:
            return float(np.clip(-icpt / slope, min(ts[-1], bound), max(ts[-1], bound)))
    return bound


def _boundary_height(track: SmoothTrack, t0: float, rest_side: int) -> float:
    """Height (px, up) at a phase boundary from the raw positions, not the smoothed ones (smoothing
    rounds off a sharp turnaround such as the top of a clean's pull): the median of the rest that
    follows (rest_side=+1) or precedes (-1) a stop, or a local parabola through a turnaround (0)."""
    near = track.used & (np.abs(track.t - t0) <= HEIGHT_WINDOW_S)
    if rest_side:
        side = near & ((track.t - t0) * rest_side >= 0)
        if side.sum() >= 2:
            return float(-np.median(track.y_raw[side]))
    elif near.sum() >= 4:
        d = track.t[near] - t0
        return float(-np.polyval(np.polyfit(d, track.y_raw[near], 2), 0.0))
    return _height_at(track, t0)


def _height_at(track: SmoothTrack, t: float) -> float:
    ok = np.isfinite(track.y)
    return float(-np.interp(t, track.t[ok], track.y[ok])) if ok.any() else math.nan


# ------------------------------------------------------------------------------------------- records


def _phase_record(span: PhaseSpan, scale: float) -> Phase:
    duration = span.end_t - span.start_t
    disp = abs(span.end_h - span.start_h) * scale
    return Phase(
        start_t=round(span.start_t, 4),
        end_t=round(span.end_t, 4),
        duration_s=round(duration, 4),
        displacement_m=_round(disp),
        mean_velocity_mps=_round(disp / duration if duration > 0 else math.nan),
        peak_velocity_mps=_round(span.peak_px_s * scale),
    )


def _rep_record(index: int, rep: RepSpan, track: SmoothTrack, scale: float) -> Rep:
    inside = (track.t >= rep.start_t) & (track.t <= rep.end_t) & np.isfinite(track.x)
    deviation = math.nan
    if inside.any():
        ok = np.isfinite(track.x)
        x0 = float(np.interp(rep.start_t, track.t[ok], track.x[ok]))
        deviation = float(np.max(np.abs(track.x[inside] - x0))) * scale
    return Rep(
        index=index,
        concentric=_phase_record(rep.concentric, scale),
        eccentric=_phase_record(rep.eccentric, scale) if rep.eccentric else None,
        horizontal_deviation_m=_round(deviation),
    )


def _seen_whole(t: FloatArray, stretches: list[tuple[int, int]], start_t: float, end_t: float) -> bool:
    """Whether one stretch of track (smooth_track's) holds the phase with SEEN_MARGIN_S to spare."""
    for lo, hi in stretches:
        if t[lo] <= start_t <= t[hi]:
            return bool(start_t - t[lo] >= SEEN_MARGIN_S and t[hi] - end_t >= SEEN_MARGIN_S)
    return False


def _round(v: float, nd: int = 4) -> float:
    return round(v, nd) if math.isfinite(v) else math.nan


def _frame_labels(t: FloatArray, reps: list[RepSpan]) -> tuple[list[str], list[int]]:
    phase = ["rest"] * t.size
    rep_of = [0] * t.size
    for k, rep in enumerate(reps, start=1):
        for i in np.flatnonzero((t >= rep.start_t) & (t <= rep.end_t)):
            rep_of[i] = k
        for name, span in (("concentric", rep.concentric), ("eccentric", rep.eccentric)):
            if span is None:
                continue
            for i in np.flatnonzero((t >= span.start_t) & (t <= span.end_t)):
                phase[i] = name
    return phase, rep_of


def _summary(
    reps: list[Rep],
    pattern: str | None,
    tracked: int,
    total: int,
    calibration: Calibration,
    scale_reason: str | None,
) -> dict[str, Any]:
    mcv = [r.concentric.mean_velocity_mps for r in reps]
    have_v = calibration.meters_per_pixel is not None and all(math.isfinite(v) for v in mcv)
    summary: dict[str, Any] = {
        "rep_count": len(reps),
        "tracked_fraction": round(tracked / total, 4) if total else 0.0,
        "lift_pattern": pattern,
        "velocity_available": calibration.meters_per_pixel is not None,
        "velocity_loss_pct": None,
        "velocity_loss_method": "best_vs_last",
        "velocity_loss_first_last_pct": None,
        "mean_concentric_velocity_mps": None,
        "best_concentric_velocity_mps": None,
        "peak_velocity_mps": None,
        "rom_mean_m": None,
        "concentric_duration_mean_s": _mean([r.concentric.duration_s for r in reps]),
        "eccentric_duration_mean_s": _mean([r.eccentric.duration_s for r in reps if r.eccentric]),
        "fastest_rep": None,
        "slowest_rep": None,
        "mean_concentric_velocity_by_rep_mps": mcv if have_v else None,
    }
    if scale_reason is not None:
        summary["velocity_unavailable_reason"] = f"no scale: {scale_reason}"
    if reps and have_v:
        best = max(mcv)
        summary.update(
            mean_concentric_velocity_mps=_mean(mcv),
            best_concentric_velocity_mps=best,
            peak_velocity_mps=max(r.concentric.peak_velocity_mps for r in reps),
            rom_mean_m=_mean([r.concentric.displacement_m for r in reps]),
            fastest_rep=reps[int(np.argmax(mcv))].index,
            slowest_rep=reps[int(np.argmin(mcv))].index,
        )
        if len(reps) >= 2:
            summary["velocity_loss_pct"] = round((best - mcv[-1]) / best * 100.0, 2)
            summary["velocity_loss_first_last_pct"] = round((mcv[0] - mcv[-1]) / mcv[0] * 100.0, 2)
    return summary


def _mean(values: list[float]) -> float | None:
    good = [v for v in values if math.isfinite(v)]
    return round(float(np.mean(good)), 4) if good else None
