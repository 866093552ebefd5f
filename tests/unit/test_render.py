"""Overlay video and velocity plot on real clips: encoding contract, timing, audio, and what is drawn.

Results are built here from numbers (PathResult and Analysis are plain records), so these tests check
rendering alone; the clips are real, encoded and decoded by ffmpeg.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest

from barpath import ffmpeg, render, video
from barpath.kinematics import Analysis
from barpath.schema import Calibration, FramePoint, PathResult, Phase, Rep, State, VideoMeta
from media import make_clip, run

pytestmark = pytest.mark.unit

W, H = 640, 480
Y_ROW = 240
LOST = range(40, 46)  # frames the tracker lost
PREDICTED = 46  # first frame after the loss: a prediction, not a measurement


def x_of(k: int) -> float:
    """The synthetic bar moves right 6 px per frame, so every frame's position is its own place."""
    return 40.0 + 6.0 * k


def _states(n: int) -> list[State]:
    states: list[State] = ["detected"] * n
    for k in LOST:
        if k < n:
            states[k] = "lost"
    if n > PREDICTED:
        states[PREDICTED] = "predicted"
    return states


def _phase(start: float, end: float) -> Phase:
    return Phase(start, end, end - start, 0.30, 0.30 / (end - start), 0.9)


def build(
    times: Sequence[float], calibrated: bool = True, reps: bool = True, y_row: float = Y_ROW
) -> tuple[PathResult, Analysis]:
    n = len(times)
    t = np.asarray(times, dtype=np.float64)
    states = _states(n)
    frames = [
        FramePoint(k, times[k], None, None, "lost", 0.0)
        if states[k] == "lost"
        else FramePoint(k, times[k], x_of(k), float(y_row), states[k], 0.9)
        for k in range(n)
    ]
    cal = Calibration("plate", 0.45, 90.0, 0.0025) if calibrated else Calibration("none", 0.45, None, None)
    rep_list = [Rep(1, _phase(0.0, 1.0), _phase(1.0, 2.0), 0.01)] if reps else []
    # A smoother may well fill gaps: the overlay must still draw nothing where the tracker lost the bar.
    x = np.array([x_of(k) for k in range(n)])
    y = np.full(n, float(y_row))
    vy = np.where(t < 1.0, 0.5, -0.4) if calibrated else np.full(n, np.nan)
    phase = ["concentric" if tk < 1.0 else "eccentric" if tk < 2.0 else "rest" for tk in times]
    analysis = Analysis(
        calibration=cal,
        reps=rep_list,
        summary={"rep_count": len(rep_list)},
        t=t,
        x_px=x,
        y_px=y + np.where(t < 1.0, -60.0 * t, -60.0 + 60.0 * (t - 1.0)),
        vy_mps=vy,
        speed_mps=np.abs(vy),
        phase=phase,
        rep_of_frame=[1 if tk < 2.0 else 0 for tk in times],
    )
    meta = VideoMeta(W, H, 30.0, n, times[-1], 0)
    return PathResult(meta, cal, frames, rep_list, {"rep_count": len(rep_list)}), analysis


def _render(tmp_path: Path, clip: Path, **kw: bool) -> tuple[video.VideoInfo, list[video.Frame], Path]:
    info = video.probe(clip)
    times = [f.t for f in video.frames(info)]
    result, analysis = build(times, **kw)
    out = tmp_path / "overlay.mp4"
    render.render_overlay(info, result, analysis, out)
    return info, list(video.frames(video.probe(out))), out


def _ffmpeg_streams(path: Path) -> str:
    return ffmpeg.run_capped([*ffmpeg.QUIET, "-i", str(path)]).stderr


def _top_level_boxes(path: Path) -> list[str]:
    data = path.read_bytes()
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        pos += size
    return boxes


@pytest.fixture(scope="module")
def black_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(
        tmp_path_factory.mktemp("clips") / "black.mp4", pattern="black", size=(W, H), frames=90, audio=True
    )


