"""The whole job: video file in, path.json + overlay.mp4 + velocity.png out. Every entry point
(CLI, Lambda, Batch) calls `process`."""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from barpath import camera, far_plate, kinematics, plate_aspect, render, track, video
from barpath.detect.base import Detector
from barpath.detect.factory import build_detector
from barpath.errors import EmptyVideoError, NoPlateFoundError
from barpath.kinematics import Analysis
from barpath.plate_seed import RoomView
from barpath.schema import FramePoint, PathResult, VideoMeta

PATH_JSON = "path.json"
OVERLAY = "overlay.mp4"
PLOT = "velocity.png"
TRACK_MAX_SIDE = 1280  # px; see _track_full_res
MIN_SIDE_PX = 32  # frames narrower than this on either side cannot show a plate


@dataclass
class Options:
    plate_diameter_mm: float = 450.0
    detector: str = "auto"
    model: str | None = None
    render_video: bool = True
    limits: video.Limits = field(default_factory=video.Limits)
    progress: Callable[[int], None] | None = None  # called with the number of frames tracked
    render_progress: Callable[[int], None] | None = None  # ... and of overlay frames encoded
    lift: str | None = None  # optional hint for where reps start (kinematics.analyse); None: from motion
    # How many times slower than filmed the clip plays (8: 240 fps slow motion written at 30 fps);
    # None: as the file says (video.VideoInfo.slowdown), 1.0 where it says nothing.
    slow_motion: float | None = None


@dataclass
class Outputs:
    path_json: Path
    overlay: Path | None
    plot: Path
    result: PathResult
    analysis: Analysis
    camera: camera.CameraPath
    # Wall seconds per stage ("track": decode + track, "analyse", "render": overlay + plot + publish):
    # where the time goes, for `make bench` and the logs.
    stage_s: dict[str, float] = field(default_factory=dict)


