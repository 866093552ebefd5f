"""End to end on rendered lifts with exact ground truth: the numbers issue #2 asks for.

Each case renders a clip with barpath.synth (blur, noise, compression, distractors, a lifter), runs the
real pipeline on it (real ffmpeg, real OpenCV) and compares path.json with the ground truth."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace

import numpy as np
import pytest

from barpath import pipeline, schema, synth, video
from barpath.errors import NoPlateFoundError
from barpath.ffmpeg import exe
from media import slow_motion_copy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MAX_MEAN_CENTRE_ERR_PX = 1.5
MAX_MCV_ERR_MPS = 0.03

CASES = {
    "squat-rack-walkout": synth.SynthSpec(lift="squat", n_reps=4, seed=1),
    "bench": synth.SynthSpec(lift="bench", n_reps=5, seed=2),
    "deadlift": synth.SynthSpec(lift="deadlift", n_reps=3, seed=3),
    "clean": synth.SynthSpec(lift="clean", n_reps=1, seed=4),
    "squat-vfr-phone": synth.SynthSpec(lift="squat", n_reps=3, vfr=True, seed=5),
    # A phone's slow-motion original, written in real time (an iPhone's): 240 frames a second.
    "clean-240fps": synth.SynthSpec(lift="clean", n_reps=1, fps=240.0, seed=4),
    "squat-rotated-90": synth.SynthSpec(
        lift="squat", n_reps=3, rotation_deg=90, width=720, height=1280, seed=6
    ),
    "deadlift-occluded": synth.SynthSpec(lift="deadlift", n_reps=3, occlusion=True, seed=7),
    # Larger than the tracking size: tracked on a decoder-shrunk copy, reported in full-size pixels.
    "squat-1080p": synth.SynthSpec(lift="squat", n_reps=2, width=1920, height=1080, seed=8),
    # A phone held by a training partner: the view drifts 30 px and rolls. Positions are the picture's,
    # the numbers the room's. Its distractor plates move as much as the camera: this seed picked one as
    # the working plate before seeding took the camera's motion out.
    "squat-hand-held": synth.SynthSpec(lift="squat", n_reps=3, camera_drift_px=30.0, seed=11),
    # The same on a bench press: the lifter lies across the frame, so more of the picture moves with
    # the lift than on a standing lift, and the camera is judged from what is left.
    "bench-hand-held": synth.SynthSpec(lift="bench", n_reps=4, camera_drift_px=30.0, seed=12),
    # A camera turned 45 degrees from side-on: the plate is an upright ellipse 0.71 as wide as tall.
    # Fitted with circles the centre sat 27 px off and the velocities read 54 % high.
    "squat-turned-45": synth.SynthSpec(lift="squat", n_reps=3, view_squeeze=0.71, seed=13),
    # Turned 53 degrees: here the plate finder sees no round plate on the frames as filmed; stretched
    # as for 37 degrees, seeding took the lifter's knee (measured 0.56 across: not taken); as for 53,
    # the plate.
    "clean-turned-53": synth.SynthSpec(lift="clean", n_reps=1, view_squeeze=0.6, seed=41),
    # Filmed from about 6 m: a 34 px plate, under the plate finder's floor (43 px at 720). Its first
    # look fitted a circle around the plate and the lifter's shoulders, every rep 16-25 % slow; the far
    # look (barpath.far_plate) finds the plate.
    "squat-far": synth.SynthSpec(lift="squat", n_reps=3, px_per_m=151.0, seed=5),
    # A 38 px plate: the first look measured a larger circle on two frames, and gave no velocities.
    "deadlift-far": synth.SynthSpec(lift="deadlift", n_reps=3, px_per_m=169.0, seed=6),
    # A 36 px plate: the first look followed the lifter's knees (64 px, carried up and down by the
    # walk-out and the squat), its rim fitted on 3 % of the frames: one rep, 0.41 m/s slow.
    "squat-far-knees": synth.SynthSpec(lift="squat", n_reps=3, px_per_m=160.0, seed=15),
    # Another lifter farther back (0.7 the size) deadlifts while this one walks the bar out: their plate
    # moved first and seeding took it, three right-looking reps of the wrong lift (0.74-0.51 m/s, 486 px
    # off). Seeding now waits while a larger plate still stands clearly beside the first to move.
    "squat-second-lifter": synth.SynthSpec(lift="squat", n_reps=3, seed=1, second_lifter=0.7),
    # Everything at once, from a sweep of random combinations: a phone held by hand, turned 30 degrees,
    # irregular frame times, noise, CRF 28, an arm across the bar, and a second lifter whose plate rises
    # in front of a stack of floor plates. Flow dragged the floor plate's corners up with it: a "plate"
    # that moved 1.1 radii with no rim seen where it went was taken, 500 px off.
    "squat-everything": synth.SynthSpec(
        lift="squat",
        n_reps=5,
        seed=1010,
        occlusion=True,
        second_lifter=0.64,
        camera_drift_px=30.0,
        vfr=True,
        view_squeeze=0.87,
        noise_sigma=4.0,
        crf=28,
    ),
    # A blue-plated clean filmed by hand, with noise and irregular frame times (from a second sweep):
    # in the blurred pull flow moved the plate nearly 2 radii in a frame, down against the pull, and
    # seeding kept that; the plate found again at the catch started another tracklet, the pull's frames
    # were left `lost` and no rep was counted.
    "clean-hand-blur": synth.SynthSpec(
        lift="clean",
        n_reps=1,
        seed=1092,
        noise_sigma=4.0,
        camera_drift_px=30.0,
        vfr=True,
        plate_bgr=(150, 60, 40),
    ),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    name = request.param
    d = tmp_path_factory.mktemp(name)
    truth = synth.render_clip(CASES[name], d / f"{name}.mp4")
    out = pipeline.process(d / f"{name}.mp4", d / "out")
    doc = json.loads(out.path_json.read_text())
    return name, truth, doc


def test_path_json_honours_the_contract(run) -> None:
    _, truth, doc = run
    schema.validate(doc)
    assert doc["video"]["frame_count"] == len(truth.frames)
    assert doc["video"]["rotation_deg"] == truth.rotation_deg
    assert (doc["video"]["width"], doc["video"]["height"]) == (truth.width, truth.height)
    # True presentation times, not i / fps (matters for the variable-frame-rate case).
    t = np.array([f["t"] for f in doc["frames"]])
    assert np.max(np.abs(t - truth.t)) < 1e-3


def test_camera_motion_found_only_where_the_camera_moved(run) -> None:
    name, truth, doc = run
    moved = truth.spec["camera_drift_px"] > 0
    assert doc["summary"]["camera_motion"] == ("compensated" if moved else "still"), name
    assert doc["summary"]["camera_frames_unfitted"] == 0


def test_plate_aspect_is_measured_only_where_the_camera_turned(run) -> None:
    name, truth, doc = run
    aspect, squeeze = doc["calibration"]["plate_aspect"], truth.spec["view_squeeze"]
    if squeeze == 1.0:
        assert aspect == 1.0, name
    else:
        assert abs(aspect - squeeze) <= 0.02, f"{name}: plate aspect {aspect} for a squeeze of {squeeze}"


def test_centre_error_within_1_5_px(run) -> None:
    name, truth, doc = run
    errs = []
    for f, g in zip(doc["frames"], truth.frames, strict=True):
        if f["state"] != "lost" and g.visible > 0.6:
            errs.append(np.hypot(f["x"] - g.x, f["y"] - g.y))
    assert len(errs) >= 0.9 * len(truth.frames), f"{name}: too few frames measured"
    mean_err = float(np.mean(errs))
    assert mean_err <= MAX_MEAN_CENTRE_ERR_PX, f"{name}: mean centre error {mean_err:.2f} px"


def test_rep_count_exact_and_velocity_within_0_03(run) -> None:
    name, truth, doc = run
    assert doc["summary"]["rep_count"] == len(truth.reps), name
    for got, want in zip(doc["reps"], truth.reps, strict=True):
        err = abs(got["concentric"]["mean_velocity_mps"] - want.concentric.mean_velocity_mps)
        assert err <= MAX_MCV_ERR_MPS, f"{name} rep {want.index}: MCV error {err:.3f} m/s"
        assert abs(got["concentric"]["displacement_m"] - want.concentric.displacement_m) < 0.03
        assert abs(got["horizontal_deviation_m"] - want.horizontal_deviation_m) < 0.01
        # Every rendered set starts and ends at rest in view: no drive is flagged as partly unseen.
        assert got["concentric"]["seen_whole"] is True, f"{name} rep {want.index}"
    assert doc["summary"]["reps_seen_in_part"] == 0


def test_per_frame_velocity_and_phase_follow_the_truth(run) -> None:
    """path.json's frames carry the smoothed velocity and the rep phase, for charts: they must be the
    bar's, not the noise of differentiated positions, and label the frames the truth's reps span."""
    name, truth, doc = run
    vy_err, vx_err, agree = [], [], 0
    spans = [
        (phase, rep.index, getattr(rep, phase))
        for rep in truth.reps
        for phase in ("concentric", "eccentric")
        if getattr(rep, phase) is not None
    ]
    for f, g in zip(doc["frames"], truth.frames, strict=True):
        if f["state"] == "lost":
            assert f["vy_mps"] is None and f["vx_mps"] is None
        elif g.visible > 0.6:
            vy_err.append(f["vy_mps"] - g.vy_mps)
            vx_err.append(f["vx_mps"] - g.vx_mps)
        want = next(((p, k) for p, k, s in spans if s.start_t <= g.t <= s.end_t), (None, None))
        got = (f["phase"], f["rep"] if f["phase"] else None)
        agree += got == want
    vy_rms, vx_rms = float(np.sqrt(np.mean(np.square(vy_err)))), float(np.sqrt(np.mean(np.square(vx_err))))
    assert vy_rms <= 0.05, f"{name}: per-frame vertical velocity rms error {vy_rms:.3f} m/s"
    assert vx_rms <= 0.05, f"{name}: per-frame horizontal velocity rms error {vx_rms:.3f} m/s"
    # Phase edges may differ by a frame or two from the truth's.
    assert agree >= 0.97 * len(truth.frames), f"{name}: phase of {agree}/{len(truth.frames)} frames right"


def test_a_passer_by_hiding_the_plate_does_not_steal_the_track_or_move_the_camera(tmp_path) -> None:
    """Someone in a checked shirt walks between a tripod and the lifter and hides the plate through the
    rest after rep 1. Before: their shirt held most of the camera's corners, so the tripod was taken for
    a camera following them (1143 px); the flow followed the shirt off the hidden plate as `tracked`; and
    once the plate had been hidden a while re-detection took the rack's plate of the same size, whose
    rim fits kept the track there: no reps at all."""
    spec = synth.SynthSpec(lift="squat", n_reps=3, seed=3, passerby=True)
    truth = synth.render_clip(spec, tmp_path / "passer-by.mp4")
    assert sum(g.visible < 0.1 for g in truth.frames) >= 10  # the plate really is hidden a while
    doc = json.loads(pipeline.process(tmp_path / "passer-by.mp4", tmp_path / "out").path_json.read_text())
    assert doc["summary"]["camera_motion"] == "still"
    assert doc["summary"]["rep_count"] == len(truth.reps)
    radius = truth.plate_radius_px
    for f, g in zip(doc["frames"], truth.frames, strict=True):
        if f["state"] != "lost" and g.visible > 0.6:  # in view: on the working plate, never another
            assert np.hypot(f["x"] - g.x, f["y"] - g.y) < radius, f["i"]
        if g.visible < 0.1:  # hidden: a guess or nothing, not the shirt's corners carried as the plate
            assert f["state"] in ("predicted", "lost"), (f["i"], f["state"])
    # Rep 1 ends as the shirt slides over the plate: its rim, not the shirt's corners, ends it.
    for got, want in zip(doc["reps"], truth.reps, strict=True):
        err = abs(got["concentric"]["mean_velocity_mps"] - want.concentric.mean_velocity_mps)
        assert err <= MAX_MCV_ERR_MPS, f"rep {want.index}: MCV error {err:.3f} m/s"


def test_a_plate_hidden_by_a_passer_by_is_not_exchanged_for_another_lifter_s(tmp_path) -> None:
    """The passer-by as above, and another lifter farther back (0.85 the size) deadlifting. While the
    squat's plate was hidden, re-detection took the nearest plate of about its size, theirs, 450 px off
    (within 0.2 of its radius): the track stayed on the deadlift, no squat counted. A plate whose fits
    agreed on its size is now found again only within 0.1 of it."""
    spec = synth.SynthSpec(lift="squat", n_reps=3, seed=3, passerby=True, second_lifter=0.85)
    truth = synth.render_clip(spec, tmp_path / "two.mp4")
    doc = json.loads(pipeline.process(tmp_path / "two.mp4", tmp_path / "out").path_json.read_text())
    for f, g in zip(doc["frames"], truth.frames, strict=True):
        if f["state"] != "lost" and g.visible > 0.6:
            assert np.hypot(f["x"] - g.x, f["y"] - g.y) < truth.plate_radius_px, f["i"]
    assert doc["summary"]["rep_count"] == len(truth.reps)
    # Rep 1's drive ends behind the shirt: flagged as partly unseen, and its numbers are not asserted
    # (the clip alone reads them within 0.03; here x264 spends its bits otherwise around the shirt's edge
    # and the drive reads 0.96 m/s for 0.80). The two after it are seen whole.
    assert doc["reps"][0]["concentric"]["seen_whole"] is False
    for got, want in zip(doc["reps"][1:], truth.reps[1:], strict=True):
        assert got["concentric"]["seen_whole"] is True
        err = abs(got["concentric"]["mean_velocity_mps"] - want.concentric.mean_velocity_mps)
        assert err <= MAX_MCV_ERR_MPS, f"rep {want.index}: MCV error {err:.3f} m/s"


def test_a_first_clean_hidden_by_a_passer_by_is_not_invented_and_the_second_is_measured(tmp_path) -> None:
    """The first clean's pull happens behind a passer-by, while seeding is still choosing the working
    plate. Seeding's flow carried the plate's corners off with the shirt, sideways, and took the shirt
    for the moving plate: the track sat 350 px off and neither clean counted. Now a tracklet carried
    sideways onto something that does not look like it is not carried (a bar moves up and down)."""
    spec = synth.SynthSpec(lift="clean", n_reps=2, seed=8, passerby=True)
    truth = synth.render_clip(spec, tmp_path / "clean.mp4")
    doc = json.loads(pipeline.process(tmp_path / "clean.mp4", tmp_path / "out").path_json.read_text())
    assert doc["summary"]["camera_motion"] == "still"
    for f, g in zip(doc["frames"], truth.frames, strict=True):
        if f["state"] != "lost" and g.visible > 0.6:
            assert np.hypot(f["x"] - g.x, f["y"] - g.y) < truth.plate_radius_px, f["i"]
        if g.visible < 0.1:
            assert f["state"] in ("predicted", "lost"), (f["i"], f["state"])
    # The first clean went from the floor to the shoulders unseen: not counted. The second is measured.
    assert doc["summary"]["rep_count"] == 1
    got, want = doc["reps"][0], truth.reps[1]
    assert abs(got["concentric"]["start_t"] - want.concentric.start_t) < 0.2
    err = abs(got["concentric"]["mean_velocity_mps"] - want.concentric.mean_velocity_mps)
    assert err <= MAX_MCV_ERR_MPS, f"MCV error {err:.3f} m/s"


def test_a_camera_looking_down_squeezes_the_lift_up_and_down_and_it_is_stretched_back(tmp_path) -> None:
    """A phone high up looking down on the lifter foreshortens the plate and the bar's rise alike: the
    plate is wider than tall. Made here by squeezing a rendered clip's height to 0.8 with ffmpeg."""
    truth = synth.render_clip(synth.SynthSpec(lift="squat", n_reps=3, seed=21), tmp_path / "side.mp4")
    cmd = [exe(), "-v", "error", "-i", str(tmp_path / "side.mp4"), "-vf", "scale=1280:576"]
    subprocess.run([*cmd, "-c:v", "libx264", "-crf", "20", str(tmp_path / "down.mp4")], check=True)
    doc = json.loads(pipeline.process(tmp_path / "down.mp4", tmp_path / "out").path_json.read_text())
    assert abs(doc["calibration"]["plate_aspect"] - 1.25) <= 0.02
    sy = 576 / 720
    errs = [
        np.hypot(f["x"] - g.x, f["y"] - ((g.y + 0.5) * sy - 0.5))
        for f, g in zip(doc["frames"], truth.frames, strict=True)
        if f["state"] != "lost" and g.visible > 0.6
    ]
    assert float(np.mean(errs)) <= MAX_MEAN_CENTRE_ERR_PX
    assert doc["summary"]["rep_count"] == len(truth.reps)
    for got, want in zip(doc["reps"], truth.reps, strict=True):
        err = abs(got["concentric"]["mean_velocity_mps"] - want.concentric.mean_velocity_mps)
        assert err <= MAX_MCV_ERR_MPS, f"rep {want.index}: MCV error {err:.3f} m/s"


