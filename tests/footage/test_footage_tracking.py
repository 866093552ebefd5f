"""Tracker on real clips from ../shared/footage (skipped where absent). Expected places were read off
the frames by eye or come from the reference CSVs described in footage/SOURCES.md."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from barpath import video
from barpath.detect.plate import PlateFinder, refine_full, rim_support
from barpath.ffmpeg import exe
from barpath.track import TrackPoint, track

pytestmark = [pytest.mark.footage, pytest.mark.slow]

CLIPS = [
    "squat-side-60fps-portrait",
    "clean-black-plate-a",
    "clean-black-plate-b",
    "snatch-competition",
    "deadlift-distractor-plates",
    "deadlift-plate-cut-off",
    "deadlift-outdoor-backlit",
    "squat-rack-captions",
]
_cache: dict[Path, list[TrackPoint]] = {}


def tracked(path: Path) -> list[TrackPoint]:
    if path not in _cache:
        info = video.probe(path)
        _cache[path] = list(track(video.frames(info), PlateFinder(), info))
    return _cache[path]


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("clip", CLIPS)
def test_working_plate_tracked_through_lift(footage_dir: Path, clip: str) -> None:
    pts = tracked(footage_dir / f"{clip}.mp4")
    assert [p.i for p in pts] == list(range(len(pts)))
    not_lost = sum(p.state != "lost" for p in pts) / len(pts)
    assert not_lost >= 0.95, f"{clip}: only {not_lost:.0%} of frames not lost"
    ys = [p.y for p in pts if p.y is not None]
    radius = float(np.median([p.radius for p in pts if p.radius is not None]))
    # Every clip is a lift: the bar end travels at least a plate radius vertically.
    assert max(ys) - min(ys) > radius


def test_clean_a_plate_at_frame_29(footage_dir: Path) -> None:
    p = tracked(footage_dir / "clean-black-plate-a.mp4")[29]
    assert p.x is not None and p.y is not None
    assert 350 <= p.x <= 400 and 750 <= p.y <= 800


def test_clean_a_fast_rise_carried_not_coasted(footage_dir: Path) -> None:
    """Frames 30-39: the black plate rises fast into the catch, blurred, and its corners give no flow.
    Coasting alone fell behind the plate and then jumped 120 px (1.5 radii) when the rim was found again at
    frame 40; the box tracker carries it so that the path rises in steady steps."""
    pts = tracked(footage_dir / "clean-black-plate-a.mp4")
    radius = float(np.median([p.radius for p in pts if p.radius is not None]))
    rise = pts[28:44]
    assert all(p.y is not None for p in rise)
    ys = np.array([p.y for p in rise], float)
    assert float(np.max(np.abs(np.diff(ys)))) < 0.5 * radius
    assert sum(p.state == "predicted" for p in rise) <= 3


def test_clean_b_against_reference(footage_dir: Path) -> None:
    pts = tracked(footage_dir / "clean-black-plate-b.mp4")
    err = [
        np.hypot(pts[int(r["frame"])].x - float(r["cx"]), pts[int(r["frame"])].y - float(r["cy"]))  # type: ignore[operator]
        for r in rows(footage_dir / "clean-black-plate-b.reference.csv")
        if pts[int(r["frame"])].x is not None
    ]
    assert len(err) >= 28
    # Known gap: about 6.4 px measured. The reference comes from another tracker's overlay and is the
    # noisier of the two: its radius jumps between 94 and 116 px from frame to frame (the plate's is
    # 107-108), its path's second differences are 2.5x ours (RMS 12.4 vs 4.9 px), and drawn over the
    # frames our circle sits on the rim where the reference's does not. No systematic offset or lag
    # explains the rest (best whole-frame shift is 0; a 0.15-frame shift only reaches 5.8 px).
    assert float(np.mean(err)) <= 7.0
    # Which of the two circles lies on the plate's rim: the share of rays meeting a strong edge on it
    # (measured 0.81 mean for ours, 0.56 for the reference's; ours higher in 25 of 30 frames).
    info = video.probe(footage_dir / "clean-black-plate-b.mp4")
    images = [f.image for f in video.frames(info)]
    radius = float(np.median([p.radius for p in pts if p.radius is not None]))
    ours, theirs = [], []
    for r in rows(footage_dir / "clean-black-plate-b.reference.csv"):
        p, image = pts[int(r["frame"])], images[int(r["frame"])]
        assert p.x is not None and p.y is not None
        ours.append(rim_support(image, p.x, p.y, radius))
        theirs.append(rim_support(image, float(r["cx"]), float(r["cy"]), float(r["r"])))
    assert np.mean(ours) >= np.mean(theirs) + 0.15
    assert np.mean(np.greater(ours, theirs)) >= 0.75
    if float(np.mean(err)) > 5.0:
        pytest.xfail(f"mean error {np.mean(err):.1f} px > 5 px target")


def test_distractor_clip_follows_moving_green_plate(footage_dir: Path) -> None:
    pts = tracked(footage_dir / "deadlift-distractor-plates.mp4")
    first = next(p for p in pts if p.x is not None)
    # The green plate rests on the floor at about (980, 730) in frame 0; rack plates are far from there.
    assert first.x is not None and first.y is not None
    assert abs(first.x - 980) < 60 and abs(first.y - 730) < 60
    ys = [p.y for p in pts if p.y is not None]
    assert max(ys) - min(ys) > 250  # the pull: floor plates and rack plates do not move


def test_distractor_seeding_positions_agree_with_the_trackers_rim_fit(footage_dir: Path) -> None:
    """Frames 30-85 fall in the seeding window (the bar leaves the floor at about 70), where positions
    come from full-frame detections carried by flow, not from the tracker's per-frame rim fit. Where the
    detector kept its shrunk frame's centre they sat 4.3 px (median) off a 1080p rim fit; its
    full-resolution refit of the same rim agrees with the tracker to within a pixel or two."""
    path = footage_dir / "deadlift-distractor-plates.mp4"
    pts = tracked(path)
    radius = float(np.median([p.radius for p in pts if p.radius is not None]))
    info = video.probe(path)
    off = []
    for fr in video.frames(info):
        p = pts[fr.i]
        if 30 <= fr.i < 85 and p.x is not None and p.y is not None:
            f = refine_full(fr.image, p.x, p.y, radius, "gray", known_radius=radius)
            if f is not None and f.quality >= 0.4:
                off.append(float(np.hypot(f.x - p.x, f.y - p.y)))
        if fr.i >= 85:
            break
    assert len(off) >= 40
    assert float(np.median(off)) < 2.5, f"median {np.median(off):.2f} px"


def test_backlit_deadlift_followed_through_whole_pull(footage_dir: Path) -> None:
    pts = tracked(footage_dir / "deadlift-outdoor-backlit.mp4")
    radius = float(np.median([p.radius for p in pts if p.radius is not None]))
    ys = np.array([np.nan if p.y is None else p.y for p in pts])
    top = int(np.nanargmin(ys))
    # From the blocks (about y 741 in frame 0) to lockout and back: the plate rises well over two
    # radii, the top comes mid-clip, and the track ends back on the blocks, not on a shadow beside them.
    assert abs(ys[0] - 741) < 0.2 * radius
    assert ys[0] - ys[top] > 2.5 * radius
    assert 0.25 * len(pts) < top < 0.75 * len(pts)
    assert abs(ys[-1] - ys[0]) < 0.3 * radius


def test_cut_off_plate_back_on_its_rim_after_the_drop(footage_dir: Path) -> None:
    """The bar is dropped at frame 57 and bounces; from frame 70 it lies on the floor, the plate cut by
    the frame's bottom edge, so its centre stays at one height (the plate rolls a little sideways). The
    flow carried through the blurred drop and bounce used to sit 0.2-0.3 radii below the plate until
    frame 81, `tracked` at full flow confidence, because its rim fits (a third of the rim in view) were
    too weak to take it back. Frames 85 on are fitted on the resting plate: the height to hold. The
    weak fits that take the track back are noisy, and small changes upstream (seeding, fit seeds) moved
    the fixed track's mean between 0.04 and 0.10 radii; the bound sits between that and the 0.29 of a
    flow left alone."""
    pts = tracked(footage_dir / "deadlift-plate-cut-off.mp4")
    radius = float(np.median([p.radius for p in pts if p.radius is not None]))
    rest = [p for p in pts[85:] if p.state == "detected"]
    assert len(rest) >= 10
    rest_y = float(np.median([p.y for p in rest]))  # type: ignore[misc]
    settled = pts[70:81]
    assert all(p.y is not None for p in settled)
    off = np.abs(np.array([p.y for p in settled], float) - rest_y) / radius
    assert off.mean() < 0.15 and off.max() < 0.25, np.round(off, 2)


def dot_mask(img: np.ndarray, mark: dict[str, str]) -> np.ndarray:
    """The dot's own pixels: saturated green (the olive plate is far less saturated and yellower) near
    the marker, grown by 2 px for the blurred fringe. Only the dot goes; the sleeve end it is drawn on
    keeps its outline, as it would look had nobody drawn on it."""
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    green = cv2.inRange(hsv, (50, 110, 60), (80, 255, 255))
    near = np.zeros(img.shape[:2], np.uint8)
    rad = int(max(float(mark["bbox_w"]), float(mark["bbox_h"]))) + 4
    cv2.circle(near, (round(float(mark["x"])), round(float(mark["y"]))), rad, 255, -1)
    return np.asarray(cv2.dilate(cv2.bitwise_and(green, near), np.ones((5, 5), np.uint8)), np.uint8)


def paint_out_marker(src: Path, marker_csv: Path, dst: Path) -> None:
    """Copy of the clip with the green dot inpainted from its surroundings, re-encoded with x264."""
    marks = {int(r["frame"]): r for r in rows(marker_csv)}
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    enc = subprocess.Popen(
        [
            exe(),
            "-v",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "bgr24",
            "-s",
            f"{w}x{h}",
            "-r",
            str(fps),
            "-i",
            "-",
            "-c:v",
            "libx264",
            "-crf",
            "18",
            "-pix_fmt",
            "yuv420p",
            str(dst),
        ],
        stdin=subprocess.PIPE,
    )
    assert enc.stdin is not None
    i = 0
    while True:
        ok, img = cap.read()
        if not ok:
            break
        m = marks.get(i)
        if m is not None:
            img = cv2.inpaint(img, dot_mask(img, m), 3, cv2.INPAINT_TELEA)
        enc.stdin.write(img.tobytes())
        i += 1
    enc.stdin.close()
    assert enc.wait() == 0


def dot_pixels(src: Path, marker_csv: Path) -> int:
    marks = {int(r["frame"]): r for r in rows(marker_csv)}
    cap = cv2.VideoCapture(str(src))
    n, i = 0, 0
    while True:
        ok, img = cap.read()
        if not ok:
            break
        if i in marks:
            n += int(np.count_nonzero(dot_mask(img, marks[i])))
        i += 1
    return n


def marker_distance(pts: list[TrackPoint], marker_csv: Path) -> np.ndarray:
    d = []
    for r in rows(marker_csv):
        p = pts[int(r["frame"])]
        if p.x is not None and p.y is not None:
            d.append(np.hypot(p.x - float(r["x"]), p.y - float(r["y"])))
    return np.array(d)


def test_snatch_through_catch_with_and_without_dot(footage_dir: Path, tmp_path: Path) -> None:
    marker = footage_dir / "snatch-competition.marker.csv"
    with_dot = tracked(footage_dir / "snatch-competition.mp4")
    painted = tmp_path / "snatch-no-dot.mp4"
    paint_out_marker(footage_dir / "snatch-competition.mp4", marker, painted)
    without = tracked(painted)
    # The dot is gone from the copy: its green no longer shows where the marker CSV says it was.
    assert dot_pixels(painted, marker) < 0.02 * dot_pixels(footage_dir / "snatch-competition.mp4", marker)
    for pts in (with_dot, without):
        assert sum(p.state != "lost" for p in pts) / len(pts) >= 0.95
    d_with, d_without = marker_distance(with_dot, marker), marker_distance(without, marker)
    assert abs(float(np.mean(d_with)) - float(np.mean(d_without))) < 2.0, "tracker leans on the dot"
    # Known gap: the marker sits on the sleeve END, which perspective shifts away from the plate
    # centre: the offset is almost purely vertical and grows with the height above the camera
    # (about +14 px at the floor, -9 px at the hips, -35 px overhead; a least-squares perspective
    # model o = k (p - c) through the marker gives k 0.075, c (434, 547)). The tracker reports the
    # plate centre (about 20 px mean). Image-based sleeve-end locators were tried on the painted copy
    # (which keeps the sleeve's outline; only the dot's green goes) and fed to a per-clip robust fit of
    # that model, and failed: a bright disc of the sleeve's size (0.08-0.13 plate radii) against its
    # far side, and a bright body ending in a darker tip, both peak on the bright bushing ring around
    # the hub (a fixed offset of ~(12, -15) px) on most frames; the marker's own offset scores below
    # the frame's mean there, and the model fitted over those maps (k 0.035) gains under 1 px. The dot
    # also covers the end cap itself (17 px vs a ~16 px sleeve), so no copy shows the cap's outline.
    assert float(np.mean(d_without)) <= 25.0
    if float(np.mean(d_without)) > 10.0:
        pytest.xfail(f"mean distance to sleeve-end marker {np.mean(d_without):.1f} px > 10 px target")


def test_snatch_measured_frames_stay_on_the_bar(footage_dir: Path) -> None:
    """Through the drop and bounce, a frame called `detected` or `tracked` is on the bar end: the
    perspective gap between plate centre and sleeve-end marker is at most ~35 px here, so anything
    farther is a wrong measurement. (The flow once resumed after a coasted frame from corners left on
    the background and called the bar `tracked` 150 px above where it fell.) Where the marker stands
    still between two frames, so does the track: a rim fit that caught another edge jumped 13 px."""
    pts = tracked(footage_dir / "snatch-competition.mp4")
    marker_rows = rows(footage_dir / "snatch-competition.marker.csv")
    marks = {int(r["frame"]): (float(r["x"]), float(r["y"])) for r in marker_rows}
    far = [
        (p.i, p.state)
        for p in pts
        if p.i in marks
        and p.x is not None
        and p.y is not None
        and p.state in ("detected", "tracked")
        and np.hypot(p.x - marks[p.i][0], p.y - marks[p.i][1]) > 45
    ]
    assert not far, far
    still = [i for i in marks if i - 1 in marks and np.hypot(*np.subtract(marks[i], marks[i - 1])) <= 2.0]
    assert len(still) >= 40
    steps = [
        float(np.hypot(pts[i].x - pts[i - 1].x, pts[i].y - pts[i - 1].y))  # type: ignore[operator]
        for i in still
        if pts[i].x is not None and pts[i - 1].x is not None
    ]
    assert max(steps) <= 6.0
