"""The bad-input corpus: what users' phones (and attackers) really upload, made on the fly by ffmpeg.

Each `Case` names the bytes (how to make them), the S3 key they are uploaded under, and the outcome the
app must hear: an error code from `barpath.errors`, "succeeded" where the input is actually fine, or
"ignored". `expect` lists the acceptable outcomes, preferred first; more than one only where the issue
itself leaves the choice open (a file cut mid-stream may be analysed as far as it goes or refused), and
the tests then insist that the choice is the same on every delivery.

`claims` says what the file really is, so a test can check the corpus is honest (an "HEVC" case that
silently became H.264 would prove nothing); `stream_info` is the independent oracle for that, parsing
what ffmpeg itself reports rather than trusting barpath.video.

Nothing here uses internal footage: every file is generated, so the corpus runs anywhere.
"""

from __future__ import annotations

import functools
import re
import struct
import subprocess
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import imageio_ffmpeg
import numpy as np

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()

SUCCEEDED = "succeeded"
IGNORED = "ignored"

# A side view of a lift, small enough that 50 of them run on two cores.
PLATE_W, PLATE_H = 320, 240


# ---------------------------------------------------------------------------------------------------------
# ffmpeg as the oracle


def run_ffmpeg(*args: str, stdin: bytes | None = None, timeout: float = 120) -> None:
    proc = subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg {' '.join(args)} failed: {proc.stderr.decode(errors='replace')[-800:]}")


@dataclass(frozen=True)
class StreamInfo:
    """What `ffmpeg -i` says about a file (imageio-ffmpeg ships no ffprobe)."""

    container: str | None
    video_codec: str | None
    profile: str | None
    pix_fmt: str | None
    width: int | None
    height: int | None
    fps: float | None
    rotation: float | None
    has_audio: bool
    duration_s: float | None
    raw: str


_VIDEO_RE = re.compile(r"Stream #\d+:\d+.*?: Video: (?P<codec>\w+)(?: \((?P<profile>[^)]*)\))?(?P<rest>.*)")
_DIMS_RE = re.compile(r", (\d+)x(\d+)\b")
_FPS_RE = re.compile(r"([\d.]+)(k?) fps")
_PIXFMT_RE = re.compile(r", ([a-z0-9_]+)(?:\(|,)")
_ROT_RE = re.compile(r"rotation of (-?[\d.]+) degrees")
_DUR_RE = re.compile(r"Duration: (\d+):(\d+):([\d.]+)")
_CONTAINER_RE = re.compile(r"Input #0, ([\w,]+), from")


def stream_info(path: Path) -> StreamInfo:
    proc = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True, timeout=60
    )
    text = proc.stderr.decode(errors="replace")
    video = _VIDEO_RE.search(text)
    codec = profile = pix_fmt = None
    width = height = None
    fps = None
    if video:
        codec, profile, rest = video.group("codec"), video.group("profile"), video.group("rest")
        # The first ", WxH" after the codec is the size; "(avc1 / 0x31637661)" has no comma before it.
        dims = _DIMS_RE.search(rest)
        if dims:
            width, height = int(dims.group(1)), int(dims.group(2))
        pf = _PIXFMT_RE.search(rest)
        pix_fmt = pf.group(1) if pf else None
        f = _FPS_RE.search(rest)
        if f:
            fps = float(f.group(1)) * (1000 if f.group(2) else 1)
    rot = _ROT_RE.search(text)
    dur = _DUR_RE.search(text)
    container = _CONTAINER_RE.search(text)
    return StreamInfo(
        container=container.group(1) if container else None,
        video_codec=codec,
        profile=profile,
        pix_fmt=pix_fmt,
        width=width,
        height=height,
        fps=fps,
        rotation=float(rot.group(1)) if rot else None,
        has_audio=bool(re.search(r"Stream #\d+:\d+.*?: Audio:", text)),
        duration_s=(int(dur.group(1)) * 3600 + int(dur.group(2)) * 60 + float(dur.group(3))) if dur else None,
        raw=text,
    )


