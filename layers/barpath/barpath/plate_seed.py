"""Which plate is the working one? Link per-frame detections into tracklets over the first seconds and
pick the tracklet that moves with the lift: plates on racks and floors stay put. Only candidate lists
are kept (a few numbers per frame), never frames, so memory stays small however long seeding runs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from barpath.detect.base import Candidate

# Bar speed rarely passes ~4 m/s (snatch pull); a 450 mm plate's radius is 0.225 m: ~18 radii/s.
MAX_RADII_PER_S = 25.0
MOVING_SPAN_RADII = 0.8  # a tracklet whose centre travelled this far (in its own radii) is moving
MIN_HITS = 6
MOTION_SETTLE_S = 0.3


@dataclass
class Tracklet:
    hits: dict[int, Candidate] = field(default_factory=dict)  # frame index -> detection
    times: dict[int, float] = field(default_factory=dict)
    other_ring: set[int] = field(default_factory=set)  # hits on a concentric ring (hub, lip): centre only

    @property
    def last_i(self) -> int:
        return max(self.hits)

    @property
    def last(self) -> Candidate:
        return self.hits[self.last_i]

    @property
    def radius(self) -> float:
        own = [c.radius for i, c in self.hits.items() if i not in self.other_ring]
        return float(np.median(own or [c.radius for c in self.hits.values()]))

    @property
    def mean_score(self) -> float:
        return float(np.mean([c.score for c in self.hits.values()]))

    def span(self) -> float:
        """Largest distance of any hit from the first one, in radii."""
        first = self.hits[min(self.hits)]
        d = max(float(np.hypot(c.x - first.x, c.y - first.y)) for c in self.hits.values())
        return d / max(self.radius, 1.0)

    def moving(self) -> bool:
        return len(self.hits) >= MIN_HITS and self.span() >= MOVING_SPAN_RADII and self.mean_score >= 0.45

    def merit(self, n_detect_frames: int) -> float:
        """How likely this is the working plate when nothing has moved yet: seen often, clearly, big."""
        presence = len(self.hits) / max(1, n_detect_frames)
        return presence * self.mean_score * float(np.sqrt(self.radius))


class Seeder:
    """Feed it every frame's candidates; ask `choice()` whenever you like."""

    def __init__(self) -> None:
        self.tracklets: list[Tracklet] = []
        self.n_detect_frames = 0

    def add(self, i: int, t: float, cands: list[Candidate]) -> None:
        self.n_detect_frames += 1
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
                self.tracklets.append(Tracklet({i: c}, {i: t}))
                used.add(len(self.tracklets) - 1)
            else:
                self.tracklets[best].hits[i] = c
                self.tracklets[best].times[i] = t
                used.add(best)

    def moving(self) -> Tracklet | None:
        """The clearest moving tracklet. A head or hands move with the bar too: callers wait a moment
        after the first motion (MOTION_SETTLE_S) so the plate has moved as well, then this prefers it."""
        ranked = [tr.merit(self.n_detect_frames) for tr in self.tracklets if len(tr.hits) >= MIN_HITS]
        if not ranked:
            return None
        # A moving hip or head is round too, but seen less often and less clearly than the plate.
        floor = 0.5 * max(ranked)
        movers = [tr for tr in self.tracklets if tr.moving() and tr.merit(self.n_detect_frames) >= floor]
        if not movers:
            return None
        return max(movers, key=lambda tr: tr.merit(self.n_detect_frames))

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
            self.tracklets.remove(o)

    def is_clearest(self, tr: Tracklet) -> bool:
        """True when no other tracklet is seen as often and as clearly: no need to wait for others."""
        return all(
            o.merit(self.n_detect_frames) <= tr.merit(self.n_detect_frames)
            for o in self.tracklets
            if o is not tr
        )

    def best_static(self) -> Tracklet | None:
        steady = [tr for tr in self.tracklets if len(tr.hits) >= MIN_HITS and tr.mean_score >= 0.45]
        if not steady:
            return None
        return max(steady, key=lambda tr: tr.merit(self.n_detect_frames))
