"""The AWS adapters' pure parts: keys, routing, failure events; and the notifier's import weight."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from barpath.aws import failures, routing
from barpath.aws.keys import UploadRef, job_name, result_keys
from barpath.aws.settings import Settings
from barpath.errors import InvalidRequestError, VideoTooLargeError

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]
SETTINGS = Settings(results_bucket="r", topic_arn="t", idempotency_table="i", inline_max_bytes=1000,
                    inline_max_seconds=60, inline_seconds_per_video_second=2.0, inline_safety_seconds=30,
                    max_video_bytes=10_000)


def test_s3_keys_are_url_decoded() -> None:
    event = json.loads((REPO / "events/s3-put-encoded-key.json").read_text())
    obj = event["Records"][0]["s3"]["object"]
    ref = UploadRef.from_s3_record("b", obj["key"], obj["versionId"], '"abc"', obj["size"])
    assert ref.key == "uploads/my lifts/Sätze 3×5 + PR.MOV"
    assert ref.etag == "abc"
    assert ref.identity() == {"bucket": "b", "key": ref.key, "version": obj["versionId"]}


def test_result_keys_follow_the_contract() -> None:
    keys = result_keys("uploads/a b/c.mp4")
    assert keys == {"path_json": "results/a b/c.mp4/path.json", "overlay": "results/a b/c.mp4/overlay.mp4",
                    "plot": "results/a b/c.mp4/velocity.png"}
    with pytest.raises(InvalidRequestError):
        result_keys("elsewhere/c.mp4")
    with pytest.raises(InvalidRequestError):
        result_keys("uploads/")


def test_job_names_are_batch_safe() -> None:
    name = job_name("uploads/my lifts/Sätze 3×5 + PR.MOV")
    assert name == "barpath-my-lifts-S-tze-3-5-PR-MOV"
    assert len(job_name("uploads/" + "x" * 500)) == 128


def test_routing_size_then_duration_then_clock() -> None:
    assert routing.by_size(999, SETTINGS) is None
    decision = routing.by_size(1001, SETTINGS)
    assert decision is not None and decision.route == "batch"
    with pytest.raises(VideoTooLargeError):
        routing.by_size(10_001, SETTINGS)
    assert routing.by_duration(61, None, SETTINGS).route == "batch"
    assert routing.by_duration(10, None, SETTINGS).route == "lambda"
    # 10 s of video needs ~2*10+30 = 50 s: fine with 51 s left, not with 49 s.
    assert routing.by_duration(10, 51, SETTINGS).route == "lambda"
    assert routing.by_duration(10, 49, SETTINGS).route == "batch"
    # The cost is per frame: 10 s at 240 fps (a slow-motion original) is 80 s at 30 fps, ~190 s.
    assert routing.by_duration(10, 189, SETTINGS, fps=240.0).route == "batch"
    assert routing.by_duration(10, 191, SETTINGS, fps=240.0).route == "lambda"
    assert routing.by_duration(10, 51, SETTINGS, fps=24.0).route == "lambda"  # no cheaper than 30 fps


def test_settings_refuse_a_missing_deployment_variable() -> None:
    with pytest.raises(RuntimeError, match="RESULTS_BUCKET"):
        Settings.from_env({"TOPIC_ARN": "t", "IDEMPOTENCY_TABLE": "i"})
    s = Settings.from_env({"RESULTS_BUCKET": "r", "TOPIC_ARN": "t", "IDEMPOTENCY_TABLE": "i",
                           "INLINE_MAX_SECONDS": "30"})
    assert s.inline_max_seconds == 30.0 and not s.batch_configured


def test_unprocessed_records_round_trip_through_the_destination_record() -> None:
    refs = [UploadRef("b", "uploads/ok.mp4", "v1", "e1")]
    err = failures.UnprocessedRecordsError(refs, "boom")
    record = json.loads((REPO / "events/lambda-on-failure.json").read_text())
    record["responsePayload"] = {"errorType": "UnprocessedRecordsError", "errorMessage": str(err)}
    got = failures.from_event(record)
    assert [(f.ref.key, f.ref.version_id, f.code) for f in got] == [
        ("uploads/ok.mp4", "v1", "internal_error")]


def test_sample_failure_events_parse() -> None:
    batch = failures.from_event(json.loads((REPO / "events/batch-job-failed.json").read_text()))
    assert [(f.route, f.code, f.ref.key) for f in batch] == [
        ("batch", "batch_job_failed", "uploads/long/full-session.mp4")]
    timeout = failures.from_event(json.loads((REPO / "events/lambda-on-failure.json").read_text()))
    assert [(f.route, f.code, f.ref.key) for f in timeout] == [
        ("lambda", "timeout", "uploads/sample-lift.mp4")]
    with pytest.raises(ValueError):
        failures.from_event({"hello": 1})


def test_notifier_and_adapters_import_without_opencv_or_numpy() -> None:
    code = ("import sys; sys.path.insert(0, 'functions/notify_failure'); import app; "
            "import barpath.aws.batch, barpath.aws.service; "
            "bad = [m for m in ('cv2', 'numpy', 'torch') if m in sys.modules]; "
            "assert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
