"""Overlay video and velocity plot.

The overlay decodes the input again (video.frames), draws the last couple of seconds of bar path on
each frame, and streams the frames, each with its own presentation time, into ffmpeg's H.264 encoder,
which also takes the original sound from the input. Only measured positions are drawn: nothing for
`lost` frames, hollow marks for `predicted` ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from barpath import video
from barpath.ffmpeg import H264Writer
from barpath.kinematics import Analysis
from barpath.schema import PathResult, Rep
from barpath.video import VideoInfo

Image = npt.NDArray[np.uint8]

TRAIL_S = 2.0  # seconds of path behind the current frame
FADE_LEVELS = 4  # the trail fades in this many steps (each step is one blend over the trail's box)
END_TABLE_S = 3.0  # the per-rep table shows at least this long before the end

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


def _track(result: PathResult, analysis: Analysis) -> _Track:
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
    return _Track(
        t=t,
        x=x,
        y=y,
        kind=kind,
        phase=np.array([_PHASE_CODES.get(p, 0) for p in phases], dtype=np.int8),
        rep=np.array(reps, dtype=np.int32),
        vy=vy,
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
    """Drawing on planar YUV 4:2:0 in place: each shape goes on the luma plane at full size and on the
    two chroma planes at half size (cv2's fixed-point `shift` plus one halves every coordinate)."""

    def __init__(self, y: Image, u: Image, v: Image, bt709: bool) -> None:
        self.planes = (y, u, v)
        self.bt709 = bt709

    @classmethod
    def of(cls, frame: video.I420Frame, bt709: bool) -> _Canvas:
        return cls(*frame.planes(), bt709=bt709)

    def region(self, x0: int, y0: int, x1: int, y1: int) -> _Canvas:
        """A view of the box from (x0, y0) (rounded down to even, so chroma lines up) to (x1, y1)."""
        x0, y0 = x0 - x0 % 2, y0 - y0 % 2
        y, u, v = self.planes
        half = (slice(y0 // 2, (y1 + 1) // 2), slice(x0 // 2, (x1 + 1) // 2))
        return _Canvas(y[y0:y1, x0:x1], u[half], v[half], self.bt709)

    def copy(self) -> _Canvas:
        y, u, v = self.planes
        return _Canvas(y.copy(), u.copy(), v.copy(), self.bt709)

    def blend_from(self, other: _Canvas, alpha: float) -> None:
        for mine, theirs in zip(self.planes, other.planes, strict=True):
            cv2.addWeighted(theirs, alpha, mine, 1.0 - alpha, 0.0, dst=mine)

    def darken(self, alpha: float) -> None:
        """Towards black: luma towards 16, chroma towards neutral 128."""
        for n, plane in enumerate(self.planes):
            cv2.convertScaleAbs(plane, dst=plane, alpha=alpha, beta=(16 if n == 0 else 128) * (1 - alpha))

    def line(self, a: tuple[int, int], b: tuple[int, int], bgr: Colour, thick: int, shift: int) -> None:
        for n, (plane, value) in enumerate(zip(self.planes, _to_yuv(bgr, self.bt709), strict=True)):
            half = min(n, 1)
            cv2.line(plane, a, b, value, _line_thickness(thick, half), cv2.LINE_AA, shift + half)

    def circle(
        self, c: tuple[int, int], radius: int, bgr: Colour, thick: int, shift: int, luma_only: bool = False
    ) -> None:
        planes = self.planes[:1] if luma_only else self.planes
        for n, (plane, value) in enumerate(zip(planes, _to_yuv(bgr, self.bt709), strict=False)):
            half = min(n, 1)
            # Rims stay thin on chroma too, or a hollow mark fills in with colour.
            rim = thick if thick < 0 else max(1, thick >> half)
            cv2.circle(plane, c, radius, value, rim, cv2.LINE_AA, shift + half)

    def text(self, s: str, org: tuple[int, int], scale: float, thick: int) -> None:
        # Luma only: white on a darkened (so nearly grey) box needs no chroma.
        cv2.putText(self.planes[0], s, org, FONT, scale, 235, thick, cv2.LINE_AA)


class _Painter:
    def __init__(self, width: int, height: int, track: _Track, reps: list[Rep], calibrated: bool) -> None:
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
        self.table_from = min(last_rep_end, end - END_TABLE_S)

    def paint(self, canvas: _Canvas, k: int, t: float) -> None:
        tr = self.track
        if k < len(tr.t):
            self._trail(canvas, k)
            self._current(canvas, k)
        self._numbers(canvas, k, t)
        if self.reps and t >= self.table_from:
            self._table(canvas)

    def _trail(self, canvas: _Canvas, k: int) -> None:
        tr = self.track
        t_now = tr.t[k]
        j0 = int(np.searchsorted(tr.t, t_now - TRAIL_S, side="right"))
        xs, ys = tr.x[j0 : k + 1], tr.y[j0 : k + 1]
        ok = np.isfinite(xs) & np.isfinite(ys)
        # A segment joins two consecutive frames that were both measured: a lost frame breaks the line.
        seg = np.nonzero(ok[:-1] & ok[1:])[0]
        if seg.size == 0:
            return
        pts = np.stack([xs, ys], axis=1)
        age = (t_now - tr.t[j0 + seg + 1]) / TRAIL_S
        level = np.minimum((age * FADE_LEVELS).astype(int), FADE_LEVELS - 1)
        used = pts[np.concatenate([seg, seg + 1])]
        pad = self.line + 2
        x0 = max(0, int(np.floor(used[:, 0].min())) - pad)
        y0 = max(0, int(np.floor(used[:, 1].min())) - pad)
        x0, y0 = x0 - x0 % 2, y0 - y0 % 2
        x1 = min(self.w, int(np.ceil(used[:, 0].max())) + pad + 1)
        y1 = min(self.h, int(np.ceil(used[:, 1].max())) + pad + 1)
        if x1 <= x0 or y1 <= y0:
            return
        roi = canvas.region(x0, y0, x1, y1)
        shift = 4  # sub-pixel line ends: cv2 takes fixed-point coordinates
        fixed = np.round(np.nan_to_num(pts - (x0, y0)) * (1 << shift)).astype(np.int32)
        for lv in range(FADE_LEVELS - 1, -1, -1):  # oldest first, so newer segments lie on top
            mine = seg[level == lv]
            if mine.size == 0:
                continue
            layer = roi if lv == 0 else roi.copy()
            for s in mine:
                colour = _COLOUR_OF_CODE[int(tr.phase[j0 + s + 1])]
                thick = self.line if tr.kind[j0 + s + 1] == _SEEN else max(1, self.line // 2)
                a, b = (int(fixed[s, 0]), int(fixed[s, 1])), (int(fixed[s + 1, 0]), int(fixed[s + 1, 1]))
                layer.line(a, b, colour, thick, shift)
            if lv:
                roi.blend_from(layer, 1.0 - lv / FADE_LEVELS)

    def _current(self, canvas: _Canvas, k: int) -> None:
        tr = self.track
        if tr.kind[k] == _LOST or not (np.isfinite(tr.x[k]) and np.isfinite(tr.y[k])):
            return
        centre = (int(round(tr.x[k] * 16)), int(round(tr.y[k] * 16)))
        colour = _COLOUR_OF_CODE[int(tr.phase[k])]
        if tr.kind[k] == _PREDICTED:  # hollow: a guess, not a measurement
            canvas.circle(centre, self.radius * 16, colour, self.line, 4)
        else:
            canvas.circle(centre, self.radius * 16, colour, -1, 4)
            # A white rim in luma only: at half size its grey chroma would cover the whole dot.
            canvas.circle(
                centre, self.radius * 16, (255, 255, 255), max(1, self.line // 2), 4, luma_only=True
            )

    def _numbers(self, canvas: _Canvas, k: int, t: float) -> None:
        rep = self._rep_for(k, t)
        lines: list[str] = []
        if rep is None:
            lines.append("Rep -")
        else:
            lines.append(f"Rep {rep.index}")
        if self.calibrated and k < len(self.track.vy) and math.isfinite(self.track.vy[k]):
            lines.append(f"v {self.track.vy[k]:+.2f} m/s")
        if not self.calibrated:
            lines.append("no scale: plate not measured")
        if rep is not None and t >= rep.concentric.end_t:
            c = rep.concentric
            lines.append(f"mean {_num(c.mean_velocity_mps)}  peak {_num(c.peak_velocity_mps)} m/s")
            lines.append(f"ROM {_num(c.displacement_m)} m")
        self._text_box(canvas, lines, (self._pad(), self._pad()))

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

    def _table(self, canvas: _Canvas) -> None:
        unit = "m/s" if self.calibrated else "(no scale)"
        rows = [f"rep  mean  peak {unit}  ROM m"]
        shown = self.reps[-12:]  # a long set keeps its last twelve: the table must fit the frame
        for r in shown:
            c = r.concentric
            numbers = (_num(c.mean_velocity_mps), _num(c.peak_velocity_mps), _num(c.displacement_m))
            rows.append(f"{r.index:>3}  " + "  ".join(numbers))
        (tw, _), _ = cv2.getTextSize(max(rows, key=len), FONT, self.font_scale, self.text_thick)
        self._text_box(canvas, rows, (self.w - tw - 3 * self._pad(), self._pad()))

    def _pad(self) -> int:
        return max(6, round(min(self.w, self.h) / 60))

    def _text_box(self, canvas: _Canvas, lines: list[str], origin: tuple[int, int]) -> None:
        if not lines:
            return
        sizes = [cv2.getTextSize(s, FONT, self.font_scale, self.text_thick) for s in lines]
        line_h = max(h + base for (_, h), base in sizes) + self.text_thick * 2
        box_w = max(w for (w, _), _ in sizes) + 2 * self._pad()
        box_h = line_h * len(lines) + self._pad()
        x0, y0 = max(0, origin[0]), max(0, origin[1])
        x0, y0 = x0 - x0 % 2, y0 - y0 % 2
        x1, y1 = min(self.w, x0 + box_w), min(self.h, y0 + box_h)
        if x1 <= x0 or y1 <= y0:
            return
        # Darken rather than cover: the lifter stays visible behind the numbers.
        canvas.region(x0, y0, x1, y1).darken(0.35)
        for n, s in enumerate(lines):
            canvas.text(s, (x0 + self._pad(), y0 + (n + 1) * line_h), self.font_scale, self.text_thick)


def _num(v: float | None) -> str:
    return f"{v:.2f}" if v is not None and math.isfinite(v) else "-"


def _rep_start(rep: Rep) -> float:
    starts = [rep.concentric.start_t] + ([rep.eccentric.start_t] if rep.eccentric else [])
    return min(starts)


def _rep_end(rep: Rep) -> float:
    ends = [rep.concentric.end_t] + ([rep.eccentric.end_t] if rep.eccentric else [])
    return max(ends)


def render_overlay(info: VideoInfo, result: PathResult, analysis: Analysis, out_path: Path) -> None:
    """H.264 yuv420p +faststart, original audio kept, same size and timing as the input."""
    track = _track(result, analysis)
    calibrated = result.calibration.meters_per_pixel is not None
    painter = _Painter(info.width, info.height, track, result.reps, calibrated=calibrated)
    bt709 = info.colour is not None and info.colour[0].startswith("bt709")
    width, height = video.even_size(info)
    writer: H264Writer | None = None
    try:
        # Planar YUV straight from the decoder to the encoder: no colour conversion on either side.
        for frame in video.frames_i420(info):
            if writer is None:
                writer = H264Writer(
                    out_path,
                    width,
                    height,
                    info.fps,
                    audio_from=info.path if info.has_audio else None,
                    audio_codec=(info.audio_codec or "unknown") if info.has_audio else None,
                    video_delay_s=frame.pts_s,
                    pix_fmt="yuv420p",
                    colour=info.colour,
                )
            painter.paint(_Canvas.of(frame, bt709), frame.i, frame.t)
            writer.write(frame.data, frame.t)
        if writer is not None:
            writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise


def render_plot(result: PathResult, analysis: Analysis, out_path: Path) -> None:
    """Vertical bar velocity over time, each rep's concentric phase shaded and labelled."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t = np.asarray(analysis.t, dtype=np.float64)
    calibrated = result.calibration.meters_per_pixel is not None
    vy = np.asarray(analysis.vy_mps, dtype=np.float64)
    unit = "m/s"
    note = ""
    if not calibrated or vy.shape != t.shape or not np.isfinite(vy).any():
        # Without a scale, pixels per second up: the shape of the lift is still worth seeing.
        vy = _px_velocity(t, np.asarray(analysis.y_px, dtype=np.float64))
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
        label = f"rep {rep.index}"
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
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"vertical velocity ({unit})")
    count = len(result.reps)
    ax.set_title(
        f"Bar velocity: {count} rep{'s' if count != 1 else ''}" if count else "Bar velocity: no reps found",
        loc="left",
    )
    if note:
        ax.text(0.99, 0.02, note, transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="0.35")
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
