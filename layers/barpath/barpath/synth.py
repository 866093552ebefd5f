"""Synthetic side-view lifting clips with exact ground truth, for tests, `make demo` and `make bench`.

The bar end follows an analytical path (minimum-jerk segments plus a small sinusoidal sway), so every
position and velocity in the ground truth is exact, and the plate is drawn from that same path with
sub-pixel precision: its sprite is an analytical, anti-aliased radial profile evaluated at the true
centre, and motion blur averages sub-frames spread symmetrically around each frame's time, which keeps
the blurred plate centred on the true position.

Coordinates follow OpenCV: pixel (row r, column c) has its centre at x=c, y=r of the upright frame.
Vertical velocities are positive upward (the bar rising), in m/s.

Each realism feature is a switch on `SynthSpec`; `SynthSpec.plain()` turns the visual ones off (a flat
background and a lone plate), `SynthSpec.hard()` turns everything on.
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Literal

import cv2
import numpy as np
import numpy.typing as npt

from barpath.ffmpeg import exe as ffmpeg_exe
from barpath.schema import Phase, Rep

Lift = Literal["squat", "bench", "deadlift", "clean"]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]

# Encoded timestamps live on a 90 kHz clock (the MPEG one phones use); ground truth uses the same ticks.
TICKS_PER_S = 90_000
_LUT_STEPS = 64  # radial profile samples per pixel: the anti-aliasing ramp is linear, so this is exact enough

# Per-lift defaults: range of motion (m), mean concentric velocity of the first and last rep (m/s),
# mean eccentric velocity (m/s), bar-centre height at the top of the rep (m above the floor).
_LIFT_DEFAULTS: dict[str, dict[str, float]] = {
    "squat": {"rom": 0.50, "v_first": 0.80, "v_last": 0.60, "v_ecc": 0.50, "top": 1.40},
    "bench": {"rom": 0.42, "v_first": 0.70, "v_last": 0.45, "v_ecc": 0.45, "top": 1.12},
    "deadlift": {"rom": 0.48, "v_first": 0.70, "v_last": 0.50, "v_ecc": 0.70, "top": 0.705},
    "clean": {"rom": 0.97, "v_first": 1.20, "v_last": 1.05, "v_ecc": 0.90, "top": 1.195},
}


@dataclass(frozen=True)
class SynthSpec:
    lift: Lift = "squat"
    n_reps: int = 5
    width: int = 1280  # upright frame size
    height: int = 720
    fps: float = 30.0  # nominal rate; the variable-rate variant jitters around it
    seconds: float | None = None  # None: as long as the set needs; longer: hold at the end
    plate_diameter_m: float = 0.45
    px_per_m: float | None = None  # None: fit the lift into the frame
    rom_m: float | None = None  # None: the lift's default
    velocities_mps: tuple[float, ...] | None = None  # mean concentric velocity per rep
    v_first_mps: float | None = None  # used when velocities_mps is None: linear fatigue first -> last
    v_last_mps: float | None = None
    v_eccentric_mps: float | None = None
    rack: bool = True  # squat/bench: unrack + walk-out at the start, walk-in + re-rack at the end
    sway_m: float = 0.006  # horizontal sway amplitude
    seed: int = 0
    # Realism switches.
    background: bool = True  # textured gym; off: flat grey
    lifter: bool = True  # body silhouette behind the plate
    distractors: bool = True  # static plates on the floor / a plate tree, dumbbells
    motion_blur: bool = True
    shutter: float = 0.5  # exposure as a fraction of the frame interval (180 degree shutter)
    noise_sigma: float = 2.5  # sensor noise, grey levels; 0 turns it off
    crf: int = 23
    occlusion: bool = False  # an arm sweeps across the plate during one rep
    # Someone walks slowly between the camera and the lifter, hiding the plate through the rest after
    # the first rep: a textured shirt crossing the picture, near enough to the camera to stand taller
    # than it.
    passerby: bool = False
    # Another lifter farther back, drawn this size against the filmed one (0: none), deadlifting a plate
    # like the filmed one on their own time, pulling first: something that moves with a lift, not this one.
    second_lifter: float = 0.0
    # Hand-held: the view drifts smoothly up to about this far (px) from where it started, and rolls a
    # little with it. 0: a tripod.
    camera_drift_px: float = 0.0
    # A camera turned away from side-on: the scene squeezed across to this fraction (the cosine of the
    # turn; 0.71 is 45 degrees), the plate an upright ellipse and the lift's forward motion as short.
    view_squeeze: float = 1.0
    rotation_deg: int = 0  # 0/90/180/270: clockwise rotation the metadata asks a player to apply
    vfr: bool = False  # irregular frame times between vfr_fps_range
    vfr_fps_range: tuple[float, float] = (25.0, 35.0)
    audio: bool = False  # a 440 Hz sine track
    plate_bgr: tuple[int, int, int] = (38, 38, 40)  # black bumper

    @classmethod
    def plain(cls, **kw: Any) -> SynthSpec:
        """Only the plate on a flat background: what a geometry check needs."""
        base: dict[str, Any] = {
            "background": False,
            "lifter": False,
            "distractors": False,
            "motion_blur": False,
            "noise_sigma": 0.0,
            "sway_m": 0.0,
        }
        return cls(**{**base, **kw})

    @classmethod
    def hard(cls, **kw: Any) -> SynthSpec:
        return cls(**{**{"occlusion": True, "noise_sigma": 4.0}, **kw})


@dataclass
class MoveTruth:
    """A bar movement that is not part of a rep (unrack, walk-out, catch, ...): it must not count."""

    kind: str
    start_t: float
    end_t: float
    vertical_m: float  # signed, up positive
    horizontal_m: float


@dataclass
class FrameTruth:
    i: int
    t: float  # s since the first frame's presentation time (exactly the encoded timestamp)
    x: float  # plate centre, upright px
    y: float
    vx_mps: float
    vy_mps: float  # up positive
    visible: float  # fraction of the plate disc that is in frame and not occluded


@dataclass
class GroundTruth:
    lift: str
    width: int
    height: int
    rotation_deg: int
    vfr: bool
    has_audio: bool
    plate_diameter_m: float
    plate_radius_px: float
    meters_per_pixel: float
    frames: list[FrameTruth]
    reps: list[Rep]  # same records as path.json's reps, exact
    moves: list[MoveTruth]
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def t(self) -> F64:
        return np.array([f.t for f in self.frames], dtype=np.float64)

    @property
    def xy(self) -> F64:
        return np.array([[f.x, f.y] for f in self.frames], dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": "barpath/synth-truth@1", **asdict(self)}

    def write_json(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))

    @classmethod
    def read_json(cls, path: Path) -> GroundTruth:
        doc = json.loads(Path(path).read_text())
        doc.pop("schema", None)
        doc["frames"] = [FrameTruth(**f) for f in doc["frames"]]
        doc["reps"] = [
            Rep(
                index=r["index"],
                concentric=Phase(**r["concentric"]),
                eccentric=Phase(**r["eccentric"]),
                horizontal_deviation_m=r["horizontal_deviation_m"],
            )
            for r in doc["reps"]
        ]
        doc["moves"] = [MoveTruth(**m) for m in doc["moves"]]
        return cls(**doc)


# --------------------------------------------------------------------------------------------------
# Motion: minimum-jerk segments in metres (x forward, h up from the floor), plus sway.


@dataclass(frozen=True)
class _Segment:
    t0: float
    t1: float
    x0: float
    h0: float
    x1: float
    h1: float
    kind: str  # hold | eccentric | concentric | a MoveTruth kind
    rep: int | None = None
    loop_m: float = 0.0  # horizontal excursion mid-phase (the bar looping toward the lifter)


@dataclass(frozen=True)
class _Motion:
    segments: tuple[_Segment, ...]
    sway_m: float
    sway_w: tuple[float, float]
    sway_phi: tuple[float, float]

    @property
    def duration(self) -> float:
        return self.segments[-1].t1

    def eval(self, t: F64) -> tuple[F64, F64, F64, F64]:
        """Position (x, h) in m and velocity (vx, vh) in m/s at times `t` (clamped to the clip)."""
        t0 = np.array([s.t0 for s in self.segments])
        idx = np.clip(np.searchsorted(t0, t, side="right") - 1, 0, len(self.segments) - 1)
        seg = [self.segments[k] for k in range(len(self.segments))]
        a = np.array([[s.t0, s.t1 - s.t0, s.x0, s.h0, s.x1 - s.x0, s.h1 - s.h0, s.loop_m] for s in seg])[idx]
        dur = a[:, 1]
        tau = np.clip((t - a[:, 0]) / dur, 0.0, 1.0)
        s = tau**3 * (10 - 15 * tau + 6 * tau**2)
        ds = 30 * tau**2 * (1 - tau) ** 2 / dur
        inside = (t >= a[:, 0]) & (t <= a[:, 0] + dur)
        ds = np.where(inside, ds, 0.0)
        loop = a[:, 6] * np.sin(np.pi * s)
        dloop = a[:, 6] * np.pi * np.cos(np.pi * s) * ds
        x = a[:, 2] + a[:, 4] * s + loop
        vx = a[:, 4] * ds + dloop
        h = a[:, 3] + a[:, 5] * s
        vh = a[:, 5] * ds
        for w, phi, amp in zip(self.sway_w, self.sway_phi, (1.0, 0.5), strict=True):
            x = x + self.sway_m * amp * np.sin(w * t + phi)
            vx = vx + self.sway_m * amp * w * np.cos(w * t + phi)
        return x, h, vx, vh

    def sway(self, t: float) -> float:
        return sum(
            self.sway_m * amp * math.sin(w * t + phi)
            for w, phi, amp in zip(self.sway_w, self.sway_phi, (1.0, 0.5), strict=True)
        )


def _rep_velocities(spec: SynthSpec) -> list[float]:
    d = _LIFT_DEFAULTS[spec.lift]
    if spec.velocities_mps is not None:
        if len(spec.velocities_mps) != spec.n_reps:
            raise ValueError("velocities_mps needs one value per rep")
        return list(spec.velocities_mps)
    first = spec.v_first_mps if spec.v_first_mps is not None else d["v_first"]
    last = spec.v_last_mps if spec.v_last_mps is not None else d["v_last"]
    if spec.n_reps == 1:
        return [first]
    return [first + (last - first) * k / (spec.n_reps - 1) for k in range(spec.n_reps)]


def _build_motion(spec: SynthSpec, rng: np.random.Generator) -> _Motion:
    d = _LIFT_DEFAULTS[spec.lift]
    rom = spec.rom_m if spec.rom_m is not None else d["rom"]
    v_ecc = spec.v_eccentric_mps if spec.v_eccentric_mps is not None else d["v_ecc"]
    vels = _rep_velocities(spec)
    top = d["top"]
    floor_h = spec.plate_diameter_m / 2
    if spec.lift in ("deadlift", "clean"):
        top = floor_h + rom
    segs: list[_Segment] = []
    state = {"t": 0.0, "x": 0.0, "h": top}

    def move(dt: float, dx: float, dh: float, kind: str, rep: int | None = None, loop: float = 0.0) -> None:
        t, x, h = state["t"], state["x"], state["h"]
        segs.append(_Segment(t, t + dt, x, h, x + dx, h + dh, kind, rep, loop))
        state.update(t=t + dt, x=x + dx, h=h + dh)

    def hold(dt: float) -> None:
        move(dt, 0.0, 0.0, "hold")

    def jitter(base: float) -> float:  # rest times vary a little
        return base * float(rng.uniform(0.9, 1.1))

    if spec.lift == "squat":
        racked = spec.rack
        if racked:
            state["h"] = top - 0.05
            hold(0.8)
            move(0.6, 0.0, 0.05, "unrack")
            move(1.4, -0.40, 0.0, "walkout")
        hold(0.8)
        for k, v in enumerate(vels):
            move(rom / v_ecc, 0.0, -rom, "eccentric", k, loop=-0.015)
            hold(jitter(0.12))
            move(rom / v, 0.0, rom, "concentric", k, loop=0.02)
            hold(jitter(0.9))
        if racked:
            move(1.4, 0.40, 0.0, "walkin")
            move(0.5, 0.0, -0.05, "rerack")
        hold(1.0)
    elif spec.lift == "bench":
        if spec.rack:
            state["x"], state["h"] = -0.18, top - 0.04
            hold(0.8)
            move(0.5, 0.0, 0.04, "unrack")
            move(0.9, 0.18, 0.0, "walkout")
        hold(0.8)
        for k, v in enumerate(vels):
            move(rom / v_ecc, 0.0, -rom, "eccentric", k, loop=0.04)
            hold(jitter(0.25))
            move(rom / v, 0.0, rom, "concentric", k, loop=0.04)
            hold(jitter(0.8))
        if spec.rack:
            move(0.9, -0.18, 0.0, "walkin")
            move(0.5, 0.0, -0.04, "rerack")
        hold(1.0)
    elif spec.lift == "deadlift":
        state["h"] = floor_h
        hold(1.2)
        for k, v in enumerate(vels):
            move(rom / v, 0.0, rom, "concentric", k, loop=-0.02)
            hold(jitter(0.5))
            move(rom / v_ecc, 0.0, -rom, "eccentric", k, loop=-0.02)
            hold(jitter(0.9))
        hold(0.4)
    else:  # clean: pull to peak height, drop under the bar, stand up with it, lower it back
        state["h"] = floor_h
        hold(1.2)
        for k, v in enumerate(vels):
            move(rom / v, 0.03, rom, "concentric", k, loop=-0.06)
            move(0.22, 0.0, -0.06, "catch", k)
            move(0.9, -0.01, 0.16, "recovery", k)
            hold(jitter(1.0))
            move((rom + 0.10) / v_ecc, -0.02, -(rom + 0.10), "eccentric", k)
            hold(jitter(1.4))
    if spec.seconds is not None:
        extra = spec.seconds - state["t"]
        if extra < -1e-9:
            raise ValueError(
                f"{spec.n_reps} {spec.lift} reps need {state['t']:.1f} s; seconds={spec.seconds} is too short"
            )
        if extra > 1e-9:
            hold(extra)
    w = (2 * math.pi / float(rng.uniform(2.2, 3.2)), 2 * math.pi / float(rng.uniform(0.9, 1.4)))
    phi = (float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 2 * math.pi)))
    return _Motion(tuple(segs), spec.sway_m, w, phi)


def natural_duration(spec: SynthSpec) -> float:
    """Length of the set without padding (what `seconds` must at least be)."""
    return _build_motion(replace(spec, seconds=None), np.random.default_rng(spec.seed)).duration


def _frame_times(spec: SynthSpec, duration: float, rng: np.random.Generator) -> tuple[F64, str]:
    """Frame presentation times on the 90 kHz clock, and the ffmpeg setpts expression that makes them.

    Variable-rate times are a closed form of the frame number N (a sum of sines: setpts cannot read a
    table) evaluated identically here and in ffmpeg, then rounded to ticks; both sides round the same."""
    f0 = spec.fps
    terms: list[tuple[float, float, float]] = []
    if spec.vfr:
        lo, hi = spec.vfr_fps_range
        f0 = 2.0 / (1.0 / lo + 1.0 / hi)
        half_span = (1.0 / lo - 1.0 / hi) / 2  # allowed deviation of one frame interval
        for share in (0.55, 0.30, 0.15):  # the interval deviation of a term is 2*a*sin(w/2) <= share*span
            w = float(rng.uniform(0.6, 2.9))
            a = share * half_span * 0.98 / (2 * abs(math.sin(w / 2)))
            terms.append((a, w, float(rng.uniform(0, 2 * math.pi))))
    expr = f"N/{f0!r}" + "".join(f"+{a!r}*(sin({w!r}*N+{p!r})-sin({p!r}))" for a, w, p in terms)
    n_frames = int(math.floor(duration * f0 + 1e-9)) + 1
    n = np.arange(n_frames, dtype=np.float64)
    secs = n / f0
    for a, w, p in terms:
        secs = secs + a * (np.sin(w * n + p) - math.sin(p))
    ticks = np.floor(secs * TICKS_PER_S + 0.5)
    keep = secs <= duration + 1e-9
    return ticks[keep] / TICKS_PER_S, f"floor(({expr})*{TICKS_PER_S}+0.5)"


# --------------------------------------------------------------------------------------------------
# Drawing.


@dataclass(frozen=True)
class _Layout:
    ppm: float  # px per metre
    floor_y: float  # px row of the floor line
    x0: float  # px column of the motion's x=0

    def px(self, x_m: F64 | float, h_m: F64 | float) -> tuple[Any, Any]:
        return self.x0 + np.asarray(x_m) * self.ppm, self.floor_y - np.asarray(h_m) * self.ppm


def _layout(spec: SynthSpec) -> _Layout:
    floor_y = spec.height * 0.9
    if spec.px_per_m is not None:
        ppm = spec.px_per_m
    else:
        # The tallest thing is the lifter's head above a squat / clean top; leave headroom above it.
        ppm = min((floor_y - 0.05 * spec.height) / 1.95, spec.width / 2.6)
    x0 = spec.width * (0.56 if spec.lift == "squat" else 0.5)
    return _Layout(ppm, floor_y, x0)


def _plate_lut(radius_px: float, bgr: tuple[int, int, int], metal: bool = True) -> F32:
    """Radial profile of a side-on bumper plate: colour and coverage (BGRA, 0..1) by distance * _LUT_STEPS.

    Each ring edge is an anti-aliased 1 px ramp, so the disc's coverage is symmetric about the centre."""
    r = np.arange(int((radius_px + 2) * _LUT_STEPS) + 1, dtype=np.float64) / _LUT_STEPS
    base = np.array(bgr, dtype=np.float64) / 255.0
    rim = np.clip(base * 1.35 + 0.04, 0, 1)
    groove = base * 0.6
    hub = np.array([0.60, 0.60, 0.62]) if metal else base * 1.2
    hub_ring = hub * 0.75
    sleeve = np.array([0.80, 0.80, 0.82])
    sleeve_end = np.array([0.66, 0.66, 0.68])

    def cov(rad: float) -> F64:
        return np.clip(rad - r + 0.5, 0.0, 1.0)[:, None]

    col = np.broadcast_to(rim, (len(r), 3)).astype(np.float64)
    rings = [
        (0.94, base),
        (0.63, groove),
        (0.60, base),
        (0.30, hub_ring),
        (0.26, hub),
        (0.111, sleeve),  # 50 mm sleeve on a 450 mm plate
        (0.08, sleeve_end),
    ]
    for frac, c in rings:
        k = cov(frac * radius_px)
        col = col * (1 - k) + c * k
    alpha = cov(radius_px)
    return np.concatenate([col, alpha], axis=1).astype(np.float32)


