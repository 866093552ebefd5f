"""Overlay video and velocity plot.

The overlay shows the last couple of seconds of bar path, the current rep's numbers and, at the end, a
table of reps. One ffmpeg decodes the input, lays those over it and encodes H.264 with the original
sound; Python draws only the small patches they live in (the box of the whole path, the panels) and
streams them, one timestamped frame per video frame (ffmpeg.OverlayEncoder). Only measured positions
are drawn: nothing for `lost` frames, hollow marks for `predicted` ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from barpath import ffmpeg, video
from barpath.camera import CameraPath, project
from barpath.errors import EmptyVideoError
from barpath.kinematics import Analysis
from barpath.schema import PathResult, Rep
from barpath.video import VideoInfo

Image = npt.NDArray[np.uint8]

TRAIL_S = 2.0  # seconds of path behind the current frame
FADE_LEVELS = 4  # the trail fades in this many steps (runs of one step are one polyline)
EARLY_US = 100  # an overlay frame is timed this much (at most a third of a frame) before its video frame
# The per-rep table shows from the last rep's end, or this long before the clip's end where that comes
# first, but not before the first rep's drive has ended, and each rep's row joins it as its drive ends:
# a clip shorter than this plus its last rep had shown its one rep's numbers before the pull.
END_TABLE_S = 3.0
# Corners a panel may take, in the order tried where they hide the plate alike: the numbers top left and
# the table top right unless the bar passes there (a snatch overhead, a squat filmed in portrait).
PANEL_CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
TABLE_CORNERS = ("top-right", "top-left", "bottom-right", "bottom-left")
# How much of the plate a panel may hide over the whole clip and still keep its usual corner, in plates
# (one frame's whole plate, or a sliver of its rim on a few frames): not worth moving the panel for.
HIDE_SLACK = 1.0
# Points spread evenly over the plate's middle, 0.8 of its radius (its rim may pass under a panel's edge):
# the share of them under a panel is the share of the plate hidden.
_DISC = 0.8 * np.array(
    [(x, y) for x in np.linspace(-1, 1, 9) for y in np.linspace(-1, 1, 9) if x * x + y * y <= 1.0]
)

# BGR. Concentric (bar going up) green, eccentric (down) orange, anything else light grey.
PHASE_COLOURS: dict[str, tuple[int, int, int]] = {
    "concentric": (90, 210, 60),
    "eccentric": (40, 150, 255),
}
OTHER_COLOUR = (225, 225, 225)
_PHASE_CODES = {"concentric": 1, "eccentric": 2}
_COLOUR_OF_CODE = [OTHER_COLOUR, PHASE_COLOURS["concentric"], PHASE_COLOURS["eccentric"]]

_LOST, _PREDICTED, _SEEN = 0, 1, 2
FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass
class _Track:
    """Per-frame arrays of what the overlay may draw."""

    t: npt.NDArray[np.float64]
    x: npt.NDArray[np.float64]  # NaN where nothing may be drawn
    y: npt.NDArray[np.float64]
    kind: npt.NDArray[np.int8]  # _LOST / _PREDICTED / _SEEN
    phase: npt.NDArray[np.int8]  # index into _COLOUR_OF_CODE
    rep: npt.NDArray[np.int32]  # 1-based rep of the frame, 0 outside reps
    vy: npt.NDArray[np.float64]  # m/s, NaN where unknown or uncalibrated
    # A moving camera: the positions in the first frame's view, and each frame's map from that view to
    # its own, so an earlier position is drawn where that place in the room is now.
    room: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None
    to_frame: npt.NDArray[np.float64] | None = None  # (n, 3, 3)

    def trail(self, j0: int, k: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Positions of frames j0..k as frame k shows their places (NaN where nothing is drawn)."""
        if self.room is None or self.to_frame is None:
            return self.x[j0 : k + 1], self.y[j0 : k + 1]
        return project(self.to_frame[k], self.room[0][j0 : k + 1], self.room[1][j0 : k + 1])


