"""The cloud flow over a moto server (HTTP), with the real handler, the real pipeline and rendered clips."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from barpath import schema
from barpath.aws.keys import result_keys
from barpath.local import HANDLER_FILE, NOTIFIER_FILE, REPO, LambdaContext, LocalCloud, load_function
from media import make_clip

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def handler() -> Any:
    return load_function(HANDLER_FILE, "it_process_video").handler


@pytest.fixture(scope="module")
def notifier() -> Any:
    return load_function(NOTIFIER_FILE, "it_notify_failure").handler


def _results(cloud: LocalCloud, key: str) -> dict[str, Any]:
    assert cloud.stack is not None
    s3 = cloud.client("s3")
    keys = result_keys(key)
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=cloud.stack.results_bucket).get("Contents", [])}
    doc = None
    if keys["path_json"] in listed:
        body = s3.get_object(Bucket=cloud.stack.results_bucket, Key=keys["path_json"])["Body"]
        doc = json.loads(body.read())
    return {"listed": listed, "keys": keys, "path_json": doc}


def _check_succeeded(cloud: LocalCloud, msg: dict[str, Any], key: str, route: str) -> None:
    assert cloud.stack is not None
    res = _results(cloud, key)
    assert set(res["keys"].values()) <= res["listed"]
    assert msg["schema"] == "barpath/notification@1"
    assert msg["status"] == "succeeded" and msg["_attributes"]["status"] == "succeeded"
    assert msg["route"] == route
    assert msg["input"]["key"] == key and msg["input"]["bucket"] == cloud.stack.uploads_bucket
    assert msg["error"] is None
    assert msg["outputs"] == {f: f"s3://{cloud.stack.results_bucket}/{k}" for f, k in res["keys"].items()}
    doc = res["path_json"]
    schema.validate(doc)
    for name, value in doc["summary"].items():
        assert msg["summary"][name] == value, name
    assert msg["summary"]["rep_count"] == len(doc["reps"]) == 2
    assert msg["summary"]["frame_count"] == doc["video"]["frame_count"]


@pytest.mark.slow
def test_upload_to_results_and_one_notification(cloud: LocalCloud, handler: Any, lift_clip: Path) -> None:
    key = "uploads/athlete 1/squat ü+1.mp4"  # space, unicode and '+': all arrive URL-encoded
    event = cloud.upload(lift_clip, key)
    assert "%2B" in event["Records"][0]["s3"]["object"]["key"]
    ctx = LambdaContext()
    out = handler(event, ctx)
    msgs = cloud.notifications()
    assert len(msgs) == 1
    _check_succeeded(cloud, msgs[0], key, "lambda")
    assert msgs[0]["request_id"] == ctx.aws_request_id
    assert msgs[0]["input"]["version_id"] == event["Records"][0]["s3"]["object"]["versionId"]
    assert out["results"][0]["processing_s"] > 0
    assert not list(Path("/tmp").glob("barpath-*/input.mp4"))  # the work folder is gone

    # The same event again (S3 redelivery, async retry): processed once, notified once.
    again = handler(copy.deepcopy(event), LambdaContext())
    assert again["results"][0]["duplicate"] is True
    assert again["results"][0]["notification"] == {k: v for k, v in msgs[0].items() if k != "_attributes"}
    assert cloud.notifications(wait_s=0.5) == []


@pytest.mark.slow
def test_event_with_two_records_processes_both(cloud: LocalCloud, handler: Any, lift_clip: Path) -> None:
    keys = ["uploads/a.mp4", "uploads/b/c.mp4"]
    events = [cloud.upload(lift_clip, k) for k in keys]
    event = {"Records": [e["Records"][0] for e in events]}
    out = handler(event, LambdaContext())
    assert len(out["results"]) == 2
    msgs = sorted(cloud.notifications(), key=lambda m: m["input"]["key"])
    assert [m["input"]["key"] for m in msgs] == keys
    for msg, key in zip(msgs, keys, strict=True):
        _check_succeeded(cloud, msg, key, "lambda")


@pytest.mark.slow
def test_long_video_goes_to_batch_and_the_job_finishes_it(
    cloud: LocalCloud, handler: Any, lift_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INLINE_MAX_SECONDS", "1")  # the clip lasts several seconds: "long"
    key = "uploads/long/set 2.mp4"
    event = cloud.upload(lift_clip, key)
    handler(event, LambdaContext())
    queued = cloud.notifications()
    assert [m["status"] for m in queued] == ["queued"]
    msg = queued[0]
    assert msg["route"] == "batch" and msg["_attributes"]["route"] == "batch"
    assert _results(cloud, key)["listed"] == set()  # nothing written by the Lambda
    batch = cloud.client("batch")
    assert cloud.stack is not None
    jobs = batch.list_jobs(jobQueue=cloud.stack.job_queue, filters=[{"name": "JOB_NAME", "values": ["*"]}])
    summaries = jobs["jobSummaryList"]
    assert [j["jobId"] for j in summaries] == [msg["job_id"]]
    job = batch.describe_jobs(jobs=[msg["job_id"]])["jobs"][0]
    assert job["parameters"] == {"bucket": cloud.stack.uploads_bucket, "key": key}
    assert job["jobName"] == "barpath-long-set-2-mp4"
    # The job's container, played by a fresh process with the job definition's command.
    done = cloud.run_batch_job(msg["job_id"], cloud.stack.env())
    assert done.returncode == 0, done.stderr[-3000:]
    final = cloud.notifications()
    assert len(final) == 1
    _check_succeeded(cloud, final[0], key, "batch")
    assert final[0]["job_id"] == msg["job_id"]


def test_a_high_frame_rate_clip_is_costed_by_its_frames(
    cloud: LocalCloud, handler: Any, tmp_path: Path
) -> None:
    """2 s filmed at 240 fps is 16 s of work at 30 fps: ~124 s by the default costs, more than the 100 s
    this invocation has left (2 s at 30 fps, ~68 s, would fit): the job goes to Batch, not a timeout."""
    clip = make_clip(tmp_path / "slow-mo.mp4", size=(160, 120), fps=240, seconds=2)
    handler(cloud.upload(clip, "uploads/slow-mo.mp4"), LambdaContext(timeout_s=100.0))
    msgs = cloud.notifications()
    assert [(m["status"], m["route"]) for m in msgs] == [("queued", "batch")]


def test_large_upload_goes_to_batch_without_download(
    cloud: LocalCloud, handler: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("INLINE_MAX_BYTES", "1000")
    big = tmp_path / "big.mp4"
    big.write_bytes(os.urandom(5000))  # routed on size alone: its content is never looked at here
    handler(cloud.upload(big, "uploads/big.mp4"), LambdaContext())
    msgs = cloud.notifications()
    assert [(m["status"], m["route"]) for m in msgs] == [("queued", "batch")]


def test_non_video_fails_with_a_code_and_does_not_raise(cloud: LocalCloud, handler: Any) -> None:
    pdf = REPO / "pyproject.toml"
    out = handler(cloud.upload(pdf, "uploads/notes/program.pdf"), LambdaContext())
    msgs = cloud.notifications()
    assert len(msgs) == 1 and msgs[0]["status"] == "failed"
    assert msgs[0]["error"]["code"] == "not_a_video"
    # The message names the user's file, not the handler's private copy of it.
    assert "program.pdf" in msgs[0]["error"]["message"] and "input." not in msgs[0]["error"]["message"]
    assert msgs[0]["outputs"] == {} and out["results"][0]["notification"]["status"] == "failed"
    assert _results(cloud, "uploads/notes/program.pdf")["listed"] == set()


def test_a_bad_model_fails_the_upload_with_a_code_and_keeps_it(
    cloud: LocalCloud, handler: Any, lift_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`auto` loads its model only when the plate finder first finds nothing, which this clip never
    needs; a model that cannot work must still fail every upload, at start, not pass unnoticed."""
    assert cloud.stack is not None
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="barpath-models")
    manifest = {"classes": ["plate"], "plate_class": "person"}  # as a model trained for other classes
    s3.put_object(Bucket="barpath-models", Key="wrong/barpath-model.json", Body=json.dumps(manifest))
    s3.put_object(Bucket="barpath-models", Key="wrong/config.yaml", Body=b"MODEL: {}\n")
    # ... and one whose weights were cut short on their way up: its zip records end early.
    manifest = {"classes": ["plate"], "plate_class": "plate"}
    s3.put_object(Bucket="barpath-models", Key="cut/barpath-model.json", Body=json.dumps(manifest))
    s3.put_object(Bucket="barpath-models", Key="cut/config.yaml", Body=b"MODEL: {}\n")
    s3.put_object(Bucket="barpath-models", Key="cut/model_final.pth", Body=b"PK\x03\x04" + bytes(4096))
    cases = [("s3://barpath-models/missing/model.tar.gz", "cannot fetch model"),
             ("s3://barpath-models/wrong/", "plate/bar-end class"),
             ("s3://barpath-models/cut/", "model_final.pth is not a PyTorch checkpoint")]
    for n, (uri, why) in enumerate(cases):
        monkeypatch.setenv("MODEL_URI", uri)
        key = f"uploads/model-{n}.mp4"
        handler(cloud.upload(lift_clip, key), LambdaContext())
        msgs = cloud.notifications()
        assert [(m["status"], m["error"]["code"]) for m in msgs] == [("failed", "model_load_failed")], uri
        assert why in msgs[0]["error"]["message"]
        assert _results(cloud, key)["listed"] == set()
        # Nothing lost: the upload stays where it was, to be processed again once the model is fixed.
        s3.head_object(Bucket=cloud.stack.uploads_bucket, Key=key)


