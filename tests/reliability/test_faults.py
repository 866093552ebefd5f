"""Item 4: faults at the AWS boundary. Each ends in a retry that succeeds or in a `failed` outcome the
app receives (through the on-failure queue and the notifier when the handler cannot publish); no upload
is silently dropped. Faults are injected through the moto server (a resource removed) or a botocore
client whose calls fail, never by replacing our own functions."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from barpath import ffmpeg
from barpath.aws.keys import result_keys

from .corpus import BY_NAME, Corpus
from .harness import Flow, InjectedFault

pytestmark = pytest.mark.integration


def _bad(flow: Flow, corpus: Corpus, key: str) -> dict[str, object]:
    # Input that fails fast: the outcome is decided in a second, so the test is about the fault.
    return flow.upload(corpus.path(BY_NAME["text_named_mp4"]), key)


def test_transient_s3_read_error_is_retried_and_the_retry_decides(corpus: Corpus, flow: Flow,
                                                                    scratch: Path) -> None:
    event = _bad(flow, corpus, "uploads/s3-blip.mp4")
    fault = InjectedFault("s3", "GetObject", times=1)
    d = flow.deliver(event)
    fault.stop()
    assert fault.fired == 1 and d.attempts == 2 and not d.sent_to_on_failure
    assert [(m["status"], m["error"]["code"]) for m in flow.notifications()] == [("failed", "not_a_video")]
    assert list(scratch.iterdir()) == []  # the failed attempt's temp folder is gone too


def test_s3_read_outage_ends_in_failed_through_the_on_failure_queue(corpus: Corpus, flow: Flow,
                                                                     scratch: Path) -> None:
    event = _bad(flow, corpus, "uploads/s3-down.mp4")
    fault = InjectedFault("s3", "GetObject")
    d = flow.deliver(event)
    fault.stop()
    assert d.attempts == 1 + flow.retries and d.sent_to_on_failure
    assert flow.notifications() == []  # nothing yet: the handler could not finish
    assert flow.drain_failures() == (1, 0)
    (msg,) = flow.notifications()
    assert msg["status"] == "failed" and msg["error"]["code"] == "internal_error"
    assert msg["input"]["key"] == "uploads/s3-down.mp4"
    flow.drain_failures()
    assert flow.notifications() == []  # a redelivered failure record is not announced twice
    assert list(scratch.iterdir()) == []


def test_sns_down_reaches_the_app_once_sns_is_back(corpus: Corpus, flow: Flow) -> None:
    event = _bad(flow, corpus, "uploads/sns-down.mp4")
    sns, sqs = flow.cloud.client("sns"), flow.cloud.client("sqs")
    sns.delete_topic(TopicArn=flow.stack.topic_arn)  # the outage, on the moto server
    d = flow.deliver(event)
    assert d.sent_to_on_failure
    # The notifier cannot publish either: the record must stay queued, not be dropped.
    assert flow.drain_failures() == (0, 1)
    arn = sns.create_topic(Name=flow.stack.topic_arn.rsplit(":", 1)[1])["TopicArn"]
    assert arn == flow.stack.topic_arn
    tap_arn = sqs.get_queue_attributes(QueueUrl=flow.stack.tap_queue_url,
                                       AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=tap_arn)
    assert flow.drain_failures() == (1, 0)
    msgs = flow.notifications()
    assert [(m["status"], m["input"]["key"]) for m in msgs] == [("failed", "uploads/sns-down.mp4")]


def test_sns_publish_blip_is_retried_and_announced_once(corpus: Corpus, flow: Flow) -> None:
    event = _bad(flow, corpus, "uploads/sns-blip.mp4")
    fault = InjectedFault("sns", "Publish", times=1)
    d = flow.deliver(event)
    fault.stop()
    assert d.attempts == 2 and not d.sent_to_on_failure
    assert [m["status"] for m in flow.notifications()] == ["failed"]


def test_dynamodb_unavailable_ends_in_failed_once_it_returns(corpus: Corpus, flow: Flow) -> None:
    event = _bad(flow, corpus, "uploads/ddb-down.mp4")
    ddb = flow.cloud.client("dynamodb")
    # Powertools builds its own DynamoDB client, so the outage is made on the server: the table is gone.
    ddb.delete_table(TableName=flow.stack.table)
    d = flow.deliver(event)
    assert d.sent_to_on_failure
    assert flow.notifications() == []
    # The notifier records what it published in the same table: it waits in the queue meanwhile.
    assert flow.drain_failures() == (0, 1)
    ddb.create_table(TableName=flow.stack.table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    assert flow.drain_failures() == (1, 0)
    assert [m["status"] for m in flow.notifications()] == ["failed"]


def test_batch_submit_refused_ends_in_failed(corpus: Corpus, cloud: object, scratch: Path) -> None:
    # Every upload goes to Batch by size here; the queue refuses the job.
    flow = Flow(cloud, INLINE_MAX_BYTES="1")  # type: ignore[arg-type]
    event = _bad(flow, corpus, "uploads/batch-refused.mp4")
    fault = InjectedFault("batch", "SubmitJob")
    d = flow.deliver(event)
    fault.stop()
    assert d.sent_to_on_failure
    assert flow.drain_failures() == (1, 0)
    msgs = flow.notifications()
    assert [m["status"] for m in msgs] == ["failed"]  # never a `queued` for a job that does not exist


@pytest.mark.slow
def test_results_write_failure_leaves_no_result_and_the_retry_completes(corpus: Corpus, flow: Flow) -> None:
    event = flow.upload(corpus.path(BY_NAME["plain_h264"]), "uploads/s3-write-blip.mp4")
    fault = InjectedFault("s3", "PutObject", times=1)
    d = flow.deliver(event)
    fault.stop()
    assert d.attempts == 2 and not d.sent_to_on_failure
    assert [m["status"] for m in flow.notifications()] == ["succeeded"]
    assert sorted(flow.results()) == sorted(result_keys("uploads/s3-write-blip.mp4").values())


_JOB = [sys.executable, "-m", "barpath.aws.batch", "--bucket", "{bucket}", "--key", "{key}"]


@pytest.mark.slow
def test_batch_job_killed_midway_is_retried_and_results_appear_all_at_once(corpus: Corpus, flow: Flow,
                                                                           tmp_path: Path) -> None:
    key = "uploads/spot.mp4"
    flow.upload(corpus.path(BY_NAME["plain_h264"]), key)
    expected = set(result_keys(key).values())
    path_json = result_keys(key)["path_json"]
    seen_partial: list[set[str]] = []
    stop = threading.Event()

    def watch() -> None:
        # What a reader polling the results bucket sees: path.json only ever next to everything else.
        while not stop.is_set():
            now = set(flow.results())
            if path_json in now and now != expected:
                seen_partial.append(now)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    cmd = [a.format(bucket=flow.stack.uploads_bucket, key=key) for a in _JOB]
    env = {**os.environ, **flow.env, "AWS_BATCH_JOB_ID": "job-1"}
    started = tmp_path / "encoder-started"
    held = {**env, "IMAGEIO_FFMPEG_EXE": str(_encoder_holding_ffmpeg(tmp_path, started))}
    try:
        # The Spot host disappears mid-pipeline: while the overlay is being encoded, the latest moment
        # before any output exists. The real ffmpeg runs behind a wrapper that marks the encoder's
        # start and holds it there, so the kill lands at that point however fast the machine is.
        first = subprocess.Popen(cmd, env=held, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
        deadline = time.monotonic() + 300
        while not started.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert started.exists(), "the job never started encoding its overlay"
        os.killpg(first.pid, signal.SIGKILL)  # the whole host: the job and its ffmpeg children
        first.wait()
        assert path_json not in flow.results()
        assert flow.notifications(wait_s=0.2) == []
        # Batch's RetryStrategy runs the job again (same parameters).
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        assert second.returncode == 0, second.stderr[-2000:]
    finally:
        stop.set()
        watcher.join()
    assert seen_partial == []
    assert set(flow.results()) == expected
    assert [m["status"] for m in flow.notifications()] == ["succeeded"]
    doc = json.loads(flow.s3.get_object(Bucket=flow.stack.results_bucket, Key=path_json)["Body"].read())
    assert doc["schema"] == "barpath/path@1"




def _encoder_holding_ffmpeg(tmp_path: Path, started: Path) -> Path:
    """An ffmpeg that is the real one, except that an x264 encode first marks `started` and waits."""
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'case " $* " in *" libx264 "*) : > {shlex.quote(str(started))}; sleep 600;; esac\n'
        f'exec {shlex.quote(ffmpeg.exe())} "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper
