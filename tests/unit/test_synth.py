"""The synthetic clips are only useful if their ground truth is what was actually encoded: these tests
decode the produced files with ffmpeg (independently of barpath.video) and measure the plate."""

from __future__ import annotations

import math
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from barpath.ffmpeg import exe
from barpath.synth import GroundTruth, SynthSpec, natural_duration, render_clip

pytestmark = pytest.mark.unit

SMALL = {"width": 640, "height": 360}


def decode_gray(path: Path, width: int, height: int, autorotate: bool = True) -> np.ndarray:
    """All frames as an (N, H, W) uint8 array, decoded by the ffmpeg binary (rotation applied)."""
    cmd = [exe(), "-hide_banner", "-loglevel", "error"] + ([] if autorotate else ["-noautorotate"])
    cmd += [
        "-i",
        str(path),
        "-map",
        "0:v:0",
        "-fps_mode",
        "passthrough",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "gray",
        "-",
    ]
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width)


def stream_info(path: Path) -> str:
    return subprocess.run([exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr


def decoded_pts(path: Path) -> np.ndarray:
    err = subprocess.run(
        [exe(), "-hide_banner", "-i", str(path), "-map", "0:v:0", "-vf", "showinfo", "-f", "null", "-"],
        capture_output=True,
        text=True,
    ).stderr
    return np.array([float(m) for m in re.findall(r"pts_time:\s*([-0-9.]+)", err)])


def fit_plate(gray: np.ndarray, radius: float) -> tuple[float, float, float]:
    """Centre and radius of the dark plate: sub-pixel rim crossings on rays, then a least-squares circle."""
    ys, xs = np.nonzero(gray < 100)
    cx0, cy0 = float(xs.mean()), float(ys.mean())
    img = gray.astype(np.float32)
    radii = np.arange(0.75 * radius, 1.3 * radius, 0.05, dtype=np.float32)
    pts = []
    for ang in np.linspace(0, 2 * math.pi, 90, endpoint=False):
        mx = (cx0 + radii * math.cos(ang)).reshape(1, -1).astype(np.float32)
        my = (cy0 + radii * math.sin(ang)).reshape(1, -1).astype(np.float32)
        prof = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0]
        inside = prof[radii < 0.9 * radius].min()
        outside = np.median(prof[radii > 1.15 * radius])
        level = (inside + outside) / 2
        above = np.nonzero((prof[:-1] < level) & (prof[1:] >= level))[0]
        if len(above) == 0:
            continue
        k = above[-1]
        frac = (level - prof[k]) / (prof[k + 1] - prof[k])
        r = radii[k] + frac * (radii[k + 1] - radii[k])
        pts.append((cx0 + r * math.cos(ang), cy0 + r * math.sin(ang)))
    p = np.array(pts)
    a = np.column_stack([2 * p[:, 0], 2 * p[:, 1], np.ones(len(p))])
    b = (p**2).sum(axis=1)
    cx, cy, c = np.linalg.lstsq(a, b, rcond=None)[0]
    return float(cx), float(cy), float(math.sqrt(c + cx * cx + cy * cy))


@pytest.mark.parametrize("blur", [False, True], ids=["sharp", "motion-blur"])
def test_rendered_plate_centre_and_radius_match_truth(tmp_path: Path, blur: bool) -> None:
    spec = SynthSpec.plain(n_reps=1, rack=False, motion_blur=blur, sway_m=0.006, **SMALL)
    gt = render_clip(spec, tmp_path / "c.mp4")
    frames = decode_gray(tmp_path / "c.mp4", gt.width, gt.height)
    assert len(frames) == len(gt.frames)
    speeds = np.hypot([f.vx_mps for f in gt.frames], [f.vy_mps for f in gt.frames])
    picked = list(range(0, len(frames), 4)) + [int(np.argmax(speeds))]
    errs, rad_errs = [], []
    for i in picked:
        cx, cy, r = fit_plate(frames[i], gt.plate_radius_px)
        errs.append(math.hypot(cx - gt.frames[i].x, cy - gt.frames[i].y))
        rad_errs.append(abs(r - gt.plate_radius_px))
    assert max(speeds) > 1.0  # the fastest frame really moves (so the blur variant smears)
    assert max(errs) < 0.5, f"worst centre error {max(errs):.3f} px"
    assert float(np.mean(errs)) < 0.2
    assert max(rad_errs) < 0.6


def test_a_turned_camera_squeezes_the_plate_across_and_truth_follows(tmp_path: Path) -> None:
    """Stretched back across by 1 / view_squeeze, each frame shows the round plate of the side view at
    the truth's position (itself squeezed), its radius the truth's."""
    spec = SynthSpec.plain(n_reps=1, rack=False, view_squeeze=0.7, **SMALL)
    gt = render_clip(spec, tmp_path / "c.mp4")
    assert (gt.width, gt.height) == (640, 360)
    frames = decode_gray(tmp_path / "c.mp4", gt.width, gt.height)
    errs, rad_errs = [], []
    for i in range(0, len(frames), 6):
        wide = cv2.resize(frames[i], (round(640 / 0.7), 360), interpolation=cv2.INTER_LINEAR)
        sx = 640 / wide.shape[1]
        cx, cy, r = fit_plate(wide, gt.plate_radius_px)
        errs.append(math.hypot((cx + 0.5) * sx - 0.5 - gt.frames[i].x, cy - gt.frames[i].y))
        rad_errs.append(abs(r - gt.plate_radius_px))
    assert float(np.mean(errs)) < 0.3 and max(errs) < 0.7, errs
    assert max(rad_errs) < 0.8, rad_errs
    with pytest.raises(ValueError, match="view_squeeze"):
        render_clip(replace(spec, view_squeeze=1.2), tmp_path / "bad.mp4")


def test_truth_velocities_are_the_derivative_of_truth_positions(tmp_path: Path) -> None:
    spec = SynthSpec.plain(lift="deadlift", n_reps=2, fps=120.0, width=320, height=180, sway_m=0.01)
    gt = render_clip(spec, tmp_path / "d.mp4")
    t, xy = gt.t, gt.xy
    mpp = gt.meters_per_pixel
    vx = np.gradient(xy[:, 0], t) * mpp
    vy = -np.gradient(xy[:, 1], t) * mpp
    inner = slice(2, -2)
    assert np.max(np.abs(vx - [f.vx_mps for f in gt.frames])[inner]) < 0.01
    assert np.max(np.abs(vy - [f.vy_mps for f in gt.frames])[inner]) < 0.01
    vy_gt = np.array([f.vy_mps for f in gt.frames])
    for rep in gt.reps:
        con = rep.concentric
        m = (t >= con.start_t) & (t <= con.end_t)
        rise = float(np.trapezoid(vy_gt[m], t[m]))
        assert rise == pytest.approx(con.displacement_m, abs=0.01)
        assert con.mean_velocity_mps == pytest.approx(con.displacement_m / con.duration_s)
        assert vy_gt[m].max() == pytest.approx(con.peak_velocity_mps, rel=0.01)
        # Position difference in px across the phase is the displacement in metres.
        y0 = np.interp(con.start_t, t, xy[:, 1])
        y1 = np.interp(con.end_t, t, xy[:, 1])
        assert (y0 - y1) * mpp == pytest.approx(con.displacement_m, abs=0.002)


@pytest.mark.parametrize("lift", ["squat", "bench", "deadlift", "clean"])
def test_reps_phases_and_non_rep_moves(tmp_path: Path, lift: str) -> None:
    spec = SynthSpec.plain(lift=lift, n_reps=3, fps=15.0, width=320, height=180)
    gt = render_clip(spec, tmp_path / "r.mp4")
    assert [r.index for r in gt.reps] == [1, 2, 3]  # numbered as path.json numbers them
    vel = [r.concentric.mean_velocity_mps for r in gt.reps]
    assert vel[0] > vel[1] > vel[2]  # fatigue
    for rep in gt.reps:
        con, ecc = rep.concentric, rep.eccentric
        assert ecc is not None
        assert con.displacement_m >= 0.4 and ecc.displacement_m >= 0.4
        if lift in ("squat", "bench"):
            assert ecc.end_t <= con.start_t  # starts at the top
        else:
            assert con.end_t <= ecc.start_t  # starts on the floor
    # Unrack, walk-out, catch, re-rack...: small vertical moves that a rep counter must ignore.
    kinds = {m.kind for m in gt.moves}
    if lift in ("squat", "bench"):
        assert {"unrack", "walkout", "walkin", "rerack"} <= kinds
    if lift == "clean":
        assert {"catch", "recovery"} <= kinds
    assert all(abs(m.vertical_m) < 0.2 for m in gt.moves)
    bounds = [(r.concentric.start_t, r.concentric.end_t) for r in gt.reps]
    for m in gt.moves:
        assert all(m.end_t <= a or m.start_t >= b for a, b in bounds)


def test_variable_frame_rate_timestamps_are_irregular_and_equal_truth(tmp_path: Path) -> None:
    spec = SynthSpec.plain(n_reps=1, rack=False, vfr=True, width=320, height=180)
    gt = render_clip(spec, tmp_path / "v.mp4")
    pts = decoded_pts(tmp_path / "v.mp4")
    assert len(pts) == len(gt.frames)
    np.testing.assert_allclose(pts - pts[0], gt.t, atol=2e-5)
    dt = np.diff(gt.t)
    assert dt.min() >= 1 / 35 - 1e-4 and dt.max() <= 1 / 25 + 1e-4
    assert dt.std() > 0.002  # really irregular, not 30 fps with rounding noise
    assert dt.max() - dt.min() > 0.006


@pytest.mark.parametrize("rotation", [90, 270])
def test_rotation_metadata_and_upright_decode(tmp_path: Path, rotation: int) -> None:
    spec = SynthSpec.plain(n_reps=1, rack=False, rotation_deg=rotation, width=360, height=640)
    gt = render_clip(spec, tmp_path / "p.mp4")
    info = stream_info(tmp_path / "p.mp4")
    assert f"rotation of {-rotation if rotation <= 180 else 360 - rotation:.2f} degrees" in info
    assert re.search(r"Video: h264.*, 640x360", info)  # stored sideways
    upright = decode_gray(tmp_path / "p.mp4", gt.width, gt.height)
    assert upright.shape[1:] == (640, 360)
    for i in range(0, len(upright), 10):
        cx, cy, _ = fit_plate(upright[i], gt.plate_radius_px)
        assert math.hypot(cx - gt.frames[i].x, cy - gt.frames[i].y) < 0.5
    stored = decode_gray(tmp_path / "p.mp4", gt.height, gt.width, autorotate=False)
    k = rotation // 90  # the player rotates clockwise by `rotation`: undo it as np.rot90 (counter-clockwise)
    assert np.abs(np.rot90(stored[5], -k).astype(int) - upright[5]).mean() < 1.0


def test_audio_track_is_present(tmp_path: Path) -> None:
    spec = SynthSpec.plain(n_reps=1, rack=False, audio=True, width=320, height=180)
    gt = render_clip(spec, tmp_path / "a.mp4")
    assert gt.has_audio
    info = stream_info(tmp_path / "a.mp4")
    assert re.search(r"Audio: aac", info)
    render_clip(replace(spec, audio=False), tmp_path / "silent.mp4")
    assert "Audio" not in stream_info(tmp_path / "silent.mp4")


def test_same_seed_same_clip_other_seed_other_clip(tmp_path: Path) -> None:
    spec = SynthSpec(n_reps=1, rack=False, width=320, height=180, fps=15.0, seed=7)
    a = render_clip(spec, tmp_path / "a.mp4")
    b = render_clip(spec, tmp_path / "b.mp4")
    c = render_clip(replace(spec, seed=8), tmp_path / "c.mp4")
    assert a == b
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    assert a.xy.tolist() != c.xy.tolist()


def test_occlusion_visible_fraction_matches_pixels(tmp_path: Path) -> None:
    spec = SynthSpec.plain(n_reps=2, rack=False, occlusion=True, **SMALL)
    gt = render_clip(spec, tmp_path / "o.mp4")
    vis = np.array([f.visible for f in gt.frames])
    assert vis.min() < 0.85 and np.sum(vis < 0.99) >= 5
    assert np.median(vis) == pytest.approx(1.0, abs=1e-3)
    i = int(np.argmin(vis))
    cap = cv2.VideoCapture(str(tmp_path / "o.mp4"))
    cap.set(cv2.CAP_PROP_POS_FRAMES, i)
    ok, bgr = cap.read()
    assert ok
    f = gt.frames[i]
    yy, xx = np.mgrid[: bgr.shape[0], : bgr.shape[1]]
    disc = np.hypot(xx - f.x, yy - f.y) < gt.plate_radius_px - 1
    b, g, r = (bgr[..., k].astype(int) for k in range(3))
    skin = (r > 150) & (r > g + 20) & (g > b + 10)
    covered = skin[disc].mean()
    assert covered == pytest.approx(1 - f.visible, abs=0.05)


def test_a_passer_by_hides_the_plate_through_the_rest_after_rep_one(tmp_path: Path) -> None:
    spec = SynthSpec.plain(n_reps=2, rack=False, passerby=True, **SMALL)
    gt = render_clip(spec, tmp_path / "p.mp4")
    vis = np.array([f.visible for f in gt.frames])
    hidden = np.nonzero(vis < 0.01)[0]
    # Wholly hidden for about _Passerby.HIDDEN_S, after rep 1 and before rep 2; in view elsewhere.
    assert len(hidden) * (gt.t[1] - gt.t[0]) == pytest.approx(0.6, abs=0.1)
    assert gt.reps[0].concentric.end_t - 0.6 < gt.t[hidden[0]]
    assert gt.t[hidden[-1]] < gt.reps[1].eccentric.start_t
    assert np.median(vis) == 1.0
    cap = cv2.VideoCapture(str(tmp_path / "p.mp4"))
    cap.set(cv2.CAP_PROP_POS_FRAMES, int(hidden[len(hidden) // 2]))
    ok, bgr = cap.read()
    assert ok
    f = gt.frames[int(hidden[len(hidden) // 2])]
    # Where the plate is, the shirt: no pixel as dark as the plate's black rubber.
    yy, xx = np.mgrid[: bgr.shape[0], : bgr.shape[1]]
    disc = np.hypot(xx - f.x, yy - f.y) < gt.plate_radius_px - 2
    assert (bgr[disc].max(axis=1) < 50).mean() < 0.02


def test_a_second_lifter_farther_back_lifts_beside_the_filmed_lift_without_changing_it(
    tmp_path: Path,
) -> None:
    base = SynthSpec.plain(lift="squat", n_reps=1, fps=10.0, **SMALL)
    alone = render_clip(base, tmp_path / "alone.mp4")
    both = render_clip(replace(base, second_lifter=0.6), tmp_path / "both.mp4")
    assert both.xy.tolist() == alone.xy.tolist() and both.reps == alone.reps
    a = decode_gray(tmp_path / "alone.mp4", *SMALL.values()).astype(np.int16)
    b = decode_gray(tmp_path / "both.mp4", *SMALL.values()).astype(np.int16)
    dark = (b < 100) & (np.abs(b - a) > 40)  # their plate (and limbs), drawn on the flat background
    # All of it left of the filmed plate's path, and it rises and falls: they lift.
    xs = np.nonzero(dark.any(axis=(0, 1)))[0]
    assert xs.size and xs.max() < alone.xy[:, 0].min() - alone.plate_radius_px
    rows = [float(np.nonzero(f.any(axis=1))[0].mean()) for f in dark if f.any()]
    assert len(rows) == len(b) and max(rows) - min(rows) > 0.3 * 0.6 * alone.plate_radius_px
    with pytest.raises(ValueError, match="second_lifter"):
        render_clip(replace(base, second_lifter=1.0), tmp_path / "x.mp4")


def test_seconds_pads_the_end_and_rejects_too_short(tmp_path: Path) -> None:
    base = SynthSpec.plain(n_reps=1, rack=False, width=320, height=180, fps=10.0)
    need = natural_duration(base)
    gt = render_clip(replace(base, seconds=need + 2.0), tmp_path / "s.mp4")
    assert gt.t[-1] == pytest.approx(need + 2.0, abs=0.11)
    with pytest.raises(ValueError, match="too short"):
        render_clip(replace(base, seconds=need - 1.0), tmp_path / "x.mp4")


def test_truth_json_round_trip(tmp_path: Path) -> None:
    gt = render_clip(SynthSpec.plain(n_reps=1, width=320, height=180, fps=10.0), tmp_path / "j.mp4")
    gt.write_json(tmp_path / "gt.json")
    back = GroundTruth.read_json(tmp_path / "gt.json")
    assert back == gt
    assert back.reps[0].concentric.displacement_m == pytest.approx(0.5)


def test_plate_leaving_the_frame_counts_as_partly_visible(tmp_path: Path) -> None:
    # Zoomed in so the clean's catch carries the plate over the top edge, as phone videos often do.
    spec = SynthSpec.plain(lift="clean", n_reps=1, width=320, height=180, fps=15.0, px_per_m=140.0)
    gt = render_clip(spec, tmp_path / "e.mp4")
    r = gt.plate_radius_px
    for f in gt.frames:
        d = f.y + 0.5  # centre to the frame's top edge (pixel centres sit on integers)
        if d >= r:
            expected = 1.0
        else:  # circle minus the segment cut off above the edge
            expected = 1 - (r * r * math.acos(d / r) - d * math.sqrt(r * r - d * d)) / (math.pi * r * r)
        assert f.visible == pytest.approx(expected, abs=0.01)
    assert min(f.visible for f in gt.frames) < 0.8