def _track(result: PathResult, analysis: Analysis, view: CameraPath | None = None) -> _Track:
    n = len(result.frames)
    t = np.array([f.t for f in result.frames], dtype=np.float64)
    kind_of = {"lost": _LOST, "predicted": _PREDICTED}
    kind = np.array([kind_of.get(f.state, _SEEN) for f in result.frames], dtype=np.int8)
    # The measured positions, not a smoothed curve: the overlay shows what the tracker saw.
    x = np.array([np.nan if f.x is None else f.x for f in result.frames], dtype=np.float64)
    y = np.array([np.nan if f.y is None else f.y for f in result.frames], dtype=np.float64)
    x[kind == _LOST] = np.nan
    y[kind == _LOST] = np.nan
    phases = analysis.phase if len(analysis.phase) == n else ["rest"] * n
    reps = analysis.rep_of_frame if len(analysis.rep_of_frame) == n else [0] * n
    vy = np.asarray(analysis.vy_mps, dtype=np.float64)
    if vy.shape != (n,) or result.calibration.meters_per_pixel is None:
        vy = np.full(n, np.nan)
    room, to_frame = None, None
    if view is not None and view.moving and len(view.to_first) == n:
        to_first = np.asarray(view.to_first, dtype=np.float64)
        room = project(to_first, x, y)
        to_frame = np.asarray(np.linalg.inv(to_first), np.float64)
    return _Track(
        t=t,
        x=x,
        y=y,
        kind=kind,
        phase=np.array([_PHASE_CODES.get(p, 0) for p in phases], dtype=np.int8),
        rep=np.array(reps, dtype=np.int32),
        vy=vy,
        room=room,
        to_frame=to_frame,
    )


Colour = tuple[int, int, int]


def _to_yuv(bgr: Colour, bt709: bool) -> Colour:
    """A BGR colour as limited-range Y'CbCr in the video's own matrix."""
    b, g, r = (c / 255.0 for c in bgr)
    kr, kb = (0.2126, 0.0722) if bt709 else (0.299, 0.114)
    y = kr * r + (1 - kr - kb) * g + kb * b
    u = (b - y) / (2 * (1 - kb))
    v = (r - y) / (2 * (1 - kr))
    return round(16 + 219 * y), round(128 + 224 * u), round(128 + 224 * v)


def _line_thickness(thick: int, half: int) -> int:
    """Line width on a plane; on the half-size chroma planes at least 2, or thin lines lose their
    colour to the grey around them."""
    return max(2, (thick + 1) >> 1) if half else thick