def frame_pts(path: Path) -> list[float]:
    """Presentation times of the decoded frames as the file states them (no muxer in between to "fix"
    them: ffmpeg's muxers clamp non-monotonic times, so a stream copy would hide what the file says)."""
    proc = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-copyts", "-i", str(path), "-map", "0:v:0", "-vf", "showinfo",
         "-f", "null", "-"],
        capture_output=True,
        timeout=120,
    )
    return [float(m) for m in re.findall(r"pts_time:(-?[\d.]+)", proc.stderr.decode(errors="replace"))]


def declared_mp4_dims(data: bytes) -> dict[str, tuple[int, int]]:
    """Width and height as the mp4 headers and the first JPEG frame state them, read from the bytes."""
    out: dict[str, tuple[int, int]] = {}
    tkhd = data.find(b"tkhd")
    if tkhd >= 0:
        off = tkhd + 4 + 4 + 20 + 8 + 8 + 36
        w, h = struct.unpack(">II", data[off : off + 8])
        out["tkhd"] = (w >> 16, h >> 16)
    stsd = data.find(b"stsd")
    if stsd >= 0:
        entry = stsd + 16  # fourcc, version/flags, entry count, entry size
        w, h = struct.unpack(">HH", data[entry + 28 : entry + 32])
        out["stsd"] = (w, h)
    sof = data.find(b"\xff\xc0")
    if sof >= 0:
        h, w = struct.unpack(">HH", data[sof + 5 : sof + 9])
        out["sof0"] = (w, h)
    return out


def first_frame_gray(path: Path, autorotate: bool = True) -> np.ndarray:
    """The first frame as ffmpeg shows it (display matrix applied unless autorotate is False)."""
    info = stream_info(path)
    args = [] if autorotate else ["-noautorotate"]
    proc = subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", *args, "-i", str(path), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, timeout=60, check=True)
    w, h = info.width or 0, info.height or 0
    if autorotate and info.rotation is not None and abs(info.rotation) % 180 == 90:
        w, h = h, w
    return np.frombuffer(proc.stdout, np.uint8).reshape(h, w)


def decoded_frame_count(path: Path) -> int:
    proc = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0", "-f", "framecrc", "-"],
        capture_output=True,
        timeout=120,
    )
    return sum(1 for line in proc.stdout.decode(errors="replace").splitlines() if line and line[0] != "#")


# ---------------------------------------------------------------------------------------------------------
# Source material


def make_plate_master(out: Path, width: int = PLATE_W, height: int = PLATE_H, seed: int = 3) -> Path:
    """One squat rep from the project's synthetic renderer: the source every "should succeed" variant is
    transcoded from, so a failure there is about the variant, not the content."""
    from barpath import synth

    spec = synth.SynthSpec(width=width, height=height, n_reps=1, rack=False, seed=seed, crf=14)
    synth.render_clip(spec, out)
    return out


def _tiny_jpeg() -> bytes:
    import cv2

    img = np.full((48, 64, 3), 128, np.uint8)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return bytes(buf)


def _tiny_pdf() -> bytes:
    body = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
    return body


def _patch_mjpeg_dims(data: bytearray, width: int, height: int) -> int:
    """Rewrite every JPEG SOF0 and the mp4 sample entry/track header to declare width x height."""
    n = 0
    i = data.find(b"\xff\xc0")
    while i >= 0:
        # SOF0: marker(2) length(2) precision(1) height(2) width(2)
        data[i + 5 : i + 9] = struct.pack(">HH", height, width)
        n += 1
        i = data.find(b"\xff\xc0", i + 2)
    stsd = data.find(b"stsd")
    entry = data.find(b"mp4v", stsd)
    # VisualSampleEntry: fourcc, 6 reserved, data_reference_index(2), 16 pre-defined/reserved, width, height
    data[entry + 28 : entry + 32] = struct.pack(">HH", width, height)
    tkhd = data.find(b"tkhd")
    # tkhd v0: fourcc, version/flags, 5 words (times, id, reserved, duration), 8 reserved, 8 layer..volume,
    # 36 matrix, then width and height in 16.16 fixed point.
    off = tkhd + 4 + 4 + 20 + 8 + 8 + 36
    data[off : off + 8] = struct.pack(">II", width << 16, height << 16)
    return n


