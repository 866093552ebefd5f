"""The corpus is what it claims to be: checked with ffmpeg itself, not with barpath.video.

If a generator silently produced something tamer (H.264 instead of HEVC, 8-bit instead of 10-bit, a
small header instead of a huge one), every reliability test built on it would prove nothing."""

from __future__ import annotations

import numpy as np
import pytest

from .corpus import (
    CASES,
    IGNORED,
    SUCCEEDED,
    Case,
    Corpus,
    declared_mp4_dims,
    decoded_frame_count,
    first_frame_gray,
    frame_pts,
    stream_info,
)

pytestmark = pytest.mark.integration


def test_corpus_is_big_and_names_are_unique() -> None:
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)
    assert len({c.key for c in CASES if c.exists}) >= 30


def test_every_expected_outcome_is_a_known_code() -> None:
    from barpath import errors

    codes = {cls.code for cls in vars(errors).values() if isinstance(cls, type) and hasattr(cls, "code")}
    assert {"not_a_video", "unreadable_video", "video_too_large", "input_not_found"} <= codes
    # The corpus may not invent codes the core does not have.
    for case in CASES:
        for outcome in case.expect:
            assert outcome in codes | {SUCCEEDED, IGNORED}, (case.name, outcome)


def test_keys_cover_the_awkward_shapes() -> None:
    keys = [c.key for c in CASES]
    assert any(" " in k for k in keys)
    assert any("+" in k for k in keys)
    assert any("%" in k for k in keys)
    assert any("/../" in k for k in keys)
    assert any(any(ord(ch) > 0xFFFF for ch in k) for k in keys)  # beyond the BMP (emoji)
    assert any(len(k.encode()) > 1000 for k in keys)
    assert max(len(k.encode()) for k in keys) <= 1024  # S3's own limit: the upload itself must be possible
    assert any(not k.startswith("uploads/") for k in keys)
    assert any(not c.exists for c in CASES)


FAST = [c for c in CASES if c.name not in {"decompression_bomb_16k"}]


@pytest.mark.parametrize("case", FAST, ids=lambda c: c.name)
def test_case_file_matches_its_claims(case: Case, corpus: Corpus) -> None:
    _check_claims(case, corpus)


@pytest.mark.slow
def test_decompression_bomb_is_a_bomb(corpus: Corpus) -> None:
    from .corpus import BY_NAME

    case = BY_NAME["decompression_bomb_16k"]
    _check_claims(case, corpus)
    path = corpus.path(case)
    info = stream_info(path)
    assert info.width and info.height
    decoded_bytes = info.width * info.height * 3  # one BGR frame
    assert decoded_bytes / path.stat().st_size > 1000


def _check_claims(case: Case, corpus: Corpus) -> None:
    path = corpus.path(case)
    data = path.read_bytes()
    claims = dict(case.claims)
    info = stream_info(path)
    if "size" in claims:
        assert len(data) == claims.pop("size")
    if "max_size" in claims:
        assert len(data) <= claims.pop("max_size")  # type: ignore[operator]
    if "declared" in claims:
        dims = claims.pop("declared")
        assert declared_mp4_dims(data) == {"tkhd": dims, "stsd": dims, "sof0": dims}
        assert f"Picture size {dims[0]}x{dims[1]} is invalid" in info.raw  # ffmpeg reads the same header
    if "magic" in claims:
        assert data.startswith(claims.pop("magic"))  # type: ignore[arg-type]
    if "container" in claims:
        assert info.container == claims.pop("container"), info.raw
    elif case.expect == ("not_a_video",) and "video_codec" not in claims:
        assert info.video_codec is None, info.raw
    if "video_codec" in claims:
        assert info.video_codec == claims.pop("video_codec"), info.raw
    for key in ("pix_fmt", "width", "height", "has_audio"):
        if key in claims:
            assert getattr(info, key) == claims.pop(key), (key, info.raw)
    if "fps" in claims:
        assert info.fps == pytest.approx(claims.pop("fps"), rel=0.01), info.raw
    if "min_duration_s" in claims:
        assert info.duration_s is not None and info.duration_s >= claims.pop("min_duration_s"), info.raw
    if "rotation_abs" in claims:
        assert info.rotation is not None and abs(info.rotation) == claims.pop("rotation_abs"), info.raw
    if claims.pop("upright_is_master", False):
        # What a player shows is the original picture, not a mirrored or upside-down one.
        shown = first_frame_gray(path).astype(int)
        master = first_frame_gray(corpus.plate_master).astype(int)
        assert shown.shape == master.shape
        assert np.abs(shown - master).mean() < 3
    if "decoded_frames" in claims:
        assert decoded_frame_count(path) == claims.pop("decoded_frames")
    if "moov" in claims:
        assert (b"moov" in data) == claims.pop("moov")
    if claims.pop("truncated", False):
        assert "moov" in info.raw or info.video_codec == "h264"
        # The index promises more media than the file holds.
        assert decoded_frame_count(path) < decoded_frame_count(corpus.plate_master)
    if claims.pop("pts_backwards", False):
        pts = frame_pts(path)
        assert len(pts) > 30
        assert any(b < a for a, b in zip(pts, pts[1:], strict=False)), pts[:40]
    assert not claims, f"claims not checked: {claims}"
    if case.expect_success:
        assert info.video_codec is not None and info.width and info.height, info.raw