class _Canvas:
    """Drawing on YUVA 4:2:0 with straight alpha (what ffmpeg's overlay lays over the video): the alpha
    plane carries each shape's antialiased coverage times its opacity, the colour planes its plain colour
    a pixel wider all round (no antialiasing), so every pixel with some alpha has the true colour and
    edges do not darken. Luma and alpha are full size, chroma half size (cv2's fixed-point `shift` plus
    one halves every coordinate)."""

    def __init__(self, y: Image, u: Image, v: Image, a: Image, bt709: bool) -> None:
        self.planes = (y, u, v, a)
        self.bt709 = bt709

    @classmethod
    def frame(cls, data: Image, width: int, height: int, bt709: bool) -> _Canvas:
        """Views of the planes of one yuva420p frame stored back to back in `data`."""
        flat = data.reshape(-1)
        luma, chroma = width * height, (width // 2) * (height // 2)
        y = flat[:luma].reshape(height, width)
        u = flat[luma : luma + chroma].reshape(height // 2, width // 2)
        v = flat[luma + chroma : luma + 2 * chroma].reshape(height // 2, width // 2)
        a = flat[luma + 2 * chroma :].reshape(height, width)
        return cls(y, u, v, a, bt709)

    def region(self, x0: int, y0: int, x1: int, y1: int) -> _Canvas:
        """A view of the box from (x0, y0) (rounded down to even, so chroma lines up) to (x1, y1)."""
        x0, y0 = x0 - x0 % 2, y0 - y0 % 2
        y, u, v, a = self.planes
        half = (slice(y0 // 2, (y1 + 1) // 2), slice(x0 // 2, (x1 + 1) // 2))
        return _Canvas(y[y0:y1, x0:x1], u[half], v[half], a[y0:y1, x0:x1], self.bt709)

    def clear(self, keep: float = 1.0) -> None:
        """Black, letting `keep` of the picture behind through (1: fully transparent)."""
        for plane, value in zip(self.planes, (16, 128, 128, round(255 * (1.0 - keep))), strict=True):
            plane.fill(value)

    def values(self, bgr: Colour, alpha: float) -> tuple[int, int, int, int]:
        """(Y, U, V, A) of `bgr` at opacity `alpha`."""
        return (*_to_yuv(bgr, self.bt709), round(255 * alpha))

    def polyline(
        self, points: npt.NDArray[np.int32], values: tuple[int, int, int, int], thick: int, shift: int
    ) -> None:
        """Joined segments through `points` (fixed point, `shift` bits)."""
        y, u, v, a = self.planes
        cv2.polylines(y, [points], False, values[0], thick + 2, cv2.LINE_8, shift)
        for plane, value in ((u, values[1]), (v, values[2])):
            cv2.polylines(plane, [points], False, value, _line_thickness(thick + 2, 1), cv2.LINE_8, shift + 1)
        cv2.polylines(a, [points], False, values[3], thick, cv2.LINE_AA, shift)

    def circle(
        self, c: tuple[int, int], radius: int, bgr: Colour, thick: int, shift: int, luma_only: bool = False
    ) -> None:
        """A disc (thick < 0) or a ring; `luma_only` leaves the chroma under it as it is."""
        y, u, v, a = self.planes
        values = self.values(bgr, 1.0)
        one = 1 << shift  # a pixel, in fixed point
        # The colour covers the antialiased edge: a disc one pixel wider, a ring two pixels thicker.
        solid = (radius + one, thick) if thick < 0 else (radius, thick + 2)
        cv2.circle(y, c, solid[0], values[0], solid[1], cv2.LINE_8, shift)
        if not luma_only:
            for plane, value in ((u, values[1]), (v, values[2])):
                # Rims stay thin on chroma too, or a hollow mark fills in with colour.
                rim = solid[1] if thick < 0 else max(1, solid[1] >> 1)
                cv2.circle(plane, c, solid[0], value, rim, cv2.LINE_8, shift + 1)
        cv2.circle(a, c, radius, values[3], thick, cv2.LINE_AA, shift)

    def text(self, s: str, org: tuple[int, int], scale: float, thick: int) -> None:
        # Luma and alpha only: white on a darkened (so grey) box needs no chroma.
        y, _, _, a = self.planes
        cv2.putText(y, s, org, FONT, scale, 235, thick, cv2.LINE_AA)
        cv2.putText(a, s, org, FONT, scale, 255, thick, cv2.LINE_AA)


@dataclass(frozen=True)
class _Box:
    """A box of the picture, [x0, x1) x [y0, y1), its corner on even coordinates (chroma lines up)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    @property
    def h(self) -> int:
        return self.y1 - self.y0


def _even_box(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> _Box | None:
    """The box clipped to the picture and grown to even corners and an even size (4:2:0 needs both)."""
    bx0, by0 = max(0, math.floor(x0)), max(0, math.floor(y0))
    bx0, by0 = bx0 - bx0 % 2, by0 - by0 % 2
    bx1, by1 = min(width, math.ceil(x1)), min(height, math.ceil(y1))
    if bx1 <= bx0 or by1 <= by0:
        return None
    return _Box(bx0, by0, bx1 + (bx1 - bx0) % 2, by1 + (by1 - by0) % 2)


@dataclass(frozen=True)
class _TextBox:
    box: _Box
    line_h: int
    lines: list[str]


class _Painter:
    """What goes over frame k, drawn into three patches of the picture: the trail (the box of the whole
    path, so known before the first frame), the numbers panel and the per-rep table, each in the corner
    that hides the plate least while it shows (the numbers top left and the table top right where the bar
    never passes). Each patch is drawn with coordinates relative to its own corner."""

    def __init__(
        self,
        width: int,
        height: int,
        track: _Track,
        reps: list[Rep],
        calibrated: bool,
        plate_radius_px: float | None = None,
    ) -> None:
        self.w, self.h = width, height
        self.track = track
        self.reps = reps
        self.calibrated = calibrated
        short = min(width, height)
        self.line = max(2, round(short / 240))
        self.radius = max(4, round(short / 90))
        self.font_scale = max(0.4, short / 900)
        self.text_thick = max(1, round(short / 500))
        end = float(track.t[-1]) if len(track.t) else 0.0
        last_rep_end = max((_rep_end(r) for r in reps), default=math.inf)
        first_row = min((r.concentric.end_t for r in reps), default=math.inf)
        self.table_from = max(min(last_rep_end, end - END_TABLE_S), first_row)
        self._styles: dict[tuple[int, int, bool], tuple[tuple[int, int, int, int], int]] = {}
        self.plate_r = plate_radius_px if plate_radius_px else float(self.radius)
        self.panel_size = self._panel_size()
        self.panel_at = self._corner(self.panel_size, self._least_hiding(self.panel_size, PANEL_CORNERS, 0.0))
        self.table_at, self.table_corner = (0, 0), TABLE_CORNERS[0]
        if reps:
            size = self._size(self._table_lines())
            panel = self._box_at(self.panel_at, self.panel_size)
            self.table_corner = self._least_hiding(size, TABLE_CORNERS, self.table_from, panel)
            self.table_at = self._corner(size, self.table_corner)

    # -- where things go (known before rendering) --

    def trail_box(self) -> _Box | None:
        """Everything the trail and the current-point mark can cover, over the whole clip."""
        tr = self.track
        if tr.room is None:
            xs, ys = tr.x, tr.y
        else:  # each frame draws the trail where the room has moved it
            parts = [tr.trail(self._trail_start(k), k) for k in range(len(tr.t))]
            xs = np.concatenate([p[0] for p in parts]) if parts else tr.x
            ys = np.concatenate([p[1] for p in parts]) if parts else tr.y
        ok = np.isfinite(xs) & np.isfinite(ys)
        if not ok.any():
            return None
        m = self.radius + self.line + 3  # the mark's rim and antialiased edges reach past the centre line
        xs, ys = xs[ok], ys[ok]
        return _even_box(xs.min() - m, ys.min() - m, xs.max() + m + 1, ys.max() + m + 1, self.w, self.h)

    def _trail_start(self, k: int) -> int:
        return int(np.searchsorted(self.track.t, self.track.t[k] - TRAIL_S, side="right"))

    def panel_box(self) -> _Box | None:
        """The union of every frame's numbers panel."""
        b = self._box_at(self.panel_at, self.panel_size)
        return _even_box(b.x0, b.y0, b.x1, b.y1, self.w, self.h)

    def table_box(self) -> _Box | None:
        if not self.reps:
            return None
        b = self._table().box
        return _even_box(b.x0, b.y0, b.x1, b.y1, self.w, self.h)

    # -- where the panels go --

    def _panel_size(self) -> tuple[int, int]:
        sizes = [self._size(self._numbers_lines(k, float(t))) for k, t in enumerate(self.track.t)] or [
            self._size(self._numbers_lines(0, 0.0))
        ]
        return max(w for w, _ in sizes), max(h for _, h in sizes)

    def _corner(self, size: tuple[int, int], corner: str) -> tuple[int, int]:
        pad = self._pad()
        x0 = pad if corner.endswith("left") else self.w - size[0] - pad
        y0 = pad if corner.startswith("top") else self.h - size[1] - pad
        return x0, y0

    def _box_at(self, origin: tuple[int, int], size: tuple[int, int]) -> _Box:
        x0, y0 = max(0, origin[0]), max(0, origin[1])
        x0, y0 = x0 - x0 % 2, y0 - y0 % 2
        return _Box(x0, y0, min(self.w, x0 + size[0]), min(self.h, y0 + size[1]))

    def _least_hiding(
        self, size: tuple[int, int], corners: tuple[str, ...], shown_from: float, avoid: _Box | None = None
    ) -> str:
        """The first of `corners` where a box of `size`, shown from `shown_from` on, hides the plate (its
        disc around each measured centre, summed over the frames) within HIDE_SLACK of the least any
        corner does; away from `avoid` (the other panel) where any corner is."""
        tr = self.track
        on = (tr.t >= shown_from) & np.isfinite(tr.x) & np.isfinite(tr.y)
        x, y = tr.x[on], tr.y[on]
        boxes = [self._box_at(self._corner(size, c), size) for c in corners]

        def hidden(b: _Box) -> float:
            under = 0
            for dx, dy in self.plate_r * _DISC:  # one point of every frame's plate at a time: no n x 61 array
                px, py = x + dx, y + dy
                under += int(np.count_nonzero((px >= b.x0) & (px < b.x1) & (py >= b.y0) & (py < b.y1)))
            return under / len(_DISC)

        def apart(b: _Box) -> bool:
            return (
                avoid is None or b.x0 >= avoid.x1 or b.x1 <= avoid.x0 or b.y0 >= avoid.y1 or b.y1 <= avoid.y0
            )

        free = [i for i, b in enumerate(boxes) if apart(b)] or list(range(len(boxes)))
        scores = {i: hidden(boxes[i]) for i in free}
        least = min(scores.values())
        return corners[next(i for i in free if scores[i] <= least + HIDE_SLACK)]

    # -- drawing --

    def trail(self, canvas: _Canvas, origin: _Box, k: int) -> None:
        tr = self.track
        t_now = tr.t[k]
        j0 = self._trail_start(k)
        xs, ys = tr.trail(j0, k)
        ok = np.isfinite(xs) & np.isfinite(ys)
        # A segment joins two consecutive frames that were both measured: a lost frame breaks the line.
        seg = np.nonzero(ok[:-1] & ok[1:])[0]
        if seg.size == 0:
            return
        shift = 4  # sub-pixel line ends: cv2 takes fixed-point coordinates
        pts = np.stack([xs - origin.x0, ys - origin.y0], axis=1)
        fixed = np.round(np.nan_to_num(pts) * (1 << shift)).astype(np.int32)
        age = (t_now - tr.t[j0 + seg + 1]) / TRAIL_S
        level = np.minimum((age * FADE_LEVELS).astype(int), FADE_LEVELS - 1)
        phase = tr.phase[j0 + seg + 1]
        seen = tr.kind[j0 + seg + 1] == _SEEN
        # Runs of joined segments in one style go in one polyline; oldest first, so newer lie on top.
        start = 0
        for s in range(1, seg.size + 1):
            if (
                s < seg.size
                and seg[s] == seg[s - 1] + 1
                and level[s] == level[start]
                and phase[s] == phase[start]
                and seen[s] == seen[start]
            ):
                continue
            values, thick = self._style(int(phase[start]), int(level[start]), bool(seen[start]), canvas)
            canvas.polyline(fixed[seg[start] : seg[s - 1] + 2], values, thick, shift)
            start = s

    def _style(
        self, phase: int, level: int, seen: bool, canvas: _Canvas
    ) -> tuple[tuple[int, int, int, int], int]:
        key = (phase, level, seen)
        if key not in self._styles:
            # Older steps are more transparent: the trail fades out.
            values = canvas.values(_COLOUR_OF_CODE[phase], 1.0 - level / FADE_LEVELS)
            self._styles[key] = values, self.line if seen else max(1, self.line // 2)
        return self._styles[key]

    def current(self, canvas: _Canvas, origin: _Box, k: int) -> None:
        tr = self.track
        if tr.kind[k] == _LOST or not (np.isfinite(tr.x[k]) and np.isfinite(tr.y[k])):
            return
        centre = (int(round((tr.x[k] - origin.x0) * 16)), int(round((tr.y[k] - origin.y0) * 16)))
        colour = _COLOUR_OF_CODE[int(tr.phase[k])]
        if tr.kind[k] == _PREDICTED:  # hollow: a guess, not a measurement
            canvas.circle(centre, self.radius * 16, colour, self.line, 4)
        else:
            canvas.circle(centre, self.radius * 16, colour, -1, 4)
            # A white rim without chroma: at half size its grey chroma would cover the whole dot.
            canvas.circle(
                centre, self.radius * 16, (255, 255, 255), max(1, self.line // 2), 4, luma_only=True
            )

    def numbers(self, canvas: _Canvas, origin: _Box, k: int) -> None:
        t = float(self.track.t[k])
        self._draw_text(canvas, origin, self._numbers(k, t))

    def table(self, canvas: _Canvas, origin: _Box, k: int) -> None:
        self._draw_text(canvas, origin, self._table(float(self.track.t[k])))

    def shows_table(self, k: int) -> bool:
        return bool(self.reps) and float(self.track.t[k]) >= self.table_from

    def table_rows(self, k: int) -> int:
        """How many reps the table lists at frame k: those whose drive has ended."""
        return sum(r.concentric.end_t <= self.track.t[k] for r in self.reps)

    # -- text --

    def _numbers(self, k: int, t: float) -> _TextBox:
        return self._text_box(self._numbers_lines(k, t), self.panel_at)

    def _numbers_lines(self, k: int, t: float) -> list[str]:
        rep = self._rep_for(k, t)
        lines: list[str] = []
        if rep is None:
            lines.append("Rep -")
        else:
            lines.append(f"Rep {rep.index}" + ("" if rep.concentric.seen_whole else "*"))
        if self.calibrated and k < len(self.track.vy) and math.isfinite(self.track.vy[k]):
            lines.append(f"v {self.track.vy[k]:+.2f} m/s")
        if not self.calibrated:
            lines.append("no scale: plate not measured")
        if rep is not None and t >= rep.concentric.end_t:
            c = rep.concentric
            lines.append(f"mean {_num(c.mean_velocity_mps)}  peak {_num(c.peak_velocity_mps)} m/s")
            lines.append(f"ROM {_num(c.displacement_m)} m")
            if not c.seen_whole:
                lines.append("* partly unseen")  # as in the end table
        return lines

    def _rep_for(self, k: int, t: float) -> Rep | None:
        """The rep under way at frame k, else the last one that has started."""
        tr = self.track
        if k < len(tr.rep) and tr.rep[k] > 0:
            index = int(tr.rep[k])
            for r in self.reps:
                if r.index == index:
                    return r
        started = [r for r in self.reps if _rep_start(r) <= t]
        return started[-1] if started else None

    def _table(self, t: float = math.inf) -> _TextBox:
        """The table at time t (the reps whose drive has ended by then), in the whole table's corner; at
        a bottom corner its foot stays where the whole table's is."""
        lines = self._table_lines(t)
        x0, y0 = self.table_at
        if self.table_corner.startswith("bottom"):
            y0 += self._size(self._table_lines())[1] - self._size(lines)[1]
        return self._text_box(lines, (x0, y0))

    def _table_lines(self, t: float = math.inf) -> list[str]:
        unit = "m/s" if self.calibrated else "(no scale)"
        rows = [f"rep  mean  peak {unit}  ROM m"]
        # A long set keeps its last twelve: the table must fit the frame.
        shown = [r for r in self.reps if r.concentric.end_t <= t][-12:]
        for r in shown:
            c = r.concentric
            numbers = (_num(c.mean_velocity_mps), _num(c.peak_velocity_mps), _num(c.displacement_m))
            mark = "" if c.seen_whole else "*"
            rows.append(f"{str(r.index) + mark:>3}  " + "  ".join(numbers))
        if any(not r.concentric.seen_whole for r in shown):
            rows.append("* partly unseen")  # kinematics.SEEN_MARGIN_S; short: the panels share a narrow frame
        return rows

    def _pad(self) -> int:
        return max(6, round(min(self.w, self.h) / 60))

    def _layout(self, lines: list[str]) -> tuple[int, int, int]:
        """(width, height, line height) of a panel of `lines`."""
        sizes = [cv2.getTextSize(s, FONT, self.font_scale, self.text_thick) for s in lines]
        line_h = max(h + base for (_, h), base in sizes) + self.text_thick * 2
        return max(w for (w, _), _ in sizes) + 2 * self._pad(), line_h * len(lines) + self._pad(), line_h

    def _size(self, lines: list[str]) -> tuple[int, int]:
        return self._layout(lines)[:2]

    def _text_box(self, lines: list[str], origin: tuple[int, int]) -> _TextBox:
        box_w, box_h, line_h = self._layout(lines)
        return _TextBox(self._box_at(origin, (box_w, box_h)), line_h, lines)

    def _draw_text(self, canvas: _Canvas, origin: _Box, text: _TextBox) -> None:
        b = text.box
        if b.w <= 0 or b.h <= 0:
            return
        x0, y0 = b.x0 - origin.x0, b.y0 - origin.y0
        # Darken rather than cover: the lifter stays visible behind the numbers.
        canvas.region(x0, y0, x0 + b.w, y0 + b.h).clear(keep=0.35)
        for n, s in enumerate(text.lines):
            canvas.text(s, (x0 + self._pad(), y0 + (n + 1) * text.line_h), self.font_scale, self.text_thick)


def _num(v: float | None) -> str:
    return f"{v:.2f}" if v is not None and math.isfinite(v) else "-"


def _rep_start(rep: Rep) -> float:
    starts = [rep.concentric.start_t] + ([rep.eccentric.start_t] if rep.eccentric else [])
    return min(starts)


def _rep_end(rep: Rep) -> float:
    ends = [rep.concentric.end_t] + ([rep.eccentric.end_t] if rep.eccentric else [])
    return max(ends)


def _pack(sizes: list[tuple[int, int]]) -> tuple[int, int, list[tuple[int, int]]]:
    """Place boxes of `sizes` side by side in one small frame: (width, height, corners). Tries a row, a
    column, and the tallest beside a column of the rest, and keeps the smallest (fewer bytes a frame)."""

    def row(items: list[int]) -> tuple[int, int, dict[int, tuple[int, int]]]:
        x, at = 0, {}
        for i in items:
            at[i] = (x, 0)
            x += sizes[i][0]
        return x, max(sizes[i][1] for i in items), at

    def column(items: list[int], x0: int = 0) -> tuple[int, int, dict[int, tuple[int, int]]]:
        y, at = 0, {}
        for i in items:
            at[i] = (x0, y)
            y += sizes[i][1]
        return max(sizes[i][0] for i in items), y, at

    order = sorted(range(len(sizes)), key=lambda i: -sizes[i][1])
    options = [row(order), column(order)]
    if len(order) > 2:
        tall = order[0]
        w_rest, h_rest, at = column(order[1:], sizes[tall][0])
        at[tall] = (0, 0)
        options.append((sizes[tall][0] + w_rest, max(sizes[tall][1], h_rest), at))
    w, h, at = min(options, key=lambda o: o[0] * o[1])
    return w, h, [at[i] for i in range(len(sizes))]


def _overlay_times_us(first_pts_s: float, t: npt.NDArray[np.float64]) -> tuple[int, list[int]]:
    """(where the first overlay frame sits on the source's clock, each frame's time after it), all in
    microseconds. overlay shows the newest overlay frame at or before a video frame, so each frame is
    timed a little before its video frame (a rounding of either clock cannot put it after) and well
    after the video frame before it."""
    abs_us = (first_pts_s + t) * 1e6
    gap = np.diff(abs_us, prepend=abs_us[0] - 2 * EARLY_US)
    at = np.floor(abs_us - np.minimum(EARLY_US, gap / 3)).astype(np.int64)
    start = max(0, int(at[0])) if at.size else 0
    times: list[int] = []
    for a in at.tolist():
        times.append(max(a - start, times[-1] + 1 if times else 0))
    return start, times


def _first_pts_s(info: VideoInfo) -> float:
    """The first frame's time on the file's clock, as `video` reads it (its frames' t start there)."""
    # A generator: closing it stops the decoder after one frame.
    frames = cast(Generator[video.I420Frame, None, None], video.frames_i420(info))
    try:
        return next(frames).pts_s
    except StopIteration:
        raise EmptyVideoError(f"{info.path.name}: the video has no frames") from None
    finally:
        frames.close()


def render_overlay(
    info: VideoInfo,
    result: PathResult,
    analysis: Analysis,
    out_path: Path,
    first_pts_s: float | None = None,
    progress: Callable[[int], None] | None = None,
    view: CameraPath | None = None,
) -> None:
    """H.264 yuv420p +faststart, original audio kept, same size, frames and timing as the input.

    `first_pts_s`: the first frame's time on the file's clock (`video.Frame.pts_s`) where the caller
    decoded it already; otherwise one frame is decoded here to read it. `progress`: called with the
    number of frames handed to the encoder so far. `view`: the camera's motion, where it moved (the trail
    then stays on the places in the room the bar passed, not on the picture).

    One ffmpeg decodes the input, lays what Python draws over it and encodes: Python draws only the
    patches that change (trail, numbers, table) and sends them as one small frame per video frame."""
    track = _track(result, analysis, view)
    calibrated = result.calibration.meters_per_pixel is not None
    painter = _Painter(
        info.width,
        info.height,
        track,
        result.reps,
        calibrated=calibrated,
        plate_radius_px=result.calibration.plate_radius_px,
    )
    bt709 = info.colour is not None and info.colour[0].startswith("bt709")
    boxes = {
        name: box
        for name, box in (
            ("trail", painter.trail_box()),
            ("panel", painter.panel_box()),
            ("table", painter.table_box()),
        )
        if box is not None
    }
    names = list(boxes)
    sw, sh, corners = _pack([(boxes[n].w, boxes[n].h) for n in names])
    buffer = np.empty(sw * sh * 5 // 2, np.uint8)
    whole = _Canvas.frame(buffer, sw, sh, bt709)
    whole.clear()
    patches = [
        ffmpeg.Patch(cx, cy, boxes[n].w, boxes[n].h, boxes[n].x0, boxes[n].y0)
        for n, (cx, cy) in zip(names, corners, strict=True)
    ]
    views = {
        n: whole.region(cx, cy, cx + boxes[n].w, cy + boxes[n].h)
        for n, (cx, cy) in zip(names, corners, strict=True)
    }
    first = _first_pts_s(info) if first_pts_s is None else first_pts_s
    start_us, times_us = _overlay_times_us(first, track.t)
    even_w, even_h = video.even_size(info)
    # The frames `video` gives the tracker: upright (ffmpeg autorotates), size pinned, padded to even.
    chain = f"scale=w={info.width}:h={info.height},pad={even_w}:{even_h},format=yuv420p"
    source = ["-max_pixels", str(info.limits.max_pixels), *ffmpeg.FILE_ONLY, "-i", str(info.path)]
    stream = f"0:{info.stream_index}" if info.stream_index >= 0 else "0:v:0"
    audio = (info.audio_codec or "unknown") if info.has_audio else None
    table_rows = 0
    with ffmpeg.OverlayEncoder(
        out_path, source, stream, chain, sw, sh, patches, start_us, audio, info.colour
    ) as enc:
        for k, t_us in enumerate(times_us):
            if "trail" in views:
                views["trail"].clear()
                painter.trail(views["trail"], boxes["trail"], k)
                painter.current(views["trail"], boxes["trail"], k)
            views["panel"].clear()
            painter.numbers(views["panel"], boxes["panel"], k)
            if "table" in views and painter.shows_table(k) and painter.table_rows(k) != table_rows:
                # Drawn again only when a rep's row joins it.
                views["table"].clear()
                painter.table(views["table"], boxes["table"], k)
                table_rows = painter.table_rows(k)
            enc.write(buffer, t_us)
            if progress is not None:
                progress(k + 1)


def render_plot(result: PathResult, analysis: Analysis, out_path: Path) -> None:
    """Vertical bar velocity over time, each rep's concentric phase shaded and labelled."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t = np.asarray(analysis.t, dtype=np.float64)  # the video's clock, as path.json's times
    slow = result.video.slow_motion
    calibrated = result.calibration.meters_per_pixel is not None
    vy = np.asarray(analysis.vy_mps, dtype=np.float64)
    unit = "m/s"
    note = ""
    if not calibrated or vy.shape != t.shape or not np.isfinite(vy).any():
        # Without a scale, pixels per second up: the shape of the lift is still worth seeing.
        vy = _px_velocity(t / slow, np.asarray(analysis.y_px, dtype=np.float64))
        unit = "px/s"
        note = (
            "no scale: plate not measured, velocity in pixels per second"
            if not calibrated
            else "no velocity in m/s (too little of the bar tracked): pixels per second"
        )

    # Figure + Agg canvas directly: no pyplot global state, safe in a long-lived Lambda process.
    fig = Figure(figsize=(10, 4), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.axhline(0.0, color="0.6", linewidth=0.8)
    if t.size and np.isfinite(vy).any():
        ax.plot(t, vy, color="#1f5fa8", linewidth=1.4, label="vertical velocity (up +)")
    top = float(np.nanmax(vy)) if np.isfinite(vy).any() else 1.0
    for rep in result.reps:
        c = rep.concentric
        ax.axvspan(c.start_t, c.end_t, color="#3cb44b", alpha=0.18, linewidth=0)
        if rep.eccentric is not None:
            ax.axvspan(rep.eccentric.start_t, rep.eccentric.end_t, color="#ff9632", alpha=0.10, linewidth=0)
        label = f"rep {rep.index}" + ("" if c.seen_whole else "*")
        if calibrated and math.isfinite(c.mean_velocity_mps):
            label += f"\n{c.mean_velocity_mps:.2f} m/s"
        ax.annotate(
            label,
            xy=((c.start_t + c.end_t) / 2, top),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    if slow != 1.0:
        filmed = f", filmed at {result.video.capture_fps:.0f} fps" if result.video.capture_fps else ""
        ax.set_xlabel(f"time in the video (s): slow motion {slow:g}x{filmed}; velocities as lifted")
    else:
        ax.set_xlabel("time (s)")
    ax.set_ylabel(f"vertical velocity ({unit})")
    count = len(result.reps)
    ax.set_title(
        f"Bar velocity: {count} rep{'s' if count != 1 else ''}" if count else "Bar velocity: no reps found",
        loc="left",
    )
    if note:
        ax.text(0.99, 0.02, note, transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="0.35")
    if any(not r.concentric.seen_whole for r in result.reps):
        unseen = (
            "* drive partly unseen (the video or the track starts or ends on it): its numbers may read high"
        )
        ax.text(0.01, 0.02, unseen, transform=ax.transAxes, ha="left", va="bottom", fontsize=8, color="0.35")
    if t.size:
        ax.set_xlim(float(t[0]), float(t[-1]) if t[-1] > t[0] else float(t[0]) + 1.0)
    ax.margins(y=0.25)
    ax.grid(True, alpha=0.25)
    fig.tight_layout()
    fig.savefig(str(out_path), format="png")


def _px_velocity(t: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Upward speed in px/s from image rows (y grows downwards), NaN across gaps."""
    v = np.full(t.shape, np.nan)
    if t.size < 2 or y.shape != t.shape:
        return v
    dt = np.diff(t)
    dy = -np.diff(y)
    with np.errstate(invalid="ignore", divide="ignore"):
        step = dy / dt
    v[1:] = step
    return v
