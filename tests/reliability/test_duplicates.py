"""Item 3: duplicates and concurrency. S3 may deliver an event more than once and Lambda retries; the
app must still hear one outcome per upload version, and a new version of the same key is new work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .corpus import BY_NAME, Corpus
from .harness import Delivery, Flow

pytestmark = pytest.mark.integration


def _deliver_concurrently(flow: Flow, event: dict[str, object], n: int) -> list[Delivery]:
    barrier = threading.Barrier(n)
    out: list[Delivery] = [Delivery() for _ in range(n)]

    def go(i: int) -> None:
        barrier.wait()
        out[i] = flow.deliver(event)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("copies", [2, 5])
def test_same_event_delivered_concurrently_is_processed_and_notified_once(
    copies: int, corpus: Corpus, flow: Flow
) -> None:
    event = flow.upload(corpus.path(BY_NAME["plain_h264"]), "uploads/dup.mp4")
    deliveries = _deliver_concurrently(flow, event, copies)
    # Nobody raised (a raise would make Lambda retry), and exactly one of them did the work.
    assert all(d.errors == [] for d in deliveries), [d.errors for d in deliveries]
    done = [d for d in deliveries if d.returned and not d.returned["results"][0].get("duplicate")]
    assert len(done) == 1
    msgs = flow.notifications()
    assert [m["status"] for m in msgs] == ["succeeded"]
    assert len(flow.results()) == 3
    # A late redelivery after completion gets the stored outcome: still one notification.
    late = flow.deliver(event)
    assert late.errors == [] and late.returned["results"][0].get("duplicate") is True
    assert flow.notifications() == []


def test_bad_input_delivered_three_times_is_one_failed_notification(corpus: Corpus, flow: Flow) -> None:
    event = flow.upload(corpus.path(BY_NAME["text_named_mp4"]), "uploads/dup-bad.mp4")
    for _ in range(3):
        assert flow.deliver(event).errors == []
    msgs = flow.notifications()
    assert [(m["status"], m["error"]["code"]) for m in msgs] == [("failed", "not_a_video")]


@pytest.mark.slow
def test_reupload_of_the_same_key_with_new_content_is_processed_again(corpus: Corpus,
                                                                     flow: Flow) -> None:
    first = flow.upload(corpus.path(BY_NAME["text_named_mp4"]), "uploads/again.mp4")
    flow.deliver(first)
    second = flow.upload(corpus.path(BY_NAME["plain_h264"]), "uploads/again.mp4")
    v1, v2 = (e["Records"][0]["s3"]["object"]["versionId"] for e in (first, second))
    assert v1 != v2
    flow.deliver(second)
    flow.deliver(first)  # the old version's event arriving late changes nothing
    msgs = flow.notifications()
    assert [m["status"] for m in msgs] == ["failed", "succeeded"]
    assert msgs[1]["input"]["version_id"] == v2
    assert len(flow.results()) == 3


# The same module name as the harness's: Powertools keys idempotency records on the function's qualified
# name, which in Lambda is the same for every invocation of the function.
_CHILD = """
import json, sys
from barpath.local import HANDLER_FILE, LambdaContext, apply_env, load_function
apply_env(json.loads(sys.argv[1]))
event = json.loads(open(sys.argv[2]).read())
handler = load_function(HANDLER_FILE, "reliability_process_video").handler
handler(event, LambdaContext(timeout_s=float(sys.argv[3])))
"""


def _records(flow: Flow) -> list[dict[str, object]]:
    return flow.cloud.client("dynamodb").scan(TableName=flow.stack.table)["Items"]


@pytest.mark.slow
def test_in_progress_record_of_a_killed_invocation_expires_and_the_retry_succeeds(
    corpus: Corpus, flow: Flow, tmp_path: Path
) -> None:
    event = flow.upload(corpus.path(BY_NAME["plain_h264"]), "uploads/killed.mp4")
    (tmp_path / "event.json").write_text(json.dumps(event))
    # Keep the work inline despite a short deadline, so the child is mid-pipeline when it dies.
    env = {**flow.env, "INLINE_SECONDS_PER_VIDEO_SECOND": "0", "INLINE_SAFETY_SECONDS": "0"}
    lambda_timeout_s = 4.0
    child = subprocess.Popen([sys.executable, "-c", _CHILD, json.dumps(env), str(tmp_path / "event.json"),
                              str(lambda_timeout_s)], env={**os.environ, **env},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not _records(flow):
            assert child.poll() is None, "the invocation ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        child.kill()  # Lambda's timeout: the process is gone, its record says INPROGRESS
        child.wait()
    (record,) = _records(flow)
    assert record["status"]["S"] == "INPROGRESS"
    expires_ms = int(record["in_progress_expiration"]["N"])

    # A duplicate while the record is live is not processed twice (and does not raise).
    early = flow.deliver(event)
    assert early.errors == [] and early.returned["results"][0].get("duplicate") is True
    assert flow.notifications() == []

    # Lambda's retry comes a minute later; by then the dead invocation's record has expired.
    time.sleep(max(0.0, expires_ms / 1000 - time.time()) + 0.5)
    retry = flow.deliver(event)
    assert retry.errors == []
    assert [m["status"] for m in flow.notifications()] == ["succeeded"]
    assert len(flow.results()) == 3