@pytest.fixture(scope="module")
def rendered(
    black_clip: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[video.VideoInfo, list[video.Frame], Path]:
    return _render(tmp_path_factory.mktemp("out"), black_clip)


def test_overlay_is_faststart_h264_yuv420p_with_the_audio(
    rendered: tuple[video.VideoInfo, list[video.Frame], Path],
) -> None:
    info, frames, out = rendered
    streams = _ffmpeg_streams(out)
    assert re.search(r"Video: h264 .*yuv420p", streams)
    assert re.search(r"Audio: aac", streams)
    boxes = _top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")  # playable while it downloads
    got = video.probe(out)
    assert (got.width, got.height, got.rotation_deg) == (W, H, 0)
    assert got.has_audio and info.has_audio


def test_overlay_keeps_every_frame_at_its_time(
    black_clip: Path, rendered: tuple[video.VideoInfo, list[video.Frame], Path]
) -> None:
    _, frames, _ = rendered
    source = [f.t for f in video.frames(video.probe(black_clip))]
    assert len(frames) == len(source) == 90
    assert [f.t for f in frames] == pytest.approx(source, abs=1e-3)


def _bright(image: np.ndarray, x: float, y: float, r: int = 1) -> int:
    xi, yi = int(round(x)), int(round(y))
    return int(image[yi - r : yi + r + 1, xi - r : xi + r + 1].max())


def _colourful(image: np.ndarray, x: float, y: float, r: int = 3) -> int:
    """The most saturated pixel near (x, y): the phase colours are, text and background are grey."""
    xi, yi = int(round(x)), int(round(y))
    patch = image[yi - r : yi + r + 1, xi - r : xi + r + 1].astype(int)
    return int((patch.max(axis=2) - patch.min(axis=2)).max())


def test_trail_is_drawn_where_the_bar_was_and_fades_out(
    rendered: tuple[video.VideoInfo, list[video.Frame], Path],
) -> None:
    _, frames, _ = rendered
    img = frames[30].image
    # Behind the current point: positions of the last two seconds carry the trail.
    for k in (5, 15, 25, 29):
        assert _bright(img, (x_of(k) + x_of(k + 1)) / 2, Y_ROW) > 100, k
    # Ahead of it: the future is never drawn.
    for k in (35, 50, 80):
        assert _bright(img, x_of(k), Y_ROW, r=3) < 40, k
    # More than two seconds back the trail is gone (frame 89 is at 2.97 s).
    late = frames[89].image
    assert _bright(late, x_of(3), Y_ROW, r=3) < 40
    assert _bright(late, (x_of(85) + x_of(86)) / 2, Y_ROW) > 100
    # Older segments are dimmer than newer ones.
    assert _bright(late, (x_of(35) + x_of(36)) / 2, Y_ROW) < _bright(late, (x_of(85) + x_of(86)) / 2, Y_ROW)


def test_trail_is_coloured_by_phase(rendered: tuple[video.VideoInfo, list[video.Frame], Path]) -> None:
    _, frames, _ = rendered
    img = frames[50].image.astype(int)  # t = 1.67 s: concentric until 1 s, eccentric after
    up = img[Y_ROW - 1 : Y_ROW + 2, int(x_of(20)) - 1 : int(x_of(20)) + 2].reshape(-1, 3).max(axis=0)
    down = img[Y_ROW - 1 : Y_ROW + 2, int(x_of(48)) - 1 : int(x_of(48)) + 2].reshape(-1, 3).max(axis=0)
    b, g, r = up
    assert g > r + 40 and g > b  # green: concentric
    b, g, r = down
    assert r > b + 60 and g > b  # orange: eccentric


def test_nothing_is_drawn_for_lost_frames(rendered: tuple[video.VideoInfo, list[video.Frame], Path]) -> None:
    _, frames, _ = rendered
    # Between the last measured point (39) and the prediction (46) lie the lost frames' true positions.
    # The marks at 39 and 46 are about 6 px wide, so keep clear of them.
    x_from, x_to = int(x_of(40)) + 2, int(x_of(45)) - 2
    for f in frames:
        strip = f.image[Y_ROW - 3 : Y_ROW + 4, x_from:x_to]
        assert int(strip.max()) < 40, f.i
    # While the bar is lost there is no current-point mark: nothing new appears past frame 39's position.
    lost_frame = frames[43].image
    assert _bright(lost_frame, x_of(41), Y_ROW, r=3) < 40


def test_predicted_point_is_hollow_and_measured_point_is_filled(
    rendered: tuple[video.VideoInfo, list[video.Frame], Path],
) -> None:
    _, frames, _ = rendered
    hollow = frames[PREDICTED].image
    centre_h = int(hollow[Y_ROW, int(x_of(PREDICTED))].max())
    ring_h = max(
        _bright(hollow, x_of(PREDICTED) + dx, Y_ROW + dy, r=0)
        for dx, dy in ((5, 0), (-5, 0), (0, 5), (0, -5))
    )
    assert ring_h > 100 and centre_h < 60
    filled = frames[PREDICTED + 2].image
    assert int(filled[Y_ROW, int(x_of(PREDICTED + 2))].max()) > 100


def test_rep_numbers_and_end_table_are_drawn(
    rendered: tuple[video.VideoInfo, list[video.Frame], Path],
) -> None:
    _, frames, _ = rendered
    # Text lives in the top band; the clip itself is black there.
    assert int(frames[10].image[: H // 5, : W // 3].max()) > 150  # the current rep's panel
    assert int(frames[89].image[: H // 5, W // 2 :].max()) > 150  # the per-rep table at the end


def test_a_short_clip_shows_its_table_once_the_drive_has_ended(
    rendered: tuple[video.VideoInfo, list[video.Frame], Path],
) -> None:
    """A 3 s clip: the table had shown from the first frame, the rep's numbers before its pull."""
    _, frames, _ = rendered
    assert int(frames[20].image[: H // 5, W // 2 :].max()) < 60  # t 0.67 s: the drive ends at 1.0 s
    assert int(frames[40].image[: H // 5, W // 2 :].max()) > 150


def test_the_table_lists_each_rep_once_its_drive_has_ended() -> None:
    times = [k / 30 for k in range(90)]
    result, analysis = build(times)
    result.reps.append(Rep(2, _phase(2.2, 2.6), None, 0.01))
    painter = render._Painter(W, H, render._track(result, analysis), result.reps, calibrated=True)
    assert [painter.table_rows(k) for k in (29, 31, 77, 79)] == [0, 1, 1, 2]
    assert [r[:3] for r in painter._table(1.5).lines[1:]] == ["  1"]
    assert [r[:3] for r in painter._table(2.7).lines[1:]] == ["  1", "  2"]
    # Shown from the first drive's end: the clip leaves less than END_TABLE_S after the last rep.
    assert not painter.shows_table(29) and painter.shows_table(31)


def test_overlay_without_audio_or_scale(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "silent.mkv", pattern="black", size=(W, H), frames=20)
    _, frames, out = _render(tmp_path, clip, calibrated=False, reps=False)
    assert len(frames) == 20
    assert "Audio:" not in _ffmpeg_streams(out)
    assert _bright(frames[10].image, (x_of(5) + x_of(6)) / 2, Y_ROW) > 100


@pytest.mark.parametrize(
    ("name", "codec", "audio_codec"), [("a.webm", "vp9", None), ("a.mov", "h264", "pcm_s16le")]
)
def test_sound_a_browser_may_not_play_from_mp4_becomes_aac(
    tmp_path: Path, name: str, codec: str, audio_codec: str | None
) -> None:
    src = make_clip(tmp_path / name, codec=codec, pattern="black", size=(W, H), frames=10, audio=True)
    if audio_codec:
        run(["-i", str(src), "-c:v", "copy", "-c:a", audio_codec, str(tmp_path / ("pcm" + src.suffix))])
        src = tmp_path / ("pcm" + src.suffix)
    assert video.probe(src).audio_codec in ("opus", "pcm_s16le")
    _, frames, out = _render(tmp_path, src)
    assert len(frames) == 10
    assert video.probe(out).audio_codec == "aac"


def test_colour_tags_of_the_source_are_kept(tmp_path: Path) -> None:
    tags = "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709"
    clip = make_clip(tmp_path / "hd.mp4", pattern="black", size=(W, H), frames=5, vf=tags)
    info, frames, out = _render(tmp_path, clip)
    assert info.colour == ("bt709", "bt709", "bt709")
    assert video.probe(out).colour == info.colour  # the same numbers mean the same colours


def test_variable_frame_rate_timing_survives(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "vfr.mp4", pattern="black", size=(W, H), frames=45, vfr=True, audio=True)
    info, frames, out = _render(tmp_path, clip)
    source = [f.t for f in video.frames(info)]
    assert [f.t for f in frames] == pytest.approx(source, abs=1e-3)
    assert video.probe(out).has_audio


def _late_clip(tmp_path: Path, frames: int = 30) -> Path:
    """A clip whose picture starts half a second after its sound."""
    src = make_clip(tmp_path / "a.mp4", pattern="black", size=(W, H), frames=frames, audio=True)
    late = tmp_path / "late.mp4"
    run(
        [
            "-itsoffset",
            "0.5",
            "-i",
            str(src),
            "-i",
            str(src),
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-c",
            "copy",
            str(late),
        ]
    )
    return late


def test_video_starting_after_its_sound_stays_in_step(tmp_path: Path) -> None:
    late = _late_clip(tmp_path)
    info, frames, out = _render(tmp_path, late)
    assert next(video.frames(info)).pts_s == pytest.approx(0.5, abs=1e-3)
    assert frames[0].pts_s == pytest.approx(0.5, abs=1e-3)  # the picture still starts half a second in
    assert [f.t for f in frames] == pytest.approx([k / 30 for k in range(30)], abs=1e-3)
    assert video.probe(out).has_audio


@pytest.mark.parametrize("timing", ["vfr", "late"])
def test_each_frame_shows_its_own_position(tmp_path: Path, timing: str) -> None:
    """The drawing of frame k lies over frame k, not its neighbour, also for irregular frame times and a
    picture that starts after its sound (the drawing is timed against the source's own clock)."""
    if timing == "vfr":
        clip = make_clip(tmp_path / "vfr.mp4", pattern="black", size=(W, H), frames=40, vfr=True, audio=True)
    else:
        clip = _late_clip(tmp_path, frames=40)
    info, frames, _ = _render(tmp_path, clip)
    assert len(frames) == 40
    for f in frames:
        if f.i < LOST.start:
            # The filled mark (radius 5) centred on x_of(k): a frame early or late would move it 6 px.
            assert _bright(f.image, x_of(f.i) + 3, Y_ROW, r=0) > 100, f.i
            assert _bright(f.image, x_of(f.i) + 9, Y_ROW, r=1) < 40, f.i


def test_rotated_input_gives_upright_output_without_rotation(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "rot.mp4", pattern="black", size=(H, W), frames=15, rotation=90)
    info, frames, out = _render(tmp_path, clip)
    assert (info.width, info.height, info.rotation_deg) == (W, H, 90)
    got = video.probe(out)
    assert (got.width, got.height, got.rotation_deg) == (W, H, 0)
    assert "rotation" not in _ffmpeg_streams(out).lower()
    assert frames[0].image.shape == (H, W, 3)


def test_odd_frame_size_is_padded_for_yuv420p(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "odd.mkv", codec="mpeg4", pattern="black", size=(W + 1, H + 1), frames=10)
    info = video.probe(clip)
    assert (info.width, info.height) == (W + 1, H + 1)
    result, analysis = build([f.t for f in video.frames(info)])
    render.render_overlay(info, result, analysis, tmp_path / "o.mp4")
    got = video.probe(tmp_path / "o.mp4")
    assert (got.width, got.height) == (W + 2, H + 2)
    assert len(list(video.frames(got))) == 10


def test_failed_encode_raises_and_leaves_no_file(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", pattern="black", size=(W, H), frames=5)
    info = video.probe(clip)
    result, analysis = build([f.t for f in video.frames(info)])
    out = tmp_path / "missing-dir" / "o.mp4"
    with pytest.raises(RuntimeError, match="encoding o.mp4"):
        render.render_overlay(info, result, analysis, out)
    assert not out.exists()


def _green_shading(png: Path) -> int:
    img = cv2.imread(str(png)).astype(int)
    b, g, r = img[..., 0], img[..., 1], img[..., 2]
    return int(((g > r + 15) & (g > b + 15) & (g > 180)).sum())


def test_plot_marks_reps(tmp_path: Path) -> None:
    times = [k / 30 for k in range(90)]
    result, analysis = build(times)
    render.render_plot(result, analysis, tmp_path / "v.png")
    img = cv2.imread(str(tmp_path / "v.png"))
    assert img is not None and img.shape[1] > img.shape[0] > 200
    assert _green_shading(tmp_path / "v.png") > 5000


def test_plot_marks_a_rep_whose_drive_may_be_partly_unseen(tmp_path: Path) -> None:
    times = [k / 30 for k in range(90)]
    result, analysis = build(times)
    render.render_plot(result, analysis, tmp_path / "whole.png")
    result.reps[0].concentric.seen_whole = False
    render.render_plot(result, analysis, tmp_path / "part.png")
    whole, part = (cv2.imread(str(tmp_path / n)).astype(int) for n in ("whole.png", "part.png"))
    changed = np.abs(whole - part).max(axis=2) > 60
    h, w = changed.shape
    assert changed[h // 2 :, : w // 2].sum() > 300  # the footnote, bottom left
    assert changed[: h // 3].sum() > 10  # the rep's label gained its *


def test_plot_without_reps_or_scale(tmp_path: Path) -> None:
    times = [k / 30 for k in range(90)]
    result, analysis = build(times, calibrated=False, reps=False)
    render.render_plot(result, analysis, tmp_path / "v.png")
    assert _green_shading(tmp_path / "v.png") == 0
    # The px/s curve is still plotted: the line colour is present.
    img = cv2.imread(str(tmp_path / "v.png")).astype(int)
    blue_line = (img[..., 0] > 140) & (img[..., 2] < 80) & (img[..., 1] < 130)
    assert blue_line.sum() > 200


def test_the_end_table_marks_a_rep_whose_drive_may_be_partly_unseen() -> None:
    """The same mark as the CLI's: the coach watching the overlay sees which numbers to doubt."""
    times = [k / 30 for k in range(90)]
    result, analysis = build(times)
    track = render._track(result, analysis)
    rows = render._Painter(W, H, track, result.reps, calibrated=True)._table().lines
    assert [r[:3] for r in rows[1:]] == ["  1"]
    result.reps[0].concentric.seen_whole = False
    rows = render._Painter(W, H, track, result.reps, calibrated=True)._table().lines
    assert [r[:3] for r in rows[1:2]] == [" 1*"] and rows[-1] == "* partly unseen"


def test_the_numbers_panel_marks_a_rep_whose_drive_may_be_partly_unseen() -> None:
    times = [k / 30 for k in range(90)]
    result, analysis = build(times)
    track = render._track(result, analysis)
    rep = result.reps[0]
    during, after = (
        times.index(min(times, key=lambda t: abs(t - want)))
        for want in ((rep.concentric.start_t + rep.concentric.end_t) / 2, rep.concentric.end_t + 0.1)
    )

    def panel(k: int) -> list[str]:
        return render._Painter(W, H, track, result.reps, calibrated=True)._numbers(k, times[k]).lines

    assert panel(during)[0] == "Rep 1" and "* partly unseen" not in panel(after)
    rep.concentric.seen_whole = False
    assert panel(during)[0] == "Rep 1*" and panel(after)[-1] == "* partly unseen"


def _painter(xs: Sequence[float], ys: Sequence[float], plate_r: float = 30.0) -> render._Painter:
    times = [k / 30 for k in range(len(xs))]
    result, analysis = build(times)
    for f, x, y in zip(result.frames, xs, ys, strict=True):
        f.x, f.y, f.state = x, y, "detected"
    track = render._track(result, analysis)
    return render._Painter(W, H, track, result.reps, calibrated=True, plate_radius_px=plate_r)


def _hides(box: render._Box | None, xs: Sequence[float], ys: Sequence[float], r: float) -> bool:
    assert box is not None
    return any(
        box.x0 < x + r and x - r < box.x1 and box.y0 < y + r and y - r < box.y1
        for x, y in zip(xs, ys, strict=True)
    )


def _corner_of(box: render._Box | None) -> str:
    assert box is not None
    cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
    return ("top" if cy < H / 2 else "bottom") + "-" + ("left" if cx < W / 2 else "right")


def test_panels_stay_top_where_the_bar_never_passes() -> None:
    xs = [320.0] * 90
    ys = [400.0 - 3 * k if k < 45 else 265.0 + 3 * (k - 45) for k in range(90)]  # up and down the middle
    p = _painter(xs, ys)
    assert (_corner_of(p.panel_box()), _corner_of(p.table_box())) == ("top-left", "top-right")


def test_panels_keep_off_the_plate_where_the_bar_passes_the_top() -> None:
    """A snatch overhead, a squat filmed in portrait: the plate goes where the panels would be. They move
    to corners it never reaches, and never onto each other."""
    # The bar rises at the right into the top right corner: the numbers stay top left, the table moves.
    xs = [560.0] * 90
    ys = [max(50.0, 420.0 - 6 * k) for k in range(90)]  # held overhead for the last 28 frames
    p = _painter(xs, ys)
    assert _corner_of(p.panel_box()) == "top-left" and _corner_of(p.table_box()) != "top-right"
    assert not _hides(p.panel_box(), xs, ys, 30) and not _hides(p.table_box(), xs[60:], ys[60:], 30)
    # A bar carried across the top: the numbers go to the bottom; the table, shown from the rep's drive's
    # end (frame 30), where the bar has gone by then (but for its rim as it appears: HIDE_SLACK), off the
    # numbers.
    xs = [40.0 + 6 * k for k in range(90)]
    ys = [60.0] * 90
    p = _painter(xs, ys)
    panel, table = p.panel_box(), p.table_box()
    assert panel is not None and table is not None and _corner_of(panel).startswith("bottom")
    assert not _hides(panel, xs, ys, 30) and not _hides(table, xs[34:], ys[34:], 30)
    assert table.x0 >= panel.x1 or table.x1 <= panel.x0 or table.y0 >= panel.y1 or table.y1 <= panel.y0


def test_the_overlay_never_darkens_the_bar_under_a_panel(black_clip: Path, tmp_path: Path) -> None:
    """Through the encoder: the bar's mark along the top row keeps its colour on every frame of the rep
    and its light grey after it (under a panel, darkened to a third, both fade to a third; the panel's
    white text has no colour and is too thin to fill the mark's middle)."""
    info = video.probe(black_clip)
    times = [f.t for f in video.frames(info)]
    result, analysis = build(times, y_row=40.0)
    out = tmp_path / "overlay.mp4"
    render.render_overlay(info, result, analysis, out)
    frames = list(video.frames(video.probe(out)))
    measured = [k for k, f in enumerate(result.frames) if f.state == "detected"]

    def faded(k: int) -> bool:
        if analysis.phase[k] != "rest":
            return _colourful(frames[k].image, x_of(k), 40.0) < 100
        xi = int(round(x_of(k)))
        return int(np.median(frames[k].image[39:42, xi - 1 : xi + 2])) < 150

    dim = [k for k in measured if faded(k)]
    assert not dim, dim
    assert int(frames[89].image[H // 2 :].max()) > 150  # the table: moved down, still drawn
