"""Where ffmpeg lives and how we call it: one place for the binary, the hardening flags and the H.264
settings, so decoding, the overlay encoder and the benchmark's bare transcode all agree.

The binary comes from imageio-ffmpeg (a static build; there is no ffprobe beside it), so probing parses
the stream summary ffmpeg prints for `-i`. Commands are plain argument lists: we need exact control over
option order (input vs output options) and over stderr, which ffmpeg-python's graph builder hides.
"""

from __future__ import annotations

import contextlib
import functools
import os
import selectors
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import numpy.typing as npt

# Inputs may only be local files: a crafted playlist or concat file must not make ffmpeg open URLs.
FILE_ONLY = ["-protocol_whitelist", "file"]
QUIET = ["-hide_banner", "-nostdin", "-nostats"]

# Output settings shared by the overlay and `make bench`'s reference transcode. veryfast is the best
# quality-per-second trade on 2 cores for 1080p; CRF 23 is x264's default visual quality.
H264_ARGS = [
    "-c:v", "libx264",
    "-preset", "veryfast",
    "-crf", "23",
    "-pix_fmt", "yuv420p",
    "-movflags", "+faststart",
]  # fmt: skip

# Audio copied as it is: what every browser plays from an .mp4. Anything else (opus or vorbis from webm,
# pcm from a camera's mov, ac3) becomes AAC.
MP4_AUDIO_COPY = frozenset({"aac", "mp3"})

PROBE_TIMEOUT_S = 30.0
MAX_CAPTURE_BYTES = 1 << 20


@functools.cache
def exe() -> str:
    """Path of the ffmpeg binary (IMAGEIO_FFMPEG_EXE overrides imageio-ffmpeg's bundled one)."""
    return str(imageio_ffmpeg.get_ffmpeg_exe())


@dataclass
class Completed:
    returncode: int
    stderr: str
    timed_out: bool


