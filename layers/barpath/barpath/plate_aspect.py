"""How round the working plate looks: a camera turned away from side-on squeezes it across.

The plate finder, the rim fit and the scale all assume a round plate. Turned 30 degrees, the plate is an
upright ellipse 0.87 as wide as it is tall; at 45 degrees 0.71. Fitted with circles there, the centre sat
10-27 px off on a rendered squat and the scale came from a radius between the two axes: velocities
read up to 54 % high. The bar's motion is squeezed across exactly as the plate's face is (both lie in
the plane the lift moves in), so stretching the picture across by 1 / aspect makes the plate round
again and the lift's proportions true: the tracker then works as on a side view (barpath.pipeline).

`measure` finds the aspect on one frame. The plate's size is only roughly known (a circle fitted to an
ellipse lands between its axes), so the rim is fitted in copies of the plate's neighbourhood stretched
across by a few trial factors; where the rim is fitted best the plate is nearly round, and an ellipse
through that fit's rim points gives the rest. `Watch` takes the median over a few frames after seeding,
where enough of them agree.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from barpath.detect.base import FrameBGR
from barpath.detect.circle_fit import Gray, RimFit, fit_rim, rim_points
from barpath.detect.plate import CHANNELS, around, smoothed

# Width over height of the plate tried: side-on is 1; a camera turned 60 degrees gives 0.5, one looking
# down on the plate more than 1. Neighbouring trials are 8 % apart, well inside what a rim fit catches.
# Tried nearest 1 first: most cameras film from the side, and a rim fitted this well ends the search.
TRIALS = tuple(
    sorted(
        (float(v) for v in np.exp(np.linspace(math.log(0.5), math.log(1.6), 15))),
        key=lambda k: abs(math.log(k)),
    )
)
GOOD_RIM_QUALITY = 0.9
MIN_RIM_QUALITY = 0.5  # the best trial's rim fit must be at least this good to measure anything
# Stretch only past this (log of the aspect): on the footage's side views the median of the first five
# measurements after seeding was 0.98-1.04 (perspective moves the aspect a few % as the plate rises, to
# 0.90 overhead in the snatch), and a plate 6 % out of round costs the scale about 3 %.
ROUND_TOL = 0.06
# Where no plate is found on the frames as they are, they are stretched as for a camera turned 37, then
# 53 degrees: the plate finder finds plates within about 12 % of round (a squeeze of 0.87 it still
# found; 0.71 not always), so these reach from about 0.53 to 0.9. Measured again on the stretched
# frames, the guess is then corrected unless it is within GUESS_TOL.
TURNED_GUESSES = (0.8, 0.6)
GUESS_TOL = 0.02
# A guess found a plate only if the plate is about as squeezed as the guess: what its frames show further
# out of round than this (log) is not a plate the finder could have taken for round. On a rendered clean
# turned 53 degrees, the 37-degree guess took the lifter's knee and measured it 0.56 across.
GUESS_REACH = 0.2
RECENTRE = 0.1  # plate radii between the centre given and the one found: measured again from there
REFINE_PASSES = 3
REFINED = 0.003  # the ellipse's ratio this near 1 on the stretched copy: done
# Where something as dark as the plate touches it (hair above a clean's front rack), the rim's edge there
# is faint and the ray's strongest edge lies elsewhere: only edges this strong against the rim's best.
WEAK_EDGE = 0.5
TRIM_PASSES = 3
TRIM_FLOOR = 0.004  # of the radius: what the rim's own edge noise reaches
RAYS = 180  # twice the rim fit's: the ellipse's ratio wants more points than a circle's centre
WATCH_FRAMES = 5  # measurements for a verdict
WATCH_MIN_FRAMES = 3  # ... or this many where the clip ends or the tries run out first
# A plate is stretched only where WATCH_MIN_FRAMES of its measurements agree this closely (log) with their
# median. A turned plate measures alike frame after frame (rendered ones at 480-1280 px within 3.3 %;
# round footage scatters about 5 %); a ring followed inside a round plate, a few pixels across, does
# not: a 640x360 copy of the outdoor deadlift read 1.01, 1.22, 1.01, 1.62 and 1.19, was stretched by
# the median and read 0.61 m/s for 0.45.
AGREE = 0.10
WATCH_EVERY_S = 0.2  # apart, so one blurred or covered moment does not make them all
# A plate whose rim never fits well enough is not measured on every frame of the clip (up to 50 ms
# each on the footage): this many tries, then a verdict on what there is.
WATCH_TRIES = 15


def measure(image: FrameBGR, x: float, y: float, r: float, recentred: bool = False) -> float | None:
    """The plate's width over its height around (x, y), roughly `r` px in radius; None where no rim
    fits well enough in any trial."""
    near = around(image, x, y, 2.0 * r + 8) if r > 0 else None
    if near is None:
        return None
    patch, x0, y0 = near
    best: tuple[RimFit, float, Gray] | None = None  # the fit, its trial, its channel's neighbourhood
    for chan in CHANNELS:
        roi = smoothed(patch, chan, r)
        for k in TRIALS:
            # r lies between the plate's axes; stretched by 1 / k the narrow one grows: meet halfway.
            f = fit_rim(_stretched(roi, k), (x - x0 + 0.5) / k - 0.5, y - y0, r / math.sqrt(k), band=0.45)
            if f is not None and (best is None or f.quality > best[0].quality):
                best = (f, k, roi)
            if best is not None and best[0].quality >= GOOD_RIM_QUALITY:
                break
        if best is not None and best[0].quality >= GOOD_RIM_QUALITY:
            break
    if best is None or best[0].quality < MIN_RIM_QUALITY:
        return None
    f, k, roi = best
    fx, fy = (f.x + 0.5) * k - 0.5 + x0, f.y + y0
    if not recentred and math.hypot(fx - x, fy - y) > RECENTRE * r:
        # The tracker's centre on a squeezed plate can be a third of its width off (fitted with
        # circles), and trials from there settled on the plate's inner ring as much as on its rim
        # (0.624 for 0.60): once more from the centre found.
        return measure(image, fx, fy, f.radius, recentred=True)
    # The trials are 8 % apart, and the rim points are taken near a circle: a plate still a few % out of
    # round loses the rim points at its sides, which pulls the ellipse towards round (measured 0.73 for
    # 0.71). Stretched again by what the ellipse says, it is round to well under 1 %.
    for _ in range(REFINE_PASSES):
        ratio = _ellipse_ratio(_stretched(roi, k), f)
        if ratio is None:
            return None
        k_next = k * ratio
        if abs(ratio - 1.0) < REFINED:
            return k_next
        f_next = fit_rim(_stretched(roi, k_next), (f.x + 0.5) * k / k_next - 0.5, f.y, f.radius, band=0.12)
        if f_next is None:
            return k_next
        f, k = f_next, k_next
    return k


def _stretched(roi: Gray, k: float) -> Gray:
    interp = cv2.INTER_AREA if k > 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(roi, None, fx=1.0 / k, fy=1.0, interpolation=interp), np.uint8)


def _ellipse_ratio(grey: Gray, f: RimFit) -> float | None:
    """Width over height of the ellipse through the rim points near the fitted circle."""
    pts, _, strength = rim_points(grey, f.x, f.y, 0.88 * f.radius, 1.12 * f.radius, n_rays=RAYS)
    if len(pts) < 16:
        return None
    near = np.abs(np.hypot(pts[:, 0] - f.x, pts[:, 1] - f.y) - f.radius) < max(2.0, 0.05 * f.radius)
    strong = strength >= WEAK_EDGE * float(np.percentile(strength, 80))
    on_rim = pts[near & strong]
    for _ in range(TRIM_PASSES + 1):
        if len(on_rim) < 16:
            return None
        (ex, ey), (ea, eb), angle = cv2.fitEllipseAMS(on_rim.astype(np.float32))
        if min(ea, eb) <= 0:
            return None
        # Trim what lies off the ellipse (an arm or a shoulder against the rim: a clean's front rack
        # read 1.03 on a plate measured 0.99 on the floor).
        a = math.radians(angle)
        d = on_rim - np.array([ex, ey])
        u = d[:, 0] * math.cos(a) + d[:, 1] * math.sin(a)
        v = -d[:, 0] * math.sin(a) + d[:, 1] * math.cos(a)
        off = np.abs(np.hypot(u / (0.5 * ea), v / (0.5 * eb)) - 1.0)
        keep = off <= max(TRIM_FLOOR, 3.0 * float(np.median(off)))
        if keep.all():
            break
        on_rim = on_rim[keep]
    across = math.hypot(ea * math.cos(a), eb * math.sin(a))
    down = math.hypot(ea * math.sin(a), eb * math.cos(a))
    return across / down if down > 0 else None


class Watch:
    """Collects `measure` on frames where the plate was just found, and gives a verdict: the aspect to
    stretch by, 1.0 for a plate seen round enough, None while it cannot tell yet."""

    def __init__(self, tol: float = ROUND_TOL) -> None:
        self.tol = tol  # the log of the aspect a verdict leaves at 1
        self.values: list[float] = []
        self.tries = 0
        self.last_t: float | None = None

    def wants(self, t: float) -> bool:
        due = self.last_t is None or t - self.last_t >= WATCH_EVERY_S - 1e-6
        return self.verdict() is None and due

    def offer(self, image: FrameBGR, t: float, x: float, y: float, r: float) -> None:
        if not self.wants(t):
            return
        self.tries += 1
        self.last_t = t
        v = measure(image, x, y, r)
        if v is not None:
            self.values.append(v)

    def verdict(self) -> float | None:
        """None until WATCH_FRAMES measurements (or WATCH_TRIES tries) are in."""
        done = len(self.values) >= WATCH_FRAMES or self.tries >= WATCH_TRIES
        return self.final() if done else None

    def confirms(self, reach: float) -> bool:
        """Whether enough measurements put the plate within `reach` (log) of round: a guessed stretch
        is kept only where it found a plate about as squeezed as the guess."""
        return len(self.values) >= WATCH_MIN_FRAMES and abs(math.log(float(np.median(self.values)))) <= reach

    def final(self) -> float:
        """The verdict where the clip has ended: 1.0 on fewer than WATCH_MIN_FRAMES measurements, or
        where fewer than that many agree on how far out of round the plate is."""
        if len(self.values) < WATCH_MIN_FRAMES:
            return 1.0
        aspect = float(np.median(self.values))
        if abs(math.log(aspect)) <= self.tol:
            return 1.0
        alike = sum(abs(math.log(v / aspect)) <= AGREE for v in self.values)
        return aspect if alike >= WATCH_MIN_FRAMES else 1.0