def test_a_picture_in_black_bars_is_measured_as_the_picture_alone(tmp_path) -> None:
    """A phone's narrow clip exported in a landscape frame with black bars either side (made here by
    padding a rendered 510x720 clean into 1280x720). Against the frame the 44 px plate was at the plate
    finder's floor: the first look found none, the far look would not take one the first could have
    seen, and the clip was refused (`no_plate_found`; padded with x264's veryfast preset instead, the
    track followed the lifter 20 px off the plate, 1.05 m/s for 1.20). The bars are now cropped off
    before tracking; positions are the frame's."""
    truth = synth.render_clip(synth.SynthSpec(lift="clean", n_reps=1, seed=4, width=510), tmp_path / "c.mp4")
    x0 = 384  # (1280 - 510) / 2, on an even column as ffmpeg pads 4:2:0
    cmd = [exe(), "-v", "error", "-i", str(tmp_path / "c.mp4"), "-vf", f"pad=1280:720:{x0}:0"]
    subprocess.run([*cmd, "-c:v", "libx264", "-crf", "18", str(tmp_path / "bars.mp4")], check=True)
    out = pipeline.process(tmp_path / "bars.mp4", tmp_path / "out")
    doc = json.loads(out.path_json.read_text())
    assert (doc["video"]["width"], doc["video"]["height"]) == (1280, 720)
    assert out.overlay is not None and (video.probe(out.overlay).width, video.probe(out.overlay).height) == (
        1280,
        720,
    )
    errs = [
        np.hypot(f["x"] - (g.x + x0), f["y"] - g.y)
        for f, g in zip(doc["frames"], truth.frames, strict=True)
        if f["state"] != "lost" and g.visible > 0.6
    ]
    assert float(np.mean(errs)) <= MAX_MEAN_CENTRE_ERR_PX
    alone = pipeline.process(tmp_path / "c.mp4", tmp_path / "alone", pipeline.Options(render_video=False))
    assert doc["summary"]["rep_count"] == len(alone.result.reps) == 1
    got = doc["reps"][0]["concentric"]["mean_velocity_mps"]
    assert got == pytest.approx(alone.result.reps[0].concentric.mean_velocity_mps, abs=0.01)
    assert doc["calibration"]["plate_radius_px"] == pytest.approx(
        alone.result.calibration.plate_radius_px, rel=0.01
    )