# ---------------------------------------------------------------------------------------------------------
# Cases


Maker = Callable[["Corpus", Path], None]


@dataclass(frozen=True)
class Case:
    name: str
    key: str  # the object key, unencoded (S3 events carry it URL-encoded)
    expect: tuple[str, ...]  # acceptable outcomes, preferred first
    make: Maker
    claims: Mapping[str, object] = field(default_factory=dict)
    exists: bool = True  # False: the object is deleted before the event is processed
    note: str = ""
    known_gap: str = ""  # set while the code is known to fall short: the test is an expected failure

    @property
    def expect_success(self) -> bool:
        return self.expect[0] == SUCCEEDED


class Corpus:
    """Makes each case's file once per session under `root` (file names are the case names, never keys)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    @functools.cached_property
    def plate_master(self) -> Path:
        return make_plate_master(self.root / "_plate_master.mp4")

    @functools.cached_property
    def plate_master_moov_at_end(self) -> Path:
        out = self.root / "_plate_moov_at_end.mp4"
        run_ffmpeg("-i", str(self.plate_master), "-c", "copy", str(out))
        return out

    def path(self, case: Case) -> Path:
        out = self.root / f"{case.name}.mp4"
        if not out.exists():
            tmp = self.root / f".{case.name}.partial.mp4"
            case.make(self, tmp)
            tmp.replace(out)
        return out

    def transcode(self, out: Path, *args: str, src: Path | None = None) -> None:
        run_ffmpeg("-i", str(src or self.plate_master), *args, str(out))


def _bytes(data: bytes | Callable[[], bytes]) -> Maker:
    def make(corpus: Corpus, out: Path) -> None:
        out.write_bytes(data() if callable(data) else data)

    return make


def _lavfi(src: str, *args: str) -> Maker:
    def make(corpus: Corpus, out: Path) -> None:
        run_ffmpeg("-f", "lavfi", "-i", src, *args, out.as_posix())

    return make


def _transcode(*args: str) -> Maker:
    def make(corpus: Corpus, out: Path) -> None:
        corpus.transcode(out, *args)

    return make


def _copy_master(corpus: Corpus, out: Path) -> None:
    out.write_bytes(corpus.plate_master.read_bytes())


def _truncate(fraction: float, moov_at_end: bool) -> Maker:
    def make(corpus: Corpus, out: Path) -> None:
        src = corpus.plate_master_moov_at_end if moov_at_end else corpus.plate_master
        data = src.read_bytes()
        out.write_bytes(data[: int(len(data) * fraction)])

    return make


def _rotated(degrees: int) -> Maker:
    def make(corpus: Corpus, out: Path) -> None:
        # The pixels are stored sideways and the display matrix asks the player to turn them back, exactly
        # what a phone held in portrait writes; an upright result proves the rotation was honoured.
        turned = out.with_suffix(".turned.mp4")
        # ffmpeg's display_rotation is counter-clockwise: store the pixels turned clockwise by as much.
        transpose = {90: "transpose=1", 180: "transpose=1,transpose=1", 270: "transpose=2"}[degrees]
        corpus.transcode(turned, "-vf", transpose, "-c:v", "libx264", "-crf", "12", "-preset", "veryfast",
                         "-pix_fmt", "yuv420p")
        run_ffmpeg("-display_rotation", str(degrees), "-i", str(turned), "-c", "copy", str(out))
        turned.unlink()

    return make


def _huge_declared(corpus: Corpus, out: Path) -> None:
    # ffmpeg itself refuses to allocate 16384x16384, so no encoder can make one; a Motion-JPEG mp4 (what
    # older cameras write) whose every header declares it is what a hostile upload would look like.
    small = out.with_suffix(".small.mp4")
    run_ffmpeg("-f", "lavfi", "-i", "testsrc=s=64x64:d=0.5:r=10", "-c:v", "mjpeg", "-pix_fmt", "yuvj420p",
               str(small))
    data = bytearray(small.read_bytes())
    small.unlink()
    if _patch_mjpeg_dims(data, 16384, 16384) == 0:
        raise RuntimeError("no SOF0 marker to patch")
    out.write_bytes(bytes(data))


def _bomb(corpus: Corpus, out: Path) -> None:
    # A real 16K frame of black: a few hundred KB that decode to ~400 MB per frame (800 MB as BGR).
    run_ffmpeg("-f", "lavfi", "-i", "color=c=black:s=15360x8640:r=1:d=1", "-c:v", "libx264",
               "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out), timeout=300)


def _backwards_timestamps(corpus: Corpus, out: Path) -> None:
    # Two MPEG-TS recordings glued end to end (what naive "join" tools and some dashcams produce): the
    # clock runs to 3.4 s, then jumps back to 1.4 s. Renamed .mp4, as users do.
    first, second = out.with_suffix(".1.ts"), out.with_suffix(".2.ts")
    enc = ("-c:v", "libx264", "-bf", "0", "-g", "15", "-crf", "14", "-preset", "veryfast",
           "-pix_fmt", "yuv420p")
    corpus.transcode(first, *enc, "-f", "mpegts")
    run_ffmpeg("-ss", "1", "-i", str(corpus.plate_master), *enc, "-f", "mpegts", str(second))
    out.write_bytes(first.read_bytes() + second.read_bytes())
    first.unlink()
    second.unlink()


def _deleted(corpus: Corpus, out: Path) -> None:
    _copy_master(corpus, out)


def _undecodable_samples(corpus: Corpus, out: Path) -> None:
    # A well-formed mp4 whose media bytes are all zero: headers promise H.264, no frame decodes.
    data = bytearray(corpus.plate_master.read_bytes())
    i = data.find(b"mdat")
    size = struct.unpack(">I", data[i - 4 : i])[0]
    data[i + 4 : i - 4 + size] = bytes(size - 8)
    out.write_bytes(bytes(data))


def _huge_name(stem_len: int) -> str:
    return "uploads/" + ("squat-" * (stem_len // 6 + 1))[:stem_len] + ".mp4"


_X264 = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "18")

CASES: tuple[Case, ...] = (
    # -- not a video at all -------------------------------------------------------------------------------
    Case("zero_bytes", "uploads/zero.mp4", ("not_a_video",), _bytes(b""), {"size": 0}),
    Case("jpeg_named_mp4", "uploads/photo.mp4", ("not_a_video",), _bytes(_tiny_jpeg),
         {"magic": b"\xff\xd8\xff", "container": "jpeg_pipe"},
         note="ffmpeg opens a still image as a one-frame video: the probe must refuse image demuxers"),
    Case("pdf_named_mp4", "uploads/doc.mp4", ("not_a_video",), _bytes(_tiny_pdf), {"magic": b"%PDF"}),
    Case("text_named_mp4", "uploads/notes.mp4", ("not_a_video",),
         _bytes(b"this is not a video\n" * 50), {"magic": b"this is"}),
    Case("random_bytes", "uploads/noise.mp4", ("not_a_video",),
         _bytes(lambda: np.random.default_rng(1).integers(0, 256, 200_000, dtype=np.uint8).tobytes()), {}),
    Case("audio_only", "uploads/voice-memo.mp4", ("not_a_video",),
         _lavfi("sine=frequency=440:duration=1", "-c:a", "aac"), {"video_codec": None, "has_audio": True}),
    Case("gzip_named_mp4", "uploads/archive.mp4", ("not_a_video",),
         _bytes(lambda: zlib.compress(b"\0" * 1_000_000, 9)), {}),
    # -- broken videos ------------------------------------------------------------------------------------
    Case("truncated_moov_missing", "uploads/cut-before-index.mp4", ("unreadable_video",),
         _truncate(0.5, moov_at_end=True), {"moov": False}),
    Case("truncated_mid_stream", "uploads/cut-mid-stream.mp4", (SUCCEEDED, "unreadable_video"),
         _truncate(0.6, moov_at_end=False), {"moov": True, "truncated": True},
         note="index present, media cut: analysing what is there or refusing are both honest"),
    Case("header_only_cut", "uploads/cut-at-header.mp4", ("unreadable_video", "not_a_video"),
         _truncate(0.02, moov_at_end=True), {}),
    Case("undecodable_samples", "uploads/zeroed-media.mp4", ("no_frames", "unreadable_video"),
         _undecodable_samples, {"video_codec": "h264", "decoded_frames": 0}),
    # -- valid but nothing to find ------------------------------------------------------------------------
    Case("no_barbell", "uploads/empty-wall.mp4", ("no_plate_found",),
         _lavfi("color=c=0x808070:s=320x240:r=30:d=2,noise=alls=12:allf=t,"
                "drawbox=y=180:w=iw:h=60:c=0x403830:t=fill", *_X264, "-pix_fmt", "yuv420p"),
         {"video_codec": "h264"}),
    Case("no_barbell_test_card", "uploads/test-card.mp4", ("no_plate_found",),
         _lavfi("smptebars=s=320x240:r=30:d=2", *_X264, "-pix_fmt", "yuv420p"), {"video_codec": "h264"}),
    Case("black_video", "uploads/lens-cap.mp4", ("no_plate_found",),
         _lavfi("color=c=black:s=320x240:r=30:d=2", *_X264, "-pix_fmt", "yuv420p"), {"video_codec": "h264"}),
    # One frame has no motion to seed the tracker on: a clear refusal is as honest as a 1-point path.
    Case("one_frame", "uploads/one-frame.mp4", ("no_plate_found", SUCCEEDED),
         _transcode("-frames:v", "1", *_X264, "-pix_fmt", "yuv420p"), {"decoded_frames": 1}),
    Case("tiny_1x1", "uploads/1x1.mp4", ("no_plate_found",),
         _lavfi("color=c=gray:s=1x1:r=30:d=1", *_X264, "-pix_fmt", "yuv444p"), {"width": 1, "height": 1}),
    Case("odd_4097x3", "uploads/4097x3.mp4", ("no_plate_found",),
         _lavfi("color=c=gray:s=4097x3:r=30:d=1", *_X264, "-pix_fmt", "yuv444p"),
         {"width": 4097, "height": 3}),
    # -- limits, checked before decoding ------------------------------------------------------------------
    Case("huge_declared_16384", "uploads/huge.mp4", ("video_too_large", "unreadable_video"), _huge_declared,
         {"declared": (16384, 16384), "max_size": 200_000},
         note="beyond what ffmpeg will allocate, so its probe reports no size at all: refuse it either way"),
    Case("decompression_bomb_16k", "uploads/bomb.mp4", ("video_too_large",), _bomb,
         {"width": 15360, "height": 8640, "max_size": 2_000_000}),
    Case("absurd_fps_1000", "uploads/1000fps.mp4", ("video_too_large",),
         _lavfi("testsrc=s=64x64:r=1000:d=0.2", *_X264, "-pix_fmt", "yuv420p"), {"fps": 1000.0}),
    Case("too_long_20min", "uploads/20-minutes.mp4", ("video_too_large",),
         _lavfi("testsrc=s=64x64:r=1/120:d=1200", *_X264, "-pix_fmt", "yuv420p"), {"min_duration_s": 1000}),
    Case("timestamps_backwards", "uploads/clock-jump.mp4", (SUCCEEDED, "unreadable_video"),
         _backwards_timestamps, {"pts_backwards": True}),
    # -- real-world encodings that must work --------------------------------------------------------------
    Case("plain_h264", "uploads/plain.mp4", (SUCCEEDED,), _copy_master, {"video_codec": "h264"}),
    Case("rotate_90", "uploads/portrait-90.mp4", (SUCCEEDED,), _rotated(90),
         {"rotation_abs": 90, "width": PLATE_H, "height": PLATE_W, "upright_is_master": True}),
    Case("rotate_180", "uploads/upside-down.mp4", (SUCCEEDED,), _rotated(180),
         {"rotation_abs": 180, "width": PLATE_W, "height": PLATE_H, "upright_is_master": True}),
    Case("rotate_270", "uploads/portrait-270.mp4", (SUCCEEDED,), _rotated(270),
         {"rotation_abs": 90, "width": PLATE_H, "height": PLATE_W, "upright_is_master": True}),  # 270 = -90
    Case("odd_size_321x241", "uploads/odd-size.mp4", (SUCCEEDED,),
         _transcode("-vf", "scale=321:241", *_X264, "-pix_fmt", "yuv444p"), {"width": 321, "height": 241}),
    Case("hevc", "uploads/iphone-hevc.mp4", (SUCCEEDED,),
         _transcode("-c:v", "libx265", "-preset", "ultrafast", "-crf", "20", "-tag:v", "hvc1",
                    "-x265-params", "log-level=error", "-pix_fmt", "yuv420p"),
         {"video_codec": "hevc", "pix_fmt": "yuv420p"}),
    Case("hevc_10bit", "uploads/iphone-hdr.mp4", (SUCCEEDED,),
         _transcode("-c:v", "libx265", "-preset", "ultrafast", "-crf", "20", "-tag:v", "hvc1",
                    "-x265-params", "log-level=error", "-pix_fmt", "yuv420p10le"),
         {"video_codec": "hevc", "pix_fmt": "yuv420p10le"}),
    Case("h264_10bit", "uploads/high10.mp4", (SUCCEEDED,), _transcode(*_X264, "-pix_fmt", "yuv420p10le"),
         {"video_codec": "h264", "pix_fmt": "yuv420p10le"}),
    Case("vp9", "uploads/android-vp9.mp4", (SUCCEEDED,),
         _transcode("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M",
                    "-pix_fmt", "yuv420p"), {"video_codec": "vp9"}),
    Case("with_audio", "uploads/with-sound.mp4", (SUCCEEDED,),
         lambda c, out: run_ffmpeg("-i", str(c.plate_master), "-f", "lavfi", "-i", "sine=d=2", "-map", "0:v",
                                   "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-shortest", str(out)),
         {"video_codec": "h264", "has_audio": True}),
    Case("upper_case_suffix", "uploads/IMG_0042.MOV", (SUCCEEDED,), _copy_master, {"video_codec": "h264"}),
    # -- hostile or awkward keys (content is a fine clip) -------------------------------------------------
    Case("key_spaces", "uploads/my lift   day 1.mp4", (SUCCEEDED,), _copy_master),
    Case("key_unicode", "uploads/sentadilla-ünïcødé-深蹲-💪.mp4", (SUCCEEDED,), _copy_master),
    Case("key_plus", "uploads/a+b=c.mp4", (SUCCEEDED,), _copy_master),
    Case("key_percent", "uploads/100% effort %2B %20.mp4", (SUCCEEDED,), _copy_master),
    Case("key_dotdot", "uploads/../../escape.mp4", ("invalid_request",), _copy_master,
         note="a results key with '..' segments may be normalised out of results/ by a path join"),
    Case("key_nested_dotdot", "uploads/a/../b/./c.mp4", ("invalid_request",), _copy_master),
    Case("key_very_long", _huge_name(1000), ("invalid_request",), _copy_master,
         note="1012 bytes: a results key under it passes S3's 1024-byte limit only if shortened"),
    Case("key_long_basename", _huge_name(300), (SUCCEEDED,), _copy_master,
         note="longer than a file name may be (255): the handler must not use the key as a local file name"),
    Case("deleted_before_processing", "uploads/gone.mp4", ("input_not_found",), _deleted, exists=False),
    Case("outside_uploads", "elsewhere/lift.mp4", ("invalid_request", IGNORED), _copy_master),
    Case("results_prefix_loop", "results/lift.mp4/overlay.mp4", ("invalid_request", IGNORED), _copy_master,
         note="an output that somehow triggered the function must never be processed again"),
)

BY_NAME: dict[str, Case] = {c.name: c for c in CASES}
