"""Video in: probe a file and stream its frames upright, each with its true presentation time.

Decoding runs in an ffmpeg child process writing raw frames to a pipe: the decode then runs on the
other core while Python tracks, and a short queue of a few frames (READ_AHEAD_BYTES) is all that waits,
so memory does not grow with clip length. ffmpeg applies the rotation metadata itself (autorotate)
before `showinfo`, whose log lines give each frame's exact integer PTS and time base; frame times are
never derived from a frame rate.
"""

from __future__ import annotations

import io
import math
import queue
import re
import selectors
import subprocess
import threading
from collections import deque
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from barpath import ffmpeg
from barpath.errors import (
    EmptyVideoError,
    InputNotFoundError,
    NotAVideoError,
    UnreadableVideoError,
    VideoTooLargeError,
)


@dataclass(frozen=True)
class Limits:
    """Checked before any decoding, so a hostile file costs nothing."""

    max_bytes: int = 2 * 1024**3
    max_duration_s: float = 15 * 60
    max_pixels: int = 4096 * 2304  # per frame, upright; 4K UHD fits
    max_fps: float = 240.0


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int  # upright (rotation applied)
    height: int
    fps: float  # average rate; never used to compute time
    frame_count: int  # estimate from the container; the decoded count is authoritative
    duration_s: float
    rotation_deg: int  # 0, 90, 180, 270: what the metadata asks a player to apply
    codec: str
    has_audio: bool
    size_bytes: int
    # Added by the video work; defaults keep hand-built VideoInfo objects (tests) valid.
    stream_index: int = -1  # ffmpeg's index of the video stream decoded (-1: first video stream)
    audio_codec: str | None = None  # codec of the first audio stream, None without audio
    start_s: float = 0.0  # the container's start time; audio and video offsets are relative to it
    limits: Limits = field(default_factory=Limits)  # enforced again while decoding (unknown durations)
    # (matrix, primaries, transfer) as ffmpeg names them, when the file says; the overlay keeps them.
    colour: tuple[str, str, str] | None = None
    # The camera's own frame rate, when the file says (Android writes `com.android.capture.fps`).
    capture_fps: float | None = None
    # How many times slower than filmed the file plays: a phone's slow motion films at 240 fps and
    # writes the frames 1/30 s apart (8). Frame times `t` are the lift's, the file's times divided by it.
    slowdown: float = 1.0
    # The picture inside black bars (see `inside_bars`): (x, y) of its top-left corner in the upright
    # frame and that frame's (width, height); width and height above are then the picture's, and
    # `frames` crops the bars off. None: the picture is the whole frame.
    window: tuple[int, int, int, int] | None = None


@dataclass
class Frame:
    i: int  # 0-based decode order after dropping undecodable frames
    t: float  # seconds since the first frame's presentation time (over VideoInfo.slowdown: the lift's)
    image: npt.NDArray[np.uint8]  # BGR, upright, HxWx3
    # Added by the video work: seconds since the file's start (where its earliest stream begins), the
    # clock the audio is on too; the overlay uses it to keep sound and picture in step.
    pts_s: float = 0.0


# Bars around the picture (a phone's portrait clip exported landscape, a 4:3 clip in a 16:9 frame)
# make the plate small against the frame, which is what the plate finder's sizes are relative to: a
# clean pillarboxed into 1280x720 was refused (`no_plate_found`) that was measured right at 405x720.
# A black bar: every pixel of it on every sampled key frame no brighter than BAR_LUMA (video black is 16),
# at least BAR_MIN_SHARE of the frame wide, and one on the opposite side too (a scene dark at one edge is
# no bar). Not necessarily as wide: the captions squat's picture sits off-centre, its bars 25 % and 18 %.
BAR_LUMA = 24
BAR_MIN_SHARE = 0.03
BAR_SAMPLE_SIDE = 320  # px, the sampled frames' longer side
BAR_SAMPLES = 40  # key frames at most: bars are the same all through a clip
# A picture narrower than this share of its frame is taken for a dark frame with a lit streak, not for a
# picture in bars (a portrait clip in a landscape frame is 0.32 of it).
BAR_MIN_PICTURE = 0.25
# Editing and social apps fill the bars with a colour or with a blurred, enlarged copy of the picture
# instead of black. Such a fill has no sharp step anywhere in it: on the 320 px samples no two
# neighbouring pixels of it differ by more than FILL_MAX_STEP on any key frame (the blurred fills tried,
# sigma 25 px at 1280 as apps use, step 23 at most). Filmed scenes have one somewhere (a floor line, a
# rack, a lamp): of 230 clips and copies of the footage and the rendered e2e lifts none had such bands on
# both sides but those in black bars, up to a step of 28; at 36 the rendered squat filmed sideways has
# them. The same width rules as a black bar apply, and the picture sits in the middle of a fill
# (FILL_OFF_CENTRE), as apps put it: a rendered plain wall and floor, flat above the plate and below the
# floor's edge on every key frame, is 118 and 22 rows of 240 (a deadlift; a squat 45 and 23).
FILL_MAX_STEP = 28
FILL_OFF_CENTRE = 0.1  # of the two bars' widths together