def test_a_set_whose_video_stops_mid_pull_counts_and_compares_only_whole_reps(tmp_path) -> None:
    """The phone stops recording halfway up the third pull (trimmed by ffmpeg here). Measured as filmed,
    that half pull read 0.81 m/s for a 0.70 pull, and as the last rep it set the velocity loss: 9 % for
    the 11 % the two whole reps show. It is now counted as cut off, not as a rep."""
    spec = synth.SynthSpec(lift="deadlift", n_reps=3, seed=3, velocities_mps=(0.9, 0.8, 0.7))
    truth = synth.render_clip(spec, tmp_path / "set.mp4")
    last = truth.reps[-1].concentric
    stop = 0.5 * (last.start_t + last.end_t)
    clip = tmp_path / "stopped.mp4"
    trim = [exe(), "-v", "error", "-i", str(tmp_path / "set.mp4"), "-t", f"{stop:.3f}"]
    subprocess.run([*trim, "-c:v", "libx264", "-crf", "18", str(clip)], check=True)
    doc = json.loads(pipeline.process(clip, tmp_path / "out", pipeline.Options(render_video=False))
                     .path_json.read_text())  # fmt: skip
    assert doc["summary"]["rep_count"] == 2 and doc["summary"]["reps_cut_off"] == 1
    whole = truth.reps[:2]
    for got, want in zip(doc["reps"], whole, strict=True):
        err = abs(got["concentric"]["mean_velocity_mps"] - want.concentric.mean_velocity_mps)
        assert err <= MAX_MCV_ERR_MPS, f"rep {want.index}: MCV error {err:.3f} m/s"
    mcv = [r.concentric.mean_velocity_mps for r in whole]
    true_loss = (max(mcv) - mcv[-1]) / max(mcv) * 100
    assert abs(doc["summary"]["velocity_loss_pct"] - true_loss) <= 3.0
    # The half pull's frames belong to no rep.
    assert all(f.get("rep") is None for f in doc["frames"] if f["t"] >= last.start_t)


