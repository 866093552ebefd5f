"""Track the bar end through the whole clip.

Seeding: detect plates in every frame of the first seconds and keep the one that moves with the lift
(barpath.plate_seed). Tracking: forward-backward checked Lucas-Kanade on plate texture at a working scale
carries the plate from frame to frame; where the flow fails (motion blur, the body in front, too few
corners) an opencv-contrib MOSSE box tracker (barpath.plate_box) carries it instead, started on the
previous frame's position. A sub-pixel rim fit on the full-resolution ROI then measures the centre from
either seed (the fit, not the flow or the box, is the position wherever the rim is seen: `detected`);
unfitted, the flow's or the box's position is `tracked`, the box's with a lower confidence and for at
most BOX_TRUST_S. Rim fits too weak to trust alone (a plate cut by the frame's edge) still correct a
flow that has drifted, where their circle lies on a rim and the flow's does not. Where nothing works the
position coasts on a decaying velocity (`predicted`) for at most COAST_S, then the frame is `lost` and
full-frame re-detection looks for the plate again. The flow and the box carry the plate only where it
still looks like the plate (a passer-by's shirt sliding over it drags both away) and has not slid
sideways farther than a bar end goes between rim fits (the shirt may look like it), a rim found where the
plate was heading beats a flow that went elsewhere, and re-detection never takes a plate where one
stood still beside the working plate through seeding (a racked or floor plate of its size). Every input
frame yields exactly one TrackPoint, in order."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from barpath.detect.base import Candidate, Detector, FrameBGR
from barpath.detect.circle_fit import RimFit
from barpath.detect.plate import CHANNELS, ROUND_RIM_MIN, refine_full, rim_support
from barpath.errors import NoPlateFoundError
from barpath.plate_box import BoxCarrier
from barpath.plate_flow import Grey, Pts, disc_corners, grey_small, lk_fb, lk_scale, median_motion
from barpath.plate_look import Look
from barpath.plate_ring import OuterRimWatch
from barpath.plate_seed import (
    BIGGER_WAIT_S,
    FIT_MIN_QUALITY,
    MAX_RADII_PER_S,
    MOTION_SETTLE_S,
    SEED_DETECT_EVERY_S,
    RoomView,
    Seeder,
    Tracklet,
    in_room,
)
from barpath.schema import State
from barpath.video import Frame, VideoInfo

FILM_CLOSER = (
    "film the lift from the side, close enough that the near plate spans an eighth of the picture's shorter"
    " side or more"
)


@dataclass
class TrackPoint:
    i: int
    t: float
    x: float | None  # bar-end (plate) centre, upright px; None when lost
    y: float | None
    radius: float | None  # plate radius in px where measured this frame (for calibration)
    state: State
    confidence: float  # 0..1


# A plate's rim is fitted on most frames it is placed on: 0.43-0.96 of them on the footage (also
# re-encoded, halved, at 848 px and CRF 33) and the rendered cases from 320x180 to 1920x1080. Tracks of
# something else carried by flow: 0.01-0.17 (far-off plates' first looks, on the lifter's knees or
# shoulders, 0.01-0.09; the 45-degree turned squat at 480x270 and 320x180, 0.17).
SEEN_MIN = 0.25


def hardly_seen(points: list[TrackPoint]) -> bool:
    """Whether the rim was fitted on under SEEN_MIN of the frames the track places its plate on: it was
    carried by flow and the box, not seen."""
    placed = [p for p in points if p.x is not None]
    return not placed or sum(p.state == "detected" for p in placed) < SEEN_MIN * len(placed)


# Give up waiting for motion and take the clearest steady plate after this long. A lifter may stand at
# the bar for seconds before pulling: at 6 s, the distractor deadlift with 5 s more of setup took a rack
# plate (its rim is clearer than the green working plate's) and reported 0 reps. Bounded, because
# seeding follows every plate in view, and a clip where nothing moves must not cost that to its end.
SEED_MAX_S = 20.0
COAST_S = 0.5  # prediction at most this long, then `lost`
COAST_DAMP_S = 0.1  # time constant of the predicted speed's decay
SEED_VELOCITY_MAX_GAP_S = 0.2  # the seed's last two hits give its speed only this close in time
RADIUS_REPORT_QUALITY = 0.6  # radius goes to calibration only from fits at least this clean
REDETECT_EVERY_S = 0.2  # while lost or coasting
RECHECK_EVERY_S = 1.0  # full-frame check while tracking on flow alone
# Flow alone is trusted this long after the last rim fit: a fast plate (a dropped bar) leaves its
# corners behind on the background, and the flow then reports a still plate.
FLOW_TRUST_S = 0.2
# Past that, flow-only confidence falls to its floor (0.4) over this long: each frame's small motion error
# adds up with nothing to reset it (0.3 plate radii after half a second through a blurred drop).
FLOW_STALE_S = 1.0
# The box tracker alone is trusted this long after the last rim fit: its box slides off a plate it
# keeps losing, and past this a coasting `predicted` is the more honest guess.
BOX_TRUST_S = 0.4
FLOW_AGREE_FIRM = 0.7  # share of corners agreeing on one motion for the flow to pin the seed
FIT_NEAR_FLOW = 0.1  # then the rim fit must land within this many plate radii of it
REDETECT_GOES_ON = 0.5  # plate radii from where the track expected it
REDETECT_SIZE_TOL_STEADY = 0.1  # a re-detected plate's fitted radius off a steady one (else 0.2)
BOX_CONFIDENCE = 0.35  # below any flow-tracked frame's (0.4 and up): a box centre is a weaker guess
# Flow carried through blur integrates its errors: after a dropped bar bounced, it sat 0.3 plate radii
# below a plate cut by the frame's edge, whose rim fits were too weak (a third of the rim in view) to take
# it back. A weak fit takes the unconfirmed flow's place where its circle lies on a rim and the flow's
# does not: the share of rays meeting a strong edge on the circle, counted over the rays in the picture,
# so a cut-off rim is not penalised (0.64 against 0.30 there).
DRIFT_FIT_QUALITY = 0.15
DRIFT_SUPPORT_MIN = 0.5
DRIFT_SUPPORT_GAIN = 0.15
# A clean rim fit teaches the tracker the plate's look (plate_look) at most this often.
LOOK_LEARN_EVERY_S = 0.1
# Flow or the box carrying the plate farther sideways in the room than this many plate radii since its
# rim was last seen follows something else: a passer-by's shirt slid over a hidden deadlift's plate took
# the flow 300 px (1.6 radii) across in 0.9 s, the look check passing. Between rim fits the flow carried
# the plate at most 0.25 radii sideways on the footage and 300 copies of it (re-encoded, shrunk, turned),
# 0.35-1.2 where the renders' passer-by slid over it, and over 0.3 otherwise only on rendered squats'
# walk back to the rack with no rim seen (a far plate; one cut by the picture's top). Such a walk is
# then coasted and lost until the rim is seen, not tracked: no rep is there.
SLIDE_MAX_R = 0.5
SLID_CONFIDENCE = 0.1  # a slid carry's frames, taken back: a guess, as a coasting one's


def track(
    frames: Iterable[Frame],
    detector: Detector,
    info: VideoInfo,
    progress: Callable[[int], None] | None = None,
    room: RoomView | None = None,
    on_grey: Callable[[int, Grey], None] | None = None,
    reach: float = 1.0,
) -> Iterator[TrackPoint]:
    """One TrackPoint per input frame, in order (may yield with a bounded delay). `room`: each frame's
    view against the first frame's, for a camera that moves (the working plate moves in the room).
    `on_grey`: handed each frame's working-scale grey copy, once, in order, before the frame is tracked
    (camera.MotionTap follows the background on it: one grey copy a frame, not two). `reach`: the
    working copy's size against the usual, for plates filmed farther off (barpath.far_plate).

    Raises NoPlateFoundError when the working plate is never found."""
    done = 0

    def emit(p: TrackPoint) -> TrackPoint:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done)
        return p

    it = iter(frames)
    seeder: Seeder | None = None
    pending: list[tuple[int, float]] = []
    chosen: Tracklet | None = None
    start: Frame | None = None
    first_motion: float | None = None
    last_detect: float | None = None
    need_detect = False
    last_image: FrameBGR | None = None
    for fr in it:
        if seeder is None:
            seeder = Seeder(lk_scale(fr.image, reach), room)
        pending.append((fr.i, fr.t))
        small = grey_small(fr.image, seeder.scale)
        if on_grey is not None:
            on_grey(fr.i, small)
        need_detect = seeder.carry(fr.i, fr.t, fr.image, small) or need_detect
        if last_detect is None or need_detect or fr.t - last_detect >= SEED_DETECT_EVERY_S - 1e-6:
            seeder.add(fr.i, fr.t, detector.detect(fr.image), fr.image)
            last_detect, need_detect = fr.t, False
        seeder.refresh_corners(fr.i, small)
        mover, moved = seeder.movers()
        if moved and first_motion is None:
            first_motion = fr.t
        settled = first_motion is not None and fr.t - first_motion >= MOTION_SETTLE_S
        settled = settled or (mover is not None and seeder.is_clearest(mover))
        if mover is not None and settled and mover.last_i == fr.i:
            waiting = first_motion is not None and fr.t - first_motion < BIGGER_WAIT_S
            if not (waiting and seeder.bigger_still(mover)):
                chosen, start = mover, fr
                break
        if fr.t - pending[0][1] >= SEED_MAX_S:
            steady = seeder.best_static()
            if steady is not None and steady.last_i == fr.i and _round_rim(fr.image, steady):
                chosen, start = steady, fr
                break
        last_image = fr.image
    else:
        if seeder is not None:
            chosen = seeder.moving()
            steady = seeder.best_static()
            if chosen is None and steady is not None and _round_rim(last_image, steady):
                chosen = steady
    if chosen is None or seeder is None:
        name = info.path.name if info.path else "video"
        raise NoPlateFoundError(f"{name}: no barbell plate found; {FILM_CLOSER}")
    chosen = seeder.adopt_outer_ring(seeder.extend_back(chosen))
    # Points that measured the ring being tracked, kept while the tracker may still find that it was a
    # ring inside the plate (plate_ring): then their radii are no measure of the plate's, and go.
    sized: list[TrackPoint] = []
    # The tracklet's last detection, and its flow carries since: where the tracker finds the carry slid,
    # those were on something else too.
    fit_at: tuple[int, float, float] | None = None
    carried: list[TrackPoint] = []
    for p in _from_tracklet(chosen, pending):
        if p.radius is not None:
            sized.append(p)
        if p.state == "detected" and p.x is not None and p.y is not None:
            fit_at, carried = (p.i, p.x, p.y), []
        elif p.state == "tracked":
            carried.append(p)
        yield emit(p)
    if start is None:
        return
    last = chosen.last
    seed = Candidate(last.x, last.y, chosen.radius, last.score, last.box, last.label)
    tracker = PlateTracker(start.image, start.t, seed, detector, _seed_velocity(chosen), reach)
    tracker.on_grey = on_grey
    tracker.still_plates, tracker.room = seeder.still_plates(chosen), room
    tracker.fit_at, tracker.carried = fit_at, carried
    for fr in it:
        p = tracker.step(fr)
        if tracker.ring_grew:
            for q in sized:
                q.radius = None
        if tracker.outer.done:
            sized.clear()
        elif p.radius is not None:
            sized.append(p)
        yield emit(p)


def _seed_velocity(tr: Tracklet) -> tuple[float, float]:
    """The plate's speed (px/s) over the tracklet's last two hits, where they are close in time. Seeding
    can end mid-lift (a model's candidates settled on a blurred clean only in its rise), and a tracker
    started at a standstill coasts behind the bar until a rim fit finds it again."""
    idx = sorted(tr.hits)[-2:]
    if len(idx) < 2:
        return 0.0, 0.0
    a, b = tr.hits[idx[0]], tr.hits[idx[1]]
    dt = tr.times[idx[1]] - tr.times[idx[0]]
    if not 0.0 < dt <= SEED_VELOCITY_MAX_GAP_S:
        return 0.0, 0.0
    return (b.x - a.x) / dt, (b.y - a.y) / dt


def _round_rim(image: FrameBGR | None, tr: Tracklet) -> bool:
    """A plate that never moves is taken only on a real rim, strong nearly all the way round: without
    motion nothing else tells a plate from a circle that fits between straight edges (colour bars,
    door frames)."""
    c = tr.last
    return image is not None and rim_support(image, c.x, c.y, tr.radius) >= ROUND_RIM_MIN


def _from_tracklet(tr: Tracklet, frames: list[tuple[int, float]]) -> Iterator[TrackPoint]:
    """Seeding-window frames: detections where the plate was found, linear interpolation (honestly
    `predicted`, low confidence) across short gaps, `lost` elsewhere."""
    hit_is = sorted(tr.hits)
    for i, t in frames:
        c = tr.hits.get(i)
        if c is not None and i in tr.carried:
            yield TrackPoint(i, t, c.x, c.y, None, "tracked", 0.5)
            continue
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


class PlateTracker:
    """Frame-to-frame tracking of one plate after seeding."""

    def __init__(
        self,
        image: FrameBGR,
        t: float,
        seed: Candidate,
        detector: Detector,
        velocity: tuple[float, float] = (0.0, 0.0),
        reach: float = 1.0,
    ) -> None:
        self.detector = detector
        self.scale = lk_scale(image, reach)  # full-res px per LK px
        self.x, self.y = seed.x, seed.y
        self.vx, self.vy = velocity
        self.t = t
        self.t_measured = t
        self.t_checked = t
        self.t_fit = t
        self.fit_at: tuple[int, float, float] | None = None  # frame and centre of the last rim fit
        self.carried: list[TrackPoint] = []  # placed by flow or the box since that fit
        self.radii: deque[float] = deque([seed.radius], maxlen=45)
        self.channel = self._pick_channel(image, seed)
        self.lost = False
        self.redetected = False
        self.prev_small = grey_small(image, self.scale)
        self.pts: Pts = self._features(self.prev_small)
        self.box = BoxCarrier()
        self.measured_prev = True  # the previous frame's position was a fit or flow, not a guess
        self.on_grey: Callable[[int, Grey], None] | None = None  # see track()
        # Plates that stood still beside this one while seeding (Seeder.still_plates: first frame's
        # view), and each frame's view against the first's (None: a still camera).
        self.still_plates: list[tuple[float, float, float]] = []
        self.room: RoomView | None = None
        self.look = Look()  # the face where its rim was seen: flow and box carry only what shows it
        self.outer = OuterRimWatch(t)  # seeding may have picked a ring inside the plate (plate_ring)
        self.ring_grew = False  # set on the frame the outer rim was taken: the radii before are a ring's

    @property
    def radius(self) -> float:
        return float(np.median(self.radii))

    def steady_radius(self) -> float | None:
        """The plate's radius where recent fits agree on it within 2 %: then a fit that strays from it
        is an arm or a shadow over the rim. A plate moving in depth (hand-held phone) changes size, and
        gets no such constraint."""
        if len(self.radii) < 10:
            return None
        lo, hi = np.percentile(self.radii, [25, 75])
        return self.radius if (hi - lo) / self.radius < 0.02 else None

    def _pick_channel(self, image: FrameBGR, seed: Candidate) -> str:
        best, best_q = CHANNELS[0], -1.0
        for chan in CHANNELS:
            f = refine_full(image, seed.x, seed.y, seed.radius, chan)
            if f is not None and f.quality > best_q:
                best, best_q = chan, f.quality
        return best

    def _features(self, small: Grey) -> Pts:
        return disc_corners(small, self.x / self.scale, self.y / self.scale, self.radius / self.scale)

    def _flow(self, small: Grey) -> tuple[float, float, float] | None:
        """Median forward-backward-checked displacement of the plate's corners (LK px), with the share
        of corners that agreed with it."""
        if len(self.pts) < 5:
            return None
        moved, good = lk_fb(self.prev_small, small, self.pts)
        m = median_motion(self.pts, moved, good, self.radius / self.scale)
        if m is None:
            return None
        self.pts = m[3]
        return m[0], m[1], m[2]

    def _box_carry(self, small: Grey) -> tuple[float, float] | None:
        """The box tracker's plate centre (full-res px) where the flow failed. It learns the plate on the
        previous frame, at the previous position, and only if that position was measured: a box started on
        a coasting guess would learn the background."""
        if not self.box.active:
            if not self.measured_prev:
                return None
            s = self.scale
            if not self.box.start(self.prev_small, self.x / s, self.y / s, self.radius / s):
                return None
        c = self.box.update(small)
        return None if c is None else (c[0] * self.scale, c[1] * self.scale)

    def _rim(self, image: FrameBGR, at: tuple[float, float], known: float | None) -> RimFit | None:
        """The followed plate's rim fitted near `at`: at its steady radius `known` where the free fit
        strays from it, and on its outline where blur merges its lip with its rim."""
        return refine_full(
            image, at[0], at[1], self.radius, self.channel, known_radius=known, expect_radius=self.radius
        )

    def _accept(self, f: RimFit | None, near: tuple[float, float], tol: float) -> bool:
        if f is None or f.quality < FIT_MIN_QUALITY:
            return False
        if abs(f.radius / self.radius - 1.0) > 0.15:
            return False
        return float(np.hypot(f.x - near[0], f.y - near[1])) <= tol * self.radius

    @staticmethod
    def _fit_tolerance(flow: tuple[float, float, float] | None) -> float:
        """How far (plate radii) a rim fit may land from its seed. Corners that nearly all agree pin
        the plate to a pixel or two; a fit far off them has caught another edge (the arm, a collar,
        the hub's ring) even where its rays mostly agree."""
        if flow is None:
            return 0.6
        return FIT_NEAR_FLOW if flow[2] >= FLOW_AGREE_FIRM else 0.3

    def _drifted(self, image: FrameBGR, f: RimFit | None, flow_at: tuple[float, float]) -> bool:
        """Whether the weak rim fit `f` shows where the plate is better than the unconfirmed flow does."""
        if f is None or f.quality < DRIFT_FIT_QUALITY or abs(f.radius / self.radius - 1.0) > 0.15:
            return False
        if float(np.hypot(f.x - flow_at[0], f.y - flow_at[1])) <= FIT_NEAR_FLOW * self.radius:
            return False  # the flow agrees with the rim: nothing to correct
        on_fit = rim_support(image, f.x, f.y, self.radius)
        on_flow = rim_support(image, flow_at[0], flow_at[1], self.radius)
        return on_fit >= DRIFT_SUPPORT_MIN and on_fit >= on_flow + DRIFT_SUPPORT_GAIN

    def _possible(self, x: float, y: float, dt: float) -> bool:
        """Reject physically impossible jumps from the last known position."""
        step = float(np.hypot(x - self.x, y - self.y))
        return step <= self.radius * (0.3 + MAX_RADII_PER_S * max(dt, 1e-3))

    def step(self, fr: Frame) -> TrackPoint:
        dt = max(fr.t - self.t, 1e-6)
        small = grey_small(fr.image, self.scale)
        if self.on_grey is not None:
            self.on_grey(fr.i, small)
        pred = (self.x + self.vx * dt, self.y + self.vy * dt)
        # After a coasted frame the corners are wherever the plate was when the flow last worked; on a
        # dropped bar that is background, and a flow from there reports a still plate at a stale spot.
        # Only a rim fit (or re-detection) takes the track back from a guess.
        resumed = not self.measured_prev
        flow = None if self.lost or resumed else self._flow(small)
        box = None
        if flow is None and not self.lost:
            box = self._box_carry(small)
        else:
            self.box.stop()
        state: State
        seed = pred
        if flow is not None:
            seed = (self.x + flow[0] * self.scale, self.y + flow[1] * self.scale)
        elif box is not None:
            seed = box
        fit: RimFit | None = None
        if not self.lost:
            known = self.steady_radius()
            f = self._rim(fr.image, seed, known)
            if self._accept(f, seed, self._fit_tolerance(flow)):
                assert f is not None
                if self._possible(f.x, f.y, fr.t - self.t_measured):
                    fit = f
            off_course = float(np.hypot(seed[0] - pred[0], seed[1] - pred[1])) > FIT_NEAR_FLOW * self.radius
            if fit is None and flow is not None and off_course:
                # The flow went where the plate was not heading: something sliding over it (a shirt
                # still over half of it) may have dragged its corners. Its rim where it was heading wins.
                g = self._rim(fr.image, pred, known)
                if g is not None and self._accept(g, pred, FIT_NEAR_FLOW):
                    fit = g if self._possible(g.x, g.y, fr.t - self.t_measured) else None
        trusted = flow is not None and fr.t - self.t_fit <= FLOW_TRUST_S
        if fit is None and flow is not None and not trusted and self._drifted(fr.image, f, seed):
            assert f is not None
            if self._possible(f.x, f.y, fr.t - self.t_measured):
                fit = f
        redetect_due = fr.t - self.t_checked >= (RECHECK_EVERY_S if trusted else REDETECT_EVERY_S)
        goes_on = False
        if fit is None and (self.lost or redetect_due):
            fit = self._redetect(fr, seed)
            # Found where the followed plate was expected, straight after a measured frame: the same
            # plate going on (a blurred pull then coasts on at its speed, not standing still).
            if fit is not None and not resumed:
                goes_on = np.hypot(fit.x - seed[0], fit.y - seed[1]) <= REDETECT_GOES_ON * self.radius
        if fit is not None:
            self.t_fit, self.fit_at = fr.t, (fr.i, fit.x, fit.y)
            x, y = fit.x, fit.y
            state, conf = "detected", fit.quality
            measured = fit.quality >= RADIUS_REPORT_QUALITY and not fit.radius_fixed
            radius = fit.radius if measured else None
            # The free fit's radius, even where the centre was fitted at the steady one: a plate that
            # really changes size then soon stops counting as steady.
            self.radii.append(fit.free_radius if fit.radius_fixed else fit.radius)
        elif flow is not None and self._carried(fr, seed, dt):
            x, y = seed
            fresh = 1.0 - (fr.t - self.t_fit - FLOW_TRUST_S) / FLOW_STALE_S
            state, conf, radius = "tracked", 0.4 + 0.3 * flow[2] * min(1.0, max(0.0, fresh)), None
        elif box is not None and fr.t - self.t_fit <= BOX_TRUST_S and self._carried(fr, box, dt):
            x, y = box
            state, conf, radius = "tracked", BOX_CONFIDENCE, None
        elif not self.lost and fr.t - self.t_measured <= COAST_S:
            x, y = pred
            # A bar does not keep its speed unseen for long (it turns, or lands): the coasting speed
            # decays, so a dropped bar is not predicted through the floor and out of the frame.
            damp = float(np.exp(-dt / COAST_DAMP_S))
            self.vx, self.vy = self.vx * damp, self.vy * damp
            frac = (fr.t - self.t_measured) / COAST_S
            state, conf, radius = "predicted", 0.3 * (1.0 - frac) + 0.05, None
        else:
            self.lost = True
            self.t = fr.t
            self.prev_small = small
            self.box.stop()
            self.measured_prev = False
            return TrackPoint(fr.i, fr.t, None, None, None, "lost", 0.0)
        clean = state == "detected" and fit is not None and fit.quality >= RADIUS_REPORT_QUALITY
        if clean and fr.t - self.look.t >= LOOK_LEARN_EVERY_S:
            self.look.learn(fr.image, x, y, self.radius, fr.t)
        if not (state == "tracked" and flow is None):
            # A fit relearns the plate where the rim was seen: the next flow failure starts a fresh box
            # there. A box that was not believed this frame has slid off and is not followed further.
            self.box.stop()
        self.measured_prev = state != "predicted"
        if self.redetected:
            # A plate found elsewhere starts from rest; one found going on keeps the speed it had (a
            # re-detection in blur can sit a little off: its step is no speed to learn from).
            if not goes_on:
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
        self.ring_grew = False
        if state == "detected" and self.outer.due(fr.t):
            rim = self.outer.check(fr.image, fr.t, x, y, self.radius)
            if rim is not None:
                self._grow(rim[0], rim[1], small)
                radius = None
        if state == "detected" and (self.redetected or resumed or len(self.pts) < 15 or fr.i % 10 == 0):
            self.pts = self._features(small)
        self.redetected = False
        p = TrackPoint(fr.i, fr.t, x, y, radius, state, float(np.clip(conf, 0.0, 1.0)))
        if state == "detected":
            self.carried.clear()
        elif state == "tracked":
            self.carried.append(p)
        return p

    def _grow(self, radius: float, chan: str, small: Grey) -> None:
        """Follow the plate's outer rim from now on: its radius, the channel it shows in, corners over
        the whole face, and a look learnt afresh out to the rim."""
        self.radii = deque([radius], maxlen=self.radii.maxlen)
        self.channel = chan
        self.look = Look()
        self.pts = self._features(small)
        self.ring_grew = True

    def _carried(self, fr: Frame, at: tuple[float, float], dt: float) -> bool:
        """Whether the flow or the box may have carried the plate to `at`: a possible step, not slid
        sideways off where its rim was last seen, and still looking like the plate (plate_look). Where
        it slid, the frames carried since that rim fit were following the same something else from a
        moment nothing tells: they become guesses (`predicted`: unseen to the numbers), after the fact,
        as points already handed on can be (track's `sized`)."""
        if not self._possible(at[0], at[1], dt):
            return False
        if self._slid(fr.i, at):
            for q in self.carried:
                q.state, q.confidence = "predicted", min(q.confidence, SLID_CONFIDENCE)
            self.carried.clear()
            return False
        return self.look.shows(fr.image, at[0], at[1], self.radius)

    def _slid(self, i: int, at: tuple[float, float]) -> bool:
        """Whether `at` lies over SLIDE_MAX_R plate radii sideways in the room from the last rim fit."""
        if self.fit_at is None:
            return False
        fi, fx, fy = self.fit_at
        x0, _ = in_room(self.room, fi, fx, fy)
        x1, _ = in_room(self.room, i, at[0], at[1])
        return abs(x1 - x0) > SLIDE_MAX_R * self.radius

    def _stood_still_there(self, i: int, c: Candidate) -> bool:
        """Whether `c` is where a racked or floor plate stood while seeding. Once the working plate has
        been hidden a while (a passer-by, the lifter's body), the nearest plate of its size may be one of
        those; taken, its rim fits hold the track on it for good."""
        if not self.still_plates:
            return False
        x, y = in_room(self.room, i, c.x, c.y)  # the first frame's view, where the still plates are
        return any(np.hypot(x - sx, y - sy) < 0.5 * sr for sx, sy, sr in self.still_plates)

    def _redetect(self, fr: Frame, near: tuple[float, float]) -> RimFit | None:
        """Full-frame detection; take the plate of the right size nearest the expected place."""
        self.t_checked = fr.t
        # Where its fits have agreed on its size, the plate is that size again: another lifter's plate
        # farther back, 0.85 of it, took a squat's track while a passer-by hid the bar.
        size_tol = REDETECT_SIZE_TOL_STEADY if self.steady_radius() is not None else 0.2
        cands = [
            c
            for c in self.detector.detect(fr.image)
            if 0.75 < c.radius / self.radius < 1.33 and not self._stood_still_there(fr.i, c)
        ]
        if not cands:
            return None
        gap = fr.t - self.t_fit
        reach = self.radius * (0.5 + MAX_RADII_PER_S * min(gap, 1.0))
        best = min(cands, key=lambda c: np.hypot(c.x - near[0], c.y - near[1]))
        if np.hypot(best.x - near[0], best.y - near[1]) > reach and gap < 2.0:
            return None
        f = refine_full(fr.image, best.x, best.y, best.radius, self.channel)
        if f is None or f.quality < FIT_MIN_QUALITY or abs(f.radius / self.radius - 1) > size_tol:
            return None
        self.lost = False
        self.redetected = True
        return f