# A decode that produces nothing for this long is hung (or fed by a hostile file): give up.
STALL_TIMEOUT_S = 120.0
# `frames` feeds a tracker that keeps one core busy in Python: ffmpeg's default (a thread per core and
# one more) then fights it for the other core and spends a quarter more CPU on the same decode.
DECODE_THREADS = 1

_STREAM = re.compile(
    r"^\s*Stream #0:(\d+)(?:\[[^\]]*\])?(?:\([^)]*\))?: "
    r"(Video|Audio|Subtitle|Data|Attachment): ([^\s,]+)(.*)$"
)
_SIZE = re.compile(r"[ ,](\d+)x(\d+)[ ,\[]")
_FPS = re.compile(r"([\d.]+)(k?) fps")
_TBR = re.compile(r"([\d.]+)(k?) tbr")
_DURATION = re.compile(r"Duration: (?:(\d+):(\d+):([\d.]+)|N/A)(?:, start: (-?[\d.]+))?")
_DISPLAY_MATRIX = re.compile(r"display ?matrix: rotation of (-?[\d.]+) degrees", re.IGNORECASE)
_ROTATE_TAG = re.compile(r"^\s*rotate\s*: (-?\d+)\s*$")
_CAPTURE_FPS = re.compile(r"^\s*com\.android\.capture\.fps\s*: (\d+(?:\.\d*)?)\s*$")
_INPUT = re.compile(r"^Input #0, ([^,]+(?:,[^ ]+)*), from ")
_BAD_SIZE = re.compile(r"Picture size (\d+)x(\d+) (?:is invalid|exceeds)")
_IMAGE_FORMATS = re.compile(r"^(image2|.*_pipe)$")
_PIX_FMT_PARAMS = re.compile(r", \w+\(([^)]*)\)")
_COLOUR_NAME = re.compile(r"^(bt|smpte|iec|arib|fcc|ycgco|gbr|chroma|film|linear|log)")


@dataclass
class _Stream:
    index: int
    kind: str
    codec: str
    rest: str
    rotation: float | None = None
    rotate_tag: int | None = None