def test_a_clip_with_no_plate_is_not_given_one_by_a_turned_camera_guess(tmp_path) -> None:
    """A fractal zoom has no plate, as filmed or stretched. The 37-degree guess once took something in
    it whose rim it could not measure and reported a track: a guess must find and measure a plate."""
    src = ["-f", "lavfi", "-i", "mandelbrot=s=1920x1080:r=30", "-ss", "7", "-t", "8"]
    clip = tmp_path / "fractal.mp4"
    subprocess.run(
        [exe(), "-v", "error", *src, "-c:v", "libx264", "-preset", "veryfast", str(clip)], check=True
    )
    with pytest.raises(NoPlateFoundError):
        pipeline.process(clip, tmp_path / "out", pipeline.Options(render_video=False))
    assert not (tmp_path / "out" / "path.json").exists()


SEEN_TOO_LITTLE = {
    # A 26 px plate, under even the far look's floor (27 px at 720). The first look followed a 57 px
    # thing by flow, its rim fitted on 5 % of the frames, and counted 0 of 3 reps; a squat like it read
    # every rep 0.3-0.4 m/s slow.
    "bench-too-far": synth.SynthSpec(lift="bench", n_reps=3, px_per_m=116.0, seed=7, rack=False),
    # Turned 45 degrees at 480x270: the squeezed plate is too few pixels to be found round or stretched,
    # and something else carried by flow (rim fitted on 17 % of the frames) counted no rep.
    "squat-turned-45-480": replace(CASES["squat-turned-45"], width=480, height=270),
}