def test_object_deleted_before_processing(cloud: LocalCloud, handler: Any, lift_clip: Path) -> None:
    assert cloud.stack is not None
    event = cloud.upload(lift_clip, "uploads/gone.mp4")
    obj = event["Records"][0]["s3"]["object"]
    cloud.client("s3").delete_object(Bucket=cloud.stack.uploads_bucket, Key="uploads/gone.mp4",
                                     VersionId=obj["versionId"])
    handler(event, LambdaContext())
    msgs = cloud.notifications()
    assert [(m["status"], m["error"]["code"]) for m in msgs] == [("failed", "input_not_found")]


def test_key_outside_uploads_fails_cleanly(cloud: LocalCloud, handler: Any, lift_clip: Path) -> None:
    event = cloud.upload(lift_clip, "elsewhere/x.mp4")
    handler(event, LambdaContext())
    msgs = cloud.notifications()
    assert [(m["status"], m["error"]["code"]) for m in msgs] == [("failed", "invalid_request")]


def test_folder_marker_is_ignored(cloud: LocalCloud, handler: Any, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    out = handler(cloud.upload(empty, "uploads/new folder/"), LambdaContext())
    assert out["results"][0]["ignored"] is True
    assert cloud.notifications(wait_s=0.5) == []


def _sample(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO / "events" / name).read_text()))


