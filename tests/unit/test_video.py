"""probe() and frames() on real clips made with ffmpeg: codecs, containers, rotation, VFR, bad files."""

from __future__ import annotations

import socket
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import psutil
import pytest

from barpath import video
from barpath.errors import (
    BarpathError,
    InputNotFoundError,
    NotAVideoError,
    UnreadableVideoError,
    VideoTooLargeError,
)
from media import make_audio_only, make_clip, make_image, run, slow_motion_copy, truncate, vfr_times

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("codec", "suffix"),
    [
        ("h264", ".mp4"),
        ("h264", ".mov"),
        ("h264", ".mkv"),
        ("hevc", ".mp4"),
        ("hevc", ".mkv"),
        ("mpeg4", ".mp4"),
        ("mpeg4", ".mkv"),
        ("vp9", ".webm"),
        ("vp9", ".mkv"),
    ],
)
def test_common_codecs_and_containers_decode_with_exact_times(
    tmp_path: Path, codec: str, suffix: str
) -> None:
    clip = make_clip(tmp_path / f"c{suffix}", codec=codec, size=(176, 144), fps=25, frames=20)
    info = video.probe(clip)
    assert info.codec == codec
    assert (info.width, info.height, info.rotation_deg) == (176, 144, 0)
    assert info.fps == pytest.approx(25)
    assert info.frame_count == 20
    assert not info.has_audio
    got = list(video.frames(info))
    assert [f.i for f in got] == list(range(20))
    assert [f.t for f in got] == pytest.approx([k / 25 for k in range(20)], abs=1e-3)
    assert all(f.image.shape == (144, 176, 3) and f.image.dtype == np.uint8 for f in got)
    # testsrc2 moves: consecutive frames differ, so these are real decoded pictures, not one repeated.
    assert np.abs(got[0].image.astype(int) - got[10].image.astype(int)).mean() > 1


@pytest.mark.parametrize(
    ("filmed_fps", "factor", "capture_fps", "slowdown"),
    [
        (240, 8.0, 240.0, 8.0),  # Android slow motion: filmed at 240 fps, written 1/30 s apart
        (120, 4.0, 120.0, 4.0),
        (30, 1.0, 30.0, 1.0),  # the tag on a real-time file (a phone filming 30 fps says so)
        (30, 1.0, 2.0, 1.0),  # time-lapse: left alone
        (240, 8.0, None, 1.0),  # slowed with nothing saying so (an exported iPhone clip): the file's times
    ],
)
def test_slow_motion_frames_carry_the_lifts_time(
    tmp_path: Path, filmed_fps: int, factor: float, capture_fps: float | None, slowdown: float
) -> None:
    n = 120
    real = make_clip(tmp_path / "real.mp4", size=(64, 48), fps=filmed_fps, frames=n)
    slowed = slow_motion_copy(real, tmp_path / "slowed.mp4", factor, capture_fps)
    info = video.probe(slowed)
    assert info.fps == pytest.approx(filmed_fps / factor, rel=0.02)  # the file plays slowed
    assert info.capture_fps == capture_fps
    # The stream's own rate, not the average (which counts the last frame's length): 8, not 7.95.
    assert info.slowdown == pytest.approx(slowdown, rel=1e-6)
    t = [f.t for f in video.frames(info)]
    assert t == pytest.approx([k / filmed_fps * factor / slowdown for k in range(n)], abs=1e-3)


@pytest.mark.parametrize("tag", ["...", "fast", "0", "-240"])
def test_a_broken_capture_rate_tag_is_no_slow_motion(tmp_path: Path, tag: str) -> None:
    real = make_clip(tmp_path / "real.mp4", size=(64, 48), fps=30, frames=6)
    tagged = tmp_path / "tagged.mp4"
    run(["-i", str(real), "-c", "copy", "-movflags", "use_metadata_tags"]
        + ["-metadata", f"com.android.capture.fps={tag}", str(tagged)])  # fmt: skip
    info = video.probe(tagged)
    assert (info.capture_fps, info.slowdown) == (None, 1.0)