@pytest.mark.parametrize("name", sorted(SEEN_TOO_LITTLE))
def test_a_plate_not_seen_clearly_is_refused_not_misread(name, tmp_path) -> None:
    clip = tmp_path / f"{name}.mp4"
    synth.render_clip(SEEN_TOO_LITTLE[name], clip)
    with pytest.raises(NoPlateFoundError, match="seen clearly"):
        pipeline.process(clip, tmp_path / "out", pipeline.Options(render_video=False))
    assert not (tmp_path / "out" / "path.json").exists()


def test_a_slow_motion_clip_is_measured_as_lifted_and_timed_as_it_plays(tmp_path) -> None:
    """An Android phone films slow motion at 120 fps and writes the frames 1/30 s apart, tagging the
    camera's rate (`com.android.capture.fps`). Read on the file's clock the clean read 4x slow (0.30 m/s
    for 1.20); now the lift is measured on the camera's clock, and times stay the video's."""
    spec = synth.SynthSpec(lift="clean", n_reps=1, seed=4, fps=120.0)
    truth = synth.render_clip(spec, tmp_path / "filmed.mp4")
    tagged = slow_motion_copy(tmp_path / "filmed.mp4", tmp_path / "tagged.mp4", 4.0, capture_fps=120.0)
    out = pipeline.process(tagged, tmp_path / "out")
    doc = json.loads(out.path_json.read_text())
    schema.validate(doc)
    assert doc["video"]["slow_motion"] == 4.0 and doc["video"]["capture_fps"] == 120.0
    assert doc["video"]["fps"] == pytest.approx(30.0, rel=0.01)
    # Times are the video's: the overlay, the web app's player and path.json agree on them.
    t = np.array([f["t"] for f in doc["frames"]])
    assert np.max(np.abs(t - 4.0 * np.asarray(truth.t))) < 1e-3
    overlay = video.probe(out.overlay)
    assert overlay.duration_s == pytest.approx(video.probe(tagged).duration_s, abs=0.1)
    assert doc["summary"]["rep_count"] == 1
    got, want = doc["reps"][0]["concentric"], truth.reps[0].concentric
    assert abs(got["mean_velocity_mps"] - want.mean_velocity_mps) <= MAX_MCV_ERR_MPS
    assert abs(got["duration_s"] - want.duration_s) < 0.02  # the lift's seconds
    assert abs(got["start_t"] - 4.0 * want.start_t) < 4.0 * 0.02  # the video's
    vy = [f["vy_mps"] - g.vy_mps for f, g in zip(doc["frames"], truth.frames, strict=True) if g.visible > 0.6]
    assert float(np.sqrt(np.mean(np.square(vy)))) <= 0.05
    # Slowed with nothing saying so (an iPhone's export): told by hand, the same numbers.
    plain = slow_motion_copy(tmp_path / "filmed.mp4", tmp_path / "plain.mp4", 4.0)
    by_hand = pipeline.process(
        plain, tmp_path / "by-hand", pipeline.Options(render_video=False, slow_motion=4.0)
    )
    again = json.loads(by_hand.path_json.read_text())
    assert again["video"]["slow_motion"] == 4.0 and again["video"]["capture_fps"] == pytest.approx(
        120.0, rel=0.01
    )
    assert again["reps"][0]["concentric"]["mean_velocity_mps"] == pytest.approx(
        got["mean_velocity_mps"], abs=1e-3
    )