def _plate_layer(lut: F32, radius_px: float, cx: float, cy: float, xs: F64, ys: F64) -> tuple[F32, F32]:
    """Premultiplied colour (HxWx3) and alpha (HxW) of a plate centred at (cx, cy) over a pixel grid."""
    dx = (xs - cx)[None, :]
    dy = (ys - cy)[:, None]
    dist = np.sqrt(dx * dx + dy * dy)
    idx = np.minimum((dist * _LUT_STEPS + 0.5).astype(np.int32), len(lut) - 1)
    px = lut[idx]
    alpha = px[..., 3]
    # Light from the upper left: a linear shading term, antisymmetric so the disc's edge is unchanged.
    shade = (1.0 - 0.16 * (dx * 0.6 + dy * 0.8) / radius_px).astype(np.float32)
    col = px[..., :3] * (alpha * shade)[..., None]
    return col, alpha


def _stamp_plate(img: U8, lut: F32, radius_px: float, cx: float, cy: float) -> None:
    """Draw a static plate (a distractor) into `img`."""
    h, w = img.shape[:2]
    x0, x1 = max(0, int(cx - radius_px - 2)), min(w, int(cx + radius_px + 3))
    y0, y1 = max(0, int(cy - radius_px - 2)), min(h, int(cy + radius_px + 3))
    if x1 <= x0 or y1 <= y0:
        return
    col, a = _plate_layer(lut, radius_px, cx, cy, np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1))
    roi = img[y0:y1, x0:x1].astype(np.float32) / 255.0
    img[y0:y1, x0:x1] = np.clip((roi * (1 - a[..., None]) + col) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _background(spec: SynthSpec, lay: _Layout, path_x: tuple[float, float], rng: np.random.Generator) -> U8:
    h, w = spec.height, spec.width
    if not spec.background:
        img = np.full((h, w, 3), 170, np.uint8)
        img[int(lay.floor_y) :] = 120
        return img
    ys = np.arange(h, dtype=np.float32)[:, None]
    wall_top = np.array([150, 158, 170], np.float32)
    wall_bot = np.array([118, 126, 140], np.float32)
    g = np.clip(ys / max(lay.floor_y, 1), 0, 1)[..., None]
    img = (wall_top * (1 - g) + wall_bot * g) * np.ones((1, w, 1), np.float32)
    # Blotchy paint / uneven light: smooth noise at a few scales.
    for cells, amp in ((6, 14.0), (24, 6.0), (160, 2.5)):
        small = rng.normal(0, 1, (max(2, cells * h // w), cells)).astype(np.float32)
        img += cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)[..., None] * amp
    fy = int(lay.floor_y)
    floor = np.array([70, 74, 78], np.float32)
    img[fy:] = floor + rng.normal(0, 5, (h - fy, w, 1)).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    ppm = lay.ppm
    # Rubber floor tiles and a wooden platform under the lifter.
    for k in range(1, 6):
        yy = fy + int((h - fy) * (k / 6) ** 1.4)
        cv2.line(img, (0, yy), (w, yy), (55, 58, 60), 1, cv2.LINE_AA)
    px0, px1 = path_x
    cv2.rectangle(
        img, (int(px0 - 1.2 * ppm), fy + 2), (int(px1 + 1.2 * ppm), fy + int(0.05 * ppm)), (70, 110, 150), -1
    )
    # Wall panels (vertical seams), a skirting board and a mirror band.
    step = max(8, int(rng.uniform(1.0, 1.5) * ppm))
    for x in range(int(rng.uniform(0, step)), w, step):
        cv2.line(img, (x, 0), (x, fy), (105, 110, 120), 2, cv2.LINE_AA)
    cv2.rectangle(img, (0, fy - int(0.12 * ppm)), (w, fy), (90, 92, 96), -1)
    my0, my1 = int(lay.floor_y - 2.0 * ppm), int(lay.floor_y - 0.5 * ppm)
    mx1 = int(px0 - 0.9 * ppm)
    if mx1 > 40:
        mirror = img[max(0, my0) : my1, 0:mx1].astype(np.int16) + 25
        img[max(0, my0) : my1, 0:mx1] = np.clip(mirror, 0, 255).astype(np.uint8)
        cv2.rectangle(img, (-5, my0), (mx1, my1), (60, 60, 62), max(2, int(0.02 * ppm)))
    # Racks / uprights: dark steel columns with hole rows, near the bar's path.
    upr = [px0 - 0.35 * ppm, px1 + 0.55 * ppm] if spec.lift in ("squat", "bench") else [px1 + 1.6 * ppm]
    for ux in upr:
        half = 0.035 * ppm
        cv2.rectangle(
            img, (int(ux - half), int(lay.floor_y - 2.3 * ppm)), (int(ux + half), fy), (45, 45, 50), -1
        )
        for hy in np.arange(lay.floor_y - 2.2 * ppm, lay.floor_y - 0.2 * ppm, 0.05 * ppm):
            cv2.circle(img, (int(ux), int(hy)), max(1, int(0.008 * ppm)), (120, 120, 125), -1, cv2.LINE_AA)
    if spec.lift in ("squat", "bench"):
        sy = int(lay.floor_y - (0.75 if spec.lift == "squat" else 0.55) * ppm)
        cv2.line(
            img, (int(upr[0]), sy), (int(upr[1]), sy), (50, 50, 55), max(2, int(0.04 * ppm)), cv2.LINE_AA
        )
    if spec.lift == "bench":
        pad_h = 0.43
        x_a, x_b = px0 - 0.55 * ppm, px1 + 0.75 * ppm
        _, py = lay.px(0.0, pad_h)
        cv2.rectangle(img, (int(x_a), int(py)), (int(x_b), int(py + 0.07 * ppm)), (30, 28, 70), -1)
        for lx in (x_a + 0.1 * ppm, x_b - 0.1 * ppm):
            cv2.rectangle(
                img, (int(lx - 0.025 * ppm), int(py)), (int(lx + 0.025 * ppm), fy), (40, 40, 44), -1
            )
    if spec.distractors:
        _distractors(img, spec, lay, path_x, rng)
    return np.asarray(img, dtype=np.uint8)


def _distractors(
    img: U8, spec: SynthSpec, lay: _Layout, path_x: tuple[float, float], rng: np.random.Generator
) -> None:
    """Plates that never move: leaning on the wall, on a plate tree, and dumbbell heads on a rack."""
    ppm, w = lay.ppm, spec.width
    big = spec.plate_diameter_m / 2 * ppm
    clear_l = path_x[0] - 1.0 * ppm  # keep out of the bar path and the lifter
    clear_r = path_x[1] + 1.0 * ppm
    palette = [(38, 38, 40), (40, 40, 160), (150, 80, 30), (40, 130, 40), (30, 170, 200)]
    # Leaning stack on the floor, left.
    x = clear_l - big
    for k in range(3):
        r = big * (1.0, 0.85, 0.7)[k]
        cx = x - k * 0.35 * big
        if cx - r > 0:
            _stamp_plate(img, _plate_lut(r, palette[k % len(palette)]), r, cx, lay.floor_y - r)
    # Plate tree, right: a post with pegs and plates of several sizes, one of them our size and colour.
    tx = clear_r + big * 1.2
    if tx + big < w:
        cv2.rectangle(
            img,
            (int(tx - 0.03 * ppm), int(lay.floor_y - 1.3 * ppm)),
            (int(tx + 0.03 * ppm), int(lay.floor_y)),
            (50, 50, 55),
            -1,
        )
        for k, (hh, r_m) in enumerate(((0.35, spec.plate_diameter_m / 2), (0.85, 0.17), (1.15, 0.125))):
            r = r_m * ppm
            _stamp_plate(
                img,
                _plate_lut(r, spec.plate_bgr if k == 0 else palette[(k + 1) % 5]),
                r,
                tx,
                lay.floor_y - hh * ppm,
            )
    # Dumbbell rack far right: rows of small dark discs.
    dx = tx + big * 2.0
    for row, hh in enumerate((0.55, 0.9)):
        for k in range(6):
            cx = dx + k * 0.22 * ppm + row * 0.08 * ppm
            if cx + 0.1 * ppm < w:
                cv2.circle(
                    img,
                    (int(cx), int(lay.floor_y - hh * ppm)),
                    int(0.075 * ppm),
                    (30, 30, 32),
                    -1,
                    cv2.LINE_AA,
                )
    _ = rng  # the positions are fixed relative to the path; colours above are deterministic


# Body: segment lengths (m) and drawing thickness (m).
_SHIN, _THIGH, _TORSO, _UPPER, _FORE = 0.45, 0.45, 0.52, 0.30, 0.29


def _ik(a: F64, b: F64, l1: float, l2: float, bend: float) -> F64:
    """Middle joint of a two-link chain from a to b; bend=+1/-1 picks the side (counter-clockwise in x/h)."""
    d_vec = b - a
    d = float(np.hypot(*d_vec))
    d_c = min(max(d, abs(l1 - l2) + 1e-6), l1 + l2 - 1e-6)
    cos_a = (l1 * l1 + d_c * d_c - l2 * l2) / (2 * l1 * d_c)
    ang = math.acos(max(-1.0, min(1.0, cos_a))) * bend
    u = d_vec / max(d, 1e-9)
    rot = np.array([u[0] * math.cos(ang) - u[1] * math.sin(ang), u[0] * math.sin(ang) + u[1] * math.cos(ang)])
    return a + l1 * rot


def _p(x: float, h: float) -> F64:
    return np.array([x, h], dtype=np.float64)


def _pose(spec: SynthSpec, bx: float, bh: float, base_x: float) -> dict[str, F64]:
    """Joint positions (metres, x forward, h up) for a bar at (bx, bh); base_x is the bar x without sway."""
    d = _LIFT_DEFAULTS[spec.lift]
    rom = spec.rom_m if spec.rom_m is not None else d["rom"]
    if spec.lift == "bench":
        shoulder = _p(0.02, 0.53)
        hip = shoulder + _p(0.50, -0.02)
        ankle = hip + _p(0.55, -0.42)
        joints = {"ankle": ankle, "knee": _ik(hip, ankle, _THIGH, _SHIN, 1.0), "hip": hip}
        joints |= {"shoulder": shoulder, "head": shoulder + _p(-0.20, 0.02)}
        joints |= {"elbow": _ik(shoulder, _p(bx, bh), _UPPER, _FORE, -1.0), "hand": _p(bx, bh)}
        return joints
    pulling = spec.lift == "deadlift" or (spec.lift == "clean" and bh < 0.85)
    ankle = _p(base_x - 0.03, 0.09)
    if pulling:
        floor_h = spec.plate_diameter_m / 2
        g = min(1.0, max(0.0, (bh - floor_h) / max(0.48, 1e-3)))
        lean = math.radians(58 * (1 - g) ** 1.3)
        shoulder = _p(bx + 0.06 * (1 - g), bh + 0.60)
        hip = shoulder - _TORSO * _p(math.sin(lean), math.cos(lean))
        elbow = (shoulder + _p(bx, bh)) / 2
    else:
        top = d["top"] if spec.lift == "squat" else d["top"] + 0.1
        f = (
            min(1.0, max(0.0, (top - bh) / rom))
            if spec.lift == "squat"
            else min(1.0, max(0.0, (1.30 - bh) / 0.5))
        )
        lean = math.radians(12 + 33 * f)
        shoulder = _p(bx - 0.02, bh - 0.05)
        hip = shoulder - _TORSO * _p(math.sin(lean), math.cos(lean))
        # Squat: hands on the bar behind the neck, elbows down and back; clean catch: elbows up in front.
        elbow = shoulder + (_p(-0.10, -0.20) if spec.lift == "squat" else _p(0.22, -0.05))
    knee = _ik(ankle, hip, _SHIN, _THIGH, -1.0)  # knees forward
    joints = {"ankle": ankle, "knee": knee, "hip": hip, "shoulder": shoulder}
    return joints | {"head": shoulder + _p(0.07, 0.24), "elbow": elbow, "hand": _p(bx, bh)}


def _draw_lifter(
    img: U8, spec: SynthSpec, lay: _Layout, joints: dict[str, F64], colors: dict[str, tuple[int, int, int]]
) -> None:
    sh = 4  # cv2 fixed-point fraction bits: smooth sub-pixel limb motion

    def pt(name: str, dx: float = 0.0) -> tuple[int, int]:
        x, y = lay.px(joints[name][0] + dx, joints[name][1])
        return int(round(float(x) * 16)), int(round(float(y) * 16))

    def limb(a: str, b: str, thick_m: float, color: tuple[int, int, int], dx: float = 0.0) -> None:
        cv2.line(img, pt(a, dx), pt(b, dx), color, max(1, int(thick_m * lay.ppm)), cv2.LINE_AA, sh)

    far = 0.05
    limb("ankle", "knee", 0.13, colors["far"], far)
    limb("knee", "hip", 0.16, colors["far"], far)
    toe = {
        "toe": joints["ankle"] + np.array([0.18, -0.05]),
        "heel": joints["ankle"] + np.array([-0.05, -0.05]),
    }
    joints.update(toe)
    limb("heel", "toe", 0.07, colors["shoe"])
    limb("hip", "shoulder", 0.30, colors["shirt"])
    limb("ankle", "knee", 0.13, colors["legs"])
    limb("knee", "hip", 0.17, colors["legs"])
    limb("shoulder", "elbow", 0.09, colors["skin"])
    limb("elbow", "hand", 0.08, colors["skin"])
    hx, hy = pt("head")
    cv2.circle(img, (hx, hy), int(0.11 * lay.ppm * 16), colors["skin"], -1, cv2.LINE_AA, sh)
    cv2.circle(
        img,
        (hx - int(0.02 * lay.ppm * 16), hy - int(0.03 * lay.ppm * 16)),
        int(0.105 * lay.ppm * 16),
        colors["hair"],
        -1,
        cv2.LINE_AA,
        sh,
    )


def _occluder_window(spec: SynthSpec, motion: _Motion) -> tuple[float, float] | None:
    """When an arm sweeps across the plate: the catch of the first clean, else mid-concentric of rep 2."""
    if not spec.occlusion:
        return None
    reps = [s for s in motion.segments if s.kind == ("catch" if spec.lift == "clean" else "concentric")]
    if not reps:
        return None
    s = reps[min(1, len(reps) - 1)]
    mid = (s.t0 + s.t1) / 2
    return mid - 0.3, mid + 0.3


def _occluder(
    t: float, win: tuple[float, float], cx: float, cy: float, r: float
) -> tuple[tuple[float, float], tuple[float, float], float]:
    """A forearm (capsule) crossing the plate's lower half from left to right."""
    tau = (t - win[0]) / (win[1] - win[0])
    ox = cx - 1.8 * r + 3.6 * r * tau
    oy = cy + 0.45 * r
    return (ox - 0.25 * r, oy - 1.3 * r), (ox + 0.35 * r, oy + 1.6 * r), 0.24 * r


# --------------------------------------------------------------------------------------------------
# The clip.


def render_clip(spec: SynthSpec, out_path: Path) -> GroundTruth:
    """Render `spec` to an H.264 .mp4 at `out_path` and return its exact ground truth."""
    if spec.rotation_deg not in (0, 90, 180, 270):
        raise ValueError("rotation_deg must be 0, 90, 180 or 270")
    if not 0.3 <= spec.view_squeeze <= 1.0:
        raise ValueError("view_squeeze must be between 0.3 and 1")
    if not 0.0 <= spec.second_lifter < 1.0:
        raise ValueError("second_lifter must be from 0 (none) to under 1 (as near as the filmed lifter)")
    out_path = Path(out_path)
    # The scene is drawn as a side-on camera sees it, that much wider, then squeezed to the frame.
    scene = spec if spec.view_squeeze == 1.0 else replace(spec, width=round(spec.width / spec.view_squeeze))
    squeeze = spec.width / scene.width
    rng = np.random.default_rng(spec.seed)
    motion = _build_motion(spec, rng)
    lay = _layout(scene)
    ts, setpts = _frame_times(spec, motion.duration, rng)
    radius = spec.plate_diameter_m / 2 * lay.ppm
    x_m, h_m, vx, vh = motion.eval(ts)
    xs, ys = lay.px(x_m, h_m)
    fine = np.linspace(0, motion.duration, int(motion.duration * 200) + 2)
    fx, _fh, _, _ = motion.eval(fine)
    path_px = (float(lay.px(fx.min(), 0.0)[0]), float(lay.px(fx.max(), 0.0)[0]))
    bg = _background(scene, lay, path_px, rng)
    lut = _plate_lut(radius, spec.plate_bgr)
    shirt = rng.integers(40, 110, 3)
    colors: dict[str, tuple[int, int, int]] = {
        "far": (40, 38, 36),
        "legs": (60, 52, 48),
        "shirt": (int(shirt[0]), int(shirt[1]), int(shirt[2])),
        "skin": (110, 140, 185),
        "hair": (30, 35, 45),
        "shoe": (235, 235, 235),
    }
    occ_win = _occluder_window(spec, motion)
    walker = _Passerby.make(scene, motion, lay, radius, rng) if spec.passerby else None
    other = _SecondLifter.make(scene, lay) if spec.second_lifter > 0 else None
    noise = _noise_bank(spec, rng)
    view = _hand_held(spec, ts, rng)
    interval = 1.0 / (spec.fps if not spec.vfr else 2.0 / sum(1.0 / f for f in spec.vfr_fps_range))
    exposure = spec.shutter * interval if spec.motion_blur else 0.0
    seg_t0 = np.array([s.t0 for s in motion.segments])

    enc = _Encoder(spec, out_path, ts, setpts)
    visible: list[float] = []
    try:
        for i, t in enumerate(ts):
            frame = bg.copy()
            if other is not None:
                other.draw(frame, float(t), exposure)
            if spec.lifter:
                # Feet follow the bar during the walk-out, and stay planted otherwise.
                k = int(np.clip(np.searchsorted(seg_t0, t, side="right") - 1, 0, len(seg_t0) - 1))
                seg = motion.segments[k]
                foot_x = (
                    float(x_m[i]) - motion.sway(float(t)) if seg.kind in ("walkout", "walkin") else seg.x0
                )
                _draw_lifter(frame, scene, lay, _pose(scene, float(x_m[i]), float(h_m[i]), foot_x), colors)
            vis = _draw_moving_plate(frame, motion, lay, lut, radius, float(t), exposure)
            if occ_win is not None and occ_win[0] <= t <= occ_win[1]:
                vis = _draw_occluder(
                    frame,
                    _occluder(float(t), occ_win, float(xs[i]), float(ys[i]), radius),
                    lut,
                    radius,
                    float(xs[i]),
                    float(ys[i]),
                    colors["skin"],
                )
            if walker is not None:
                vis *= walker.draw(frame, float(t), lut, radius, float(xs[i]), float(ys[i]))
            visible.append(vis)
            if scene is not spec:
                frame = np.asarray(
                    cv2.resize(frame, (spec.width, spec.height), interpolation=cv2.INTER_AREA), np.uint8
                )
                xs[i] = (xs[i] + 0.5) * squeeze - 0.5  # pixel centres sit on integer coordinates
            if view is not None:
                # The camera moves, the room and the lifter in it do not: the whole picture shifts.
                frame = np.asarray(
                    cv2.warpAffine(
                        frame, view[i], (spec.width, spec.height), borderMode=cv2.BORDER_REFLECT_101
                    ),
                    dtype=np.uint8,
                )
                xs[i], ys[i] = view[i] @ np.array([xs[i], ys[i], 1.0])
            if noise is not None:
                pos, neg = noise[i % len(noise[0])][0], noise[(i * 7 + 3) % len(noise[0])][1]
                frame = np.asarray(cv2.subtract(cv2.add(frame, pos), neg), dtype=np.uint8)
            enc.write(frame)
        enc.finish()
    finally:
        enc.close()

    frames_gt = [
        FrameTruth(
            i, float(ts[i]), float(xs[i]), float(ys[i]), float(vx[i]), float(vh[i]), round(visible[i], 4)
        )
        for i in range(len(ts))
    ]
    return GroundTruth(
        lift=spec.lift,
        width=spec.width,
        height=spec.height,
        rotation_deg=spec.rotation_deg,
        vfr=spec.vfr,
        has_audio=spec.audio,
        plate_diameter_m=spec.plate_diameter_m,
        plate_radius_px=radius,
        meters_per_pixel=1.0 / lay.ppm,
        frames=frames_gt,
        reps=_rep_truth(motion),
        moves=_move_truth(motion),
        spec={k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(spec).items()},
    )


@dataclass(frozen=True)
class _SecondLifter:
    spec: SynthSpec
    motion: _Motion
    lay: _Layout
    lut: F32
    radius: float
    colors: dict[str, tuple[int, int, int]]

    @classmethod
    def make(cls, scene: SynthSpec, lay: _Layout) -> _SecondLifter:
        # Its own generator: the filmed lift's clip stays the same with or without it.
        rng = np.random.default_rng(scene.seed + 7919)
        spec = replace(scene, lift="deadlift", n_reps=3, rack=False, seconds=None, rom_m=None)
        spec = replace(spec, velocities_mps=None, v_first_mps=None, v_last_mps=None, v_eccentric_mps=None)
        motion = _build_motion(spec, rng)
        far = _Layout(lay.ppm * scene.second_lifter, lay.floor_y - 0.03 * scene.height, scene.width * 0.2)
        radius = spec.plate_diameter_m / 2 * far.ppm
        colors = {"far": (44, 42, 40), "legs": (70, 60, 50), "shirt": (120, 60, 40)}
        colors |= {"skin": (100, 130, 175), "hair": (25, 30, 40), "shoe": (40, 40, 40)}
        return cls(spec, motion, far, _plate_lut(radius, spec.plate_bgr), radius, colors)

    def draw(self, frame: U8, t: float, exposure: float) -> None:
        x, h, _, _ = self.motion.eval(np.array([t]))
        base = float(x[0]) - self.motion.sway(t)
        _draw_lifter(
            frame, self.spec, self.lay, _pose(self.spec, float(x[0]), float(h[0]), base), self.colors
        )
        _draw_moving_plate(frame, self.motion, self.lay, self.lut, self.radius, t, exposure)


def _hand_held(spec: SynthSpec, ts: F64, rng: np.random.Generator) -> F64 | None:
    """Per frame, the 2x3 map from the room's view at the first frame to the camera's view then: a slow
    wander of a few sines (0.08-0.35 Hz, as a held phone drifts) and a roll of up to about half a degree
    for a 30 px drift, both zero at the first frame. The bar's truth velocities stay the room's."""
    if spec.camera_drift_px <= 0:
        return None
    freq = rng.uniform(0.08, 0.35, (3, 3))
    phase = rng.uniform(0.0, 2 * math.pi, (3, 3))
    share = np.array([0.6, 0.3, 0.1])[:, None]

    def wander(t: F64) -> F64:  # (n, 3): x, y, roll in units of the drift
        waves = np.sin(2 * math.pi * freq[None] * t[:, None, None] + phase[None])
        return np.asarray((share[None] * waves).sum(axis=1), dtype=np.float64)

    w = wander(ts) - wander(np.zeros(1))
    dx, dy = w[:, 0] * spec.camera_drift_px, w[:, 1] * spec.camera_drift_px
    roll = w[:, 2] * math.radians(0.5) * spec.camera_drift_px / 30.0
    cx, cy = (spec.width - 1) / 2, (spec.height - 1) / 2
    maps = np.zeros((ts.size, 2, 3))
    for k in range(ts.size):
        maps[k] = cv2.getRotationMatrix2D((cx, cy), math.degrees(roll[k]), 1.0)
        maps[k, :, 2] += (dx[k], dy[k])
    return maps


def _noise_bank(spec: SynthSpec, rng: np.random.Generator) -> list[tuple[U8, U8]] | None:
    """A few precomputed noise frames (positive and negative parts), mixed per frame: drawing fresh
    Gaussian noise for every 1080p frame would cost more than everything else together."""
    if spec.noise_sigma <= 0:
        return None
    bank = []
    for _ in range(5):
        n = rng.normal(0, spec.noise_sigma, (spec.height, spec.width, 1)).astype(np.float32)
        n = n + rng.normal(0, spec.noise_sigma * 0.4, (spec.height, spec.width, 3)).astype(np.float32)
        bank.append((np.clip(n, 0, 255).astype(np.uint8), np.clip(-n, 0, 255).astype(np.uint8)))
    return bank


def _draw_moving_plate(
    frame: U8, motion: _Motion, lay: _Layout, lut: F32, radius: float, t: float, exposure: float
) -> float:
    """Composite the plate, averaged over sub-frames spread symmetrically over the exposure; returns
    the fraction of the (centre-time) disc inside the frame."""
    h, w = frame.shape[:2]
    n_sub = 1
    if exposure > 0:
        x2, h2, _, _ = motion.eval(np.array([t - exposure / 2, t + exposure / 2]))
        travel = float(np.hypot(x2[1] - x2[0], h2[1] - h2[0])) * lay.ppm
        n_sub = int(min(32, max(1, math.ceil(travel / 0.75) + 1)))
    sub_t = t + exposure * ((np.arange(n_sub) + 0.5) / n_sub - 0.5) if n_sub > 1 else np.array([t])
    sx_m, sh_m, _, _ = motion.eval(sub_t)
    sx, sy = lay.px(sx_m, sh_m)
    x0 = max(0, int(math.floor(sx.min() - radius - 2)))
    x1 = min(w, int(math.ceil(sx.max() + radius + 3)))
    y0 = max(0, int(math.floor(sy.min() - radius - 2)))
    y1 = min(h, int(math.ceil(sy.max() + radius + 3)))
    if x1 <= x0 or y1 <= y0:
        return 0.0
    gx = np.arange(x0, x1, dtype=np.float64)
    gy = np.arange(y0, y1, dtype=np.float64)
    acc_c = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
    acc_a = np.zeros((y1 - y0, x1 - x0), np.float32)
    for cx, cy in zip(sx, sy, strict=True):
        c, a = _plate_layer(lut, radius, float(cx), float(cy), gx, gy)
        acc_c += c
        acc_a += a
    acc_c /= n_sub
    acc_a /= n_sub
    roi = frame[y0:y1, x0:x1].astype(np.float32) * (1.0 / 255.0)
    out = roi * (1.0 - acc_a[..., None]) + acc_c
    frame[y0:y1, x0:x1] = np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
    # Visible share at the frame's own time: the part of the disc inside the picture.
    cx_t, cy_t = lay.px(*motion.eval(np.array([t]))[:2])
    if radius + 1 <= cx_t[0] <= w - 2 - radius and radius + 1 <= cy_t[0] <= h - 2 - radius:
        return 1.0
    _, a_t = _plate_layer(lut, radius, float(cx_t[0]), float(cy_t[0]), gx, gy)
    return min(1.0, float(a_t.sum()) / (math.pi * radius * radius))


def _draw_occluder(
    frame: U8,
    occ: tuple[tuple[float, float], tuple[float, float], float],
    lut: F32,
    radius: float,
    cx: float,
    cy: float,
    skin: tuple[int, int, int],
) -> float:
    """Draw the forearm over the plate; return the plate's visible fraction (in frame, not covered)."""
    (ax, ay), (bx, by), half_w = occ
    sh = 4
    p1 = (int(round(ax * 16)), int(round(ay * 16)))
    p2 = (int(round(bx * 16)), int(round(by * 16)))
    thick = max(1, int(round(2 * half_w)))
    cv2.line(frame, p1, p2, skin, thick, cv2.LINE_AA, sh)
    h, w = frame.shape[:2]
    x0, x1 = max(0, int(cx - radius - 2)), min(w, int(cx + radius + 3))
    y0, y1 = max(0, int(cy - radius - 2)), min(h, int(cy + radius + 3))
    if x1 <= x0 or y1 <= y0:
        return 0.0
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    off = (-x0 * 16, -y0 * 16)
    cv2.line(
        mask, (p1[0] + off[0], p1[1] + off[1]), (p2[0] + off[0], p2[1] + off[1]), 255, thick, cv2.LINE_AA, sh
    )
    _, a = _plate_layer(
        lut, radius, cx, cy, np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64)
    )
    seen = a * (1.0 - mask.astype(np.float32) / 255.0)
    return min(1.0, float(seen.sum()) / (math.pi * radius * radius))


@dataclass
class _Passerby:
    """A person crossing the picture from left to right at a steady pace, near the camera: a sprite (BGR
    and coverage) pasted at x = x_mid + speed * (t - t_mid), so the plate is hidden around t_mid."""

    sprite: U8
    alpha: F32
    t_mid: float
    x_mid: float  # the sprite's centre at t_mid
    speed: float  # px/s

    HIDDEN_S: ClassVar[float] = 0.6  # how long the plate is wholly behind the shirt

    @classmethod
    def make(
        cls, spec: SynthSpec, motion: _Motion, lay: _Layout, radius: float, rng: np.random.Generator
    ) -> _Passerby:
        h = spec.height
        w = int(round(3.6 * radius))
        conc = [s for s in motion.segments if s.kind == "concentric"]
        after = [s for s in motion.segments if conc and s.t0 >= conc[0].t1 - 1e-9]
        # Mid-rest after the first rep (the whole clip's middle where there is none).
        t_mid = (after[0].t0 + after[0].t1) / 2 if after else motion.duration / 2
        x_mid = float(lay.px(*motion.eval(np.array([t_mid]))[:2])[0][0])
        speed = (w - 2.0 * radius) / cls.HIDDEN_S
        cover = np.zeros((h, w), np.uint8)
        torso_top, hips = int(0.16 * h), int(0.66 * h)
        cv2.circle(cover, (w // 2, int(0.08 * h)), int(0.16 * w), 255, -1, cv2.LINE_AA)
        cv2.rectangle(cover, (int(0.05 * w), torso_top), (int(0.95 * w), hips), 255, -1)
        cv2.rectangle(cover, (int(0.12 * w), hips), (int(0.46 * w), h - 1), 255, -1)
        cv2.rectangle(cover, (int(0.54 * w), hips), (int(0.88 * w), h - 1), 255, -1)
        # Plaid shirt, jeans, skin: corners everywhere on the shirt, as a checked flannel has.
        base = rng.integers(110, 220, 3)  # its darker checks stay lighter than black rubber
        sprite = np.empty((h, w, 3), np.uint8)
        sprite[:] = (150, 110, 90)  # jeans
        yy, xx = np.mgrid[0:h, 0:w]
        check = ((xx // 22) + (yy // 22)) % 2 == 1
        stripe = (xx % 22 < 5) | (yy % 22 < 5)
        shirt = np.where(check[..., None], base, base // 2).astype(np.uint8)
        shirt[stripe] = (235, 235, 235)
        rows = slice(torso_top, hips)
        sprite[rows] = shirt[rows]
        sprite[:torso_top] = (110, 140, 185)  # head
        return cls(sprite, cover.astype(np.float32) / 255.0, t_mid, x_mid, speed)

    def draw(self, frame: U8, t: float, lut: F32, radius: float, cx: float, cy: float) -> float:
        """Paste the person over `frame`; return the share of the plate at (cx, cy) still in view."""
        fh, fw = frame.shape[:2]
        sh, sw = self.alpha.shape
        left = int(round(self.x_mid + self.speed * (t - self.t_mid) - sw / 2))
        x0, x1 = max(0, left), min(fw, left + sw)
        if x1 <= x0:
            return 1.0
        a = self.alpha[:fh, x0 - left : x1 - left, None]
        roi = frame[:sh, x0:x1].astype(np.float32)
        frame[:sh, x0:x1] = np.clip(
            roi * (1.0 - a) + self.sprite[:fh, x0 - left : x1 - left] * a + 0.5, 0, 255
        ).astype(np.uint8)
        px0, px1 = max(x0, int(cx - radius - 2)), min(x1, int(cx + radius + 3))
        py0, py1 = max(0, int(cy - radius - 2)), min(fh, int(cy + radius + 3))
        if px1 <= px0 or py1 <= py0:
            return 1.0
        _, disc = _plate_layer(
            lut, radius, cx, cy, np.arange(px0, px1, dtype=np.float64), np.arange(py0, py1, dtype=np.float64)
        )
        hidden = float((disc * self.alpha[py0:py1, px0 - left : px1 - left]).sum())
        return max(0.0, 1.0 - hidden / (math.pi * radius * radius))


def _phase(seg: _Segment) -> Phase:
    dur = seg.t1 - seg.t0
    disp = abs(seg.h1 - seg.h0)
    return Phase(
        start_t=seg.t0,
        end_t=seg.t1,
        duration_s=dur,
        displacement_m=disp,
        mean_velocity_mps=disp / dur,
        peak_velocity_mps=1.875 * disp / dur,  # minimum-jerk peak speed: 15/8 of the mean
    )


def _rep_truth(motion: _Motion) -> list[Rep]:
    reps: list[Rep] = []
    n = 1 + max((s.rep for s in motion.segments if s.rep is not None), default=-1)
    for k in range(n):
        con = next(s for s in motion.segments if s.rep == k and s.kind == "concentric")
        ecc = next(s for s in motion.segments if s.rep == k and s.kind == "eccentric")
        t_lo, t_hi = min(con.t0, ecc.t0), max(con.t1, ecc.t1)
        tt = np.linspace(t_lo, t_hi, 400)
        x, _, _, _ = motion.eval(tt)
        # Horizontal deviation: the farthest the bar end gets sideways from where the rep started.
        # Numbered from 1, as path.json numbers them.
        reps.append(Rep(k + 1, _phase(con), _phase(ecc), float(np.max(np.abs(x - x[0])))))
    return reps


def _move_truth(motion: _Motion) -> list[MoveTruth]:
    return [
        MoveTruth(s.kind, s.t0, s.t1, s.h1 - s.h0, s.x1 - s.x0)
        for s in motion.segments
        if s.kind not in ("hold", "concentric", "eccentric")
    ]


class _Encoder:
    """ffmpeg fed raw BGR frames on stdin; frame times come from the setpts expression (90 kHz ticks)."""

    def __init__(self, spec: SynthSpec, out_path: Path, ts: F64, setpts: str) -> None:
        self.spec = spec
        self.out_path = out_path
        self.k_rot = spec.rotation_deg // 90
        w, h = (spec.height, spec.width) if self.k_rot % 2 else (spec.width, spec.height)
        self._tmpdir = tempfile.TemporaryDirectory(prefix="synth-", dir=out_path.parent)
        self.tmp = Path(self._tmpdir.name) / ("stage.mp4" if spec.rotation_deg else out_path.name)
        duration = float(ts[-1]) + 1.0 / spec.fps
        cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
        cmd += [
            "-f",
            "rawvideo",
            "-pix_fmt",
            "bgr24",
            "-s",
            f"{w}x{h}",
            "-framerate",
            f"{spec.fps!r}",
            "-i",
            "pipe:0",
        ]
        if spec.audio:
            cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={duration:.3f}"]
        cmd += ["-map", "0:v"] + (["-map", "1:a", "-c:a", "aac", "-b:a", "96k"] if spec.audio else [])
        cmd += ["-vf", f"settb=1/{TICKS_PER_S},setpts='{setpts}'", "-fps_mode", "passthrough"]
        cmd += ["-enc_time_base", f"1/{TICKS_PER_S}", "-video_track_timescale", str(TICKS_PER_S)]
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(spec.crf), "-pix_fmt", "yuv420p"]
        # One seed, one file: x264's threaded lookahead made a busy machine encode the same frames to
        # different bytes (3 of 20 runs); without it the encode repeats exactly (55 of 55).
        cmd += ["-x264-params", "sync-lookahead=0"]
        cmd += ["-g", str(int(round(2 * spec.fps))), "-movflags", "+faststart", str(self.tmp)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)

    def write(self, upright: U8) -> None:
        img = np.ascontiguousarray(np.rot90(upright, self.k_rot)) if self.k_rot else upright
        assert self.proc.stdin is not None
        self.proc.stdin.write(img.data)

    def finish(self) -> None:
        assert self.proc.stdin is not None and self.proc.stderr is not None
        self.proc.stdin.close()
        err = self.proc.stderr.read().decode("utf-8", "replace")
        if self.proc.wait() != 0:
            raise RuntimeError(f"ffmpeg failed to encode the synthetic clip: {err.strip()[-500:]}")
        if self.spec.rotation_deg:
            # Stream copy with a display matrix: ffmpeg takes it as counter-clockwise degrees.
            ccw = (360 - self.spec.rotation_deg) % 360
            cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-display_rotation", str(ccw)]
            cmd += [
                "-i",
                str(self.tmp),
                "-map",
                "0",
                "-c",
                "copy",
                "-movflags",
                "+faststart",
                str(self.out_path),
            ]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"ffmpeg failed to tag rotation: {done.stderr.strip()[-500:]}")
        else:
            self.tmp.replace(self.out_path)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stderr):
            if stream is not None and not stream.closed:
                stream.close()
        self._tmpdir.cleanup()