def probe(path: Path, limits: Limits | None = None) -> VideoInfo:
    """Raise NotAVideoError / UnreadableVideoError / EmptyVideoError / VideoTooLargeError on bad input."""
    limits = limits or Limits()
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise InputNotFoundError(f"{name}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise NotAVideoError(f"{name}: the file is empty (0 bytes)")
    if size > limits.max_bytes:
        raise VideoTooLargeError(
            f"{name}: {size / 1024**2:.0f} MiB is over the {limits.max_bytes / 1024**2:.0f} MiB limit"
        )
    done = ffmpeg.run_capped([*ffmpeg.QUIET, *_input(path, limits)])
    if done.timed_out:
        raise UnreadableVideoError(f"{name}: reading the file's header took too long")
    info = _parse_header(path, size, done.stderr, limits)
    _check_limits(info, limits)
    _check_first_frame(info)
    return info


def _input(path: Path, limits: Limits) -> list[str]:
    """ffmpeg options that open `path` safely. -max_pixels makes the decoder refuse an oversized frame
    (the probe's trial decode included), so a huge declared size costs nothing; the declared size is
    still printed, and checked against the limits."""
    return ["-max_pixels", str(limits.max_pixels), *ffmpeg.FILE_ONLY, "-i", str(path)]


def _parse_header(path: Path, size: int, log: str, limits: Limits) -> VideoInfo:
    name = path.name
    lines = log.splitlines()
    fmt = next((m.group(1) for ln in lines if (m := _INPUT.match(ln))), None)
    if fmt is None:
        bad = _BAD_SIZE.search(log)
        if bad:
            raise VideoTooLargeError(
                f"{name}: declared frame size {bad.group(1)}x{bad.group(2)} is too large to decode"
            )
        if "moov atom not found" in log and _starts_like_mp4(path):
            raise UnreadableVideoError(
                f"{name}: the video is incomplete (its index is missing; cut-off upload?)"
            )
        if "Invalid data found when processing input" in log:
            raise NotAVideoError(f"{name}: not a video file (no known video format found)")
        raise UnreadableVideoError(f"{name}: cannot be read ({_ffmpeg_reason(log)})")
    if _IMAGE_FORMATS.match(fmt):
        raise NotAVideoError(f"{name}: is a still image, not a video")

    streams: list[_Stream] = []
    duration: float | None = None
    start = 0.0
    capture_fps: float | None = None
    for ln in lines:
        m = _STREAM.match(ln)
        if m:
            streams.append(_Stream(int(m.group(1)), m.group(2), m.group(3), m.group(4)))
            continue
        cap = _CAPTURE_FPS.match(ln)
        if cap:
            capture_fps = float(cap.group(1)) or None
            continue
        d = _DURATION.search(ln)
        if d and not streams:
            if d.group(1) is not None:
                duration = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3))
            if d.group(4) is not None:
                start = float(d.group(4))
            continue
        if streams:
            r = _DISPLAY_MATRIX.search(ln)
            if r:
                streams[-1].rotation = float(r.group(1))
                continue
            tag = _ROTATE_TAG.match(ln)
            if tag:
                streams[-1].rotate_tag = int(tag.group(1))

    videos = [s for s in streams if s.kind == "Video" and "(attached pic)" not in s.rest]
    audios = [s for s in streams if s.kind == "Audio"]
    if not videos:
        if audios:
            raise NotAVideoError(f"{name}: has sound but no video")
        raise NotAVideoError(f"{name}: contains no video stream")
    v = videos[0]
    dims = _SIZE.search(v.rest + " ")
    if v.codec == "none" or dims is None or int(dims.group(1)) == 0 or int(dims.group(2)) == 0:
        bad = _BAD_SIZE.search(log)
        if bad:
            raise VideoTooLargeError(
                f"{name}: declared frame size {bad.group(1)}x{bad.group(2)} is too large to decode"
            )
        raise UnreadableVideoError(f"{name}: the video stream cannot be decoded ({_ffmpeg_reason(log)})")
    coded_w, coded_h = int(dims.group(1)), int(dims.group(2))
    rotation = _rotation_deg(v)
    width, height = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)
    # The average rate when the container knows it; else ffmpeg's guess (tbr), which for streamed
    # webm can be the 1 kHz time base itself, so an implausible guess means "unknown" (0), not "too fast".
    fps = _rate(_FPS, v.rest) or 0.0
    if fps <= 0:
        guess = _rate(_TBR, v.rest) or 0.0
        fps = guess if guess <= limits.max_fps else 0.0
    dur = duration if duration is not None else 0.0
    return VideoInfo(
        path=path,
        width=width,
        height=height,
        fps=fps,
        frame_count=int(round(dur * fps)),
        duration_s=dur,
        rotation_deg=rotation,
        codec=v.codec,
        has_audio=bool(audios),
        size_bytes=size,
        stream_index=v.index,
        audio_codec=audios[0].codec if audios else None,
        start_s=start,
        limits=limits,
        colour=_colour(v.rest),
        capture_fps=capture_fps,
        slowdown=slowdown_of(capture_fps, _playback_rate(fps, _rate(_TBR, v.rest))),
    )