def _corner_means(image: np.ndarray) -> dict[str, float]:
    h, w = image.shape[:2]
    return {
        "tl": float(image[: h // 8, : w // 8].mean()),
        "tr": float(image[: h // 8, -w // 8 :].mean()),
        "bl": float(image[-h // 8 :, : w // 8].mean()),
        "br": float(image[-h // 8 :, -w // 8 :].mean()),
    }


@pytest.mark.parametrize(("rotation", "bright_corner"), [(0, "tl"), (90, "tr"), (180, "br"), (270, "bl")])
@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_rotation_metadata_gives_upright_frames(
    tmp_path: Path, rotation: int, bright_corner: str, suffix: str
) -> None:
    # Stored 320x240, black with a white block in the stored top-left corner; a player turning the
    # picture clockwise by `rotation` moves that corner to `bright_corner`.
    clip = make_clip(
        tmp_path / f"r{suffix}",
        pattern="black",
        size=(320, 240),
        frames=3,
        rotation=rotation,
        vf="drawbox=x=0:y=0:w=80:h=60:color=white:t=fill",
    )
    info = video.probe(clip)
    assert info.rotation_deg == rotation
    upright = (240, 320) if rotation in (90, 270) else (320, 240)
    assert (info.width, info.height) == upright
    first = next(video.frames(info))
    assert first.image.shape == (upright[1], upright[0], 3)
    corners = _corner_means(first.image)
    assert corners[bright_corner] > 200
    assert sum(v < 30 for k, v in corners.items() if k != bright_corner) == 3


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_variable_frame_rate_keeps_true_presentation_times(tmp_path: Path, suffix: str) -> None:
    clip = make_clip(tmp_path / f"vfr{suffix}", frames=30, vfr=True)
    info = video.probe(clip)
    got = [f.t for f in video.frames(info)]
    expected = vfr_times(30)
    assert len(got) == 30
    assert got == pytest.approx(expected, abs=1e-3)
    # A nominal-rate clock would be off by many milliseconds here.
    assert max(abs(k / info.fps - t) for k, t in enumerate(expected)) > 0.01


@pytest.mark.parametrize("size", [(320, 240), (321, 241)])
def test_i420_frames_match_bgr_frames(tmp_path: Path, size: tuple[int, int]) -> None:
    # testsrc2 only makes even sizes: scale to the size wanted.
    clip = make_clip(tmp_path / "c.mkv", codec="mpeg4", frames=12, vfr=True, vf=f"scale={size[0]}:{size[1]}")
    info = video.probe(clip)
    bgr = list(video.frames(info))
    yuv = list(video.frames_i420(info))
    assert [(f.i, f.t, f.pts_s) for f in yuv] == [(f.i, f.t, f.pts_s) for f in bgr]
    w, h = video.even_size(info)
    assert (w, h) == (size[0] + size[0] % 2, size[1] + size[1] % 2)
    assert all((f.width, f.height) == (w, h) for f in yuv)
    y, u, v = yuv[5].planes()
    assert y.shape == (h, w) and u.shape == v.shape == (h // 2, w // 2)
    as_bgr = cv2.cvtColor(yuv[5].data, cv2.COLOR_YUV2BGR_I420)[: size[1], : size[0]]
    assert np.abs(as_bgr.astype(int) - bgr[5].image.astype(int)).mean() < 6  # same picture


# An app's blur (its sigma 5 % of a 640 px frame's width): what is behind the picture has no sharp step.
BLUR = "gblur=sigma=32"


@pytest.mark.parametrize(
    ("vf", "window"),
    [
        ("pad=640:240:160:0", (160, 0, 320, 240)),  # a picture pillarboxed: bars left and right
        ("pad=320:400:0:80", (0, 80, 320, 240)),  # letterboxed: above and below
        ("pad=480:360:80:60", (80, 60, 320, 240)),  # both
        ("pad=640:240:200:0", (200, 0, 320, 240)),  # off-centre (as the captions squat's picture)
        # Filled instead of black, as editing and social apps do: a colour, a blurred enlarged copy of
        # the picture beside it or (a landscape clip in a portrait frame) above and below it.
        ("pad=640:240:160:0:color=gray", (160, 0, 320, 240)),
        ("pad=640:240:160:0:color=white", (160, 0, 320, 240)),
        (f"split[a][b];[a]scale=640:480,crop=640:240,{BLUR}[bg];[bg][b]overlay=160:0", (160, 0, 320, 240)),
        (f"split[a][b];[a]scale=854:640,crop=320:640,{BLUR}[bg];[bg][b]overlay=0:200", (0, 200, 320, 240)),
        # A clip with its own black bars, exported with a blurred fill above and below it.
        (
            f"pad=480:240:80:0,split[a][b];[a]scale=1440:720,crop=480:720,{BLUR}[bg];[bg][b]overlay=0:240",
            (80, 240, 320, 240),
        ),
    ],
)
def test_bars_are_cropped_off(tmp_path: Path, vf: str, window: tuple[int, int, int, int]) -> None:
    """The tracker sees the picture inside the bars: there a plate is as large against the frame as
    filmed. Its frames are the same pixels as the whole frame's window."""
    info = video.probe(make_clip(tmp_path / "bars.mp4", vf=vf, frames=40))
    inner = video.inside_bars(info)
    assert inner.window is not None
    x, y, w, h = window
    # A sampled pixel that mixes bar and picture is kept, and beside a fill one more: a sliver of bar
    # may stay (2 px at 640 wide, 4 px at 720 high), never a sliver of picture go.
    assert x - 4 <= inner.window[0] <= x and y - 4 <= inner.window[1] <= y
    assert w <= inner.width <= w + 8 and h <= inner.height <= h + 8
    assert inner.window[2:] == (info.width, info.height)
    x0, y0 = inner.window[:2]
    whole, inside = next(video.frames(info)).image, next(video.frames(inner)).image
    assert inside.shape == (inner.height, inner.width, 3)
    window_px = whole[y0 : y0 + inner.height, x0 : x0 + inner.width].astype(int)
    assert np.abs(inside.astype(int) - window_px).mean() < 2
    assert next(video.frames_i420(inner)).width == inner.width


@pytest.mark.parametrize(
    "vf",
    [
        None,  # no bars
        "pad=480:240:160:0",  # black at one edge only: a dark scene there, as far as can be told
        # A plain grey wall either side, but a floor line runs across it: a real scene has a step
        # somewhere from edge to edge, a fill none.
        "pad=640:240:160:0:color=gray,drawbox=y=200:w=iw:h=2:color=black:t=fill",
        # Blurred, but lightly (3 px at 640): its strong edges stay steps.
        "split[a][b];[a]scale=640:480,crop=640:240,gblur=sigma=3[bg];[bg][b]overlay=160:0",
        "pad=336:240:8:0",  # a sliver each side (2 %): not worth a crop
    ],
)
def test_no_bars_no_crop(tmp_path: Path, vf: str | None) -> None:
    info = video.probe(make_clip(tmp_path / "c.mp4", vf=vf, frames=10))
    assert video.inside_bars(info) is info


def test_audio_is_reported(tmp_path: Path) -> None:
    info = video.probe(make_clip(tmp_path / "a.mp4", audio=True, frames=10))
    assert info.has_audio and info.audio_codec == "aac"
    assert info.duration_s == pytest.approx(10 / 30, abs=0.05)


def test_single_frame_video(tmp_path: Path) -> None:
    info = video.probe(make_clip(tmp_path / "one.mp4", frames=1))
    got = list(video.frames(info))
    assert [(f.i, f.t) for f in got] == [(0, 0.0)]


def _error(path: Path, limits: video.Limits | None = None) -> BarpathError:
    with pytest.raises(BarpathError) as caught:
        video.probe(path, limits)
    err = caught.value
    assert "\n" not in str(err) and str(err).startswith(path.name)
    return err


def test_zero_byte_file_is_not_a_video(tmp_path: Path) -> None:
    (tmp_path / "zero.mp4").write_bytes(b"")
    assert isinstance(_error(tmp_path / "zero.mp4"), NotAVideoError)


def test_text_named_mp4_is_not_a_video(tmp_path: Path) -> None:
    (tmp_path / "notes.mp4").write_text("squat 3x5 @ 140 kg\n" * 50)
    assert _error(tmp_path / "notes.mp4").code == "not_a_video"


def test_audio_only_file_is_not_a_video(tmp_path: Path) -> None:
    err = _error(make_audio_only(tmp_path / "sound.mp4"))
    assert err.code == "not_a_video" and "no video" in str(err)


@pytest.mark.parametrize("name", ["still.png", "still.jpg"])
def test_still_image_is_not_a_video(tmp_path: Path, name: str) -> None:
    image = make_image(tmp_path / name)
    renamed = image.rename(tmp_path / (name + ".mp4"))
    assert _error(image if image.exists() else renamed).code == "not_a_video"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError):
        video.probe(tmp_path / "nope.mp4")


def test_huge_declared_size_is_rejected_without_decoding(tmp_path: Path) -> None:
    # A y4m header is plain text, so a 16384x16384 claim costs a few bytes; the body is not there.
    path = tmp_path / "huge.mp4"
    path.write_bytes(b"YUV4MPEG2 W16384 H16384 F30:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(1000))
    err = _error(path)
    assert isinstance(err, VideoTooLargeError) and "16384x16384" in str(err)


def test_declared_size_over_the_pixel_limit(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", size=(640, 480), frames=2)
    err = _error(clip, video.Limits(max_pixels=640 * 480 - 1))
    assert isinstance(err, VideoTooLargeError) and "640x480" in str(err)


@pytest.mark.parametrize(
    ("limits", "word"),
    [
        (video.Limits(max_bytes=1000), "MiB"),
        (video.Limits(max_duration_s=1.0), "longer"),
        (video.Limits(max_fps=24.0), "fps"),
    ],
)
def test_limits_are_enforced_by_probe(tmp_path: Path, limits: video.Limits, word: str) -> None:
    clip = make_clip(tmp_path / "c.mp4", fps=30, seconds=2)
    err = _error(clip, limits)
    assert err.code == "video_too_large" and word in str(err)


def test_streamed_webm_without_duration_is_limited_while_decoding(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "rec.webm", codec="vp9", frames=60, live=True)
    info = video.probe(clip)
    assert info.duration_s == 0.0 and info.fps == pytest.approx(30)  # unknown length, known rate
    assert len(list(video.frames(info))) == 60
    short = video.probe(clip, video.Limits(max_duration_s=1.0))  # nothing to check before decoding
    seen: list[float] = []
    with pytest.raises(VideoTooLargeError):
        for f in video.frames(short):
            seen.append(f.t)
    assert 0.9 < seen[-1] <= 1.0


def test_truncated_faststart_mp4_yields_what_decodes(tmp_path: Path) -> None:
    full = make_clip(tmp_path / "full.mp4", size=(320, 240), frames=60, faststart=True)
    cut = truncate(full, tmp_path / "cut.mp4", 0.5)
    info = video.probe(cut)
    got = list(video.frames(info))
    assert 5 < len(got) < 60
    assert [f.t for f in got] == pytest.approx([k / 30 for k in range(len(got))], abs=1e-3)


def test_truncated_mkv_yields_what_decodes(tmp_path: Path) -> None:
    full = make_clip(tmp_path / "full.mkv", size=(320, 240), frames=60)
    got = list(video.frames(video.probe(truncate(full, tmp_path / "cut.mkv", 0.6))))
    assert 5 < len(got) < 60
    assert [f.i for f in got] == list(range(len(got)))


def test_mp4_cut_before_its_index_is_unreadable(tmp_path: Path) -> None:
    full = make_clip(tmp_path / "full.mp4", frames=60, faststart=False)  # index (moov) at the end
    err = _error(truncate(full, tmp_path / "cut.mp4", 0.7))
    assert isinstance(err, UnreadableVideoError)


def test_garbage_in_the_middle_does_not_stop_decoding(tmp_path: Path) -> None:
    full = make_clip(tmp_path / "full.mp4", size=(320, 240), frames=60)
    data = bytearray(full.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 2000] = bytes(2000)
    (tmp_path / "hurt.mp4").write_bytes(bytes(data))
    got = list(video.frames(video.probe(tmp_path / "hurt.mp4")))
    assert len(got) >= 50
    assert got[-1].t == pytest.approx(59 / 30, abs=1e-3)  # decoding went on past the damage
    times = [f.t for f in got]
    assert all(b > a for a, b in zip(times, times[1:], strict=False))


def test_frames_stream_without_keeping_them(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "long.mkv", size=(640, 480), frames=240)
    info = video.probe(clip)
    frame_bytes = 640 * 480 * 3
    tracemalloc.start()
    try:
        count = 0
        for f in video.frames(info):
            count += 1
            assert f.image.nbytes == frame_bytes
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 240
    # 240 frames kept would be 220 MB. Streaming holds, at most: the read-ahead queue (8 decoded 4:2:0
    # frames, half a BGR frame each: 4), the one the reader fills while the queue is full (0.5), and in
    # this loop the frame in hand with its 4:2:0 source and the previous frame not yet let go (2.5).
    # A busy machine lets the reader run that far ahead (7.04 measured under load).
    assert peak < 7.5 * frame_bytes


def test_stopping_early_ends_the_decoder(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", frames=90)
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    it = video.frames(video.probe(clip))
    next(it)
    assert {p.pid for p in me.children(recursive=True)} - before  # the decoder is running
    it.close()  # type: ignore[attr-defined]
    assert not ({p.pid for p in me.children(recursive=True)} - before)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("list.mp4", "ffconcat version 1.0\nfile 'http://127.0.0.1:{port}/x.mp4'\n"),
        (
            "play.mp4",
            "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nhttp://127.0.0.1:{port}/s.ts\n#EXT-X-ENDLIST\n",
        ),
    ],
)
def test_a_file_cannot_make_ffmpeg_open_urls(tmp_path: Path, name: str, text: str) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.5)
        port = server.getsockname()[1]
        (tmp_path / name).write_text(text.format(port=port))
        with pytest.raises(BarpathError):
            video.probe(tmp_path / name)
        with pytest.raises(TimeoutError):
            server.accept()  # nobody called