def process(
    video_path: Path,
    outdir: Path,
    options: Options | None = None,
    detector: Detector | None = None,
    info: video.VideoInfo | None = None,
) -> Outputs:
    """Run the pipeline. Outputs appear in `outdir` only when all of them are complete.

    `info`: the probe of `video_path` under `options.limits`, where the caller already has it."""
    opts = options or Options()
    info = info or video.probe(Path(video_path), opts.limits)
    if opts.slow_motion is not None:
        if not 1.0 <= opts.slow_motion <= video.MAX_SLOWDOWN:
            raise ValueError(f"slow_motion {opts.slow_motion} is not 1-{video.MAX_SLOWDOWN:g}")
        info = replace(info, slowdown=opts.slow_motion)
    if min(info.width, info.height) < MIN_SIDE_PX:
        # No plate fits in a sliver (1x1, 4097x3), and the detectors' downscaling would collapse it.
        raise NoPlateFoundError(
            f"{Path(video_path).name}: {info.width}x{info.height} frames are too small to show a plate"
        )
    det = detector or build_detector(opts.detector, opts.model)
    stage_s: dict[str, float] = {}
    t0 = time.perf_counter()
    # Tracked on the picture inside any bars, black or filled; positions come out in the whole frame's pixels.
    points, first_pts_s, tap, aspect = _track_full_res(video.inside_bars(info), det, opts)
    stage_s["track"] = time.perf_counter() - t0
    if not points:
        raise EmptyVideoError(f"{Path(video_path).name}: no frame could be decoded")
    t0 = time.perf_counter()
    view = camera.solve(tap, points)
    # The numbers are the bar's motion in the room: measured in the first frame's view, stretched across
    # where the camera squeezed the plate (and the lift with it).
    steady = view.steadied(points)
    if aspect != 1.0:
        steady = [replace(p, x=p.x / aspect) if p.x is not None else p for p in steady]
    analysis = kinematics.analyse(steady, plate_diameter_m=opts.plate_diameter_mm / 1000.0, lift=opts.lift)
    if aspect != 1.0:
        analysis.x_px = analysis.x_px * aspect  # back to the picture's pixels, like every position
        analysis.calibration.plate_aspect = round(aspect, 4)
    analysis.summary.update(view.summary())
    # Tracked and measured on the lift's clock; times in the outputs are the video's, so they line up
    # with its playback (durations and velocities stay the lift's).
    points, analysis = _on_video_clock(points, analysis, info.slowdown)
    result = PathResult(
        video=VideoMeta(
            width=info.width,
            height=info.height,
            fps=_measured_fps(points, info.fps),
            frame_count=len(points),
            duration_s=round(points[-1].t - points[0].t, 6) if len(points) > 1 else 0.0,
            rotation_deg=info.rotation_deg,
            slow_motion=round(info.slowdown, 4),
            capture_fps=_capture_fps(points, info),
        ),
        calibration=analysis.calibration,
        frames=_frames(points, analysis),
        reps=analysis.reps,
        summary=analysis.summary,
    )
    stage_s["analyse"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    outdir.mkdir(parents=True, exist_ok=True)
    # Build everything in a sibling temp dir, then move into place: no half-written result is visible.
    staging = Path(tempfile.mkdtemp(prefix=".barpath-", dir=outdir))
    try:
        # The overlay render mostly waits on ffmpeg, so the plot is drawn meanwhile on another thread.
        with ThreadPoolExecutor(max_workers=1) as pool:
            plot = pool.submit(render.render_plot, result, analysis, staging / PLOT)
            if opts.render_video:
                render.render_overlay(
                    info, result, analysis, staging / OVERLAY, first_pts_s, opts.render_progress, view
                )
            plot.result()
        result.write(staging / PATH_JSON)
        # path.json last: where it exists, the set is complete (the same rule as in the results bucket).
        names = [PLOT] + ([OVERLAY] if opts.render_video else []) + [PATH_JSON]
        for name in names:
            (staging / name).replace(outdir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    stage_s["render"] = time.perf_counter() - t0
    return Outputs(
        path_json=outdir / PATH_JSON,
        overlay=outdir / OVERLAY if opts.render_video else None,
        plot=outdir / PLOT,
        result=result,
        analysis=analysis,
        camera=view,
        stage_s=stage_s,
    )


# A tracking run: the track, the first frame's time on the file's clock, the background's motion, and
# the plate's aspect the frames were stretched across by.
_Run = tuple[list[track.TrackPoint], float | None, camera.MotionTap, float]


def _track_full_res(info: video.VideoInfo, det: Detector, opts: Options) -> _Run:
    """_look's track, where the plate finder saw its plate clearly enough to be believed. One it fitted
    on few frames was something else carried by flow, and its numbers were confidently wrong: a 26 px
    squat plate's lifter's knees read every rep 0.3-0.4 m/s slow; the 45-degree turned squat at
    480x270 followed a wrong thing and counted no rep. A trained model's track is its own to judge."""
    run = _look(info, det, opts)
    if far_plate.sees_plates(det) and track.hardly_seen(run[0]):
        raise NoPlateFoundError(
            f"{info.path.name}: no barbell plate seen clearly (its rim on under"
            f" {track.SEEN_MIN:.0%} of the frames); {track.FILM_CLOSER}"
        )
    return run


def _look(info: video.VideoInfo, det: Detector, opts: Options) -> _Run:
    """The track in full-resolution pixels, the first frame's time on the file's clock (the overlay
    needs it: no second decode for it), the background's motion, and the plate's aspect (width over
    height) the frames were stretched across by to make the plate round.

    The aspect is measured on the working plate just after seeding (barpath.plate_aspect). A camera
    turned away from side-on is rare next to one that films from the side, so the common case pays only
    for those few measurements; the turned one is tracked again from the start, on stretched frames.
    Turned 45 degrees or more, the plate finder may see no round plate at all: only then is the clip
    looked at again as if turned (plate_aspect.TURNED_GUESSES). Where it finds none that way either, only
    one under the floor of its search, only one that never rose, or only one it hardly saw, it looks again
    for a plate filmed farther off (far_plate)."""
    found: _Run | None = None
    try:
        found = _track_round(info, det, opts, 1.0, plate_aspect.ROUND_TOL)
    except NoPlateFoundError as side_on:
        missed = side_on
        for guess in plate_aspect.TURNED_GUESSES:
            try:
                return _track_round(info, det, opts, guess, plate_aspect.GUESS_TOL)
            except NoPlateFoundError:
                pass
    first = None if found is None else found[0]
    far = far_plate.farther(det, min(_tracking_size(info, 1.0)))
    if far is not None and far_plate.worth_a_look(det, first, info.width, info.height):
        try:
            seen = _track_round(info, far, opts, 1.0, plate_aspect.ROUND_TOL, far_plate.REACH)
            if far_plate.takes_over(det, first, seen[0], info.width, info.height):
                return seen
        except NoPlateFoundError:
            pass
    if found is None:
        raise missed from None
    return found


def _track_round(
    info: video.VideoInfo, det: Detector, opts: Options, aspect: float, tol: float, reach: float = 1.0
) -> _Run:
    """_track_full_res on frames stretched by 1 / aspect, and once more where the plate is out of round
    on them by more than `tol` (plate_aspect.Watch). `reach`: see track.track."""
    tap = _tap(info)
    watch = plate_aspect.Watch(tol)
    run = _track_at(info, det, opts, tap, aspect, watch, reach)
    if aspect != 1.0 and not watch.confirms(plate_aspect.GUESS_REACH):
        # A guess must find a plate and measure it: on a clip of a fractal zoom the 37-degree guess
        # took something it could not measure, and a rim-less "plate" was reported.
        raise NoPlateFoundError(f"no plate squeezed about {aspect:.2f} across")
    if run.restretch is None:
        return run.points, run.first_pts_s, tap, aspect
    aspect *= run.restretch  # measured on frames already stretched by `aspect`
    tap = _tap(info)
    run = _track_at(info, det, opts, tap, aspect, None, reach)  # no watch: it runs to the end
    return run.points, run.first_pts_s, tap, aspect


def _tap(info: video.VideoInfo) -> camera.MotionTap:
    return camera.MotionTap((info.width, info.height), _origin(info))


def _origin(info: video.VideoInfo) -> tuple[float, float]:
    """Where the tracked picture's top-left corner lies in the frame (bars cropped off: inside_bars)."""
    return (0.0, 0.0) if info.window is None else (float(info.window[0]), float(info.window[1]))


@dataclass
class _Pass:
    """One tracking pass: the track and the first frame's time on the file's clock; or, where its watch
    stopped it, only the aspect to stretch the frames by (on top of this pass's)."""

    points: list[track.TrackPoint]
    first_pts_s: float | None
    restretch: float | None = None


def _tracking_size(info: video.VideoInfo, aspect: float) -> tuple[int, int]:
    """Frames the decoder shrinks to TRACK_MAX_SIDE, then stretches across by 1 / aspect. The height
    stays: a stretched clip is tracked at the resolution of the same lift filmed side-on (a passer-by
    case lost the plate where the frames were shrunk to TRACK_MAX_SIDE instead)."""
    w, h = video.scaled_size(info, TRACK_MAX_SIDE)
    return (w, h) if aspect == 1.0 else (max(1, round(w / aspect)), h)


def _track_at(
    info: video.VideoInfo,
    det: Detector,
    opts: Options,
    tap: camera.MotionTap,
    aspect: float,
    watch: plate_aspect.Watch | None,
    reach: float = 1.0,
) -> _Pass:
    """Track on frames the decoder has shrunk to TRACK_MAX_SIDE (and stretched by 1 / aspect),
    reported in full-resolution pixels. With `watch`, stops as soon as it tells that the plate is out of
    round.

    Decoding and piping full 1080p/4K frames into Python costs more than tracking itself; the rim fit
    stays sub-pixel at this size (0.15 px mean on rendered 1080p lifts, radius unchanged)."""
    size = _tracking_size(info, aspect)
    small = replace(info, width=size[0], height=size[1])
    sx, sy = info.width / size[0], info.height / size[1]
    ox, oy = _origin(info)
    # The plate is round in the tracker's pixels: its height is the radius the scale needs.
    r_scale = 0.5 * (sx + sy) if aspect == 1.0 else sy
    first_pts: list[float] = []
    latest: list[video.Frame] = []  # the frame the tracker was handed last
    source = video.frames(info, size)

    def frames() -> Iterator[video.Frame]:
        for fr in source:
            if not first_pts:
                first_pts.append(fr.pts_s)
            latest[:] = [fr]
            yield fr

    # The tracker's OpenCV calls work on small ROIs and a 640 px copy: splitting each over both cores
    # costs more in hand-offs than it saves, and the other core is decoding the next frames.
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        room = _in_tracking_px(tap.rough_to_first, sx, sy, ox, oy)
        points = []
        r_seen: float | None = None  # the plate's radius last measured, in the tracker's px
        for p in track.track(
            frames(),
            det,
            small,
            progress=opts.progress,
            room=room,
            on_grey=lambda _, g: tap.add(g),
            reach=reach,
        ):
            r_seen = p.radius or r_seen
            if watch is not None and r_seen and _watchable(p, latest) and watch.wants(p.t):
                assert p.x is not None and p.y is not None
                watch.offer(latest[0].image, p.t, p.x, p.y, r_seen)
                verdict = watch.verdict()
                if verdict is not None and verdict != 1.0:
                    return _Pass([], None, verdict)
                if verdict is not None:
                    watch = None
            if (sx, sy, ox, oy) != (1.0, 1.0, 0.0, 0.0):
                # Pixel centres sit on integer coordinates: scale about the image edge, not pixel 0's.
                if p.x is not None and p.y is not None:
                    p.x, p.y = (p.x + 0.5) * sx - 0.5 + ox, (p.y + 0.5) * sy - 0.5 + oy
                if p.radius is not None:
                    p.radius *= r_scale
            # Its corners are fitted and dropped as the track goes; the lifter's band is sized by the
            # plate's larger axis.
            tap.bar(p.i, p.x, p.y, None if p.radius is None else p.radius * max(1.0, aspect))
            points.append(p)
    finally:
        source.close()
        cv2.setNumThreads(threads)
    final = 1.0 if watch is None else watch.final()
    if final != 1.0:
        return _Pass([], None, final)
    return _Pass(points, first_pts[0] if first_pts else None)


def _watchable(p: track.TrackPoint, latest: list[video.Frame]) -> bool:
    """The plate seen on the frame the tracker has just been handed (seeding's frames come out later).
    Flow-tracked frames count: on a plate squeezed to 0.71 the circle fits mostly fail, so the tracker
    carries it by flow."""
    ok = p.state in ("detected", "tracked") and p.x is not None and p.y is not None
    return ok and bool(latest) and latest[0].i == p.i


def _in_tracking_px(to_first: RoomView, sx: float, sy: float, ox: float = 0.0, oy: float = 0.0) -> RoomView:
    """`to_first` (full-resolution pixels) for the tracker's frames, shrunk by (sx, sy), their picture's
    corner at (ox, oy) of the full frame."""
    # Pixel centres sit on integer coordinates: tracking px t is full-resolution px (t + 0.5) * s - 0.5.
    up = np.array([[sx, 0.0, 0.5 * sx - 0.5 + ox], [0.0, sy, 0.5 * sy - 0.5 + oy], [0.0, 0.0, 1.0]])
    down = np.linalg.inv(up)

    seen: dict[int, npt.NDArray[np.float64]] = {}  # seeding asks for the same frames again and again

    def room(i: int) -> npt.NDArray[np.float64]:
        if i not in seen:
            seen[i] = np.asarray(down @ to_first(i) @ up, np.float64)
        return seen[i]

    return room


def _frames(points: list[track.TrackPoint], analysis: Analysis) -> list[FramePoint]:
    """path.json's frames: the measured position, and the smoothed velocity and rep phase there."""
    n = len(points)
    vx = analysis.vx_mps if analysis.vx_mps is not None else np.full(n, np.nan)
    phases = analysis.phase if len(analysis.phase) == n else ["rest"] * n
    reps = analysis.rep_of_frame if len(analysis.rep_of_frame) == n else [0] * n
    out = []
    for k, p in enumerate(points):
        # A velocity needs a position: none on a lost frame, whatever the smoother bridged.
        seen = p.state != "lost"
        out.append(
            FramePoint(
                p.i,
                round(p.t, 6),
                _r(p.x),
                _r(p.y),
                p.state,
                round(p.confidence, 3),
                vx_mps=_r(float(vx[k]), 4) if seen else None,
                vy_mps=_r(float(analysis.vy_mps[k]), 4) if seen else None,
                phase=_PHASE_OF.get(phases[k]),
                rep=reps[k] or None,
            )
        )
    return out


_PHASE_OF: dict[str, Literal["concentric", "eccentric"]] = {
    "concentric": "concentric",
    "eccentric": "eccentric",
}


def _r(v: float | None, nd: int = 3) -> float | None:
    return None if v is None or not math.isfinite(v) else round(v, nd)


def _on_video_clock(
    points: list[track.TrackPoint], analysis: Analysis, slowdown: float
) -> tuple[list[track.TrackPoint], Analysis]:
    """Times (frames, phase starts and ends) back on the video's clock from the lift's."""
    if slowdown == 1.0:
        return points, analysis
    for rep in analysis.reps:
        for phase in (rep.concentric, rep.eccentric):
            if phase is not None:
                phase.start_t = round(phase.start_t * slowdown, 4)
                phase.end_t = round(phase.end_t * slowdown, 4)
    return [replace(p, t=p.t * slowdown) for p in points], replace(analysis, t=analysis.t * slowdown)


def _capture_fps(points: list[track.TrackPoint], info: video.VideoInfo) -> float | None:
    """The camera's frame rate: what the file says, else (slow motion set by hand) the measured one."""
    if info.capture_fps is not None or info.slowdown == 1.0:
        return info.capture_fps
    return round(_measured_fps(points, info.fps) * info.slowdown, 3)


def _measured_fps(points: list[track.TrackPoint], nominal: float) -> float:
    if len(points) < 2 or points[-1].t <= points[0].t:
        return nominal
    return round((len(points) - 1) / (points[-1].t - points[0].t), 3)