def run_capped(
    args: Sequence[str], timeout_s: float = PROBE_TIMEOUT_S, max_bytes: int = MAX_CAPTURE_BYTES
) -> Completed:
    """Run ffmpeg with `args`, keeping at most `max_bytes` of stderr and killing it after `timeout_s`.

    A hostile file can make ffmpeg print megabytes of warnings or loop; neither may cost us memory or time."""
    proc = subprocess.Popen(
        [exe(), *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    chunks: list[bytes] = []
    kept = 0
    timed_out = False
    try:
        deadline = time.monotonic() + timeout_s
        sel = selectors.DefaultSelector()
        sel.register(proc.stderr, selectors.EVENT_READ)
        fd = proc.stderr.fileno()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            if not sel.select(timeout=left):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            if kept < max_bytes:
                chunks.append(chunk[: max_bytes - kept])
                kept += len(chunks[-1])
        sel.close()
    finally:
        if timed_out:
            proc.kill()
        try:
            proc.wait(timeout=max(1.0, timeout_s))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            timed_out = True
        proc.stderr.close()
    return Completed(proc.returncode, b"".join(chunks).decode("utf-8", "replace"), timed_out)


def audio_args(codec: str | None) -> list[str]:
    """Audio options for an .mp4 output whose audio comes from an input with `codec`."""
    if codec is None:
        return ["-an"]
    if codec in MP4_AUDIO_COPY:
        return ["-c:a", "copy"]
    return ["-c:a", "aac", "-b:a", "160k"]


def transcode(src: Path, dst: Path, audio_codec: str | None = "aac", timeout_s: float = 3600.0) -> None:
    """Re-encode `src` with exactly the overlay's encoder settings (the benchmark's reference)."""
    audio = ["-map", "0:a:0?", *audio_args(audio_codec)] if audio_codec else ["-an"]
    done = run_capped(
        [*QUIET, "-y", *FILE_ONLY, "-i", str(src), "-map", "0:v:0", *audio, *H264_ARGS, str(dst)],
        timeout_s=timeout_s,
    )
    if done.returncode != 0 or done.timed_out:
        raise RuntimeError(f"ffmpeg transcode of {src} failed: {last_line(done.stderr)}")


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


class _Matroska:
    """Just enough Matroska to hand ffmpeg raw frames with exact timestamps through a pipe.

    A raw pipe (`-f rawvideo`) carries no timestamps, so a variable-frame-rate clip would come out at a
    fixed rate. Matroska with one frame per cluster is the smallest stream format that carries a time
    per frame, and ffmpeg reads it from a non-seekable pipe."""

    TIMECODE_SCALE_NS = 1000  # timestamps in microseconds

    @staticmethod
    def size(n: int) -> bytes:
        for length in range(1, 9):
            if n < (1 << (7 * length)) - 1:
                return ((1 << (7 * length)) | n).to_bytes(length, "big")
        raise ValueError(f"element too large: {n} bytes")

    @classmethod
    def element(cls, element_id: bytes, payload: bytes) -> bytes:
        return element_id + cls.size(len(payload)) + payload

    @classmethod
    def uint(cls, element_id: bytes, value: int) -> bytes:
        return cls.element(element_id, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))

    @classmethod
    def header(cls, width: int, height: int, nominal_fps: float, fourcc: bytes) -> bytes:
        el, uint = cls.element, cls.uint
        ebml = el(
            b"\x1a\x45\xdf\xa3",
            uint(b"\x42\x86", 1)  # EBMLVersion
            + uint(b"\x42\xf7", 1)  # EBMLReadVersion
            + uint(b"\x42\xf2", 4)  # EBMLMaxIDLength
            + uint(b"\x42\xf3", 8)  # EBMLMaxSizeLength
            + el(b"\x42\x82", b"matroska")  # DocType
            + uint(b"\x42\x87", 4)
            + uint(b"\x42\x85", 2),
        )
        segment = b"\x18\x53\x80\x67" + b"\x01\xff\xff\xff\xff\xff\xff\xff"  # unknown size: a stream
        timecode_scale = uint(b"\x2a\xd7\xb1", cls.TIMECODE_SCALE_NS)
        info = el(b"\x15\x49\xa9\x66", timecode_scale + el(b"\x4d\x80", b"barpath"))
        video = el(b"\xe0", uint(b"\xb0", width) + uint(b"\xba", height) + el(b"\x2e\xb5\x24", fourcc))
        # DefaultDuration only tells the encoder the nominal rate (x264 picks its level from it);
        # every frame still carries its own time.
        frame_ns = int(round(1e9 / nominal_fps)) if nominal_fps > 0 else 33_333_333
        track = el(
            b"\xae",
            uint(b"\xd7", 1)  # TrackNumber
            + uint(b"\x73\xc5", 1)  # TrackUID
            + uint(b"\x83", 1)  # TrackType: video
            + el(b"\x86", b"V_UNCOMPRESSED")
            + uint(b"\x23\xe3\x83", frame_ns)
            + video,
        )
        return ebml + segment + info + el(b"\x16\x54\xae\x6b", track)

    @classmethod
    def cluster_head(cls, t_us: int, frame_bytes: int) -> bytes:
        """Everything of a one-frame cluster up to the frame's bytes, which follow it."""
        block_head = b"\x81\x00\x00\x80"  # track 1, relative time 0, keyframe
        body = cls.uint(b"\xe7", t_us) + b"\xa3" + cls.size(len(block_head) + frame_bytes) + block_head
        return b"\x1f\x43\xb6\x75" + cls.size(len(body) + frame_bytes) + body


# ffmpeg's raw-video tag for yuva420p (planar Y, U, V, then alpha), as Matroska's colour space.
YUVA420P_FOURCC = b"Y4\x0b\x08"


@dataclass(frozen=True)
class Patch:
    """A w x h box of the overlay stream, at (x, y) there, laid over the video at (to_x, to_y)."""

    x: int
    y: int
    w: int
    h: int
    to_x: int
    to_y: int


def colour_tags(colour: tuple[str, str, str] | None) -> list[str]:
    """setparams options that tag frames with (matrix, primaries, transfer), skipping unknown ones."""
    if not colour:
        return []
    keys = ("colorspace", "color_primaries", "color_trc")
    return [f"{k}={v}" for k, v in zip(keys, colour, strict=True) if v not in ("unknown", "reserved")]


def overlay_graph(video: str, chain: str, patches: Sequence[Patch], tail: Sequence[str]) -> str:
    """filter_complex text: `video` through `chain`, each patch of input 1 cropped out and overlaid
    (straight alpha: ffmpeg versions disagree on premultiplied YUV), then `tail`; labelled [vout]."""
    parts = [f"[{video}]{chain}[m0]"]
    n = len(patches)
    parts.append(f"[1:v]split={n}" + "".join(f"[s{k}]" for k in range(n)))
    for k, p in enumerate(patches):
        src = f"[s{k}]"
        parts.append(f"{src}crop={p.w}:{p.h}:{p.x}:{p.y}:exact=1[p{k}]")
        # eof_action=repeat: pass would drop the last overlay frame as its stream ends, before the last
        # video frame has been paired with it.
        parts.append(
            f"[m{k}][p{k}]overlay=x={p.to_x}:y={p.to_y}:format=yuv420:alpha=straight:"
            f"eof_action=repeat[m{k + 1}]"
        )
    parts.append(f"[m{n}]{','.join(tail) or 'null'}[vout]")
    return ";".join(parts)


class OverlayEncoder:
    """One ffmpeg that decodes the source, lays small patches drawn by Python over it and encodes H.264
    (H264_ARGS) with the source's sound. The full-size picture never crosses a pipe and nothing decodes
    the source twice: Python only sends the patches, about a megabyte a frame at 1080p.

    Each overlay frame is a `width` x `height` yuva420p image (straight alpha) holding all the
    patches; ffmpeg crops them out and overlays each at its place. overlay pairs a source frame with the
    newest overlay frame timed at or before it, so each overlay frame is written with a time (`t_us`,
    microseconds after `start_us`) at or just before its own source frame and after the one before:
    frame-exact also for variable frame rates. `start_us` is the first overlay frame's time on the clock
    of the source's decoded frames, the one its sound is on too.

        with OverlayEncoder(out, ["-i", src], "0:v:0", "null", w, h, patches, start_us) as enc:
            enc.write(yuva, t_us)
    """

    def __init__(
        self,
        out_path: Path,
        source_args: Sequence[str],
        video_stream: str,
        video_chain: str,
        width: int,
        height: int,
        patches: Sequence[Patch],
        start_us: int,
        audio_codec: str | None = None,
        colour: tuple[str, str, str] | None = None,
    ) -> None:
        self.out_path = Path(out_path)
        if width % 2 or height % 2 or width <= 0 or height <= 0:
            raise ValueError(f"yuva420p overlay frames need an even size, not {width}x{height}")
        self.width, self.height = width, height
        self.frame_bytes = width * height * 5 // 2
        self.last_us = -1
        self.frames = 0
        tags = colour_tags(colour)
        # Tag the frames themselves: ffmpeg takes colour tags from frames, not from -colorspace.
        graph = overlay_graph(
            video_stream, video_chain, patches, [f"setparams={':'.join(tags)}"] if tags else []
        )
        cmd = [
            exe(), *QUIET, "-loglevel", "error", "-y",
            *source_args,
            # ffmpeg starts every input at 0; this puts the overlay back where its first frame belongs.
            "-itsoffset", f"{start_us / 1e6:.6f}",
            "-protocol_whitelist", "pipe", "-f", "matroska", "-i", "pipe:0",
            "-filter_complex", graph, "-map", "[vout]",
            *(["-map", "0:a:0", *audio_args(audio_codec)] if audio_codec else ["-an"]),
            "-fps_mode", "passthrough",
            *H264_ARGS,
            "-map_metadata", "-1",
            str(self.out_path),
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        assert self.proc.stdin is not None and self.proc.stderr is not None
        self.stdin = self.proc.stdin
        self._stderr: list[bytes] = []
        # Drain stderr so ffmpeg never blocks on it while we block writing frames.
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()
        # No nominal rate (0): overlay goes by each frame's own time, and the output by the source's.
        self._write(_Matroska.header(width, height, 0.0, YUVA420P_FOURCC))

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        kept = 0
        for line in self.proc.stderr:
            if kept < MAX_CAPTURE_BYTES:
                self._stderr.append(line)
                kept += len(line)

    def _write(self, data: bytes | memoryview) -> None:
        try:
            self.stdin.write(data)
        except BrokenPipeError:
            self._fail("ffmpeg stopped accepting frames")

    def write(self, frame: npt.NDArray[np.uint8], t_us: int) -> None:
        """Append an overlay frame (Y, U, V, A planes back to back) at `t_us`; times must increase."""
        if frame.nbytes != self.frame_bytes or frame.dtype != np.uint8:
            raise ValueError(f"frame {frame.shape} {frame.dtype} is not one {self.width}x{self.height} frame")
        if t_us <= self.last_us:
            raise ValueError(f"frame time {t_us} us does not increase")
        self.last_us = t_us
        self._write(_Matroska.cluster_head(t_us, self.frame_bytes))
        self._write(np.ascontiguousarray(frame).data.cast("B"))
        self.frames += 1

    def close(self, timeout_s: float = 600.0) -> None:
        """Finish the file; raise RuntimeError (and leave no output) when ffmpeg failed."""
        with contextlib.suppress(BrokenPipeError):
            self.stdin.close()
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._drain.join(timeout=5)
        if self.proc.returncode != 0:
            self._fail(f"ffmpeg exited with {self.proc.returncode}")

    def abort(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.out_path.unlink(missing_ok=True)

    def _fail(self, what: str) -> None:
        self.abort()
        self._drain.join(timeout=5)
        log = b"".join(self._stderr).decode("utf-8", "replace")
        raise RuntimeError(f"encoding {self.out_path.name}: {what}: {last_line(log)}")

    def __enter__(self) -> OverlayEncoder:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