def test_notifier_turns_failure_events_into_failed_notifications(cloud: LocalCloud, notifier: Any) -> None:
    batch_event = _sample("batch-job-failed.json")
    record = _sample("lambda-on-failure.json")
    sqs_event = {"Records": [{"messageId": "1", "body": json.dumps(record), "eventSource": "aws:sqs"}]}
    notifier(batch_event, LambdaContext(function_name="NotifyFailureFunction"))
    notifier(sqs_event, LambdaContext(function_name="NotifyFailureFunction"))
    msgs = sorted(cloud.notifications(), key=lambda m: m["route"])
    assert [(m["status"], m["route"], m["error"]["code"]) for m in msgs] == [
        ("failed", "batch", "batch_job_failed"), ("failed", "lambda", "timeout")]
    assert msgs[0]["input"]["key"] == batch_event["detail"]["parameters"]["key"]
    assert msgs[0]["input"]["version_id"] == "pLs9gqAVX1nXqS1cRl3MuF0eAYPSN7Yt"
    assert msgs[1]["input"]["key"] == "uploads/sample-lift.mp4"
    # Redelivery (SQS at-least-once, EventBridge retry) publishes nothing new.
    notifier(sqs_event, LambdaContext(function_name="NotifyFailureFunction"))
    notifier(batch_event, LambdaContext(function_name="NotifyFailureFunction"))
    assert cloud.notifications(wait_s=0.5) == []