# A capture rate this much above the file's is slow motion (a few % is a rounded or measured rate).
SLOW_MOTION_MIN = 1.1
MAX_SLOWDOWN = 40.0  # 960 fps shown at 24: anything beyond is a broken tag, not a camera


def _playback_rate(fps: float, tbr: float | None) -> float:
    """The rate the frames are written at: the average rate counts the last frame's length too (30.02
    for 30), the stream's own rate (tbr) does not, where the two agree."""
    return tbr if tbr and abs(tbr - fps) <= 0.02 * fps else fps


def slowdown_of(capture_fps: float | None, fps: float) -> float:
    """How many times slower than filmed a file with these rates plays (1.0: in real time). A capture
    rate below the file's (time-lapse) is left alone: a lift filmed that way cannot be tracked anyway."""
    if not capture_fps or fps <= 0:
        return 1.0
    ratio = capture_fps / fps
    return ratio if SLOW_MOTION_MIN <= ratio <= MAX_SLOWDOWN else 1.0


def _colour(stream_rest: str) -> tuple[str, str, str] | None:
    """`yuv420p(tv, bt709, progressive)` -> (bt709, bt709, bt709); `(tv, bt2020nc/bt2020/arib-std-b67)`
    -> its three names; None when the file does not say."""
    m = _PIX_FMT_PARAMS.search(stream_rest)
    if not m:
        return None
    for token in (p.strip() for p in m.group(1).split(",")):
        if _COLOUR_NAME.match(token):
            names = token.split("/")
            if len(names) == 3:
                return names[0], names[1], names[2]
            return token, token, token
    return None


def _starts_like_mp4(path: Path) -> bool:
    """An MP4/MOV begins with a box header; a text file renamed .mp4 does not."""
    with path.open("rb") as f:
        head = f.read(8)
    return head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot")


def _rate(pattern: re.Pattern[str], text: str) -> float | None:
    m = pattern.search(text)
    if not m:
        return None
    return float(m.group(1)) * (1000.0 if m.group(2) else 1.0)


def _rotation_deg(stream: _Stream) -> int:
    """Clockwise degrees a player turns the picture (the convention of the old `rotate` tag).

    ffmpeg reports the display matrix counter-clockwise, so `rotate=90` from a phone reads -90."""
    if stream.rotation is not None:
        deg = -stream.rotation
    elif stream.rotate_tag is not None:
        deg = float(stream.rotate_tag)
    else:
        return 0
    return int(round(deg / 90.0)) * 90 % 360


def _check_limits(info: VideoInfo, limits: Limits) -> None:
    name = info.path.name
    if info.width * info.height > limits.max_pixels:
        raise VideoTooLargeError(
            f"{name}: {info.width}x{info.height} frames are over the limit of {limits.max_pixels} pixels"
        )
    if info.duration_s > limits.max_duration_s:
        raise VideoTooLargeError(
            f"{name}: {info.duration_s:.0f} s is longer than the {limits.max_duration_s:.0f} s limit"
        )
    if info.fps > limits.max_fps:
        raise VideoTooLargeError(f"{name}: {info.fps:g} fps is over the {limits.max_fps:g} fps limit")


def _check_first_frame(info: VideoInfo) -> None:
    """Decode one frame, so an upload with a valid header but no picture fails here, before any work."""
    args = [*ffmpeg.QUIET, *_input(info.path, info.limits), "-map", f"0:{info.stream_index}"]
    done = ffmpeg.run_capped([*args, "-vf", "showinfo=checksum=0", "-frames:v", "1", "-f", "null", "-"])
    if done.timed_out:
        raise UnreadableVideoError(f"{info.path.name}: decoding the first frame took too long")
    if " pts_time:" in done.stderr:
        return
    if _looks_broken(done.stderr):
        raise UnreadableVideoError(
            f"{info.path.name}: no frame could be decoded ({_ffmpeg_reason(done.stderr)})"
        )
    raise EmptyVideoError(f"{info.path.name}: the video has no frames")


def _looks_broken(log: str) -> bool:
    low = log.lower()
    return any(w in low for w in ("error", "invalid", "corrupt", "missing"))


