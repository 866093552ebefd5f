"""Which plate is the working one? Link detections into tracklets over the first seconds and pick the
tracklet that moves with the lift: plates on racks and floors stay put.

Full-frame detection is the expensive part, so it runs only on key frames (every SEED_DETECT_EVERY_S, and
early when a moving tracklet loses its flow); in between every live tracklet is carried by Lucas-Kanade
flow of the corners on its face, and a moving one is re-measured by a rim fit. A carried plate keeps its
identity through a blurred pull, where detection alone would miss it and link to another circle. Only a
few numbers per tracklet and one small grey frame are kept, never full frames, so memory stays small
however long seeding runs."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from barpath.detect.base import Candidate, FrameBGR
from barpath.detect.circle_fit import RimFit
from barpath.detect.plate import CHANNELS, refine_full
from barpath.plate_flow import Grey, Pts, disc_corners, lk_fb, median_motion
from barpath.plate_look import Look

# Bar speed rarely passes ~4 m/s (snatch pull); a 450 mm plate's radius is 0.225 m: ~18 radii/s.
MAX_RADII_PER_S = 25.0
MOVING_SPAN_RADII = 0.8  # a tracklet whose centre travelled this far (in its own radii) is moving
MIN_HITS = 6
MOTION_SETTLE_S = 0.3
# A plate this much larger than the first to move (nearer the camera), still, clear and seen on nearly
# every key frame, may be the filmed lift's waiting in its rack or on the floor while someone farther
# back lifts first: seeding watches on for it, at most this long after the first motion.
BIGGER_RATIO = 1.15
BIGGER_WAIT_S = 10.0
SEED_DETECT_EVERY_S = 0.2  # full-frame detection this often while seeding; flow carries in between
REFINE_SPAN_RADII = 0.3  # a tracklet that moved this far gets a rim fit on every frame
FIT_MIN_QUALITY = 0.40
CLEAR_SCORE = 0.45  # mean rim-fit score of a tracklet taken to be a plate on its looks alone
# ... or, fainter, one found on nearly every key frame since it appeared, always the same size: a plate
# whose rim fits poorly (a green bumper in the chroma channel, a clip re-encoded small, legs across it:
# 0.36-0.41 on the distractor deadlift re-encoded at 720p) where a head or hip is found now and then at
# a size that wanders.
STEADY_MIN_SCORE = 0.35
STEADY_PRESENCE = 0.9
STEADY_MIN_DETECTIONS = 5
STEADY_RADIUS_SPREAD = 0.01  # median absolute deviation over median of the detected radii
# A ring inside the plate (hub, lip) and the plate's rim around it: the rim's radius over the ring's, and
# how far apart their centres may lie (ring radii). Seeding adopts the rim (adopt_outer_ring), and so
# does the tracker where the rim shows only later (plate_ring).
OUTER_RING_RATIO = (1.3, 3.0)
OUTER_RING_CENTRE_TOL = 0.25

# Frame index -> the 3x3 map from that frame's view to the first frame's (camera.MotionTap): a hand-held
# camera moves every plate in the picture, the one that moves with the lift must move in the room.
RoomView = Callable[[int], npt.NDArray[np.float64]]


def in_room(room: RoomView | None, i: int, x: float, y: float) -> tuple[float, float]:
    """Frame i's point (x, y) in the first frame's view (as it is, for a camera taken as still)."""
    if room is None:
        return x, y
    v = room(i) @ np.array([x, y, 1.0])
    return float(v[0] / v[2]), float(v[1] / v[2])


@dataclass
class Tracklet:
    hits: dict[int, Candidate] = field(default_factory=dict)  # frame index -> detection
    times: dict[int, float] = field(default_factory=dict)
    other_ring: set[int] = field(default_factory=set)  # hits on a concentric ring (hub, lip): centre only
    carried: set[int] = field(default_factory=set)  # positions from flow alone (no rim seen)
    refined: set[int] = field(default_factory=set)  # rim fits between key frames (not detections)
    channel: str | None = None  # the channel its rim shows best in, picked at its first refit
    pts: Pts = field(default_factory=lambda: np.zeros((0, 1, 2), np.float32))  # face corners, working px
    room: RoomView | None = None  # None: a camera taken as still
    look: Look = field(default_factory=Look)  # its face where detected (plate_look)
    # span() and radius are asked for every tracklet on every seeding frame, and seeding may watch for
    # 20 s: recomputed over every hit each time, they took 6.6 of a 17 s clip's 14 s. While seeding only
    # the newest hit changes, so what lies before it is kept: (first frame, up to which frame, largest
    # room distance from the first hit before it) and (the radius, the state it was taken on).
    _far: tuple[int, int, float] | None = field(default=None, repr=False, compare=False)
    _seen_far: tuple[int, int, float] | None = field(default=None, repr=False, compare=False)
    _radius: tuple[tuple[float, ...], float] | None = field(default=None, repr=False, compare=False)

    def detections(self) -> list[Candidate]:
        """Hits found by full-frame detection (key frames): what presence and clarity are judged on."""
        own = [c for i, c in self.hits.items() if i not in self.carried and i not in self.refined]
        return own or list(self.hits.values())

    @property
    def last_i(self) -> int:
        return max(self.hits)

    @property
    def last(self) -> Candidate:
        return self.hits[self.last_i]

    @property
    def radius(self) -> float:
        last_i = self.last_i
        key = (len(self.hits), last_i, self.hits[last_i].radius, len(self.carried), len(self.other_ring))
        if self._radius is None or self._radius[0] != key:
            own = [
                c.radius for i, c in self.hits.items() if i not in self.other_ring and i not in self.carried
            ]
            self._radius = (key, float(np.median(own or [c.radius for c in self.hits.values()])))
        return self._radius[1]

    def rewritten(self) -> None:
        """Hits before the newest were changed (joined, adopted): forget what was kept of them."""
        self._far = self._seen_far = self._radius = None

    @property
    def mean_score(self) -> float:
        return float(np.mean([c.score for c in self.detections()]))

    def span(self) -> float:
        """Largest distance of any hit from the first one, in radii, in the room (camera motion taken out)."""
        self._far, far = self._farthest(self._far, self.hits.keys())
        return far / max(self.radius, 1.0)

    def seen_span(self) -> float:
        """span() over the hits where its rim was seen (detected or refitted), not carried by flow alone.
        Corners on a floor plate's face, dragged up by another lifter's plate rising in front of it, moved
        a rim-less "plate" 1.1 radii, and seeding took it for the working one."""
        seen = {i for i in self.hits if i not in self.carried}
        if not seen:
            return 0.0
        self._seen_far, far = self._farthest(self._seen_far, seen)
        return far / max(self.radius, 1.0)

    def _farthest(
        self, kept: tuple[int, int, float] | None, hits: Collection[int]
    ) -> tuple[tuple[int, int, float], float]:
        """The largest room distance of `hits` from the first of them, and what to keep for next time:
        while seeding only the newest hit changes, so the distance over those before it is kept."""
        first_i, last_i = min(hits), max(hits)
        x0, y0 = self.in_room(first_i)

        def dist(i: int) -> float:
            x, y = self.in_room(i)
            return float(np.hypot(x - x0, y - y0))

        if kept is None or kept[0] != first_i or kept[1] > last_i:
            far = max((dist(i) for i in hits if i < last_i), default=0.0)
        else:
            far = max([kept[2], *(dist(i) for i in range(kept[1], last_i) if i in hits)])
        return (first_i, last_i, far), max(far, dist(last_i))

    def in_room(self, i: int) -> tuple[float, float]:
        c = self.hits[i]
        return in_room(self.room, i, c.x, c.y)

    def moving(self, key_frames: list[int]) -> bool:
        """Moves in the room and looks like a plate. `key_frames`: where full-frame detection ran."""
        if len(self.hits) < MIN_HITS or len(self.detections()) < 2 or self.span() < MOVING_SPAN_RADII:
            return False
        return self.clarity(key_frames) >= CLEAR_SCORE

    def clarity(self, key_frames: list[int]) -> float:
        """Its mean rim-fit score; a faint one seen steadily counts as just clear (STEADY_*)."""
        score = self.mean_score
        if STEADY_MIN_SCORE <= score < CLEAR_SCORE and self.steady(key_frames):
            return CLEAR_SCORE
        return score

    def clear_and_still(self) -> bool:
        """Seen long enough, its rim clear, and it has not moved: a racked or floor plate, or the working
        plate waiting."""
        return (
            len(self.hits) >= MIN_HITS and self.mean_score >= CLEAR_SCORE and self.span() < MOVING_SPAN_RADII
        )

    def present(self, key_frames: list[int]) -> bool:
        """Detected on nearly every key frame since it first was."""
        since = sum(1 for i in key_frames if min(self.hits) <= i <= self.last_i)
        return len(self.detections()) >= max(STEADY_MIN_DETECTIONS, STEADY_PRESENCE * since)

    def steady(self, key_frames: list[int]) -> bool:
        """Detected on nearly every key frame since it first was, at one size."""
        if not self.present(key_frames):
            return False
        radii = np.array([c.radius for c in self.detections()])
        mid = float(np.median(radii))
        return float(np.median(np.abs(radii - mid))) <= STEADY_RADIUS_SPREAD * mid

    def merit(self, key_frames: list[int]) -> float:
        """How likely this is the working plate when nothing has moved yet: seen often, clearly, big."""
        presence = min(1.0, len(self.detections()) / max(1, len(key_frames)))
        return presence * self.clarity(key_frames) * float(np.sqrt(self.radius))


class Seeder:
    """Feed it every frame's candidates; ask `choice()` whenever you like."""

    def __init__(self, scale: float, room: RoomView | None = None) -> None:
        self.room = room
        self.tracklets: list[Tracklet] = []
        self.key_frames: list[int] = []  # frames full-frame detection ran on
        self.scale = scale  # full-resolution px per working (flow) px
        self.prev_small: Grey | None = None
        self.prev_i = -1

    def add(self, i: int, t: float, cands: list[Candidate], image: FrameBGR | None = None) -> None:
        """Link the frame's detections to the tracklets, and learn their looks on `image`."""
        self.key_frames.append(i)
        used: set[int] = set()
        for c in sorted(cands, key=lambda c: -c.score):
            best, best_d = None, float("inf")
            for n, tr in enumerate(self.tracklets):
                if n in used:
                    continue
                last = tr.last
                dt = max(1e-3, t - tr.times[tr.last_i])
                gate = last.radius * (0.3 + min(1.5, MAX_RADII_PER_S * dt))
                d = float(np.hypot(c.x - last.x, c.y - last.y))
                if d < gate and 0.75 < c.radius / last.radius < 1.33 and d < best_d:
                    best, best_d = n, d
            if best is None:
                self.tracklets.append(Tracklet({i: c}, {i: t}, room=self.room))
                used.add(len(self.tracklets) - 1)
                if image is not None:
                    self.tracklets[-1].look.learn(image, c.x, c.y, c.radius, t)
            else:
                tr = self.tracklets[best]
                used.add(best)
                if i in tr.carried and len(tr.detections()) >= 2 and abs(c.radius / tr.radius - 1) > 0.12:
                    # Flow has the plate here and the detector picked another ring of it (a raised
                    # lip, the plate behind): its centre is off, so the flow position stays.
                    continue
                tr.hits[i] = c
                tr.times[i] = t
                tr.carried.discard(i)
                tr.refined.discard(i)
                if image is not None and abs(c.radius / tr.radius - 1) <= 0.12:  # its rim, not its hub
                    tr.look.learn(image, c.x, c.y, tr.radius, t)

    def carry(self, i: int, t: float, image: FrameBGR, small: Grey) -> bool:
        """Carry every tracklet seen on the previous frame to this one by flow, refitting the rim of those
        that move. True when a moving tracklet could not be carried (time for a full detection)."""
        prev, self.prev_small = self.prev_small, small
        live = [tr for tr in self.tracklets if tr.last_i == self.prev_i and len(tr.pts) >= 5]
        self.prev_i = i
        if prev is None or not live:
            return False
        pts = np.concatenate([tr.pts for tr in live])
        moved, good = lk_fb(prev, small, pts)
        need_detect = False
        k = 0
        for tr in live:
            n = len(tr.pts)
            last = tr.last
            m = median_motion(tr.pts, moved[k : k + n], good[k : k + n], last.radius / self.scale)
            k += n
            was_moving = tr.span() >= REFINE_SPAN_RADII
            if m is None:
                need_detect = need_detect or was_moving
                continue
            x, y = last.x + m[0] * self.scale, last.y + m[1] * self.scale
            dt = max(1e-3, t - tr.times[tr.last_i])
            if np.hypot(m[0], m[1]) * self.scale > last.radius * (0.3 + MAX_RADII_PER_S * dt):
                # Faster than a bar goes: the corners of a plate blurred in a clean's pull were taken by
                # something else (nearly 2 radii in a frame, against the pull). Kept, that position ended the
                # tracklet where the plate was not, and the plate found again was not linked to it.
                tr.pts = np.zeros((0, 1, 2), np.float32)
                need_detect = need_detect or was_moving
                continue
            if abs(m[0]) > abs(m[1]) and not tr.look.shows(image, x, y, tr.radius):
                # Carried sideways onto something that does not look like it: a passer-by's shirt took
                # its corners. A bar moves up and down while seeding watches; a plate's look may change
                # as it rises through hard shadows (the outdoor deadlift), its direction does not.
                tr.pts = np.zeros((0, 1, 2), np.float32)
                continue
            tr.pts = m[3]
            hit = _moved(last, x, y)
            tr.hits[i], tr.times[i] = hit, t
            tr.carried.add(i)
            if was_moving:
                fit = self._refit(tr, image, x, y)
                if fit is not None:
                    tr.hits[i] = Candidate(
                        fit.x, fit.y, fit.radius, fit.quality, _box(fit.x, fit.y, fit.radius), last.label
                    )
                    tr.carried.discard(i)
                    tr.refined.add(i)
        return need_detect

    def _refit(self, tr: Tracklet, image: FrameBGR, x: float, y: float) -> RimFit | None:
        r = tr.radius
        if tr.channel is None:
            fits = [(refine_full(image, x, y, r, chan, expect_radius=r), chan) for chan in CHANNELS]
            best = max(fits, key=lambda fc: fc[0].quality if fc[0] is not None else -1.0)
            tr.channel = best[1]
            fit = best[0]
        else:
            fit = refine_full(image, x, y, r, tr.channel, expect_radius=r)
        if fit is None or fit.quality < FIT_MIN_QUALITY or abs(fit.radius / r - 1.0) > 0.15:
            return None
        return fit if float(np.hypot(fit.x - x, fit.y - y)) <= 0.3 * r else None

    def refresh_corners(self, i: int, small: Grey) -> None:
        """New face corners for tracklets measured on this frame whose corners ran low or are stale."""
        for tr in self.tracklets:
            if tr.last_i == i and (len(tr.pts) < 15 or i not in tr.carried):
                c = tr.last
                s = self.scale
                tr.pts = disc_corners(small, c.x / s, c.y / s, tr.radius / s)

    def moving(self) -> Tracklet | None:
        """The clearest tracklet seen moving (see movers)."""
        return self.movers()[0]

    def movers(self) -> tuple[Tracklet | None, bool]:
        """The clearest moving tracklet, and whether any tracklet moved. A head or hands move with the bar
        too: callers wait a moment after the first motion (MOTION_SETTLE_S) so the plate has moved as
        well, then this prefers it. A move is taken where the rim was seen (Tracklet.seen_span): corners
        dragged off a plate by something passing in front of it move where no rim follows. Whether any
        moved counts moves carried by flow alone too: the lift has begun (a fast pull may blur the rim
        until a passer-by hides it)."""
        # Asked on every seeding frame: each tracklet's merit (a pass over its hits) is taken once.
        merit = {id(tr): tr.merit(self.key_frames) for tr in self.tracklets}
        ranked = [merit[id(tr)] for tr in self.tracklets if len(tr.hits) >= MIN_HITS]
        if not ranked:
            return None, False
        # A moving hip or head is round too, but seen less often and less clearly than the plate.
        floor = 0.5 * max(ranked)
        moved = [tr for tr in self.tracklets if tr.moving(self.key_frames) and merit[id(tr)] >= floor]
        seen = [tr for tr in moved if tr.seen_span() >= MOVING_SPAN_RADII]
        if not seen:
            return None, bool(moved)
        return max(seen, key=lambda tr: merit[id(tr)]), True

    def bigger_still(self, mover: Tracklet) -> bool:
        """A plate larger than `mover` by BIGGER_RATIO stands still, seen since the last full detection (flow
        may not carry it between: a racked plate behind the rack's posts) and as clear and as steadily seen
        as a plate taken without moving."""
        kf = self.key_frames
        return any(
            o is not mover
            and o.last_i >= kf[-1]
            and o.radius >= BIGGER_RATIO * mover.radius
            and o.clear_and_still()
            and o.present(kf)
            for o in self.tracklets
        )

    def extend_back(self, tr: Tracklet) -> Tracklet:
        """Join earlier tracklets that end where `tr` begins: a plate whose rim was briefly cut by the
        frame edge or hidden may have started a new tracklet, and its first frames belong to it too."""
        while True:
            first_i = min(tr.hits)
            first = tr.hits[first_i]
            prev = [
                o
                for o in self.tracklets
                if o is not tr
                and o.last_i < first_i
                and np.hypot(o.last.x - first.x, o.last.y - first.y) < 0.3 * max(first.radius, o.last.radius)
                and 0.4 < o.last.radius / first.radius < 2.5
            ]
            if not prev:
                return tr
            o = max(prev, key=lambda o: o.last_i)
            if not 0.8 < o.radius / tr.radius < 1.25:
                tr.other_ring.update(o.hits)
            tr.hits.update(o.hits)
            tr.times.update(o.times)
            tr.carried.update(o.carried)
            tr.refined.update(o.refined)
            tr.rewritten()
            self.tracklets.remove(o)

    def adopt_outer_ring(self, tr: Tracklet) -> Tracklet:
        """A plate cut by the frame edge at the floor may be found and carried by an inner ring (a hub,
        a painted circle) before its outer rim shows: take the outer rim's radius from a concentric,
        larger tracklet seen on the same frames, since the radius calibrates the scale."""
        best: tuple[int, Tracklet] | None = None
        for o in self.tracklets:
            if o is tr:
                continue
            shared = [
                i
                for i in o.hits
                if i in tr.hits
                and i not in o.carried
                and OUTER_RING_RATIO[0] < o.hits[i].radius / tr.hits[i].radius < OUTER_RING_RATIO[1]
                and np.hypot(o.hits[i].x - tr.hits[i].x, o.hits[i].y - tr.hits[i].y)
                < OUTER_RING_CENTRE_TOL * tr.hits[i].radius
            ]
            clear = [i for i in shared if o.hits[i].score >= 0.45]
            if clear and (best is None or len(shared) > best[0]):
                best = (len(shared), o)
        if best is None:
            return tr
        o = best[1]
        tr.other_ring.update(i for i in tr.hits if i not in o.hits or i in o.carried)
        for i, c in o.hits.items():
            if i in tr.hits and i not in o.carried:
                tr.hits[i] = c
                tr.other_ring.discard(i)
                tr.carried.discard(i)
                tr.refined.discard(i)
        tr.rewritten()
        return tr

    def is_clearest(self, tr: Tracklet) -> bool:
        """True when no other tracklet is seen as often and as clearly: no need to wait for others."""
        return all(
            o.merit(self.key_frames) <= tr.merit(self.key_frames) for o in self.tracklets if o is not tr
        )

    def still_plates(self, chosen: Tracklet) -> list[tuple[float, float, float]]:
        """Plates that stood still beside the working one through seeding: (x, y, radius) in the first
        frame's view where each was detected. Racked and floor plates. Only those seen on the same frames
        as `chosen` and away from it, so none of them can be the working plate itself (resting in the rack
        before the unrack, say, as a tracklet that seeding did not join to it)."""
        ours = {i: c for i, c in chosen.hits.items() if i not in chosen.carried}
        out: list[tuple[float, float, float]] = []
        for tr in self.tracklets:
            if tr is chosen or not tr.clear_and_still():
                continue
            apart = [
                i
                for i, c in tr.hits.items()
                if i in ours
                and i not in tr.carried
                and np.hypot(c.x - ours[i].x, c.y - ours[i].y) > 1.5 * max(c.radius, ours[i].radius)
            ]
            if len(apart) < 2:
                continue
            # Every place it was detected, not one median: a tracklet among overlapping floor plates
            # wanders between them, and the working plate must not be taken for any of them.
            own = [i for i in tr.hits if i not in tr.carried and i not in tr.refined]
            r = tr.radius
            out.extend((*tr.in_room(i), r) for i in own)
        return out

    def best_static(self) -> Tracklet | None:
        steady = [tr for tr in self.tracklets if len(tr.hits) >= MIN_HITS and tr.mean_score >= CLEAR_SCORE]
        if not steady:
            return None
        return max(steady, key=lambda tr: tr.merit(self.key_frames))


def _box(x: float, y: float, r: float) -> tuple[float, float, float, float]:
    return (x - r, y - r, x + r, y + r)


def _moved(c: Candidate, x: float, y: float) -> Candidate:
    return Candidate(x, y, c.radius, c.score, _box(x, y, c.radius), c.label)
