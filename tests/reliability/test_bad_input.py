"""Item 1: every case of the bad-input corpus, uploaded through the real handler on the moto server,
ends in exactly one notification with the expected outcome; input faults never raise (so they cannot
start Lambda's retry loop), leave nothing in the results bucket, write nowhere else, and leave no
temp files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from barpath.aws.keys import result_keys

from .corpus import CASES, IGNORED, SUCCEEDED, Case, Corpus
from .harness import Flow

pytestmark = pytest.mark.integration

FAILING = [c for c in CASES if not c.expect_success]
SUCCEEDING = [c for c in CASES if c.expect_success]


def _params(cases: list[Case]) -> list[object]:
    # The 16K bomb costs seconds to make, the fine clips a full pipeline run each: those are slow.
    out = []
    for c in cases:
        marks = [pytest.mark.slow] if c.expect_success or "bomb" in c.name else []
        if c.known_gap:
            marks.append(pytest.mark.xfail(reason=c.known_gap, strict=False))
        out.append(pytest.param(c, id=c.name, marks=marks))
    return out


@pytest.mark.parametrize("case", _params(FAILING) + _params(SUCCEEDING))
def test_corpus_case_ends_in_exactly_one_outcome(case: Case, corpus: Corpus, flow: Flow,
                                                 scratch: Path) -> None:
    path = corpus.path(case)
    event = flow.upload(path, case.key) if case.exists else flow.upload_then_delete(path, case.key)

    delivery = flow.deliver(event)

    # Input faults are answered, never raised: a raise would make Lambda retry a hopeless upload.
    assert delivery.errors == [], delivery.errors
    assert delivery.attempts == 1
    msgs = flow.notifications()
    if not msgs and IGNORED in case.expect:
        assert flow.results() == []
        return
    assert len(msgs) == 1, [m["status"] for m in msgs]
    msg = msgs[0]
    assert msg["schema"] == "barpath/notification@1"
    assert msg["_attributes"]["status"] == msg["status"]
    assert msg["input"]["bucket"] == flow.stack.uploads_bucket
    assert msg["input"]["key"] == case.key  # decoded exactly: spaces, '+', '%', unicode intact
    if msg["status"] == "failed":
        err = msg["error"]
        assert err["code"] in case.expect, (err, case.expect)
        _assert_human(err["message"])
        assert msg["outputs"] == {}
        assert flow.results() == [], "a failed upload left results behind"
    else:
        assert msg["status"] == SUCCEEDED
        assert SUCCEEDED in case.expect, msg.get("error")
        _assert_complete_results(flow, case, msg)
    # Nothing written anywhere else: the uploads bucket holds only what the user put there.
    assert flow.keys(flow.stack.uploads_bucket) == ([case.key] if case.exists else [])
    mine = {b for b in flow.all_buckets() if b.startswith(flow.cloud.stack_name + "-")}
    assert mine == {flow.stack.uploads_bucket, flow.stack.results_bucket}
    assert list(scratch.iterdir()) == [], "temp files left behind"


def _assert_human(message: str) -> None:
    assert 10 <= len(message) <= 1000
    assert "Traceback" not in message and "File \"" not in message
    assert "X-Amz-Signature" not in message and "AWS_SECRET" not in message


def _assert_complete_results(flow: Flow, case: Case, msg: dict[str, object]) -> None:
    expected = result_keys(case.key)
    assert sorted(flow.results()) == sorted(expected.values())
    # S3 refuses keys over 1024 bytes (moto does not): a result key must fit, or the upload is refused.
    assert all(len(k.encode()) <= 1024 for k in expected.values())
    outputs = msg["outputs"]
    assert isinstance(outputs, dict)
    for field, key in expected.items():
        assert outputs[field] == f"s3://{flow.stack.results_bucket}/{key}"
    body = flow.s3.get_object(Bucket=flow.stack.results_bucket, Key=expected["path_json"])["Body"]
    doc = json.loads(body.read())
    assert doc["schema"] == "barpath/path@1"
    assert len(doc["frames"]) >= 1
    ts = [f["t"] for f in doc["frames"]]
    assert ts == sorted(ts), "frame times must never run backwards in path.json"
    if case.claims.get("upright_is_master"):
        # Upright means the original landscape picture, the right way up: the squat starts standing,
        # so the bar's first tracked position is in the upper half (upside down it would be the lower).
        assert (doc["video"]["width"], doc["video"]["height"]) == (320, 240)
        first = next(f for f in doc["frames"] if f["y"] is not None)
        assert first["y"] < doc["video"]["height"] / 2