def _ffmpeg_reason(log: str) -> str:
    """The most telling line of an ffmpeg log, without its `[demuxer @ 0x...]` prefix."""
    keep = [
        re.sub(r"^(\[[^\]]*\]\s*)+", "", ln).strip()
        for ln in log.splitlines()
        if ln.strip() and not ln.startswith(" ") and "At least one output file" not in ln
    ]
    keep = [k for k in keep if k and not k.startswith(("Input #", "Exiting", "Conversion failed"))]
    for k in keep:
        if "rror" in k or "nvalid" in k:
            return k[:200]
    return keep[-1][:200] if keep else "ffmpeg gave no reason"


_SHOWINFO_TB = re.compile(r"Parsed_showinfo.*config in time_base: (\d+)/(\d+)")
_SHOWINFO_FRAME = re.compile(r"Parsed_showinfo.*\bn:\s*\d+ pts:\s*(-?\d+|NOPTS) ")


class _StderrReader(threading.Thread):
    """Turns ffmpeg's showinfo log into a queue of frame times (as exact fractions of a second)."""

    def __init__(self, stream: object) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.times: queue.Queue[Fraction | None] = queue.Queue()
        self.tail: deque[str] = deque(maxlen=30)  # bounded: a broken file can log an error per frame
        self.done = threading.Event()

    def run(self) -> None:
        tb = Fraction(1, 1)
        try:
            for raw in self.stream:  # type: ignore[attr-defined]
                line = raw.decode("utf-8", "replace")
                f = _SHOWINFO_FRAME.search(line)
                if f:
                    self.times.put(None if f.group(1) == "NOPTS" else int(f.group(1)) * tb)
                    continue
                c = _SHOWINFO_TB.search(line)
                if c:
                    tb = Fraction(int(c.group(1)), int(c.group(2)))
                    continue
                if "Parsed_showinfo" not in line:
                    self.tail.append(line.rstrip())
        finally:
            self.done.set()


def frames(info: VideoInfo, size: tuple[int, int] | None = None) -> Generator[Frame, None, None]:
    """Stream upright BGR frames with true timestamps; memory does not grow with clip length.

    `size` (width, height) asks the decoder for smaller frames (see `scaled_size`): scaling inside
    ffmpeg costs far less than piping full frames into Python and shrinking them there."""
    w, h = size or (info.width, info.height)
    ew, eh = w + w % 2, h + h % 2
    # scale pins the output size: a mid-stream resolution change must not tear the raw frame stream.
    # Area averaging keeps a circle's centre where it was (pixel centres map linearly). The pipe carries
    # the decoder's own 4:2:0 (half the bytes of BGR, no RGB conversion in ffmpeg); cv2 converts it
    # in well under a millisecond a frame. cv2 knows only BT.601 limited range, so ffmpeg
    # hands over that (free for most files; BT.709 phone video gets the matrix change it needs anyway).
    # An odd size is padded to even and cropped back.
    chain = f"scale=w={w}:h={h}:flags=area:out_color_matrix=bt601:out_range=tv,pad={ew}:{eh},format=yuv420p"
    chain = _cropped(info) + chain
    for i, t, pts, data in _decode(info, chain, "yuv420p", (eh * 3 // 2, ew), threads=DECODE_THREADS):
        bgr = cv2.cvtColor(data, cv2.COLOR_YUV2BGR_I420)
        yield Frame(i, t, np.asarray(bgr[:h, :w] if (ew, eh) != (w, h) else bgr, np.uint8), pts)


def _cropped(info: VideoInfo) -> str:
    """Filters that cut `info.window` out of the upright frame (its size pinned first), or nothing."""
    if info.window is None:
        return ""
    x, y, fw, fh = info.window
    return f"scale=w={fw}:h={fh},crop={info.width}:{info.height}:{x}:{y},"


def inside_bars(info: VideoInfo) -> VideoInfo:
    """`info` for the picture inside bars, black or filled (BAR_*, FILL_*), whose frames `frames` crops
    the bars off; `info` itself where there are none. Looks at the clip's first key frames only, shrunk."""
    if info.window is not None:
        return info
    w, h = scaled_size(info, BAR_SAMPLE_SIDE)
    if min(w, h) < 8:
        return info
    chain = f"scale=w={w}:h={h}:flags=area:out_range=tv,format=gray"
    samples = _decode(info, chain, "gray", (h, w), threads=1, before_input=["-skip_frame", "nokey"])
    # The brightest each pixel ever is over the sampled frames, and its largest step to a neighbour.
    brightest = np.zeros((h, w), np.uint8)
    steps = np.zeros((h, w), np.int16)
    try:
        for n, (_, _, _, grey) in enumerate(samples):
            np.maximum(brightest, grey, out=brightest)
            _widen_steps(steps, grey.astype(np.int16))
            if n + 1 == BAR_SAMPLES:
                break
    except (EmptyVideoError, UnreadableVideoError):
        # No frame marked key, or none of them decodes: the tracker's decode has the last word.
        return info
    finally:
        samples.close()
    if not brightest.any():
        return info
    # Bars across the picture's rows and down its columns: once one pair is off, the other is looked
    # for again beside the picture alone (a clip with its own black bars, exported with a blurred fill
    # above and below). The ends of the picture are in samples; `skip_*` samples there may hold a fill
    # (its last sample steps into the picture) or mix it with the picture: kept in the crop, they are
    # left out when looking for the other pair of bars.
    top, bottom, left, right = 0, h, 0, w
    skip_x = skip_y = 0
    for _ in range(3):
        t, b, le, r = top + skip_y, bottom - skip_y, left + skip_x, right - skip_x
        lit, sharp = brightest[t:b, le:r], steps[t:b, le:r]
        x0, x1, filled_x = _bars(lit.max(axis=0), sharp.max(axis=0))
        y0, y1, filled_y = _bars(lit.max(axis=1), sharp.max(axis=1))
        if x0 == x1 == y0 == y1 == 0:
            break
        if x0:
            left, right, skip_x = le + x0, r - x1, 2 * filled_x
        if y0:
            top, bottom, skip_y = t + y0, b - y1, 2 * filled_y
    if (top, bottom, left, right) == (0, h, 0, w):
        return info
    # Back to the frame's pixels, on even coordinates (4:2:0 chroma), inside the bars' samples: a
    # sample that mixes bar and picture is lit or has a step, so a sliver of bar may stay, never a
    # sliver of picture go.
    fx, fy = info.width / w, info.height / h
    x0 = 2 * math.ceil(left * fx / 2)
    y0 = 2 * math.ceil(top * fy / 2)
    x1 = 2 * math.floor(right * fx / 2) if right < w else info.width
    y1 = 2 * math.floor(bottom * fy / 2) if bottom < h else info.height
    return replace(info, width=x1 - x0, height=y1 - y0, window=(x0, y0, info.width, info.height))


def _widen_steps(steps: npt.NDArray[np.int16], grey: npt.NDArray[np.int16]) -> None:
    """Raise each pixel of `steps` to its largest step to a neighbour (above, below, left, right) in
    `grey`."""
    dy, dx = np.abs(np.diff(grey, axis=0)), np.abs(np.diff(grey, axis=1))
    for part, step in ((steps[:-1], dy), (steps[1:], dy), (steps[:, :-1], dx), (steps[:, 1:], dx)):
        np.maximum(part, step, out=part)


def _bars(brightest: npt.NDArray[np.uint8], sharpest: npt.NDArray[np.int16]) -> tuple[int, int, bool]:
    """Widths (samples) of the bars at both ends of a line of columns (or rows), both or neither, and
    whether they are filled. `brightest` is each one's brightest value, `sharpest` its largest step
    between neighbouring pixels. Black bars (BAR_*) first, else filled ones (FILL_*): those end on
    the sample that steps into the picture, which the crop keeps."""
    lit = np.nonzero(brightest > BAR_LUMA)[0]
    if lit.size == 0:
        return 0, 0, False  # all black: nothing to crop to
    a, b = _ends(lit, len(brightest))
    if a or b:
        return a, b, False
    sharp = np.nonzero(sharpest > FILL_MAX_STEP)[0]
    if sharp.size == 0:
        return 0, 0, False  # flat all over: a blank frame, not a picture
    a, b = _ends(sharp, len(brightest))
    if abs(a - b) > FILL_OFF_CENTRE * (a + b) + 2:
        return 0, 0, False
    return a, b, a > 0


def _ends(inside: npt.NDArray[np.intp], n: int) -> tuple[int, int]:
    """Widths of the ends of a line of `n` outside its first and last `inside` places, if both are wide
    enough and leave a picture (BAR_MIN_SHARE, BAR_MIN_PICTURE), else none."""
    a, b = int(inside[0]), n - 1 - int(inside[-1])
    if min(a, b) < BAR_MIN_SHARE * n:
        return 0, 0
    if n - a - b < BAR_MIN_PICTURE * n:
        return 0, 0
    return a, b


def scaled_size(info: VideoInfo, max_side: int) -> tuple[int, int]:
    """The upright size shrunk so its longer side is at most `max_side` (never enlarged)."""
    factor = min(1.0, max_side / max(info.width, info.height))
    return max(1, round(info.width * factor)), max(1, round(info.height * factor))


@dataclass
class I420Frame:
    """A frame as the decoder and H.264 encoder hold it: planar YUV 4:2:0, sizes rounded up to even
    (a padded odd row or column is black). Drawing on it skips two colour conversions per frame."""

    i: int
    t: float
    pts_s: float
    data: npt.NDArray[np.uint8]  # (height * 3 // 2, width): Y rows, then U, then V, as cv2's I420

    @property
    def width(self) -> int:
        return int(self.data.shape[1])

    @property
    def height(self) -> int:
        return int(self.data.shape[0]) * 2 // 3

    def planes(self) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
        """Views (no copies) of the Y plane and the half-size U and V planes."""
        w, h = self.width, self.height
        flat = self.data.reshape(-1)
        y = flat[: w * h].reshape(h, w)
        u = flat[w * h : w * h + (w // 2) * (h // 2)].reshape(h // 2, w // 2)
        v = flat[w * h + (w // 2) * (h // 2) :].reshape(h // 2, w // 2)
        return y, u, v


def even_size(info: VideoInfo) -> tuple[int, int]:
    """The upright size rounded up to even, as 4:2:0 video needs."""
    return info.width + info.width % 2, info.height + info.height % 2


def frames_i420(info: VideoInfo) -> Iterator[I420Frame]:
    """The same frames as `frames` (same count and times), as planar YUV 4:2:0 of size `even_size`."""
    w, h = even_size(info)
    chain = _cropped(info) + f"scale=w={info.width}:h={info.height},pad={w}:{h},format=yuv420p"
    for i, t, pts, data in _decode(info, chain, "yuv420p", (h * 3 // 2, w)):
        yield I420Frame(i, t, pts, data)


def _decode(
    info: VideoInfo,
    filters: str,
    pix_fmt: str,
    shape: tuple[int, ...],
    threads: int | None = None,
    before_input: Sequence[str] = (),
) -> Generator[tuple[int, float, float, npt.NDArray[np.uint8]], None, None]:
    """(index, time, pts, raw frame) from an ffmpeg child; `filters` run after the timestamp log.
    `threads`: decoder threads (None: ffmpeg's choice, one per core and then some). `before_input`:
    options for the decoder (`-skip_frame nokey`: key frames only)."""
    stream = f"0:{info.stream_index}" if info.stream_index >= 0 else "0:v:0"
    cmd = [ffmpeg.exe(), *ffmpeg.QUIET, "-loglevel", "info"]
    if threads is not None:
        cmd += ["-threads", str(threads), "-filter_threads", str(threads)]
    cmd += [*before_input, *_input(info.path, info.limits)]
    cmd += ["-map", stream, "-an", "-sn", "-dn"]
    cmd += ["-vf", f"showinfo=checksum=0,{filters}", "-fps_mode", "passthrough"]
    cmd += ["-f", "rawvideo", "-pix_fmt", pix_fmt, "pipe:1"]
    # Unbuffered, so select() on the pipe sees every byte that has not been read yet.
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
    )
    assert proc.stdout is not None and proc.stderr is not None
    reader = _StderrReader(io.BufferedReader(proc.stderr))  # type: ignore[arg-type,type-var]
    reader.start()
    pipe = _FrameReader(proc.stdout, shape)
    pipe.start()
    first: Fraction | None = None
    last_t = -1.0
    last_rel: Fraction | None = None
    step = Fraction(1, 30) if info.fps <= 0 else Fraction(1) / Fraction(info.fps).limit_denominator(1001)
    n = 0
    try:
        while True:
            image = pipe.next()
            if image is None:
                break
            got, stamp = _next_time(reader)
            if not got:
                break
            if stamp is None:  # no timestamp at all: the only case where the nominal rate stands in
                rel = (last_rel + step) if last_rel is not None else Fraction(0)
            else:
                if first is None:  # times start here (after any untimed frames, kept in step)
                    first = stamp - (last_rel + step if last_rel is not None else 0)
                rel = stamp - first
            pts = float(rel + (first or 0))
            t = float(rel) / info.slowdown
            if t <= last_t:  # a repeated or backwards time (broken muxing): players drop these too
                continue
            if float(rel) > info.limits.max_duration_s:
                raise VideoTooLargeError(
                    f"{info.path.name}: longer than the {info.limits.max_duration_s:.0f} s limit"
                )
            last_t, last_rel = t, rel
            yield n, t, pts, image
            n += 1
    finally:
        pipe.stop.set()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        pipe.join(timeout=5)
        proc.stdout.close()
        reader.join(timeout=5)
        proc.stderr.close()
    if n == 0:
        reason = _ffmpeg_reason("\n".join(reader.tail))
        if proc.returncode not in (0, None) or _looks_broken("\n".join(reader.tail)):
            raise UnreadableVideoError(f"{info.path.name}: no frame could be decoded ({reason})")
        raise EmptyVideoError(f"{info.path.name}: the video has no frames")


def _next_time(reader: _StderrReader) -> tuple[bool, Fraction | None]:
    """(True, the next frame's time from the log), or (False, None) when the log ended or stalled."""
    waited = 0.0
    while waited < STALL_TIMEOUT_S:
        try:
            return True, reader.times.get(timeout=0.5)
        except queue.Empty:
            if reader.done.is_set() and reader.times.empty():
                return False, None
            waited += 0.5
    return False, None


READ_AHEAD_BYTES = 48 * 2**20  # decoded frames waiting for Python, at most (and 2..8 frames)


class _FrameReader(threading.Thread):
    """Reads raw frames off ffmpeg's pipe into a short queue. The pipe itself holds far less than one
    frame, so without this the decoder would sit idle whenever Python is busy with the last frame;
    with it, decoding the next frames overlaps tracking this one (reads release the GIL)."""

    def __init__(self, stream: object, shape: tuple[int, ...]) -> None:
        super().__init__(daemon=True)
        self.shape = shape
        self.nbytes = int(np.prod(shape))
        self.readinto = stream.readinto  # type: ignore[attr-defined]
        self.sel = selectors.DefaultSelector()
        self.sel.register(stream, selectors.EVENT_READ)  # type: ignore[arg-type]
        depth = max(2, min(8, READ_AHEAD_BYTES // max(1, self.nbytes)))
        self.frames: queue.Queue[npt.NDArray[np.uint8] | None] = queue.Queue(maxsize=depth)
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                image = np.empty(self.shape, np.uint8)
                if not _read_exact(self.readinto, self.sel, image.data.cast("B"), self.nbytes):
                    break
                if not self._put(image):
                    return
        except (OSError, ValueError):
            pass  # the pipe was closed under us: the stream ends here
        finally:
            self.sel.close()
            self._put(None)

    def _put(self, item: npt.NDArray[np.uint8] | None) -> bool:
        while not self.stop.is_set():
            try:
                self.frames.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def next(self) -> npt.NDArray[np.uint8] | None:
        """The next whole frame, or None at the end of the stream (a short last frame is dropped)."""
        return self.frames.get()


def _read_exact(readinto: object, sel: selectors.BaseSelector, buf: memoryview, nbytes: int) -> bool:
    """Fill `buf` from the pipe; False at end of stream (a short last frame is dropped)."""
    got = 0
    while got < nbytes:
        if not sel.select(timeout=STALL_TIMEOUT_S):
            return False
        k = readinto(buf[got:])  # type: ignore[operator]
        if not k:
            return False
        got += k
    return True
